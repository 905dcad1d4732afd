// SPDX-License-Identifier: Apache-2.0
// The `service.monitor` node type: its parameters, their checks and the factory.
#include "aimass/core/registry.h"
#include "aimass/core/type_registry.h"
#include "monitoring/monitor_node.h"
#include "jobs/jobs_node.h"
#include "retrain_job.h"

namespace aimass::core {
namespace {

std::vector<ParamSpec> targetParams() {
  return {
      ParamSpec::string("model", "The registered model watched (its versions, aliases and "
                                 "the requests serving logged for it)."),
      ParamSpec::string("alias", "The alias naming the version watched; a passing challenger "
                                 "moves it, a rollback moves it back.")
          .withDefault(std::string("champion")),
      ParamSpec::ref("repository", NodeKind::kStorage,
                     "The store of the registry, the logged requests (serving.runtime's "
                     "payload_storage) and the ground truth; window results go there too."),
      ParamSpec::ref("jobs", NodeKind::kService,
                     "The service.jobs node retrainings run on; needed when a retrain trigger "
                     "is set.")
          .optional(),
      ParamSpec::ref("holdout", NodeKind::kDataset,
                     "The held-out rows the gate evaluates champion and challenger on; needed "
                     "when a retrain trigger is set.")
          .optional(),
      ParamSpec::integer("interval_ms", "How often logged requests and ground truth are read "
                                        "and the policy applied.")
          .range(50, 3'600'000)
          .withDefault(std::int64_t{5000}),
  };
}

std::vector<ParamSpec> driftParams() {
  return {
      ParamSpec::integer("window", "Logged rows per drift window.")
          .range(10, 10'000'000)
          .withDefault(std::int64_t{1000}),
      ParamSpec::string("number_test", "The drift test of number features: ks (Kolmogorov-"
                                       "Smirnov), wasserstein or psi.")
          .oneOf({"ks", "wasserstein", "psi"})
          .withDefault(std::string("ks")),
      ParamSpec::string("category_test", "The drift test of category features: chi2, "
                                         "jensen_shannon or psi.")
          .oneOf({"chi2", "jensen_shannon", "psi"})
          .withDefault(std::string("chi2")),
      ParamSpec::number("alpha", "The false-alarm rate of a window's p-value tests, after "
                                 "the correction across features.")
          .range(1e-9, 0.5)
          .withDefault(0.05),
      ParamSpec::string("correction", "Multiple-testing control across a window's features.")
          .oneOf({"benjamini_hochberg", "bonferroni", "none"})
          .withDefault(std::string("benjamini_hochberg")),
      ParamSpec::number("psi_threshold", "PSI above which a feature drifted (psi tests).")
          .range(1e-6, 100)
          .withDefault(0.2),
  };
}

std::vector<ParamSpec> policyParams() {
  return {
      ParamSpec::integer("feedback_window", "Labelled rows the live metric is measured over.")
          .range(1, 10'000'000)
          .withDefault(std::int64_t{500}),
      ParamSpec::boolean("retrain_on_drift", "Retrain when a window drifted.")
          .withDefault(false),
      ParamSpec::string("retrain_schedule", "Retrain at these times (cron, UTC); empty: never.")
          .withDefault(std::string()),
      ParamSpec::number("retrain_live_threshold",
                        "Retrain when the live metric crosses this: under it for accuracy, over "
                        "it for rmse.")
          .optional(),
      ParamSpec::integer("retrain_after_labels",
                         "Retrain once this many labelled rows arrived since the last "
                         "retraining; 0: never.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::integer("cooldown_s", "The least time between two retrainings.")
          .range(0, 365 * 86400)
          .withDefault(std::int64_t{3600}),
      ParamSpec::integer("min_feedback", "Labelled rows a live metric needs before it may "
                                         "trigger a retraining or judge a rollback.")
          .atLeast(1)
          .withDefault(std::int64_t{100}),
      ParamSpec::string("retrain_graph", "The graph file a retraining submits to the job "
                                         "service (relative: to this configuration's folder); "
                                         "it trains the model and registers it in the "
                                         "repository.")
          .withDefault(std::string()),
      ParamSpec::string("feedback_csv",
                        "Where the rows labelled by ground truth are written, as a CSV (the "
                        "features, then `label`; relative: to this configuration's folder), "
                        "before each retraining, and registered as a version of dataset "
                        "<model>.feedback; a retrain_graph's dataset.csv can read it. Empty: "
                        "labelled rows are not kept.")
          .withDefault(std::string()),
      ParamSpec::string("gate_metric", "The job.evaluate metric the challenger must beat the "
                                       "champion on; empty: accuracy, or rmse for regression.")
          .withDefault(std::string()),
      ParamSpec::number("gate_margin", "By how much (in the metric's units) it must beat it.")
          .range(0, 1e12)
          .withDefault(0.0),
      ParamSpec::number("gate_max_class_regression",
                        "Classification: the most any class's recall may fall (0..1).")
          .range(0, 1)
          .optional(),
      ParamSpec::integer("gate_shadow_rows",
                         "Also judge the challenger on shadow traffic: the last N served rows "
                         "that got ground truth, answered by both champion and challenger "
                         "when the gate runs (neither answer is served); it must beat the "
                         "champion there too, by the same rule. 0: held-out rows only. Needs "
                         "feedback_csv (the rows' features are kept with it).")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::integer("watch_labels", "Labelled rows a promoted version is watched for "
                                         "before it is kept; 0: no watch, no rollback.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::number("watch_tolerance", "How much worse than the previous champion's live "
                                           "metric a promoted version's may be before it is "
                                           "rolled back.")
          .range(0, 1e12)
          .withDefault(0.02),
  };
}

Status readDriftSettings(const NodeConfig& config, DriftOptions& drift) {
  drift.number_test = *parseNumberDriftTest(config.getString("number_test"));
  drift.category_test = *parseCategoryDriftTest(config.getString("category_test"));
  drift.alpha = config.getFloat("alpha");
  drift.correction = *parseDriftCorrection(config.getString("correction"));
  drift.psi_threshold = config.getFloat("psi_threshold");
  return validateDriftOptions(drift);
}

Status readPolicySettings(const NodeConfig& config, MonitorSettings& s) {
  const std::string where = config.nodeName();
  s.feedback_window = static_cast<std::size_t>(config.getInt("feedback_window"));
  RetrainTriggers& t = s.triggers;
  t.on_drift = config.getBool("retrain_on_drift");
  if (const std::string& cron = config.getString("retrain_schedule"); !cron.empty()) {
    auto parsed = jobs::CronExpression::parse(cron);
    if (!parsed.ok()) {
      return parsed.status().withContext(where + ": retrain_schedule");
    }
    t.schedule = *parsed;
  }
  if (config.has("retrain_live_threshold")) {
    t.live_metric_threshold = config.getFloat("retrain_live_threshold");
  }
  if (config.getInt("retrain_after_labels") > 0) {
    t.new_labelled_rows = static_cast<std::uint64_t>(config.getInt("retrain_after_labels"));
  }
  t.cooldown_ms = config.getInt("cooldown_s") * 1000;
  t.min_feedback = static_cast<std::uint64_t>(config.getInt("min_feedback"));
  s.retrains = t.on_drift || t.schedule || t.live_metric_threshold || t.new_labelled_rows;
  s.queue = config.getString("queue");
  if (const std::string& csv = config.getString("feedback_csv"); !csv.empty()) {
    s.feedback_csv = std::filesystem::path(csv).is_relative() ? config.host().baseDir() / csv
                                                               : std::filesystem::path(csv);
  }
  s.retrain_threads = config.getInt("retrain_threads");
  s.gate.metric = config.getString("gate_metric");
  s.gate.margin = config.getFloat("gate_margin");
  if (config.has("gate_max_class_regression")) {
    s.gate.max_class_regression = config.getFloat("gate_max_class_regression");
  }
  s.shadow_rows = static_cast<std::size_t>(config.getInt("gate_shadow_rows"));
  if (s.shadow_rows > 0 && s.feedback_csv.empty()) {
    return invalidArgument(where + ": gate_shadow_rows needs feedback_csv, which keeps the "
                                   "features of the served rows that got ground truth");
  }
  s.watch.rows = static_cast<std::uint64_t>(config.getInt("watch_labels"));
  s.watch.tolerance = config.getFloat("watch_tolerance");
  return Status();
}

/// The retrain graph's text, read once at start so a bad path fails the configuration.
Status readRetrainSettings(const NodeConfig& config, MonitorSettings& s) {
  const std::string where = config.nodeName();
  const std::string& given = config.getString("retrain_graph");
  if (!s.retrains) {
    return given.empty() ? Status()
                         : invalidArgument(where + ": retrain_graph is set but no retrain "
                                                   "trigger is (retrain_on_drift, "
                                                   "retrain_schedule, retrain_live_threshold, "
                                                   "retrain_after_labels)");
  }
  if (given.empty()) {
    return invalidArgument(where + ": a retrain trigger is set, so retrain_graph must name "
                                   "the graph that retrains the model");
  }
  auto graph = readRetrainGraph(config, given);
  if (!graph.ok()) return graph.status().withContext(where);
  s.retrain_graph = std::move(graph->text);
  s.retrain_graph_name = std::move(graph->path);
  return Status();
}

Expected<std::unique_ptr<Node>> makeMonitor(const TypeRegistry& registry,
                                            const NodeConfig& config) {
  const std::string where = config.nodeName();
  MonitorSettings s;
  s.model = config.getString("model");
  s.alias = config.getString("alias");
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.model, "model").withContext(where));
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.alias, "alias").withContext(where));
  s.interval_ms = config.getInt("interval_ms");
  s.window = static_cast<std::size_t>(config.getInt("window"));
  AIMASS_RETURN_IF_ERROR(readDriftSettings(config, s.drift).withContext(where));
  AIMASS_RETURN_IF_ERROR(readPolicySettings(config, s));
  AIMASS_RETURN_IF_ERROR(readRetrainSettings(config, s));
  GateSpec gate = s.gate;  // an empty metric is chosen by the task when the gate runs
  if (gate.metric.empty()) gate.metric = "accuracy";
  AIMASS_RETURN_IF_ERROR(validateGateSpec(gate, where));
  std::shared_ptr<JobService> jobs;
  if (config.has("jobs")) {
    if (config.refTypes("jobs").front() != jobs::kJobsServiceType) {
      return invalidArgument(where + ": jobs must name a service.jobs node, not a " +
                             config.refTypes("jobs").front());
    }
    jobs = config.getRef<jobs::JobsServiceNode>("jobs");
  }
  std::shared_ptr<const Dataset> holdout;
  if (config.has("holdout")) {
    holdout = config.getRef<const Dataset>("holdout");
  }
  if (s.retrains && (!jobs || !holdout)) {
    return invalidArgument(where + ": a retrain trigger is set, so `jobs` (the service.jobs "
                                   "node that runs retrainings) and `holdout` (the dataset the "
                                   "gate evaluates on) must be set");
  }
  auto storage = config.getRef<Storage>("repository");
  return std::unique_ptr<Node>(std::make_unique<MonitorNode>(
      std::move(s), std::move(storage), std::move(jobs), std::move(holdout),
      typeRegistryModelFactory(registry, config.host()), config.host()));
}

}  // namespace

NodeType monitorNodeType(const TypeRegistry& registry) {
  NodeType type;
  type.type = kMonitorServiceType;
  type.kind = NodeKind::kService;
  type.summary =
      "Watches a served model (docs/monitoring.md): drift of its logged inputs against the "
      "training-data profile, live accuracy from posted ground truth, and an update policy "
      "that retrains, gates, promotes and rolls back";
  for (auto* group : {targetParams, driftParams, policyParams, retrainJobParams}) {
    for (auto& spec : group()) {
      type.params.push_back(std::move(spec));
    }
  }
  type.factory = [&registry](const NodeConfig& config) { return makeMonitor(registry, config); };
  return type;
}

}  // namespace aimass::core
