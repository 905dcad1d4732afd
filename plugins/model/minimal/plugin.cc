// SPDX-License-Identifier: Apache-2.0
// model.baseline: entry point and registration.
//
// Step 11: plugin.cc holds only registration. A model type without hyper-parameters still
// declares its (empty) parameter list, so configs that set unknown parameters are rejected
// with a clear message by the host.

#include "aimass/plugin.h"

#include <memory>

#include "minimal.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.baseline registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.baseline";
    type.kind = aimass::NodeKind::kModel;
    type.summary =
        "Baseline: the most frequent class (classification) or the mean target "
        "(regression)";
    // Step 12: the factory only builds the object; training happens later in a job, and the
    // host catches nothing for us, so allocation failures come back as a Status via guard().
    type.factory =
        [](const aimass::NodeConfig&) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.baseline factory", [&] {
        node = std::make_unique<aimass::plugins::model::BaselineModel>();
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

// Step 13: the entry point. One per library.
AIMASS_PLUGIN("model.baseline", "1.0.0", "Majority-class / mean baseline (narrated example)",
              &registerTypes)
