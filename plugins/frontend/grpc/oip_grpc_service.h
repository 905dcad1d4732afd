// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/serving.h"
#include "authenticator.h"
#include "grpc_service.grpc.pb.h"
#include "rpc_workers.h"

namespace aimass::plugins::frontend {

/// The `aimass::Status` code as a gRPC status code (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE,
/// RESOURCE_EXHAUSTED, PERMISSION_DENIED, ...; INTERNAL for kInternal and kDataLoss).
grpc::StatusCode grpcCodeFor(StatusCode code) noexcept;

/// The OIP v2 gRPC service (`inference.GRPCInferenceService`) over the host's serving runtime:
/// the same models, versions, dynamic batching, statistics and metrics as frontend.http.
///
/// RPCs and the least role each needs when authentication is on (credentials in the metadata
/// `authorization: Bearer <key or JWT>` or `x-api-key: <key>`, as frontend.http reads them):
///   ServerLive, ServerReady, ModelReady     public
///   ServerMetadata, ModelMetadata, ModelInfer  reader
/// UNAUTHENTICATED without or with bad credentials, PERMISSION_DENIED when the role is too low.
///
/// ModelInfer runs on `workers` (it may wait for a batch); RESOURCE_EXHAUSTED when their queue
/// is full. Its errors: NOT_FOUND (unknown model or version, or one this frontend does not
/// serve), UNAVAILABLE (not ready, or a batch queue timeout), RESOURCE_EXHAUSTED (the model's
/// batch queue is full), INVALID_ARGUMENT (a bad tensor, naming it; an unknown output or
/// parameter), the model's own status otherwise. Every failed call after the model was found
/// is counted in its statistics and metrics (PinnedModel::countFailure or infer()).
///
/// Threading: the RPC methods are called by gRPC from many threads at once; the service keeps
/// no mutable state (models are reached through the thread-safe ModelServing).
class OipGrpcService final : public inference::GRPCInferenceService::CallbackService {
 public:
  /// `authenticator` null: every RPC is open. `models`: serve only these graph models (and
  /// what the repository loads); nullopt: every model. `host` and `workers` must outlive the
  /// service.
  OipGrpcService(Host& host, std::string node_name, std::optional<std::vector<std::string>> models,
                 std::shared_ptr<const Authenticator> authenticator, RpcWorkers& workers);

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;

 private:
  /// Whether the caller of `rpc` may call an RPC needing `required`; else the refusal
  /// (UNAUTHENTICATED or PERMISSION_DENIED), logged at warning level.
  grpc::Status admit(const grpc::CallbackServerContext& context, Role required,
                     std::string_view rpc) const;
  /// Runs `answer` unless admit() refuses, turning an escaped exception into INTERNAL, and
  /// finishes the call with its status.
  template <typename Answer>
  grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* context, Role required,
                                   std::string_view rpc, Answer&& answer) const;
  bool serves(std::string_view name) const;
  /// The model `name` at `version` (newest when empty) that this frontend serves; NOT_FOUND
  /// naming what is unknown.
  Expected<ServedModel> findModel(const std::string& name, const std::string& version) const;
  grpc::Status serverReady(inference::ServerReadyResponse& response) const;
  grpc::Status modelReady(const inference::ModelReadyRequest& request,
                          inference::ModelReadyResponse& response) const;
  grpc::Status serverMetadata(inference::ServerMetadataResponse& response) const;
  grpc::Status modelMetadata(const inference::ModelMetadataRequest& request,
                             inference::ModelMetadataResponse& response) const;
  grpc::Status infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse& response) const;
  /// The status of a failed PinnedModel::infer (logged when the model itself failed).
  grpc::Status inferError(const ServedModel& served, const Status& predicted,
                          InferFailure failure) const;

  Host& host_;
  std::string node_name_;
  std::optional<std::vector<std::string>> models_;
  std::shared_ptr<const Authenticator> authenticator_;
  RpcWorkers& workers_;
};

}  // namespace aimass::plugins::frontend
