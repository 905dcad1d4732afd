// SPDX-License-Identifier: Apache-2.0
// ServingRuntime's serving graphs and traffic splits: the hooks serving.cc calls, kept apart
// from the batching runtime (see serving_graph.h and traffic_split.h).
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "aimass/core/serving.h"
#include "prometheus_text.h"
#include "serving_graph.h"
#include "traffic_split.h"

namespace aimass::core {
namespace {

std::string inputsText(const ModelSchema& schema) {
  std::string out;
  for (const auto& spec : schema.inputs) {
    out += (out.empty() ? "" : ", ") + spec.name + " " + std::string(dtypeName(spec.dtype)) +
           " " + shapeToString(spec.shape);
  }
  return out;
}

/// Same input names, dtypes and shapes.
bool sameInputs(const ModelSchema& a, const ModelSchema& b) {
  if (a.inputs.size() != b.inputs.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    if (a.inputs[i].name != b.inputs[i].name || a.inputs[i].dtype != b.inputs[i].dtype ||
        a.inputs[i].shape != b.inputs[i].shape) {
      return false;
    }
  }
  return true;
}

}  // namespace

Status ServingRuntime::setGraphs(std::vector<GraphSpec> graphs) {
  std::set<std::string, std::less<>> names;
  for (const auto& graph : graphs) {
    names.insert(graph.name);
  }
  SchemaLookup lookup = [&](const std::string& model,
                            const std::string& version) -> Expected<ModelSchema> {
    if (names.count(model) != 0) {
      return invalidArgument("model '" + model + "' is a serving graph; a step runs a model");
    }
    auto served = find(model, version);
    if (!served.ok()) {
      return notFound(version.empty() ? "unknown model '" + model + "'"
                                      : "unknown model '" + model + "' version '" + version +
                                            "'");
    }
    return served->model->schema();
  };
  GraphRunner runner = [this](const GraphTarget& target, const TensorMap& inputs,
                              const PredictOptions& options, TensorMap& outputs) -> Status {
    AIMASS_ASSIGN_OR_RETURN(std::shared_ptr<PinnedModel> pinned,
                            pin(target.model, target.version));
    return pinned->infer(inputs, options, outputs, nullptr);
  };
  std::map<std::string, std::shared_ptr<GraphModel>, std::less<>> made;
  for (auto& graph : graphs) {
    bool was_graph = false;
    {
      std::lock_guard lock(settings_mutex_);
      was_graph = graphs_.count(graph.name) != 0;
    }
    if (!was_graph && find(graph.name, "").ok()) {
      return invalidArgument("graph '" + graph.name + "': a model of that name is served "
                             "already; name the graph differently");
    }
    const std::string name = graph.name;
    AIMASS_ASSIGN_OR_RETURN(GraphPlan plan, planGraph(std::move(graph), lookup));
    made[name] = std::make_shared<GraphModel>(std::move(plan), runner);
  }
  std::map<std::string, std::shared_ptr<GraphModel>, std::less<>> old;
  {
    std::lock_guard lock(settings_mutex_);
    old.swap(graphs_);
    for (const auto& [name, graph] : made) {
      batching_[name] = BatchingOptions{};  // the steps batch, each in its own queue
    }
  }
  for (const auto& [name, graph] : old) {
    if (!made.count(name)) {
      std::unique_lock lock(mutex_);
      models_.erase(name);
    }
  }
  for (const auto& [name, graph] : made) {
    add(name, "1", graph, "serving.graph");
  }
  std::lock_guard lock(settings_mutex_);
  graphs_ = std::move(made);
  return okStatus();
}

Status ServingRuntime::setTraffic(std::vector<TrafficSpec> traffic) {
  std::map<std::string, std::shared_ptr<TrafficRoute>, std::less<>> made;
  for (auto& spec : traffic) {
    std::optional<ModelSchema> first;
    std::vector<std::string> versions;
    for (const auto& [version, weight] : spec.weights) {
      versions.push_back(version);
    }
    if (!spec.shadow.empty()) {
      versions.push_back(spec.shadow);
    }
    for (const auto& version : versions) {
      auto served = find(spec.model, version);
      if (!served.ok()) {
        return notFound(spec.where + ": model '" + spec.model + "' has no loaded version '" +
                        version + "'");
      }
      const ModelSchema schema = served->model->schema();
      if (!first) {
        first = schema;
      } else if (!sameInputs(*first, schema)) {
        return invalidArgument(spec.where + ": version '" + version + "' of model '" +
                               spec.model + "' takes " + inputsText(schema) + " but version '" +
                               versions.front() + "' takes " + inputsText(*first) +
                               "; a split serves one request format");
      }
    }
    const std::string model = spec.model;
    made[model] = std::make_shared<TrafficRoute>(
        std::move(spec), [this, model](std::string_view version) {
          // A version named explicitly skips the split.
          return pin(model, version);
        });
  }
  std::map<std::string, std::shared_ptr<TrafficRoute>, std::less<>> old;
  {
    std::lock_guard lock(settings_mutex_);
    old.swap(traffic_);
    traffic_ = std::move(made);
  }
  for (auto& [name, route] : old) {
    route->stop();  // outside the lock; requests still holding the route drop their shadows
  }
  return okStatus();
}

std::shared_ptr<TrafficRoute> ServingRuntime::trafficFor(std::string_view model) const {
  std::lock_guard lock(settings_mutex_);
  auto found = traffic_.find(model);
  return found == traffic_.end() ? nullptr : found->second;
}

Expected<std::string> ServingRuntime::shadowComparisons(std::string_view model) const {
  auto route = trafficFor(model);
  if (!route || route->spec().shadow.empty()) {
    return notFound("model '" + std::string(model) + "' has no shadow version (serving.runtime "
                    "traffic.<model>.shadow)");
  }
  return route->recentJson();
}

void ServingRuntime::drainShadows() const {
  std::vector<std::shared_ptr<TrafficRoute>> routes;
  {
    std::lock_guard lock(settings_mutex_);
    for (const auto& [name, route] : traffic_) {
      routes.push_back(route);
    }
  }
  for (const auto& route : routes) {
    route->drain();
  }
}

std::vector<ModelStatistics> ServingRuntime::graphStepStatistics(std::string_view name) const {
  std::vector<std::shared_ptr<GraphModel>> chosen;
  {
    std::lock_guard lock(settings_mutex_);
    for (const auto& [graph_name, graph] : graphs_) {
      if (name.empty() || graph_name == name) {
        chosen.push_back(graph);
      }
    }
  }
  std::vector<ModelStatistics> out;
  for (const auto& graph : chosen) {
    for (const auto& stats : graph->stepStats()) {
      ModelStatistics s;
      s.name = graph->plan().spec.name + "/" + stats->step;
      s.version = "1";
      const std::uint64_t failures = stats->failures.load();
      const std::uint64_t fail_ns = stats->fail_ns.load();
      s.success = DurationStat{stats->count.load() - failures, stats->ns.load() - fail_ns};
      s.fail = DurationStat{failures, fail_ns};
      s.execution_count = stats->count.load();
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::string ServingRuntime::graphAndTrafficMetrics() const {
  std::vector<std::shared_ptr<GraphModel>> graphs;
  std::vector<std::shared_ptr<TrafficRoute>> routes;
  {
    std::lock_guard lock(settings_mutex_);
    for (const auto& [name, graph] : graphs_) {
      graphs.push_back(graph);
    }
    for (const auto& [name, route] : traffic_) {
      routes.push_back(route);
    }
  }
  std::string out;
  if (!graphs.empty()) {
    out += "# HELP aimass_graph_step_seconds Time spent in each step of a serving graph.\n"
           "# TYPE aimass_graph_step_seconds summary\n";
    std::string failures =
        "# HELP aimass_graph_step_failures_total Serving graph steps that failed.\n"
        "# TYPE aimass_graph_step_failures_total counter\n";
    for (const auto& graph : graphs) {
      for (const auto& stats : graph->stepStats()) {
        const std::string labels =
            "{graph=\"" + prometheusLabel(graph->plan().spec.name) + "\",step=\"" +
            prometheusLabel(stats->step) + "\"} ";
        char seconds[64];
        std::snprintf(seconds, sizeof seconds, "%.9f",
                      static_cast<double>(stats->ns.load()) / 1e9);
        out += "aimass_graph_step_seconds_sum" + labels + seconds + "\n";
        out += "aimass_graph_step_seconds_count" + labels + std::to_string(stats->count.load()) +
               "\n";
        failures += "aimass_graph_step_failures_total" + labels +
                    std::to_string(stats->failures.load()) + "\n";
      }
    }
    out += failures;
  }
  return out + trafficMetricsText(routes);
}

}  // namespace aimass::core
