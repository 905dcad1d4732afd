// SPDX-License-Identifier: Apache-2.0
#include "grpc_frontend.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "oip_grpc_service.h"
#include "rpc_workers.h"

namespace aimass::plugins::frontend {
namespace {

/// Turns the server reflection service on or off for one server. Loading libgrpc++_reflection
/// registers it for every server of the process (a static initializer calls
/// InitProtoReflectionServerBuilderPlugin()), so it is removed here, then added back when wanted.
class ReflectionOption final : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    const std::string name = grpc::reflection::ProtoServerReflectionPlugin().name();
    std::erase_if(*plugins, [&](const auto& plugin) { return plugin->name() == name; });
    if (enabled_) {
      plugins->push_back(std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  bool enabled_;
};

std::shared_ptr<grpc::ServerCredentials> credentials(const std::optional<GrpcTlsFiles>& tls) {
  if (!tls) {
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl(
      tls->client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                             : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls->client_ca;
  ssl.pem_key_cert_pairs.push_back({tls->private_key, tls->certificate_chain});
  return grpc::SslServerCredentials(ssl);
}

/// "HOST:PORT", with an IPv6 address in brackets.
std::string listenAddress(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

GrpcFrontend::GrpcFrontend(std::string node_name, GrpcFrontendOptions options)
    : node_name_(std::move(node_name)), options_(std::move(options)) {}

GrpcFrontend::~GrpcFrontend() { stop(); }

Status GrpcFrontend::start(Host& host) {
  std::lock_guard lock(mutex_);
  if (server_) {
    return failedPrecondition("frontend '" + node_name_ + "' is already serving on " + endpoint_);
  }
  const std::string where = listenAddress(options_.host, options_.port);
  // Credentials first: a frontend that may not start binds nothing.
  AIMASS_ASSIGN_OR_RETURN(
      std::shared_ptr<const Authenticator> authenticator,
      startAuthenticator(host, node_name_, where, options_.host, options_.auth, "infer"));
  try {
    auto workers = std::make_unique<RpcWorkers>(options_.threads,
                                                static_cast<std::size_t>(options_.max_queued));
    auto service = std::make_unique<OipGrpcService>(host, node_name_, options_.models,
                                                    std::move(authenticator), *workers);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(where, credentials(options_.tls), &port);
    // gRPC sets SO_REUSEPORT by default, which would let two servers share a port unnoticed.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(static_cast<int>(options_.max_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(options_.max_message_bytes));
    builder.SetOption(std::make_unique<ReflectionOption>(options_.reflection));
    builder.RegisterService(service.get());
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
      if (server) {
        server->Shutdown();
      }
      workers->stop();
      return unavailable("cannot listen on " + where +
                         ": the address is in use or cannot be bound here");
    }
    endpoint_ = (options_.tls ? "grpcs://" : "grpc://") + listenAddress(options_.host, port);
    workers_ = std::move(workers);
    service_ = std::move(service);
    server_ = std::move(server);
  } catch (const std::exception& e) {
    return unavailable("cannot listen on " + where + ": " + e.what());
  }
  host.log(LogLevel::kInfo, node_name_,
           "serving the Open Inference Protocol v2 over gRPC on " + endpoint_ +
               (options_.tls ? (options_.tls->client_ca.empty()
                                    ? std::string(" (TLS)")
                                    : std::string(" (TLS, client certificates required)"))
                             : std::string()));
  return Status();
}

void GrpcFrontend::stop() noexcept {
  std::lock_guard lock(mutex_);
  if (!server_) {
    return;
  }
  // Stops accepting; calls in flight get drain_timeout_ms to finish (the workers keep
  // answering meanwhile), then are cancelled. Shutdown returns once every call has finished.
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(options_.drain_timeout_ms));
  server_->Wait();
  workers_->stop();
  server_.reset();
  service_.reset();
  workers_.reset();
  endpoint_.clear();
}

std::string GrpcFrontend::endpoint() const {
  std::lock_guard lock(mutex_);
  return endpoint_;
}

}  // namespace aimass::plugins::frontend
