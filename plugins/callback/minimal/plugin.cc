// SPDX-License-Identifier: Apache-2.0
// callback.freeze: entry point and registration.
//
// Step 5: registration declares the parameters with docs and defaults, and the kind `callback`,
// so job.train's `callbacks:` accepts the node. The host validates configs before the factory
// runs, so the factory just reads them.

#include "aimass/plugin.h"

#include <memory>

#include "minimal.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("callback.freeze registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "callback.freeze";
    type.kind = aimass::NodeKind::kCallback;
    type.summary = "Freezes named parameters during training; optionally stops at a val_loss";
    type.params.push_back(aimass::ParamSpec::list(
        "parameters", aimass::ParamType::kStringList,
        "Names of the model's parameters to keep as they are (their gradients are zeroed "
        "before every optimizer step); a name the model does not have fails the run."));
    type.params.push_back(
        aimass::ParamSpec::number("stop_at_val_loss",
                                  "Stop the run after the first validation whose loss is at or "
                                  "below this; 0 never stops.")
            .withDefault(0.0)
            .atLeast(0));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("callback.freeze factory", [&] {
        node = std::make_unique<aimass::plugins::callback::Freeze>(
            config.getStringList("parameters"), config.getFloat("stop_at_val_loss"));
      });
      if (!status.ok()) {
        return status;
      }
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

// Step 7: the entry point.
AIMASS_PLUGIN("callback.freeze", "1.0.0", "Freeze parameters while training (narrated example)",
              &registerTypes)
