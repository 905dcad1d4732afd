// SPDX-License-Identifier: Apache-2.0
// Clients for frontend.grpc's tests: stubs over real channels, calls with a deadline, and
// requests of the models the tests serve.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpc_service.grpc.pb.h"

namespace aimass::plugins::frontend {

using Stub = inference::GRPCInferenceService::Stub;

/// "127.0.0.1:PORT" of an endpoint "grpc://127.0.0.1:PORT" (or grpcs://).
inline std::string targetOf(const std::string& endpoint) {
  return endpoint.substr(endpoint.find("://") + 3);
}

inline std::unique_ptr<Stub> makeStub(
    const std::string& target,
    std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials(),
    const grpc::ChannelArguments& arguments = {}) {
  return inference::GRPCInferenceService::NewStub(
      grpc::CreateCustomChannel(target, std::move(credentials), arguments));
}

/// A client context whose call gives up after 30 s (only so that a broken server fails the
/// test instead of hanging it), with `metadata` sent.
inline std::unique_ptr<grpc::ClientContext> callContext(
    const std::vector<std::pair<std::string, std::string>>& metadata = {}) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  for (const auto& [key, value] : metadata) {
    context->AddMetadata(key, value);
  }
  return context;
}

/// A reply: the call's status and its response.
template <typename Response>
struct Reply {
  grpc::Status status;
  Response response;
};

#define AIMASS_GRPC_CALL(method, Request, Response)                            \
  inline Reply<inference::Response> call##method(                              \
      Stub& stub, const inference::Request& request,                           \
      const std::vector<std::pair<std::string, std::string>>& metadata = {}) { \
    Reply<inference::Response> reply;                                          \
    auto context = callContext(metadata);                                      \
    reply.status = stub.method(context.get(), request, &reply.response);       \
    return reply;                                                              \
  }
AIMASS_GRPC_CALL(ServerLive, ServerLiveRequest, ServerLiveResponse)
AIMASS_GRPC_CALL(ServerReady, ServerReadyRequest, ServerReadyResponse)
AIMASS_GRPC_CALL(ModelReady, ModelReadyRequest, ModelReadyResponse)
AIMASS_GRPC_CALL(ServerMetadata, ServerMetadataRequest, ServerMetadataResponse)
AIMASS_GRPC_CALL(ModelMetadata, ModelMetadataRequest, ModelMetadataResponse)
AIMASS_GRPC_CALL(ModelInfer, ModelInferRequest, ModelInferResponse)
#undef AIMASS_GRPC_CALL

/// A ModelInferRequest with one FP32 input `name` of `shape`, its `values` typed
/// (contents.fp32_contents) or raw (raw_input_contents).
inline inference::ModelInferRequest fp32Request(const std::string& model, const std::string& name,
                                                const std::vector<std::int64_t>& shape,
                                                const std::vector<float>& values, bool raw) {
  inference::ModelInferRequest request;
  request.set_model_name(model);
  auto* input = request.add_inputs();
  input->set_name(name);
  input->set_datatype("FP32");
  for (const auto dim : shape) {
    input->add_shape(dim);
  }
  if (raw) {
    request.add_raw_input_contents(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  } else {
    for (const float v : values) {
      input->mutable_contents()->add_fp32_contents(v);
    }
  }
  return request;
}

/// The elements of raw output `index` of `response` as T.
template <typename T>
std::vector<T> rawValues(const inference::ModelInferResponse& response, int index) {
  const std::string& bytes = response.raw_output_contents(index);
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

}  // namespace aimass::plugins::frontend
