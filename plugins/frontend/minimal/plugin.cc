// SPDX-License-Identifier: Apache-2.0
// frontend.lines, last part: the entry point and registration. Nothing else lives here.
#include <memory>
#include <utility>

#include "aimass/aimass.h"
#include "minimal.h"

namespace {

// Step 2: describe the node type. The host checks every config against these ParamSpecs
// before the factory runs, prints them in `aimass plugins describe frontend.lines`, and
// `aimass plugin check` builds a node from the examples: /dev/null exists everywhere.
aimass::Status registerTypes(aimass::Registrar& registrar) {
  aimass::NodeType type;
  type.type = "frontend.lines";
  type.kind = aimass::NodeKind::kFrontend;
  type.summary = "Answers '<model> <v1> <v2> ...' request lines from a file or stdin";
  type.params = {
      aimass::ParamSpec::path("input", "Where request lines come from; '-' reads stdin.")
          .withDefault(std::string("-"))
          .withExample("/dev/null"),
      aimass::ParamSpec::path("output", "Where answers go (created or truncated); '-' is stdout.")
          .withDefault(std::string("-"))
          .withExample("/dev/null"),
  };
  // Step 3: the factory. Parameters arrive validated and typed, so it only copies them out;
  // it must not throw, and it does no I/O (files are opened in start()).
  type.factory =
      [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    return std::unique_ptr<aimass::Node>(std::make_unique<aimass::plugins::frontend::LinesFrontend>(
        config.nodeName(), config.getString("input"), config.getString("output")));
  };
  return registrar.add(std::move(type));
}

}  // namespace

// Step 11: export the entry point. The host loads the library, checks the ABI version in the
// descriptor this writes, and calls registerTypes once.
AIMASS_PLUGIN("frontend.lines", "1.0.0", "Line-oriented frontend; the narrated example",
              &registerTypes)
