// SPDX-License-Identifier: Apache-2.0
#include "oip_grpc_service.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "grpc_tensors.h"

namespace aimass::plugins::frontend {

grpc::StatusCode grpcCodeFor(StatusCode code) noexcept {
  switch (code) {
    case StatusCode::kOk:
      return grpc::StatusCode::OK;
    case StatusCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case StatusCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case StatusCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case StatusCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case StatusCode::kOutOfRange:
      return grpc::StatusCode::OUT_OF_RANGE;
    case StatusCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case StatusCode::kAborted:
      return grpc::StatusCode::ABORTED;
    case StatusCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case StatusCode::kPermissionDenied:
      return grpc::StatusCode::PERMISSION_DENIED;
    case StatusCode::kUnimplemented:
      return grpc::StatusCode::UNIMPLEMENTED;
    case StatusCode::kCancelled:
      return grpc::StatusCode::CANCELLED;
    case StatusCode::kDataLoss:
    case StatusCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::INTERNAL;
}

namespace {

grpc::Status toGrpc(const Status& status) {
  return status.ok() ? grpc::Status::OK
                     : grpc::Status(grpcCodeFor(status.code()), status.message());
}

/// The metadata value of `key` (lower case), or empty.
std::string metadataValue(const grpc::CallbackServerContext& context, std::string_view key) {
  const auto& metadata = context.client_metadata();
  auto found = metadata.find(grpc::string_ref(key.data(), key.size()));
  return found == metadata.end() ? std::string()
                                 : std::string(found->second.data(), found->second.size());
}

}  // namespace

OipGrpcService::OipGrpcService(Host& host, std::string node_name,
                               std::optional<std::vector<std::string>> models,
                               std::shared_ptr<const Authenticator> authenticator,
                               RpcWorkers& workers)
    : host_(host),
      node_name_(std::move(node_name)),
      models_(std::move(models)),
      authenticator_(std::move(authenticator)),
      workers_(workers) {}

grpc::Status OipGrpcService::admit(const grpc::CallbackServerContext& context, Role required,
                                   std::string_view rpc) const {
  if (!authenticator_ || required == Role::kPublic) {
    return grpc::Status::OK;
  }
  // The authenticator reads HTTP's headers; gRPC metadata keys are lower case, as it expects.
  HttpRequest credentials;
  credentials.method = "POST";
  credentials.path = "/inference.GRPCInferenceService/" + std::string(rpc);
  for (const std::string_view key : {"authorization", "x-api-key"}) {
    std::string value = metadataValue(context, key);
    if (!value.empty()) {
      credentials.headers.emplace(std::string(key), std::move(value));
    }
  }
  const AuthDecision decision = authenticator_->admit(credentials, required);
  if (decision.status == 200) {
    return grpc::Status::OK;
  }
  // The reason names the principal and what was wrong, never the credential itself.
  host_.log(LogLevel::kWarning, node_name_,
            std::string(rpc) + " refused (" + (decision.status == 401 ? "401" : "403") +
                "): " + decision.reason);
  return grpc::Status(decision.status == 401 ? grpc::StatusCode::UNAUTHENTICATED
                                             : grpc::StatusCode::PERMISSION_DENIED,
                      decision.reason);
}

template <typename Answer>
grpc::ServerUnaryReactor* OipGrpcService::finish(grpc::CallbackServerContext* context,
                                                 Role required, std::string_view rpc,
                                                 Answer&& answer) const {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status status = admit(*context, required, rpc);
  if (status.ok()) {
    try {
      status = answer();
    } catch (const std::exception& e) {
      host_.log(LogLevel::kError, node_name_, std::string(rpc) + " failed: " + e.what());
      status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
    }
  }
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* OipGrpcService::ServerLive(grpc::CallbackServerContext* context,
                                                     const inference::ServerLiveRequest*,
                                                     inference::ServerLiveResponse* response) {
  return finish(context, Role::kPublic, "ServerLive", [&] {
    response->set_live(true);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* OipGrpcService::ServerReady(grpc::CallbackServerContext* context,
                                                      const inference::ServerReadyRequest*,
                                                      inference::ServerReadyResponse* response) {
  return finish(context, Role::kPublic, "ServerReady", [&] { return serverReady(*response); });
}

grpc::ServerUnaryReactor* OipGrpcService::ModelReady(grpc::CallbackServerContext* context,
                                                     const inference::ModelReadyRequest* request,
                                                     inference::ModelReadyResponse* response) {
  return finish(context, Role::kPublic, "ModelReady",
                [&] { return modelReady(*request, *response); });
}

grpc::ServerUnaryReactor* OipGrpcService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  return finish(context, Role::kReader, "ServerMetadata",
                [&] { return serverMetadata(*response); });
}

grpc::ServerUnaryReactor* OipGrpcService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  return finish(context, Role::kReader, "ModelMetadata",
                [&] { return modelMetadata(*request, *response); });
}

grpc::ServerUnaryReactor* OipGrpcService::ModelInfer(grpc::CallbackServerContext* context,
                                                     const inference::ModelInferRequest* request,
                                                     inference::ModelInferResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status admitted = admit(*context, Role::kReader, "ModelInfer");
  if (!admitted.ok()) {
    reactor->Finish(admitted);
    return reactor;
  }
  // gRPC keeps the request, response and context until Finish().
  const bool queued = workers_.submit([this, context, request, response, reactor] {
    if (context->IsCancelled()) {
      reactor->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "the client cancelled the call before it ran"));
      return;
    }
    grpc::Status status;
    try {
      status = infer(*request, *response);
    } catch (const std::exception& e) {
      host_.log(LogLevel::kError, node_name_, std::string("ModelInfer failed: ") + e.what());
      status = grpc::Status(grpc::StatusCode::INTERNAL, std::string("internal error: ") + e.what());
    }
    reactor->Finish(status);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                 "the server is busy: every worker is taken and the queue of "
                                 "waiting inference calls is full (max_queued)"));
  }
  return reactor;
}

bool OipGrpcService::serves(std::string_view name) const {
  if (!models_ || std::find(models_->begin(), models_->end(), name) != models_->end()) {
    return true;
  }
  // What the repository loaded is served by every frontend; `models` picks among the graph's.
  const ModelServing* serving = host_.serving();
  if (serving == nullptr) {
    return false;
  }
  auto found = serving->find(name, std::string_view());
  return found.ok() && found->from_repository;
}

Expected<ServedModel> OipGrpcService::findModel(const std::string& name,
                                                const std::string& version) const {
  if (name.empty()) {
    return invalidArgument("the request names no model");
  }
  const std::string unknown =
      "unknown model '" + name + "'" + (version.empty() ? "" : " version '" + version + "'");
  const ModelServing* serving = host_.serving();
  if (serving == nullptr || !serves(name)) {
    return notFound("unknown model '" + name + "'");
  }
  auto found = serving->find(name, version);
  if (!found.ok()) {
    return found.status().code() == StatusCode::kNotFound ? notFound(unknown) : found.status();
  }
  if (!found->model) {
    return notFound(unknown);
  }
  return found;
}

grpc::Status OipGrpcService::serverReady(inference::ServerReadyResponse& response) const {
  const ModelServing* serving = host_.serving();
  const std::vector<ServedModel> served =
      serving != nullptr ? serving->list() : std::vector<ServedModel>();
  bool ready = true;
  if (models_) {
    for (const auto& name : *models_) {
      ready = ready && std::any_of(served.begin(), served.end(),
                                   [&](const ServedModel& m) { return m.name == name; });
    }
  }
  for (const auto& m : served) {
    if (serves(m.name) && (!m.model || !m.model->ready())) {
      ready = false;
    }
  }
  response.set_ready(ready);
  return grpc::Status::OK;
}

grpc::Status OipGrpcService::modelReady(const inference::ModelReadyRequest& request,
                                        inference::ModelReadyResponse& response) const {
  auto served = findModel(request.name(), request.version());
  if (!served.ok()) {
    return toGrpc(served.status());
  }
  response.set_ready(served->model->ready());
  return grpc::Status::OK;
}

grpc::Status OipGrpcService::serverMetadata(inference::ServerMetadataResponse& response) const {
  response.set_name("aimass");
  response.set_version(std::string(host_.version()));
  return grpc::Status::OK;
}

grpc::Status OipGrpcService::modelMetadata(const inference::ModelMetadataRequest& request,
                                           inference::ModelMetadataResponse& response) const {
  auto served = findModel(request.name(), request.version());
  if (!served.ok()) {
    return toGrpc(served.status());
  }
  response.set_name(served->name);
  for (const auto& m : host_.serving()->list()) {
    if (m.name == served->name) {
      response.add_versions(m.version);
    }
  }
  const ModelSchema schema = served->model->schema();
  response.set_platform("aimass_" + std::string(taskName(schema.task)));
  fillTensorMetadata(schema.inputs, *response.mutable_inputs());
  fillTensorMetadata(schema.outputs, *response.mutable_outputs());
  return grpc::Status::OK;
}

grpc::Status OipGrpcService::infer(const inference::ModelInferRequest& request,
                                   inference::ModelInferResponse& response) const {
  ModelServing* serving = host_.serving();
  if (request.model_name().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the request names no model");
  }
  if (serving == nullptr || !serves(request.model_name())) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "unknown model '" + request.model_name() + "'");
  }
  // The request runs entirely on the version pinned here, whatever loads meanwhile.
  auto pinned = serving->pin(request.model_name(), request.model_version());
  if (!pinned.ok()) {
    return toGrpc(pinned.status());
  }
  PinnedModel& model = **pinned;
  const ServedModel& served = model.served();
  if (!served.model->ready()) {
    model.countFailure(InferFailure::kUnavailable);
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "model '" + served.name + "' is not ready");
  }
  auto decoded = decodeGrpcInferRequest(request);
  if (!decoded.ok()) {
    model.countFailure(InferFailure::kInvalid);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "model '" + served.name + "': " + decoded.status().message());
  }
  const ModelSchema schema = served.model->schema();
  // A numeric input in another numeric datatype than the model declares, converted when every
  // element converts exactly (as frontend.http does; docs/grpc.md).
  if (Status converted = convertToDeclared(decoded->inputs, schema.inputs); !converted.ok()) {
    model.countFailure(InferFailure::kInvalid);
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "model '" + served.name + "': " + converted.message());
  }
  auto spec_of = [&](const std::string& name) {
    return std::find_if(schema.outputs.begin(), schema.outputs.end(),
                        [&](const TensorSpec& s) { return s.name == name; });
  };
  for (const auto& selected : decoded->outputs) {
    if (spec_of(selected) == schema.outputs.end()) {
      model.countFailure(InferFailure::kInvalid);
      std::string known;
      for (const auto& spec : schema.outputs) {
        known += (known.empty() ? "" : ", ") + spec.name;
      }
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "model '" + served.name +
                                                                  "' has no output '" + selected +
                                                                  "' (its outputs: " + known + ")");
    }
  }
  TensorMap outputs;
  InferFailure failure = InferFailure::kBackend;
  Status predicted = model.infer(decoded->inputs, decoded->options, outputs, &failure);
  if (!predicted.ok()) {
    return inferError(served, predicted, failure);
  }
  for (const auto& selected : decoded->outputs) {
    if (outputs.find(selected) == nullptr) {
      // An optional output (a recommender's top-k "items") comes only with some requests.
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "model '" + served.name + "' wrote no output '" + selected +
                              "' for this request: the output is optional and only some "
                              "requests produce it (see the model's documentation, e.g. the "
                              "top_k parameter)");
    }
  }
  response.set_model_name(served.name);
  response.set_model_version(served.version);
  response.set_id(request.id());
  Status encoded = encodeGrpcOutputs(outputs, decoded->outputs, decoded->raw, response);
  if (!encoded.ok()) {
    host_.log(LogLevel::kError, node_name_, "model '" + served.name + "': " + encoded.toString());
    return toGrpc(encoded);
  }
  return grpc::Status::OK;
}

grpc::Status OipGrpcService::inferError(const ServedModel& served, const Status& predicted,
                                        InferFailure failure) const {
  grpc::StatusCode code = grpcCodeFor(predicted.code());
  switch (failure) {
    case InferFailure::kInvalid:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case InferFailure::kRejected:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;  // the model's batch queue is full
      break;
    case InferFailure::kTimeout:
    case InferFailure::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case InferFailure::kBackend:
      if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNKNOWN) {
        host_.log(LogLevel::kError, node_name_,
                  "model '" + served.name + "' failed: " + predicted.toString());
      }
      break;
  }
  const bool named = predicted.message().rfind("model '", 0) == 0;
  return grpc::Status(
      code, named ? predicted.message() : "model '" + served.name + "': " + predicted.message());
}

}  // namespace aimass::plugins::frontend
