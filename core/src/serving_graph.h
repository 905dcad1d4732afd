// SPDX-License-Identifier: Apache-2.0
// Serving graphs: a served model made of steps that run other served models (Triton's
// ensembles, KServe's InferenceGraph). See docs/pipelines.md, "Serving graphs".
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"
#include "aimass/serving.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::core {

/// Where a step input or a graph output comes from: "request.X" (the request's input X) or
/// "STEP.OUTPUT" (an output of an earlier step, after its renames).
struct GraphTensorRef {
  std::string source;  ///< "request" or a step name
  std::string tensor;
  std::string text() const { return source + "." + tensor; }
};

/// A condition on one scalar per row: `op` compares the row's value with `number` (numeric
/// tensors) or `text` (BYTES tensors; equals / not_equals only).
struct GraphCondition {
  enum class Op { kEquals, kNotEquals, kLess, kLessEqual, kGreater, kGreaterEqual };
  Op op = Op::kEquals;
  std::optional<double> number;
  std::string text;
  bool matches(double value) const;
  bool matches(std::string_view value) const;
};

/// The model a switch case (or a plain step) runs: a served model name and an optional version
/// (empty: its highest loaded version).
struct GraphTarget {
  std::string model;
  std::string version;
};

/// One case of a switch: rows whose value meets `when` run `target`.
struct GraphCase {
  GraphCondition when;
  GraphTarget target;
};

/// One step. A plain step runs `target`; a switch step (`is_switch`) evaluates `on` per row and
/// runs each row on the first case it meets, else on `fallback` (a row that meets no case and
/// has no fallback fails the request with kInvalidArgument).
struct GraphStep {
  std::string name;
  std::vector<std::pair<std::string, GraphTensorRef>> inputs;  ///< model input <- source
  std::vector<std::pair<std::string, std::string>> renames;    ///< model output -> step output
  GraphTarget target;
  bool is_switch = false;
  GraphTensorRef on;
  std::vector<GraphCase> cases;
  std::optional<GraphTarget> fallback;
};

/// A graph as the `serving.runtime` node's `graphs` parameter declares it.
struct GraphSpec {
  std::string name;
  std::vector<GraphStep> steps;
  std::vector<std::pair<std::string, GraphTensorRef>> outputs;  ///< graph output <- source
};

/// Reads the `graphs` parameter (JSON text of a mapping: graph name -> {steps, outputs}).
/// kInvalidArgument naming the graph, the step and the field for anything malformed.
Expected<std::vector<GraphSpec>> parseGraphs(std::string_view json);

/// The schema of a served model: kNotFound naming it when unknown.
using SchemaLookup =
    std::function<Expected<ModelSchema>(const std::string& model, const std::string& version)>;

/// A graph, checked: steps in an order where every step runs after those it reads, the schema
/// the graph serves (inputs: the request tensors steps read, typed after the model inputs they
/// feed; outputs: the graph's outputs) and each step's outputs.
struct GraphPlan {
  GraphSpec spec;
  std::vector<std::size_t> order;  ///< indices into spec.steps
  ModelSchema schema;
};

/// Checks `spec` against the models `lookup` knows: unique step names, known models and
/// versions, every mapped input a model input and every required model input mapped, known
/// sources, no cycles, equal dtypes and compatible shapes between a source and the input it
/// feeds, a switch's `on` a scalar per row whose dtype suits its conditions, cases whose models
/// give the same outputs. kInvalidArgument "graph 'G', step 'S': ..." on the first problem.
Expected<GraphPlan> planGraph(GraphSpec spec, const SchemaLookup& lookup);

/// Runs one target with the given inputs (through the runtime, so through its batching queue).
using GraphRunner = std::function<Status(const GraphTarget& target, const TensorMap& inputs,
                                         const PredictOptions& options, TensorMap& outputs)>;

/// Time spent in each step of a graph (every case of a switch counted in its step).
/// Threading: counters are atomics, safe from many threads.
struct GraphStepStats {
  std::string step;
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> ns{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> fail_ns{0};  ///< part of `ns` spent in failed runs
};

/// A graph served as a model: predict() runs the plan's steps through `runner` and records each
/// step's time. Not trainable and not saved (save()/load() fail with kFailedPrecondition).
/// Threading: predict() is safe from many threads at once.
class GraphModel final : public Model {
 public:
  GraphModel(GraphPlan plan, GraphRunner runner);

  ModelSchema schema() const override { return plan_.schema; }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override;
  Status load(std::string_view payload, std::uint32_t format_version) override;

  const GraphPlan& plan() const noexcept { return plan_; }
  /// Per step, in plan order.
  const std::vector<std::unique_ptr<GraphStepStats>>& stepStats() const noexcept {
    return stats_;
  }

 private:
  Status runStep(const GraphStep& step, const TensorMap& inputs, const PredictOptions& options,
                 TensorMap& outputs) const;
  Status runSwitch(const GraphStep& step, const Tensor& on, const TensorMap& inputs,
                   const PredictOptions& options, TensorMap& outputs) const;

  GraphPlan plan_;
  GraphRunner runner_;
  std::vector<std::unique_ptr<GraphStepStats>> stats_;  // by spec.steps index
};

/// Rows `rows` of `tensor` (first dimension), copied, in that order.
Tensor gatherRows(const Tensor& tensor, const std::vector<std::int64_t>& rows);

}  // namespace aimass::core
