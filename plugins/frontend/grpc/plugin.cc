// SPDX-License-Identifier: Apache-2.0
// The entry point and registration only; the server lives in grpc_frontend.{h,cc}, the service
// in oip_grpc_service.{h,cc} and the tensors in grpc_tensors.{h,cc}.
#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "aimass/aimass.h"
#include "frontend_params.h"
#include "grpc_frontend.h"

namespace {

using aimass::NodeKind;
using aimass::ParamSpec;
namespace frontend = aimass::plugins::frontend;

/// The whole file at `path`; kInvalidArgument naming `param` when it cannot be read.
aimass::Expected<std::string> readPem(const std::string& path, const char* param) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    return aimass::invalidArgument(std::string("cannot read ") + param + " '" + path + "'");
  }
  return text.str();
}

/// The TLS parameters: the files are checked now (as frontend.http checks its own: PEM, a key
/// that matches the certificate, a client CA file holding certificates), so a bad one is
/// reported with the node's place in the config; then their contents are kept for gRPC.
aimass::Status readTlsParams(const aimass::NodeConfig& config,
                             frontend::GrpcFrontendOptions& options) {
  AIMASS_ASSIGN_OR_RETURN(std::optional<frontend::TlsOptions> paths,
                          frontend::readTlsFileParams(config));
  if (!paths) {
    return aimass::okStatus();
  }
  const frontend::TlsOptions& tls = *paths;
  AIMASS_RETURN_IF_ERROR(frontend::TlsContext::load(tls).status());
  frontend::GrpcTlsFiles files;
  AIMASS_ASSIGN_OR_RETURN(files.certificate_chain, readPem(tls.certificate, "tls_certificate"));
  AIMASS_ASSIGN_OR_RETURN(files.private_key, readPem(tls.private_key, "tls_private_key"));
  if (!tls.client_ca.empty()) {
    AIMASS_ASSIGN_OR_RETURN(files.client_ca, readPem(tls.client_ca, "tls_client_ca"));
  }
  options.tls = std::move(files);
  return aimass::okStatus();
}

std::vector<ParamSpec> grpcParams() {
  std::vector<ParamSpec> params = {
      ParamSpec::string("host", "Address to listen on; 0.0.0.0 for every interface.")
          .withDefault(std::string("127.0.0.1")),
      ParamSpec::integer("port",
                         "TCP port; 0 picks a free one (printed at start as "
                         "'serving grpc://HOST:PORT').")
          .withDefault(std::int64_t{8001})
          .range(0, 65535)
          .withExample("0"),
      ParamSpec::integer("threads",
                         "Worker threads running ModelInfer calls (which may wait for a batch or "
                         "compute for long): how many run at once. Health and metadata calls "
                         "are answered on gRPC's own threads.")
          .withDefault(std::int64_t{8})
          .range(1, 256),
      ParamSpec::integer("max_queued",
                         "ModelInfer calls that may wait for a worker; one more gets "
                         "RESOURCE_EXHAUSTED.")
          .withDefault(std::int64_t{1024})
          .range(1, 1000000),
      ParamSpec::integer("max_message_bytes",
                         "Largest request (and response) message; a larger request gets "
                         "RESOURCE_EXHAUSTED unread.")
          .withDefault(std::int64_t{64} << 20)
          .range(1024, (std::int64_t{1} << 31) - 1),
      ParamSpec::refList("models", NodeKind::kModel,
                         "Serve only these models (default: every model of the graph).")
          .optional(),
      ParamSpec::boolean("reflection",
                         "Offer gRPC server reflection (grpc.reflection.v1alpha), so tools such "
                         "as grpcurl list and call the service without the .proto file.")
          .withDefault(true),
      ParamSpec::integer("drain_timeout_ms",
                         "On shutdown, calls in flight get this long to finish; the rest are "
                         "cancelled.")
          .withDefault(std::int64_t{5000})
          .range(0, 600000),
  };
  for (auto& spec :
       frontend::authParamSpecs("every RPC but ServerLive, ServerReady and ModelReady")) {
    params.push_back(std::move(spec));
  }
  params.push_back(ParamSpec::path("tls_certificate",
                                   "PEM file with the server certificate (then any intermediate "
                                   "ones); set with tls_private_key, the frontend serves gRPC "
                                   "over TLS (1.2 or newer) only. Read and checked when the "
                                   "config is loaded.")
                       .optional());
  params.push_back(ParamSpec::path("tls_private_key",
                                   "PEM file with the certificate's unencrypted private key "
                                   "(keep it mode 600); must match tls_certificate.")
                       .optional());
  params.push_back(ParamSpec::path("tls_client_ca",
                                   "PEM file of CA certificates; when set, every client must "
                                   "present a certificate one of them signed (mutual TLS), "
                                   "else the handshake fails.")
                       .optional());
  return params;
}

aimass::Expected<std::unique_ptr<aimass::Node>> makeFrontend(const aimass::NodeConfig& config) {
  std::unique_ptr<aimass::Node> node;
  aimass::Status invalid;
  aimass::Status status = aimass::guard("frontend.grpc", [&] {
    frontend::GrpcFrontendOptions options;
    options.host = config.getString("host");
    options.port = static_cast<int>(config.getInt("port"));
    options.threads = static_cast<int>(config.getInt("threads"));
    options.max_queued = static_cast<int>(config.getInt("max_queued"));
    options.max_message_bytes = config.getInt("max_message_bytes");
    if (config.has("models") && !config.refNames("models").empty()) {
      options.models = config.refNames("models");
    }
    options.reflection = config.getBool("reflection");
    options.drain_timeout_ms = static_cast<int>(config.getInt("drain_timeout_ms"));
    invalid = frontend::readAuthParams(config, options.auth);
    if (!invalid.ok()) {
      return;
    }
    invalid = readTlsParams(config, options);
    if (!invalid.ok()) {
      return;
    }
    node = std::make_unique<frontend::GrpcFrontend>(config.nodeName(), std::move(options));
  });
  if (!status.ok()) {
    return status;
  }
  if (!invalid.ok()) {
    return invalid;
  }
  return node;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  aimass::NodeType type;
  type.type = "frontend.grpc";
  type.kind = NodeKind::kFrontend;
  type.summary =
      "Serves models over gRPC with the Open Inference Protocol v2 "
      "(inference.GRPCInferenceService of KServe and Triton)";
  type.params = grpcParams();
  type.factory = &makeFrontend;
  return registrar.add(std::move(type));
}

}  // namespace

AIMASS_PLUGIN("frontend.grpc", "1.0.0", "gRPC frontend: Open Inference Protocol v2", &registerTypes)
