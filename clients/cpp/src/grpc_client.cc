// SPDX-License-Identifier: Apache-2.0
#include "aimass/client/grpc_client.hpp"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "grpc_codec.h"
#include "grpc_service.grpc.pb.h"

namespace aimass::client {
namespace {

using Stub = inference::GRPCInferenceService::Stub;

Error errorOf(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Error(ErrorCode::kTimeout, 0, "deadline exceeded: " + status.error_message());
  }
  return Error(ErrorCode::kGrpc, static_cast<int>(status.error_code()), status.error_message());
}

std::string readFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    throw Error(ErrorCode::kTls, 0, std::string("cannot read ") + what + " '" + path + "'");
  }
  return text.str();
}

std::shared_ptr<grpc::ChannelCredentials> credentialsFor(const GrpcClientOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "GrpcClientOptions: cert_file and key_file go together");
  }
  if (!options.tls && options.ca_file.empty() && options.cert_file.empty()) {
    return grpc::InsecureChannelCredentials();
  }
  grpc::SslCredentialsOptions ssl;
  if (!options.ca_file.empty()) {
    ssl.pem_root_certs = readFile(options.ca_file, "ca_file");
  }
  if (!options.cert_file.empty()) {
    ssl.pem_cert_chain = readFile(options.cert_file, "cert_file");
    ssl.pem_private_key = readFile(options.key_file, "key_file");
  }
  return grpc::SslCredentials(ssl);
}

}  // namespace

/// One inferAsync() call: gRPC writes its response and status, then hands `this` back as the
/// tag on the queue; the drainer thread settles the promise and deletes it.
struct AsyncCall {
  grpc::ClientContext context;
  inference::ModelInferResponse response;
  grpc::Status status;
  std::promise<InferResult> promise;
  std::unique_ptr<grpc::ClientAsyncResponseReader<inference::ModelInferResponse>> reader;
};

struct GrpcClient::State {
  GrpcClientOptions options;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<Stub> stub;
  grpc::CompletionQueue queue;
  std::mutex mutex;                // guards in_flight
  std::set<AsyncCall*> in_flight;  // started, not yet drained
  std::thread drainer;             // runs drain() until the queue is shut down and empty

  /// Deadline and auth metadata of one call.
  void prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) const {
    if (timeout.count() < 0) {
      throw Error(ErrorCode::kInvalidArgument, 0, "InferOptions::timeout is negative");
    }
    context.set_deadline(std::chrono::system_clock::now() +
                         (timeout.count() > 0 ? timeout : options.timeout));
    if (!options.api_key.empty()) {
      context.AddMetadata("x-api-key", options.api_key);
    }
    if (!options.bearer_token.empty()) {
      context.AddMetadata("authorization", "Bearer " + options.bearer_token);
    }
  }

  /// A unary call with the client's deadline; throws the Error of a status other than OK.
  template <typename Request, typename Response, typename Method>
  Response call(Method method, const Request& request) {
    grpc::ClientContext context;
    prepare(context, options.timeout);
    Response response;
    grpc::Status status = ((*stub).*method)(&context, request, &response);
    if (!status.ok()) {
      throw errorOf(status);
    }
    return response;
  }

  void drain() {
    void* tag = nullptr;
    bool ok = false;
    while (queue.Next(&tag, &ok)) {
      std::unique_ptr<AsyncCall> done(static_cast<AsyncCall*>(tag));
      {
        std::lock_guard lock(mutex);
        in_flight.erase(done.get());
      }
      if (!ok || !done->status.ok()) {
        done->promise.set_exception(std::make_exception_ptr(
            errorOf(ok ? done->status : grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"))));
        continue;
      }
      try {
        done->promise.set_value(grpc_codec::decodeResponse(done->response));
      } catch (...) {
        done->promise.set_exception(std::current_exception());
      }
    }
  }
};

GrpcClient::GrpcClient(std::string target, GrpcClientOptions options)
    : state_(std::make_unique<State>()) {
  if (target.empty()) {
    throw Error(ErrorCode::kInvalidArgument, 0, "the gRPC target is empty");
  }
  if (target.find("://") != std::string::npos) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "the gRPC target '" + target + "' has a scheme; give host:port");
  }
  if (!options.api_key.empty() && !options.bearer_token.empty()) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "GrpcClientOptions: give api_key or bearer_token, not both");
  }
  if (options.timeout.count() <= 0 || options.max_message_bytes <= 0) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "GrpcClientOptions: timeout and max_message_bytes must be positive");
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(options.max_message_bytes);
  arguments.SetMaxSendMessageSize(options.max_message_bytes);
  if (!options.server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.server_name);
  }
  state_->channel = grpc::CreateCustomChannel(target, credentialsFor(options), arguments);
  state_->stub = inference::GRPCInferenceService::NewStub(state_->channel);
  state_->options = std::move(options);
  State* state = state_.get();
  state_->drainer = std::thread([state] { state->drain(); });
}

GrpcClient::~GrpcClient() {
  if (!state_) {
    return;
  }
  {
    std::lock_guard lock(state_->mutex);
    for (AsyncCall* call : state_->in_flight) {
      call->context.TryCancel();
    }
  }
  state_->queue.Shutdown();
  state_->drainer.join();
}

GrpcClient::GrpcClient(GrpcClient&&) noexcept = default;

GrpcClient& GrpcClient::operator=(GrpcClient&& other) noexcept {
  if (this != &other) {
    GrpcClient gone(std::move(*this));
    state_ = std::move(other.state_);
  }
  return *this;
}

bool GrpcClient::serverLive() {
  return state_
      ->call<inference::ServerLiveRequest, inference::ServerLiveResponse>(&Stub::ServerLive, {})
      .live();
}

bool GrpcClient::serverReady() {
  return state_
      ->call<inference::ServerReadyRequest, inference::ServerReadyResponse>(&Stub::ServerReady, {})
      .ready();
}

bool GrpcClient::modelReady(std::string_view model, std::string_view version) {
  inference::ModelReadyRequest request;
  request.set_name(std::string(model));
  request.set_version(std::string(version));
  try {
    return state_
        ->call<inference::ModelReadyRequest, inference::ModelReadyResponse>(&Stub::ModelReady,
                                                                            request)
        .ready();
  } catch (const Error& error) {
    if (error.code() == ErrorCode::kGrpc &&
        error.status() == static_cast<int>(grpc::StatusCode::NOT_FOUND)) {
      return false;
    }
    throw;
  }
}

ServerMetadata GrpcClient::serverMetadata() {
  auto response = state_->call<inference::ServerMetadataRequest, inference::ServerMetadataResponse>(
      &Stub::ServerMetadata, {});
  return {response.name(), response.version(),
          std::vector<std::string>(response.extensions().begin(), response.extensions().end())};
}

ModelMetadata GrpcClient::modelMetadata(std::string_view model, std::string_view version) {
  inference::ModelMetadataRequest request;
  request.set_name(std::string(model));
  request.set_version(std::string(version));
  auto response = state_->call<inference::ModelMetadataRequest, inference::ModelMetadataResponse>(
      &Stub::ModelMetadata, request);
  ModelMetadata metadata;
  metadata.name = response.name();
  metadata.versions.assign(response.versions().begin(), response.versions().end());
  metadata.platform = response.platform();
  auto tensors = [](const auto& list) {
    std::vector<TensorMetadata> out;
    for (const auto& t : list) {
      out.push_back({t.name(), t.datatype(), {t.shape().begin(), t.shape().end()}, false});
    }
    return out;
  };
  metadata.inputs = tensors(response.inputs());
  metadata.outputs = tensors(response.outputs());
  if (!google::protobuf::util::MessageToJsonString(response, &metadata.json).ok()) {
    throw Error(ErrorCode::kProtocol, 0, "the model metadata cannot be written as JSON");
  }
  return metadata;
}

InferResult GrpcClient::infer(std::string_view model, std::span<const Tensor> inputs,
                              const InferOptions& options) {
  const inference::ModelInferRequest request = grpc_codec::encodeRequest(model, inputs, options);
  grpc::ClientContext context;
  state_->prepare(context, options.timeout);
  inference::ModelInferResponse response;
  grpc::Status status = state_->stub->ModelInfer(&context, request, &response);
  if (!status.ok()) {
    throw errorOf(status);
  }
  return grpc_codec::decodeResponse(response);
}

std::future<InferResult> GrpcClient::inferAsync(std::string model, std::vector<Tensor> inputs,
                                                InferOptions options) {
  auto call = std::make_unique<AsyncCall>();
  std::future<InferResult> future = call->promise.get_future();
  inference::ModelInferRequest request;
  try {
    request = grpc_codec::encodeRequest(model, inputs, options);
    state_->prepare(call->context, options.timeout);
  } catch (...) {
    call->promise.set_exception(std::current_exception());
    return future;
  }
  AsyncCall* started = call.release();  // the drainer deletes it
  {
    std::lock_guard lock(state_->mutex);
    state_->in_flight.insert(started);
  }
  started->reader = state_->stub->AsyncModelInfer(&started->context, request, &state_->queue);
  started->reader->Finish(&started->response, &started->status, started);
  return future;
}

}  // namespace aimass::client
