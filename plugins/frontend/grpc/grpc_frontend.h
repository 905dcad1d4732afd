// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "aimass/frontend.h"
#include "aimass/host.h"
#include "authenticator.h"

namespace grpc {
class Server;
}

namespace aimass::plugins::frontend {

class OipGrpcService;
class RpcWorkers;

/// The PEM contents frontend.grpc's TLS uses, read (and checked) when the config is loaded.
struct GrpcTlsFiles {
  std::string certificate_chain;  ///< the server certificate, then any intermediate ones
  std::string private_key;
  std::string client_ca;  ///< non-empty: clients must present a certificate these CAs signed
};

/// The `frontend.grpc` parameters.
struct GrpcFrontendOptions {
  std::string host = "127.0.0.1";
  int port = 8001;  ///< 0: any free port (see GrpcFrontend::endpoint())
  /// Workers running ModelInfer calls (which may wait for a batch or compute for long).
  int threads = 8;
  /// ModelInfer calls waiting for a worker; one more gets RESOURCE_EXHAUSTED.
  int max_queued = 1024;
  /// Largest request or response message; a larger request gets RESOURCE_EXHAUSTED.
  std::int64_t max_message_bytes = 64 << 20;
  /// Serve only these model names (and what the repository loads); nullopt: every model.
  std::optional<std::vector<std::string>> models;
  AuthOptions auth;
  /// Set: serve over TLS (mutual TLS with a client CA); nullopt: plaintext.
  std::optional<GrpcTlsFiles> tls;
  /// Offer the gRPC server reflection service (grpc.reflection.v1alpha.ServerReflection).
  bool reflection = true;
  /// stop() lets calls in flight finish for this long, then cancels them.
  int drain_timeout_ms = 5000;
};

/// The `frontend.grpc` node: a gRPC server (gRPC++'s callback API) with the OIP v2 service
/// (OipGrpcService) and, optionally, server reflection.
///
/// start() binds (SO_REUSEPORT off, so a taken port is an error), starts the `threads`
/// inference workers and returns; gRPC runs its own polling threads. stop() stops accepting,
/// lets calls in flight finish for drain_timeout_ms and cancels the rest, then joins the
/// workers; gRPC's own threads end when its last server does.
///
/// Threading: start() and stop() from one thread (the host's main thread); endpoint() from any.
class GrpcFrontend final : public Frontend {
 public:
  GrpcFrontend(std::string node_name, GrpcFrontendOptions options);
  ~GrpcFrontend() override;

  /// kUnavailable "cannot listen on HOST:PORT" when the address cannot be bound;
  /// kFailedPrecondition when already started, or when authentication is on and no credential
  /// is configured; kInvalidArgument for a bad api_keys_file or jwt_secret_env. Nothing is
  /// bound on these errors.
  Status start(Host& host) override;
  void stop() noexcept override;
  /// "grpc://127.0.0.1:<port>" ("grpcs://" with TLS) with the bound port; empty before start().
  std::string endpoint() const override;

 private:
  std::string node_name_;
  GrpcFrontendOptions options_;
  mutable std::mutex mutex_;
  std::string endpoint_;
  // Destroyed in reverse order: the server before the service and the workers it calls.
  std::unique_ptr<RpcWorkers> workers_;
  std::unique_ptr<OipGrpcService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace aimass::plugins::frontend
