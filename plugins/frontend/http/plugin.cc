// SPDX-License-Identifier: Apache-2.0
// The entry point and registration only; the server lives in http_frontend.{h,cc} and the
// JSON protocol in infer_codec.{h,cc}.
#include <algorithm>
#include <memory>
#include <utility>

#include "aimass/aimass.h"
#include "frontend_params.h"
#include "hash_key_command.h"
#include "http_frontend.h"

namespace {

using aimass::NodeKind;
using aimass::ParamSpec;

/// The TLS parameters: with a certificate, the certificate and key are loaded and checked now,
/// so a bad file is reported with the node's place in the config.
aimass::Status readTlsParams(const aimass::NodeConfig& config,
                             aimass::plugins::frontend::HttpFrontendOptions& options) {
  namespace frontend = aimass::plugins::frontend;
  auto files = frontend::readTlsFileParams(config);
  if (!files.ok()) {
    return files.status();
  }
  if (!files->has_value()) {
    return aimass::okStatus();
  }
  frontend::TlsOptions tls = std::move(**files);
  tls.min_version = config.getString("tls_min_version");
  auto context = frontend::TlsContext::load(tls);
  if (!context.ok()) {
    return context.status();
  }
  options.tls = std::move(context).value();
  return aimass::okStatus();
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  aimass::NodeType type;
  type.type = "frontend.http";
  type.kind = NodeKind::kFrontend;
  type.summary =
      "Serves models over HTTP with the Open Inference Protocol v2 (KServe, Triton) and MLflow "
      "scoring";
  type.params = {
      ParamSpec::string("host", "Address to listen on; 0.0.0.0 for every interface.")
          .withDefault(std::string("127.0.0.1")),
      ParamSpec::integer("port", "TCP port; 0 picks a free one (logged at start).")
          .withDefault(std::int64_t{8080})
          .range(0, 65535)
          .withExample("0"),
      ParamSpec::integer("threads",
                         "Worker threads for requests whose handler may block or take long "
                         "(batched or slow inference, loads, registry routes): how many of them "
                         "run at once. Requests still arriving hold none.")
          .withDefault(std::int64_t{8})
          .range(1, 256),
      ParamSpec::integer("event_loops",
                         "Event loops reading the connections (0: one per CPU core). Health "
                         "checks, and inference on a model without batching whose requests "
                         "take under inline_max_us, are answered on the loop that read them, "
                         "without waking a worker.")
          .withDefault(std::int64_t{0})
          .range(0, 256),
      ParamSpec::integer("inline_max_us",
                         "An infer request of a model without batching runs on its event loop "
                         "while that model's requests have recently taken under this many "
                         "microseconds on average (the loop's other connections wait "
                         "meanwhile); otherwise, and at first, on a worker. 0: always on a "
                         "worker.")
          .withDefault(std::int64_t{1000})
          .range(0, 1000000),
      ParamSpec::integer("max_body_bytes",
                         "Largest request body accepted; larger ones get 413 unread.")
          .withDefault(std::int64_t{64} << 20)
          .atLeast(1024),
      ParamSpec::refList("models", NodeKind::kModel,
                         "Serve only these models (default: every model of the graph).")
          .optional(),
      ParamSpec::integer("max_header_bytes",
                         "Largest request line plus headers accepted; larger ones get 431.")
          .withDefault(std::int64_t{16} << 10)
          .range(1024, std::int64_t{1} << 20),
      ParamSpec::integer("max_connections",
                         "Open connections at most; further ones get 503 and are closed. "
                         "Connections still sending a request hold no event loop.")
          .withDefault(std::int64_t{1024})
          .range(1, 100000),
      ParamSpec::integer("request_timeout_ms",
                         "Time a client has from a request's first byte to its last (408 after); "
                         "also how long a response waits on a client that does not read.")
          .withDefault(std::int64_t{30000})
          .range(100, 3600000),
      ParamSpec::integer("idle_timeout_ms", "An idle keep-alive connection closes after this long.")
          .withDefault(std::int64_t{5000})
          .range(100, 3600000),
      ParamSpec::integer("max_json_depth",
                         "Deepest nesting of JSON lists and objects in a request body; deeper "
                         "ones get 400.")
          .withDefault(std::int64_t{64})
          .range(2, 1000),
      ParamSpec::ref("mlflow_model", NodeKind::kModel,
                     "The model MLflow's POST /invocations scores with (default: the only "
                     "served model; with several, /invocations answers 400 until this is set).")
          .optional(),
      ParamSpec::path("tls_certificate",
                      "PEM file with the server certificate (then any intermediate ones); set "
                      "with tls_private_key, the frontend serves HTTPS only. Read and checked "
                      "when the config is loaded; see docs/security.md.")
          .optional(),
      ParamSpec::path("tls_private_key",
                      "PEM file with the certificate's unencrypted private key (keep it mode "
                      "600); must match tls_certificate.")
          .optional(),
      ParamSpec::path("tls_client_ca",
                      "PEM file of CA certificates; when set, every client must present a "
                      "certificate one of them signed (mutual TLS), else the handshake fails.")
          .optional(),
      ParamSpec::string("tls_min_version",
                        "Oldest TLS version accepted: 1.2 or 1.3 (older ones never are).")
          .withDefault(std::string("1.2"))
          .oneOf({"1.2", "1.3"}),
      ParamSpec::boolean("console",
                         "Serve the web console at /ui/ (docs/console.md): its files are public, "
                         "the API calls it makes need the caller's credentials.")
          .withDefault(true),
      ParamSpec::path("console_dir",
                      "Folder of the built console (index.html and assets/); default: "
                      "share/aimass/ui of this installation, and no console when it is missing. "
                      "A folder named here must hold it, or the frontend does not start.")
          .optional(),
  };
  // The authentication parameters (shared with frontend.grpc) go before the TLS ones.
  const auto auth_params =
      aimass::plugins::frontend::authParamSpecs("every route but health and readiness");
  type.params.insert(std::find_if(type.params.begin(), type.params.end(),
                                  [](const ParamSpec& p) { return p.name == "tls_certificate"; }),
                     auth_params.begin(), auth_params.end());
  type.factory =
      [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    std::unique_ptr<aimass::Node> node;
    aimass::Status invalid;
    aimass::Status status = aimass::guard("frontend.http", [&] {
      aimass::plugins::frontend::HttpFrontendOptions options;
      options.host = config.getString("host");
      options.port = static_cast<int>(config.getInt("port"));
      options.threads = static_cast<int>(config.getInt("threads"));
      options.event_loops = static_cast<int>(config.getInt("event_loops"));
      options.inline_max_us = config.getInt("inline_max_us");
      options.max_body_bytes = config.getInt("max_body_bytes");
      if (config.has("models") && !config.refNames("models").empty()) {
        options.models = config.refNames("models");
      }
      options.max_header_bytes = config.getInt("max_header_bytes");
      options.max_connections = static_cast<int>(config.getInt("max_connections"));
      options.request_timeout_ms = static_cast<int>(config.getInt("request_timeout_ms"));
      options.idle_timeout_ms = static_cast<int>(config.getInt("idle_timeout_ms"));
      options.max_json_depth = static_cast<std::size_t>(config.getInt("max_json_depth"));
      options.console = config.getBool("console");
      if (config.has("console_dir")) {
        options.console_dir = config.getPath("console_dir");
      }
      if (config.has("mlflow_model") && !config.refNames("mlflow_model").empty()) {
        options.mlflow_model = config.refNames("mlflow_model").front();
      }
      invalid = aimass::plugins::frontend::readAuthParams(config, options.auth);
      if (!invalid.ok()) {
        return;
      }
      invalid = readTlsParams(config, options);
      if (!invalid.ok()) {
        return;
      }
      node = std::make_unique<aimass::plugins::frontend::HttpFrontend>(config.nodeName(),
                                                                       std::move(options));
    });
    if (!status.ok()) {
      return status;
    }
    if (!invalid.ok()) {
      return invalid;
    }
    return node;
  };
  AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
  // `aimass auth hash-key`: the stored form of this frontend's API keys.
  return registrar.addCommand(aimass::plugins::frontend::hashKeyCommand());
}

}  // namespace

AIMASS_PLUGIN("frontend.http", "1.0.0", "HTTP frontend: Open Inference Protocol v2", &registerTypes)
