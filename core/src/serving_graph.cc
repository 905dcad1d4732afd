// SPDX-License-Identifier: Apache-2.0
#include "serving_graph.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "aimass/status.h"

namespace aimass::core {
namespace {

// --- Planning --------------------------------------------------------------------------------

const TensorSpec* findSpec(const std::vector<TensorSpec>& specs, std::string_view name) {
  for (const auto& s : specs) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

std::string specText(const TensorSpec& spec) {
  return std::string(dtypeName(spec.dtype)) + " " + shapeToString(spec.shape);
}

/// Same dtype, same rank, and every dimension equal where both are fixed.
bool compatible(const TensorSpec& a, const TensorSpec& b) {
  if (a.dtype != b.dtype || a.shape.size() != b.shape.size()) {
    return false;
  }
  for (std::size_t d = 0; d < a.shape.size(); ++d) {
    if (a.shape[d] >= 0 && b.shape[d] >= 0 && a.shape[d] != b.shape[d]) {
      return false;
    }
  }
  return true;
}

/// The models a step may run: its target, or its cases and default.
std::vector<GraphTarget> targetsOf(const GraphStep& step) {
  if (!step.is_switch) {
    return {step.target};
  }
  std::vector<GraphTarget> out;
  for (const auto& c : step.cases) {
    out.push_back(c.target);
  }
  if (step.fallback) {
    out.push_back(*step.fallback);
  }
  return out;
}

/// The sources a step reads.
std::vector<GraphTensorRef> readsOf(const GraphStep& step) {
  std::vector<GraphTensorRef> out;
  for (const auto& [input, ref] : step.inputs) {
    out.push_back(ref);
  }
  if (step.is_switch) {
    out.push_back(step.on);
  }
  return out;
}

class Planner {
 public:
  Planner(GraphSpec spec, const SchemaLookup& lookup) : lookup_(lookup) {
    plan_.spec = std::move(spec);
  }

  Expected<GraphPlan> run() {
    AIMASS_RETURN_IF_ERROR(indexSteps());
    AIMASS_RETURN_IF_ERROR(order());
    for (std::size_t i : plan_.order) {
      AIMASS_RETURN_IF_ERROR(checkStep(plan_.spec.steps[i]));
    }
    for (const auto& [output, ref] : plan_.spec.outputs) {
      AIMASS_ASSIGN_OR_RETURN(TensorSpec spec,
                              sourceSpec(ref, "graph '" + plan_.spec.name + "', output '" +
                                                  output + "'"));
      spec.name = output;
      plan_.schema.outputs.push_back(std::move(spec));
    }
    plan_.schema.task = task_;
    plan_.schema.class_names = class_names_;
    return std::move(plan_);
  }

 private:
  std::string at(const GraphStep& step) const {
    return "graph '" + plan_.spec.name + "', step '" + step.name + "'";
  }

  Status indexSteps() {
    for (std::size_t i = 0; i < plan_.spec.steps.size(); ++i) {
      const GraphStep& step = plan_.spec.steps[i];
      if (step.name == "request") {
        return invalidArgument(at(step) + ": 'request' names the request's inputs; pick "
                               "another step name");
      }
      if (!index_.emplace(step.name, i).second) {
        return invalidArgument(at(step) + ": two steps share this name");
      }
    }
    return okStatus();
  }

  /// A topological order (steps after the steps they read, written order among equals);
  /// unknown steps and cycles are errors.
  Status order() {
    const std::size_t n = plan_.spec.steps.size();
    std::vector<std::set<std::size_t>> deps(n);
    for (std::size_t i = 0; i < n; ++i) {
      const GraphStep& step = plan_.spec.steps[i];
      for (const auto& ref : readsOf(step)) {
        if (ref.source == "request") {
          continue;
        }
        auto found = index_.find(ref.source);
        if (found == index_.end()) {
          return invalidArgument(at(step) + ": '" + ref.text() + "' reads unknown step '" +
                                 ref.source + "'");
        }
        if (found->second == i) {
          return invalidArgument(at(step) + ": the step reads its own output '" + ref.text() +
                                 "'");
        }
        deps[i].insert(found->second);
      }
    }
    std::vector<bool> done(n, false);
    while (plan_.order.size() < n) {
      bool progressed = false;
      for (std::size_t i = 0; i < n; ++i) {
        if (done[i]) {
          continue;
        }
        bool ready = true;
        for (std::size_t d : deps[i]) {
          ready = ready && done[d];
        }
        if (ready) {
          done[i] = true;
          plan_.order.push_back(i);
          progressed = true;
        }
      }
      if (!progressed) {
        std::string cycle;
        for (std::size_t i = 0; i < n; ++i) {
          if (!done[i]) {
            cycle += (cycle.empty() ? "'" : ", '") + plan_.spec.steps[i].name + "'";
          }
        }
        return invalidArgument("graph '" + plan_.spec.name + "': steps " + cycle +
                               " read each other in a cycle");
      }
    }
    return okStatus();
  }

  /// The spec of a source: a step output (known once its step is checked) or a request input
  /// (known once a model input it feeds is checked).
  Expected<TensorSpec> sourceSpec(const GraphTensorRef& ref, const std::string& where) const {
    if (ref.source == "request") {
      const TensorSpec* spec = findSpec(plan_.schema.inputs, ref.tensor);
      if (spec == nullptr) {
        return invalidArgument(where + ": request input '" + ref.tensor +
                               "' feeds no model input, so its type is unknown");
      }
      return *spec;
    }
    auto outputs = step_outputs_.find(ref.source);
    const TensorSpec* spec =
        outputs == step_outputs_.end() ? nullptr : findSpec(outputs->second, ref.tensor);
    if (spec == nullptr) {
      std::string known;
      if (outputs != step_outputs_.end()) {
        for (const auto& s : outputs->second) {
          known += (known.empty() ? "" : ", ") + s.name;
        }
      }
      return invalidArgument(where + ": step '" + ref.source + "' has no output '" + ref.tensor +
                             "' (it gives: " + known + ")");
    }
    return *spec;
  }

  /// Binds a request input to the spec of the model input it feeds, or checks that it agrees
  /// with the one already bound.
  Status bindRequest(const std::string& name, const TensorSpec& wanted, const std::string& where) {
    const TensorSpec* known = findSpec(plan_.schema.inputs, name);
    if (known == nullptr) {
      TensorSpec spec = wanted;
      spec.name = name;
      plan_.schema.inputs.push_back(std::move(spec));
      return okStatus();
    }
    if (!compatible(*known, wanted)) {
      return invalidArgument(where + ": request input '" + name + "' is " + specText(*known) +
                             " for an earlier step but this input takes " + specText(wanted));
    }
    return okStatus();
  }

  Status checkInputs(const GraphStep& step, const GraphTarget& target, const ModelSchema& schema) {
    const std::string where = at(step) + ", model '" + target.model + "'";
    for (const auto& [input, ref] : step.inputs) {
      const TensorSpec* wanted = findSpec(schema.inputs, input);
      if (wanted == nullptr) {
        return invalidArgument(where + ": the model has no input '" + input + "'");
      }
      if (ref.source == "request") {
        AIMASS_RETURN_IF_ERROR(bindRequest(ref.tensor, *wanted, where + ", input '" + input + "'"));
        continue;
      }
      AIMASS_ASSIGN_OR_RETURN(TensorSpec given,
                              sourceSpec(ref, where + ", input '" + input + "'"));
      if (!compatible(given, *wanted)) {
        return invalidArgument(where + ", input '" + input + "': '" + ref.text() + "' is " +
                               specText(given) + " but the input takes " + specText(*wanted));
      }
    }
    for (const auto& spec : schema.inputs) {
      bool mapped = false;
      for (const auto& [input, ref] : step.inputs) {
        mapped = mapped || input == spec.name;
      }
      if (!spec.optional && !mapped) {
        return invalidArgument(where + ": required input '" + spec.name + "' (" +
                               specText(spec) + ") is not mapped in 'inputs'");
      }
    }
    return okStatus();
  }

  /// The step's outputs from its (first) model's outputs and the renames.
  Expected<std::vector<TensorSpec>> renamed(const GraphStep& step, const ModelSchema& schema) {
    std::vector<TensorSpec> out = schema.outputs;
    for (const auto& [from, to] : step.renames) {
      bool found = false;
      for (auto& spec : out) {
        if (spec.name == from) {
          spec.name = to;
          found = true;
        }
      }
      if (!found) {
        return invalidArgument(at(step) + ": 'outputs' renames '" + from +
                               "', which the model does not give");
      }
    }
    return out;
  }

  Status checkSwitchOn(const GraphStep& step) {
    const std::string where = at(step) + ", switch.on";
    TensorSpec on;
    if (step.on.source == "request" && findSpec(plan_.schema.inputs, step.on.tensor) == nullptr) {
      // A request input only the switch reads: a scalar per row; its dtype follows the cases.
      const bool text = !step.cases.front().when.number.has_value();
      on = TensorSpec(step.on.tensor, text ? DType::kBytes : DType::kFloat32, Shape{-1});
      plan_.schema.inputs.push_back(on);
    } else {
      AIMASS_ASSIGN_OR_RETURN(on, sourceSpec(step.on, where));
    }
    const bool per_row = on.shape.size() == 1 || (on.shape.size() == 2 && on.shape[1] == 1);
    if (!per_row) {
      return invalidArgument(where + ": '" + step.on.text() + "' is " + specText(on) +
                             "; a switch needs one value per row ([-1] or [-1, 1])");
    }
    if (on.dtype == DType::kFloat16 || on.dtype == DType::kBFloat16) {
      return invalidArgument(where + ": '" + step.on.text() + "' is " + specText(on) +
                             "; a switch compares FP32, FP64, integers, BOOL or BYTES");
    }
    for (const auto& c : step.cases) {
      const bool text = !c.when.number.has_value();
      if (text != (on.dtype == DType::kBytes)) {
        return invalidArgument(where + ": '" + step.on.text() + "' is " + specText(on) +
                               (text ? ", which a text value cannot be compared with"
                                     : ", which a number cannot be compared with"));
      }
    }
    return okStatus();
  }

  Status checkStep(const GraphStep& step) {
    std::optional<std::vector<TensorSpec>> outputs;
    for (const auto& target : targetsOf(step)) {
      auto schema = lookup_(target.model, target.version);
      if (!schema.ok()) {
        return invalidArgument(at(step) + ": " + schema.status().message());
      }
      AIMASS_RETURN_IF_ERROR(checkInputs(step, target, *schema));
      AIMASS_ASSIGN_OR_RETURN(std::vector<TensorSpec> given, renamed(step, *schema));
      if (!outputs) {
        outputs = std::move(given);
        task_ = schema->task;
        class_names_ = schema->class_names;
        continue;
      }
      for (const auto& spec : *outputs) {
        const TensorSpec* other = findSpec(given, spec.name);
        if (other == nullptr || !compatible(spec, *other)) {
          return invalidArgument(at(step) + ": model '" + target.model + "' gives " +
                                 (other == nullptr ? "no output '" + spec.name + "'"
                                                   : "'" + spec.name + "' as " + specText(*other)) +
                                 " but the switch's first model gives " + specText(spec) +
                                 "; every case must give the same outputs");
        }
      }
    }
    step_outputs_[step.name] = std::move(*outputs);
    // After the inputs, so that a request input both fed and switched on is typed by the model.
    return step.is_switch ? checkSwitchOn(step) : okStatus();
  }

  const SchemaLookup& lookup_;
  GraphPlan plan_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::vector<TensorSpec>> step_outputs_;
  Task task_ = Task::kOther;
  std::vector<std::string> class_names_;
};

// --- Running ---------------------------------------------------------------------------------

/// The value of row `row` of a [-1] or [-1, 1] tensor as a double; NaN (which meets no case)
/// for FP16 and BF16, which the planner refuses.
double rowNumber(const Tensor& t, std::int64_t row) {
  switch (t.dtype()) {
    case DType::kFloat32:
      return t.data<float>()[row];
    case DType::kFloat64:
      return t.data<double>()[row];
    case DType::kInt8:
      return t.data<std::int8_t>()[row];
    case DType::kUInt8:
      return t.data<std::uint8_t>()[row];
    case DType::kInt16:
      return t.data<std::int16_t>()[row];
    case DType::kUInt16:
      return t.data<std::uint16_t>()[row];
    case DType::kInt32:
      return t.data<std::int32_t>()[row];
    case DType::kUInt32:
      return t.data<std::uint32_t>()[row];
    case DType::kInt64:
      return static_cast<double>(t.data<std::int64_t>()[row]);
    case DType::kUInt64:
      return static_cast<double>(t.data<std::uint64_t>()[row]);
    case DType::kBool:
      return t.data<bool>()[row] ? 1.0 : 0.0;
    default:
      return std::nan("");
  }
}

/// Writes `part`'s rows into rows `rows` of `whole` (same dtype and row shape).
void scatterRows(Tensor& whole, const Tensor& part, const std::vector<std::int64_t>& rows) {
  if (whole.dtype() == DType::kBytes) {
    std::vector<std::string> values = whole.strings();
    const std::size_t per_row = whole.dim(0) > 0 ? values.size() / whole.dim(0) : 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      for (std::size_t k = 0; k < per_row; ++k) {
        values[rows[i] * per_row + k] = part.strings()[i * per_row + k];
      }
    }
    whole = Tensor::fromStrings(std::move(values)).reshaped(whole.shape());
    return;
  }
  const std::size_t row_bytes = whole.dim(0) > 0 ? whole.nbytes() / whole.dim(0) : 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(static_cast<std::byte*>(whole.raw()) + rows[i] * row_bytes,
                static_cast<const std::byte*>(part.raw()) + i * row_bytes, row_bytes);
  }
}

}  // namespace

Tensor gatherRows(const Tensor& tensor, const std::vector<std::int64_t>& rows) {
  Shape shape = tensor.shape();
  const std::int64_t total = shape[0];
  shape[0] = static_cast<std::int64_t>(rows.size());
  if (tensor.dtype() == DType::kBytes) {
    const auto& all = tensor.strings();
    const std::size_t per_row = total > 0 ? all.size() / static_cast<std::size_t>(total) : 0;
    std::vector<std::string> part;
    for (std::int64_t r : rows) {
      for (std::size_t k = 0; k < per_row; ++k) {
        part.push_back(all[r * per_row + k]);
      }
    }
    return Tensor::fromStrings(std::move(part)).reshaped(shape);
  }
  Tensor out(tensor.dtype(), shape);
  const std::size_t row_bytes = total > 0 ? tensor.nbytes() / static_cast<std::size_t>(total) : 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    std::memcpy(static_cast<std::byte*>(out.raw()) + i * row_bytes,
                static_cast<const std::byte*>(tensor.raw()) + rows[i] * row_bytes, row_bytes);
  }
  return out;
}

bool GraphCondition::matches(double value) const {
  if (!number) {
    return false;
  }
  switch (op) {
    case Op::kEquals:
      return value == *number;
    case Op::kNotEquals:
      return value != *number;
    case Op::kLess:
      return value < *number;
    case Op::kLessEqual:
      return value <= *number;
    case Op::kGreater:
      return value > *number;
    case Op::kGreaterEqual:
      return value >= *number;
  }
  return false;
}

bool GraphCondition::matches(std::string_view value) const {
  if (number) {
    return false;
  }
  return op == Op::kEquals ? value == text : op == Op::kNotEquals && value != text;
}

Expected<GraphPlan> planGraph(GraphSpec spec, const SchemaLookup& lookup) {
  return Planner(std::move(spec), lookup).run();
}

GraphModel::GraphModel(GraphPlan plan, GraphRunner runner)
    : plan_(std::move(plan)), runner_(std::move(runner)) {
  for (const auto& step : plan_.spec.steps) {
    stats_.push_back(std::make_unique<GraphStepStats>());
    stats_.back()->step = step.name;
  }
}

Status GraphModel::save(std::string&) const {
  return failedPrecondition("serving graph '" + plan_.spec.name +
                            "' is declared in the config and is not saved");
}

Status GraphModel::load(std::string_view, std::uint32_t) {
  return failedPrecondition("serving graph '" + plan_.spec.name +
                            "' is declared in the config and is not loaded");
}

Status GraphModel::predict(const TensorMap& inputs, TensorMap& outputs,
                           const PredictOptions& options) const {
  std::map<std::string, TensorMap> produced;  // step name -> its outputs (renamed)
  auto lookup = [&](const GraphTensorRef& ref) -> const Tensor* {
    if (ref.source == "request") {
      return inputs.find(ref.tensor);
    }
    auto found = produced.find(ref.source);
    return found == produced.end() ? nullptr : found->second.find(ref.tensor);
  };
  for (std::size_t i : plan_.order) {
    const GraphStep& step = plan_.spec.steps[i];
    TensorMap fed;
    for (const auto& [input, ref] : step.inputs) {
      if (const Tensor* t = lookup(ref)) {
        fed.set(input, *t);
      }
    }
    TensorMap out;
    const auto start = std::chrono::steady_clock::now();
    Status status;
    if (step.is_switch) {
      const Tensor* on = lookup(step.on);
      status = on == nullptr ? invalidArgument("graph '" + plan_.spec.name + "', step '" +
                                               step.name + "': '" + step.on.text() +
                                               "' is missing")
                             : runSwitch(step, *on, fed, options, out);
    } else {
      status = runStep(step, fed, options, out);
    }
    GraphStepStats& stats = *stats_[i];
    const auto ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() -
                                                             start)
            .count());
    stats.count.fetch_add(1, std::memory_order_relaxed);
    stats.ns.fetch_add(ns, std::memory_order_relaxed);
    if (!status.ok()) {
      stats.failures.fetch_add(1, std::memory_order_relaxed);
      stats.fail_ns.fetch_add(ns, std::memory_order_relaxed);
      return Status(status.code(), "graph '" + plan_.spec.name + "', step '" + step.name +
                                       "': " + status.message());
    }
    TensorMap renamed;
    for (const auto& [name, tensor] : out) {
      std::string as = name;
      for (const auto& [from, to] : step.renames) {
        if (from == name) {
          as = to;
        }
      }
      renamed.set(std::move(as), tensor);
    }
    produced[step.name] = std::move(renamed);
  }
  for (const auto& [output, ref] : plan_.spec.outputs) {
    const Tensor* t = lookup(ref);
    if (t == nullptr) {
      return internalError("graph '" + plan_.spec.name + "': step output '" + ref.text() +
                           "' was not written");
    }
    outputs.set(output, *t);
  }
  return okStatus();
}

Status GraphModel::runStep(const GraphStep& step, const TensorMap& inputs,
                           const PredictOptions& options, TensorMap& outputs) const {
  return runner_(step.target, inputs, options, outputs);
}

Status GraphModel::runSwitch(const GraphStep& step, const Tensor& on, const TensorMap& inputs,
                             const PredictOptions& options, TensorMap& outputs) const {
  const std::int64_t rows = on.rank() == 0 ? 0 : on.dim(0);
  // Which target each row runs: index into targetsOf(step).
  const std::vector<GraphTarget> targets = targetsOf(step);
  std::vector<std::vector<std::int64_t>> groups(targets.size());
  for (std::int64_t r = 0; r < rows; ++r) {
    std::size_t chosen = targets.size();
    for (std::size_t c = 0; c < step.cases.size() && chosen == targets.size(); ++c) {
      const bool met = on.dtype() == DType::kBytes
                           ? step.cases[c].when.matches(std::string_view(on.strings()[r]))
                           : step.cases[c].when.matches(rowNumber(on, r));
      if (met) {
        chosen = c;
      }
    }
    if (chosen == targets.size()) {
      if (!step.fallback) {
        return invalidArgument("row " + std::to_string(r) + " of '" + step.on.text() +
                               "' meets no case and the switch has no default");
      }
      chosen = targets.size() - 1;
    }
    groups[chosen].push_back(r);
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].size() == static_cast<std::size_t>(rows)) {
      return runner_(targets[g], inputs, options, outputs);  // every row: no copies
    }
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].empty()) {
      continue;
    }
    TensorMap part;
    for (const auto& [name, tensor] : inputs) {
      const bool by_row = tensor.rank() > 0 && tensor.dim(0) == rows;
      part.set(name, by_row ? gatherRows(tensor, groups[g]) : tensor);
    }
    TensorMap answer;
    AIMASS_RETURN_IF_ERROR(runner_(targets[g], part, options, answer));
    for (const auto& [name, tensor] : answer) {
      if (tensor.rank() == 0 || tensor.dim(0) != static_cast<std::int64_t>(groups[g].size())) {
        return internalError("model '" + targets[g].model + "' answered output '" + name +
                             "' without one row per input row; a switch splits rows");
      }
      Tensor* whole = outputs.find(name);
      if (whole == nullptr) {
        Shape shape = tensor.shape();
        shape[0] = rows;
        if (tensor.dtype() == DType::kBytes) {
          const std::size_t per_row = tensor.strings().size() / groups[g].size();
          outputs.set(name, Tensor::fromStrings(std::vector<std::string>(rows * per_row))
                                .reshaped(shape));
        } else {
          outputs.set(name, Tensor::zeros(tensor.dtype(), shape));
        }
        whole = outputs.find(name);
      }
      if (whole->dtype() != tensor.dtype() || whole->shape().size() != tensor.shape().size()) {
        return internalError("the cases of the switch answered '" + name +
                             "' with different types");
      }
      scatterRows(*whole, tensor, groups[g]);
    }
  }
  return okStatus();
}

}  // namespace aimass::core
