// SPDX-License-Identifier: Apache-2.0
// transform.select: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "select.h"

namespace {

using aimass::ParamSpec;
using aimass::ParamType;
using aimass::plugins::transform::SelectParams;
using aimass::plugins::transform::SelectTransform;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("transform.select registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "transform.select";
    type.kind = aimass::NodeKind::kTransform;
    type.summary = "Keeps or drops columns by name, numeric and text alike";
    type.params.push_back(ParamSpec::list("keep", ParamType::kStringList,
                                          "The columns to keep (the rest are dropped). Give "
                                          "keep or drop, not both.")
                              .withDefault(std::vector<std::string>{})
                              .withExample("[x, city]"));
    type.params.push_back(
        ParamSpec::list("drop", ParamType::kStringList, "The columns to drop (the rest are kept).")
            .withDefault(std::vector<std::string>{}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      const auto& keep = config.getStringList("keep");
      const auto& drop = config.getStringList("drop");
      if (!keep.empty() && !drop.empty()) {
        return aimass::invalidArgument("transform.select: give keep or drop, not both");
      }
      SelectParams params;
      params.keep = !keep.empty();
      params.names = params.keep ? keep : drop;
      AIMASS_ASSIGN_OR_RETURN(auto made, SelectTransform::create(std::move(params)));
      return std::unique_ptr<aimass::Node>(std::move(made));
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("transform.select", "1.0.0", "Column selection", &registerTypes)
