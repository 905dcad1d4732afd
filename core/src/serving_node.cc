// SPDX-License-Identifier: Apache-2.0
#include "serving_node.h"

#include <utility>

#include "aimass/core/serving.h"
#include "aimass/http.h"
#include "aimass/util/version_policy_text.h"
#include "input_check.h"

namespace aimass::core {
namespace {

constexpr const char* kServingType = "serving.runtime";

/// `payload_storage` (else the repository); an error naming where payload_sample asks for
/// logging when there is neither.
Status readPayloadStorage(const NodeConfig& config, const std::string& where, ServingConfig& out) {
  if (config.has("payload_storage") && !config.refNames("payload_storage").empty()) {
    out.payload_storage = config.getRef<Storage>("payload_storage");
    out.payload_storage_name = config.refNames("payload_storage").front();
  } else if (out.repository) {
    out.payload_storage = out.repository;
    out.payload_storage_name = out.repository_name;
  }
  if (out.payload_storage) {
    return okStatus();
  }
  auto missing = [](const std::string& place) {
    return invalidArgument(place +
                           " asks for payload logging, but there is nowhere to write "
                           "it: set 'payload_storage' (or 'repository') on the node");
  };
  if (out.payload.sample > 0) {
    return missing(where + ": payload_sample");
  }
  for (const auto& settings : out.models) {
    if (settings.payload_sample.value_or(0) > 0) {
      return missing(settings.payload_place);
    }
  }
  return okStatus();
}

/// The node's settings from its validated parameters; errors name the node or, for a
/// `models` entry, the entry's place in the config.
Expected<ServingConfig> readServingConfig(const NodeConfig& config) {
  ServingConfig out;
  BatchingOptions& batching = out.batching;
  batching.max_batch_size = config.getInt("max_batch_size");
  batching.preferred_batch_sizes = config.getIntList("preferred_batch_sizes");
  batching.max_queue_delay_us = config.getInt("max_queue_delay_us");
  batching.max_queue_size = config.getInt("max_queue_size");
  batching.timeout_ms = config.getInt("queue_timeout_ms");
  const std::string where = kServingType + std::string(" '") + config.nodeName() + "'";
  AIMASS_RETURN_IF_ERROR(validateBatching(batching, where));
  auto policy = parseVersionPolicy(config.getString("version_policy"));
  if (!policy.ok()) {
    return invalidArgument(where + ": version_policy: " + policy.status().message());
  }
  out.version_policy = std::move(policy).value();
  out.precision = config.getString("precision");
  out.input_validation.policy = *parseInputPolicy(config.getString("input_validation"));
  out.input_validation.margin = config.getFloat("input_margin");
  out.outlier_scores = config.getString("outlier_scores") == "on";
  out.payload.sample = config.getFloat("payload_sample");
  out.payload.exclude = config.getStringList("payload_exclude");
  AIMASS_RETURN_IF_ERROR(validatePayloadExclude(out.payload.exclude, where + ": payload_exclude"));
  out.payload.max_rows = config.getInt("payload_max_rows");
  out.payload.max_age_s = config.getInt("payload_max_age_s");
  for (const auto& [model, record] : config.getMap("models")) {
    AIMASS_ASSIGN_OR_RETURN(ModelSettings settings,
                            modelSettingsFromRecord(model, record, batching));
    out.models.push_back(std::move(settings));
  }
  if (config.has("repository") && !config.refNames("repository").empty()) {
    out.repository = config.getRef<Storage>("repository");
    out.repository_name = config.refNames("repository").front();
  }
  if (config.has("feedback_storage") && !config.refNames("feedback_storage").empty()) {
    out.feedback_storage = config.getRef<Storage>("feedback_storage");
    out.feedback_storage_name = config.refNames("feedback_storage").front();
  } else if (out.repository) {
    out.feedback_storage = out.repository;
    out.feedback_storage_name = out.repository_name;
  }
  if (!config.getBool("persist_feedback")) {
    if (config.has("feedback_storage") && !config.refNames("feedback_storage").empty()) {
      return invalidArgument(where + ": 'feedback_storage' is set but 'persist_feedback' is "
                             "false; drop one of them");
    }
    out.feedback_storage.reset();
    out.feedback_storage_name.clear();
  }
  AIMASS_RETURN_IF_ERROR(readPayloadStorage(config, where, out));
  out.sequences.max_sequences = config.getInt("max_sequences");
  out.sequences.idle_ms = config.getInt("sequence_idle_s") * 1000;
  out.sequences.max_bytes = config.getInt("max_sequence_bytes");
  out.load = config.getStringList("load");
  auto graphs = parseGraphs(config.getString("graphs"));
  if (!graphs.ok()) {
    return invalidArgument(where + ": " + graphs.status().message());
  }
  out.graphs = std::move(graphs).value();
  for (const auto& [model, record] : config.getMap("traffic")) {
    AIMASS_ASSIGN_OR_RETURN(TrafficSpec spec, trafficFromRecord(model, record));
    out.traffic.push_back(std::move(spec));
  }
  if (!out.load.empty() && !out.repository) {
    return invalidArgument(where + ": 'load' names registry models, so 'repository' must name "
                           "the storage node that holds the registry");
  }
  return out;
}

}  // namespace

Status ServingNode::apply(ModelServing& serving, Host& host) const {
  serving.setBatching("", config_.batching);
  serving.setVersionPolicy("", config_.version_policy);
  for (const auto& settings : config_.models) {
    serving.setBatching(settings.model, settings.batching);
    if (settings.version_policy) {
      serving.setVersionPolicy(settings.model, *settings.version_policy);
    }
  }
  if (auto* runtime = dynamic_cast<ServingRuntime*>(&serving)) {
    runtime->sequences().setLimits(config_.sequences);
    runtime->setPrecision("", config_.precision);
    for (const auto& settings : config_.models) {
      if (settings.precision) {
        runtime->setPrecision(settings.model, *settings.precision);
      }
    }
    runtime->setLog([&host](LogLevel level, const std::string& node, const std::string& message) {
      host.log(level, node, message);
    });
    runtime->setInputValidation("", config_.input_validation);
    for (const auto& settings : config_.models) {
      if (settings.input_validation || settings.input_margin) {
        InputValidation validation = config_.input_validation;
        validation.policy = settings.input_validation.value_or(validation.policy);
        validation.margin = settings.input_margin.value_or(validation.margin);
        runtime->setInputValidation(settings.model, validation);
      }
    }
    runtime->setOutlierScores("", config_.outlier_scores);
    for (const auto& settings : config_.models) {
      if (settings.outlier_scores) {
        runtime->setOutlierScores(settings.model, *settings.outlier_scores);
      }
    }
    applyPayloadLogging(*runtime);
  }
  const std::string where = kServingType + std::string(" '") + name_ + "'";
  if (config_.repository) {
    Status status = serving.setRepository(config_.repository);
    if (!status.ok()) {
      return Status(status.code(), where + ": " + status.message());
    }
  }
  if (config_.feedback_storage) {
    Status status = serving.setFeedbackStorage(config_.feedback_storage);
    if (!status.ok()) {
      return Status(status.code(), where + ": " + status.message());
    }
  }
  for (const auto& reference : config_.load) {
    Status status = serving.load(reference);
    if (!status.ok()) {
      return Status(status.code(), where + ": " + status.message());
    }
    host.log(LogLevel::kInfo, name_,
             "loaded '" + reference + "' from the registry of '" + config_.repository_name + "'");
  }
  if (config_.traffic.empty() && config_.graphs.empty()) {
    return okStatus();
  }
  auto* runtime = dynamic_cast<ServingRuntime*>(&serving);
  if (runtime == nullptr) {
    return failedPrecondition(where + ": graphs and traffic need the host's serving runtime");
  }
  Status status = runtime->setTraffic(config_.traffic);
  if (status.ok()) {
    status = runtime->setGraphs(config_.graphs);
  }
  if (!status.ok()) {
    return Status(status.code(), where + ": " + status.message());
  }
  return okStatus();
}

void ServingNode::applyPayloadLogging(ServingRuntime& runtime) const {
  if (config_.payload_storage) {
    runtime.setPayloadStorage(config_.payload_storage);
  }
  runtime.setPayloadLogging("", config_.payload);
  for (const auto& settings : config_.models) {
    if (settings.payload_sample || !settings.payload_exclude.empty() ||
        settings.payload_max_rows || settings.payload_max_age_s) {
      PayloadLogging payload = config_.payload;
      payload.sample = settings.payload_sample.value_or(payload.sample);
      payload.model_exclude = settings.payload_exclude;
      payload.max_rows = settings.payload_max_rows.value_or(payload.max_rows);
      payload.max_age_s = settings.payload_max_age_s.value_or(payload.max_age_s);
      runtime.setPayloadLogging(settings.model, payload);
    }
  }
}

Route shadowRoute(Host& host) {
  Route route;
  route.method = "GET";
  route.pattern = "/v2/shadow/{model}";
  route.summary = "Recent shadow comparisons of a model split by serving.runtime's traffic";
  route.role = Role::kReader;
  route.handler = [&host](const HttpRequest& request, HttpResponse& response) {
    auto* runtime = dynamic_cast<ServingRuntime*>(host.serving());
    auto report = runtime != nullptr
                      ? runtime->shadowComparisons(request.path_params.at("model"))
                      : Expected<std::string>(unavailable("no serving runtime"));
    if (!report.ok()) {
      jsonError(response, httpStatusFor(report.status()), report.status().message());
      return;
    }
    response.body = std::move(report).value();
  };
  return route;
}

NodeType servingNodeType() {
  NodeType type;
  type.type = kServingType;
  type.kind = NodeKind::kServing;
  type.summary =
      "The host's serving runtime, which every frontend serves through: dynamic batching, "
      "version policies, the model repository and the versions loaded from it at start";
  type.params = {
      ParamSpec::ref("repository", NodeKind::kStorage,
                     "Storage node whose model registry `load` and the frontends' repository "
                     "routes (POST /v2/repository/models/{name}/load) read; it is also the "
                     "registry the frontends serve under /api/v1 (default: none).")
          .optional(),
      ParamSpec::ref("feedback_storage", NodeKind::kStorage,
                     "Storage node where the feedback that models learning online (model.mf) "
                     "receive through POST /v2/models/{name}/feedback is persisted, under "
                     "feedback/<model>/<trained state>/<batch>; a version replays its records "
                     "before it serves, so learned feedback survives restarts, and a retrained "
                     "model starts clean. A record that cannot be replayed keeps the version "
                     "from serving, naming the key to remove (default: the `repository` when "
                     "set, else none: learned feedback lasts until the process ends).")
          .optional(),
      ParamSpec::ref("payload_storage", NodeKind::kStorage,
                     "Storage node where payload logging (payload_sample) writes the logged "
                     "requests, under payloads/<model>/<version>/ (docs/monitoring.md; read "
                     "them with `aimass models payloads NAME`) (default: the `repository`).")
          .optional(),
      ParamSpec::boolean("persist_feedback",
                         "false: learned feedback is kept in memory only, never written to "
                         "`feedback_storage` or the repository.")
          .withDefault(true),
      ParamSpec::list("load", ParamType::kStringList,
                      "Registry models loaded once the jobs are done, before any frontend "
                      "starts: NAME (by its version policy), NAME@ALIAS or NAME/VERSION. A "
                      "failed load stops the run.")
          .withDefault(std::vector<std::string>{}),
  };
  type.params.push_back(
      ParamSpec::integer("max_sequences",
                         "Stateful sequences (request parameter sequence_id): most states "
                         "stored, over all models; one more evicts the least recently used, "
                         "whose next request starts afresh.")
          .range(1, 10'000'000)
          .withDefault(std::int64_t{10000}));
  type.params.push_back(
      ParamSpec::integer("sequence_idle_s",
                         "Stateful sequences: a state not used for this many seconds is "
                         "dropped.")
          .range(1, 30 * 86400)
          .withDefault(std::int64_t{600}));
  type.params.push_back(
      ParamSpec::integer("max_sequence_bytes",
                         "Stateful sequences: most bytes of stored states in all; storing more "
                         "evicts the least recently used (a single state larger than this is "
                         "refused with 429).")
          .range(1, std::int64_t{1} << 40)
          .withDefault(std::int64_t{256} << 20));
  for (auto& param : servingDefaultsParams()) {
    type.params.push_back(std::move(param));
  }
  type.params.push_back(
      ParamSpec::json("graphs",
                      "Serving graphs: models made of steps that run other served models, by "
                      "graph name: {steps: [{name, model, version, inputs: {INPUT: "
                      "request.X | STEP.OUTPUT}, outputs: {OUTPUT: NEW_NAME}} | {name, switch: "
                      "{on: request.X | STEP.OUTPUT, cases: [{when: {equals | not_equals | "
                      "less | less_equal | greater | greater_equal: VALUE}, model, version}], "
                      "default, default_version}, inputs, outputs}], outputs: {NAME: "
                      "STEP.OUTPUT}}. See docs/pipelines.md (default: none).")
          .withDefault(std::string("{}"))
          .withExample("{scored: {steps: [{name: scale, model: scaler, inputs: {input: "
                       "request.input}}], outputs: {label: scale.label}}}"));
  type.params.push_back(ParamSpec::map("traffic", trafficFields(),
                                       "A/B splits by model name: requests that name no "
                                       "version go to a version drawn by weight (by the hash "
                                       "of the request parameter request_id when given); an "
                                       "optional shadow version also runs them in the "
                                       "background, compared and never returned.")
                            .withDefault(ParamRecordMap{})
                            .withExample(
                                "{iris: {versions: [\"3:90\", \"4:10\"], shadow: \"5\"}}"));
  type.params.push_back(ParamSpec::map("models", modelSettingsFields(),
                                       "Per-model settings, by model name; a field left out "
                                       "takes the value above.")
                            .withDefault(ParamRecordMap{})
                            .withExample("{iris: {max_batch_size: 32, max_queue_delay_us: 200}}"));
  type.factory = [](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    AIMASS_ASSIGN_OR_RETURN(ServingConfig settings, readServingConfig(config));
    bool shadowed = false;
    for (const auto& spec : settings.traffic) {
      shadowed = shadowed || !spec.shadow.empty();
    }
    if (shadowed) {
      AIMASS_RETURN_IF_ERROR(config.host().routes().add(shadowRoute(config.host())));
    }
    return std::unique_ptr<Node>(std::make_unique<ServingNode>(config.nodeName(),
                                                               std::move(settings)));
  };
  return type;
}

}  // namespace aimass::core
