// SPDX-License-Identifier: Apache-2.0
// OipRouter's extension routes (http_frontend.h): Triton's model repository and statistics
// extensions, Prometheus metrics, online-learning feedback, and MLflow's scoring protocol. The core OIP v2 routes,
// routing and admission are in http_frontend.cc.
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "aimass/job_service.h"
#include "http_frontend.h"
#include "infer_codec.h"
#include "json_body.h"
#include "mlflow_codec.h"

namespace aimass::plugins::frontend {

ModelServing* OipRouter::servingOrError(HttpResponse& response) const {
  ModelServing* serving = host_.serving();
  if (serving == nullptr) {
    jsonError(response, 503, "this host has no serving runtime");
  }
  return serving;
}

namespace {

void appendDuration(std::string& out, const char* name, const DurationStat& stat) {
  out += "\"";
  out += name;
  out += "\":{\"count\":" + std::to_string(stat.count) + ",\"ns\":" + std::to_string(stat.ns) + "}";
}

/// 404 for what is unknown, 503 when storage cannot be reached, 400 for every other refusal
/// (bad name, no repository, corrupt or unloadable artifact), as Triton answers failed loads.
int repositoryStatus(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 400;
  }
}

}  // namespace

void OipRouter::feedback(const HttpRequest& request, HttpResponse& response) const {
  // Decoded against the version pinned here and learned by that same version.
  ModelServing* serving = nullptr;
  auto pinned = pinOrAnswer(request, response, &serving);
  if (!pinned) {
    return;
  }
  const ServedModel& served = pinned->served();
  OnlineLearning* learning = served.model->onlineLearning();
  if (learning == nullptr) {
    // 409: the request is well formed, but this model cannot take it (retrying will not help).
    jsonError(response, 409,
              "model '" + served.name + "' version '" + served.version +
                  "' does not learn online, so it takes no feedback");
    return;
  }
  ModelSchema observations;
  Status described = guard("observationInputs", [&] {
    observations.inputs = learning->observationInputs();
    return okStatus();
  });
  if (!described.ok()) {
    jsonError(response, 500, "model '" + served.name + "': " + described.message());
    return;
  }
  auto decoded = decodeInferRequest(request.body, observations, decodeOptions(request));
  if (!decoded.ok()) {
    jsonError(response, httpStatusFor(decoded.status()),
              "feedback for model '" + served.name + "': " + decoded.status().message());
    return;
  }
  auto learned = serving->learn(served.name, served.version, decoded->inputs);
  if (!learned.ok()) {
    const int status = httpStatusFor(learned.status());
    if (status >= 500) {
      host_.log(LogLevel::kError, node_name_, learned.status().toString());
    }
    jsonError(response, status, learned.status().message());
    return;
  }
  std::string out = "{\"model_name\":";
  appendJsonString(out, served.name);
  out += ",\"model_version\":";
  appendJsonString(out, learned->version);
  out += ",\"rows\":" + std::to_string(learned->rows);
  out += learned->persisted ? ",\"persisted\":true" : ",\"persisted\":false";
  if (learned->persisted) {
    out += ",\"sequence\":" + std::to_string(learned->sequence);
  }
  out += "}";
  jsonBody(response, 200, std::move(out));
}

void OipRouter::repositoryIndex(const HttpRequest& request, HttpResponse& response) const {
  ModelServing* serving = servingOrError(response);
  if (serving == nullptr) {
    return;
  }
  auto body = jsonObjectBody(request.body, "repository index", EmptyBody::kEmptyObject);
  if (!body.ok()) {
    jsonError(response, 400, body.status().message());
    return;
  }
  bool ready_only = false;
  if ((*body)->has("ready")) {
    Poco::Dynamic::Var ready = (*body)->get("ready");
    if (!ready.isBoolean()) {
      jsonError(response, 400, "'ready' in the repository index body must be true or false");
      return;
    }
    ready_only = ready.extract<bool>();
  }
  std::string out = "[";
  for (const auto& entry : serving->index(ready_only)) {
    if (!serves(entry.name)) {
      continue;
    }
    out += out.size() > 1 ? ",{\"name\":" : "{\"name\":";
    appendJsonString(out, entry.name);
    if (!entry.version.empty()) {
      out += ",\"version\":";
      appendJsonString(out, entry.version);
    }
    out += ",\"state\":";
    appendJsonString(out, entry.state);
    out += ",\"reason\":";
    appendJsonString(out, entry.reason);
    out += "}";
  }
  out += "]";
  jsonBody(response, 200, std::move(out));
}

void OipRouter::repositoryLoad(const HttpRequest& request, HttpResponse& response) const {
  ModelServing* serving = servingOrError(response);
  if (serving == nullptr) {
    return;
  }
  const std::string& reference = request.path_params.at("model");
  auto body = jsonObjectBody(request.body, "repository load", EmptyBody::kEmptyObject);
  if (!body.ok()) {
    jsonError(response, 400, body.status().message());
    return;
  }
  const std::string name = reference.substr(0, reference.find('@'));
  if ((*body)->has("parameters")) {
    Poco::JSON::Object::Ptr parameters = (*body)->getObject("parameters");
    if (parameters.isNull()) {
      jsonError(response, 400, "'parameters' in the repository load body must be an object");
      return;
    }
    for (const auto& [key, value] : *parameters) {
      if (key != "version_policy") {
        jsonError(response, 400,
                  "unsupported load parameter '" + key + "' (aimass takes 'version_policy')");
        return;
      }
      if (!value.isString()) {
        jsonError(response, 400, "load parameter 'version_policy' must be a string");
        return;
      }
      auto policy = parseVersionPolicy(value.extract<std::string>());
      if (!policy.ok()) {
        jsonError(response, 400, policy.status().message());
        return;
      }
      serving->setVersionPolicy(name, *policy);
    }
  }
  Status loaded = serving->load(reference);
  if (!loaded.ok()) {
    host_.log(LogLevel::kWarning, node_name_, loaded.message());
    jsonError(response, repositoryStatus(loaded), loaded.message());
    return;
  }
  host_.log(LogLevel::kInfo, node_name_, "loaded '" + reference + "' from the repository");
  jsonBody(response, 200, "{}");
}

void OipRouter::repositoryUnload(const HttpRequest& request, HttpResponse& response) const {
  ModelServing* serving = servingOrError(response);
  if (serving == nullptr) {
    return;
  }
  const std::string& name = request.path_params.at("model");
  auto body = jsonObjectBody(request.body, "repository unload", EmptyBody::kEmptyObject);
  if (!body.ok()) {
    jsonError(response, 400, body.status().message());
    return;
  }
  if (!serves(name)) {
    jsonError(response, 404, "cannot unload '" + name + "': no such model is loaded");
    return;
  }
  Status unloaded = serving->unload(name);
  if (!unloaded.ok()) {
    jsonError(response, repositoryStatus(unloaded), unloaded.message());
    return;
  }
  host_.log(LogLevel::kInfo, node_name_, "unloaded '" + name + "'");
  jsonBody(response, 200, "{}");
}

void OipRouter::modelStatistics(const HttpRequest& request, HttpResponse& response) const {
  ModelServing* serving = servingOrError(response);
  if (serving == nullptr) {
    return;
  }
  auto model = request.path_params.find("model");
  auto version = request.path_params.find("version");
  std::string name = model == request.path_params.end() ? std::string() : model->second;
  if (!name.empty() && !serves(name)) {
    jsonError(response, 404, "unknown model '" + name + "'");
    return;
  }
  auto stats = serving->statistics(
      name, version == request.path_params.end() ? std::string_view() : version->second);
  if (!stats.ok()) {
    jsonError(response, httpStatusFor(stats.status()), stats.status().message());
    return;
  }
  std::string out = "{\"model_stats\":[";
  bool first = true;
  for (const auto& s : *stats) {
    if (!serves(s.name)) {
      continue;
    }
    out += first ? "{\"name\":" : ",{\"name\":";
    first = false;
    appendJsonString(out, s.name);
    out += ",\"version\":";
    appendJsonString(out, s.version);
    out += ",\"last_inference\":" + std::to_string(s.last_inference_ms);
    out += ",\"inference_count\":" + std::to_string(s.inference_count);
    out += ",\"execution_count\":" + std::to_string(s.execution_count);
    out += ",\"inference_stats\":{";
    appendDuration(out, "success", s.success);
    out += ",";
    appendDuration(out, "fail", s.fail);
    out += ",";
    appendDuration(out, "queue", s.queue);
    out += ",";
    appendDuration(out, "compute_input", s.compute_input);
    out += ",";
    appendDuration(out, "compute_infer", s.compute_infer);
    out += ",";
    appendDuration(out, "compute_output", s.compute_output);
    out += ",";
    appendDuration(out, "cache_hit", DurationStat{});
    out += ",";
    appendDuration(out, "cache_miss", DurationStat{});
    out += "},\"batch_stats\":[";
    for (std::size_t i = 0; i < s.batch_stats.size(); ++i) {
      const BatchStat& b = s.batch_stats[i];
      out += (i ? ",{\"batch_size\":" : "{\"batch_size\":") + std::to_string(b.batch_size) + ",";
      appendDuration(out, "compute_input", b.compute_input);
      out += ",";
      appendDuration(out, "compute_infer", b.compute_infer);
      out += ",";
      appendDuration(out, "compute_output", b.compute_output);
      out += "}";
    }
    out += "],\"failure_reasons\":{";
    for (std::size_t i = 0; i < s.failures.size(); ++i) {
      out += i ? "," : "";
      appendJsonString(out, s.failures[i].first);
      out += ":" + std::to_string(s.failures[i].second);
    }
    out += "},\"pending_requests\":" + std::to_string(s.pending) + "}";
  }
  out += "]}";
  jsonBody(response, 200, std::move(out));
}

void OipRouter::metrics(HttpResponse& response) const {
  ModelServing* serving = servingOrError(response);
  if (serving == nullptr) {
    return;
  }
  response.status = 200;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = serving->prometheusMetrics();
  if (JobService* jobs = host_.jobs()) {
    response.body += jobs->prometheusMetrics();
  }
}

Expected<ServedModel> OipRouter::mlflowModel() const {
  if (options_.mlflow_model) {
    const std::string& name = *options_.mlflow_model;
    auto found = serves(name) ? findServed(name, std::string_view())
                              : Expected<ServedModel>(notFound(""));
    if (!found.ok() || !found->model) {
      return notFound("the model '" + name + "' named by mlflow_model is not served");
    }
    return found;
  }
  std::vector<std::string> names;
  for (const auto& m : servedModels()) {
    if (serves(m.name) && std::find(names.begin(), names.end(), m.name) == names.end()) {
      names.push_back(m.name);
    }
  }
  if (names.empty()) {
    return notFound("no model is served, so /invocations has nothing to score with");
  }
  if (names.size() > 1) {
    std::string list;
    for (const auto& n : names) {
      list += (list.empty() ? "" : ", ") + n;
    }
    return invalidArgument("several models are served (" + list +
                           "); set the frontend's mlflow_model parameter to the one "
                           "/invocations scores with, or use /v2/models/{name}/infer");
  }
  auto found = findServed(names.front(), std::string_view());
  if (found.ok() && !found->model) {
    return notFound("unknown model '" + names.front() + "'");
  }
  return found;
}

void OipRouter::mlflowPing(HttpResponse& response) const {
  // MLflow answers 200 when its model is loaded and 404 otherwise. The route needs no
  // credentials, so its answers name no model: which models exist is for readers to learn.
  auto served = mlflowModel();
  if (!served.ok()) {
    mlflowError(response, 404,
                served.status().code() == StatusCode::kInvalidArgument
                    ? "several models are served and the mlflow_model parameter names none of "
                      "them, so /invocations has no model to score with"
                    : "the model /invocations scores with is not served");
    return;
  }
  if (!served->model->ready()) {
    mlflowError(response, 404, "the model /invocations scores with is not ready");
    return;
  }
  jsonBody(response, 200, "{\"status\":\"ok\"}");
}

void OipRouter::mlflowVersion(HttpResponse& response) const {
  std::string body;
  appendJsonString(body, host_.version());
  jsonBody(response, 200, std::move(body));
}

void OipRouter::invocations(const HttpRequest& request, HttpResponse& response) const {
  auto content_type = request.headers.find("content-type");
  auto format = mlflowFormat(content_type == request.headers.end() ? std::string_view()
                                                                   : content_type->second);
  if (!format.ok()) {
    mlflowError(response, 415, format.status().message());
    return;
  }
  auto chosen = mlflowModel();
  if (!chosen.ok()) {
    mlflowError(response, httpStatusFor(chosen.status()), chosen.status().message());
    return;
  }
  ModelServing* serving = host_.serving();
  if (serving == nullptr) {
    mlflowError(response, 503, "this host has no serving runtime");
    return;
  }
  // Like /infer: the newest version, pinned for the whole request, batched and counted.
  auto pinned = pinReady(*serving, chosen->name, std::string_view());
  if (!pinned.ok()) {
    mlflowError(response, httpStatusFor(pinned.status()), pinned.status().message());
    return;
  }
  const ServedModel* served = &(*pinned)->served();
  const Model& model = *served->model;
  PredictOptions predict_options;
  auto inputs = decodeMlflowRequest(*format, request.body, model.schema(), options_.max_json_depth,
                                    &predict_options);
  if (!inputs.ok()) {
    (*pinned)->countFailure(InferFailure::kInvalid);
    mlflowError(response, httpStatusFor(inputs.status()), inputs.status().message());
    return;
  }
  TensorMap outputs;
  InferFailure failure = InferFailure::kBackend;
  Status predicted = (*pinned)->infer(*inputs, predict_options, outputs, &failure);
  if (!predicted.ok()) {
    int status = httpStatusFor(predicted);
    if (failure == InferFailure::kBackend && status >= 500 && status != 503) {
      host_.log(LogLevel::kError, node_name_,
                "model '" + served->name + "' failed: " + predicted.toString());
    }
    const bool named = predicted.message().rfind("model '", 0) == 0;
    mlflowError(
        response, status,
        named ? predicted.message() : "model '" + served->name + "': " + predicted.message());
    return;
  }
  auto body = encodeMlflowPredictions(outputs);
  if (!body.ok()) {
    mlflowError(response, httpStatusFor(body.status()), body.status().message());
    return;
  }
  jsonBody(response, 200, std::move(body).value());
}

}  // namespace aimass::plugins::frontend
