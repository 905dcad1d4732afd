// SPDX-License-Identifier: Apache-2.0
// The entry point and registration only; the server lives in http_frontend.{h,cc} and the
// JSON protocol in infer_codec.{h,cc}.
#include <memory>
#include <utility>

#include "aimass/aimass.h"
#include "http_frontend.h"

namespace {

using aimass::NodeKind;
using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  aimass::NodeType type;
  type.type = "frontend.http";
  type.kind = NodeKind::kFrontend;
  type.summary = "Serves models over HTTP with the Open Inference Protocol v2 (KServe, Triton)";
  type.params = {
      ParamSpec::string("host", "Address to listen on; 0.0.0.0 for every interface.")
          .withDefault(std::string("127.0.0.1")),
      ParamSpec::integer("port", "TCP port; 0 picks a free one (logged at start).")
          .withDefault(std::int64_t{8080})
          .range(0, 65535)
          .withExample("0"),
      ParamSpec::integer("threads", "Worker threads: how many connections are served at once.")
          .withDefault(std::int64_t{8})
          .range(1, 256),
      ParamSpec::integer("max_body_bytes",
                         "Largest request body accepted; larger ones get 413 unread.")
          .withDefault(std::int64_t{64} << 20)
          .atLeast(1024),
      ParamSpec::refList("models", NodeKind::kModel,
                         "Serve only these models (default: every model of the graph).")
          .optional(),
  };
  type.factory =
      [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    std::unique_ptr<aimass::Node> node;
    aimass::Status status = aimass::guard("frontend.http", [&] {
      aimass::plugins::frontend::HttpFrontendOptions options;
      options.host = config.getString("host");
      options.port = static_cast<int>(config.getInt("port"));
      options.threads = static_cast<int>(config.getInt("threads"));
      options.max_body_bytes = config.getInt("max_body_bytes");
      if (config.has("models") && !config.refNames("models").empty()) {
        options.models = config.refNames("models");
      }
      node = std::make_unique<aimass::plugins::frontend::HttpFrontend>(config.nodeName(),
                                                                       std::move(options));
    });
    if (!status.ok()) {
      return status;
    }
    return node;
  };
  return registrar.add(std::move(type));
}

}  // namespace

AIMASS_PLUGIN("frontend.http", "1.0.0", "HTTP frontend: Open Inference Protocol v2", &registerTypes)
