// SPDX-License-Identifier: Apache-2.0
// storage.memory: the plugin's entry point and registration.
//
// Step 10: plugin.cc holds only the entry point and the node types' registration. The host
// reads each type's ParamSpecs to validate configs, print `aimass plugins describe` and write
// the docs, so every parameter gets a real doc string, a default or an example, and a range.

#include "aimass/plugin.h"

#include <memory>

#include "minimal.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  // Step 11: registration runs once on the host's main thread and must not throw either.
  return aimass::guard("storage.memory registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "storage.memory";
    type.kind = aimass::NodeKind::kStorage;
    type.summary = "In-process key-value store (lost on exit); for tests, demos and caches";
    type.params.push_back(
        aimass::ParamSpec::integer("max_bytes",
                                   "Upper limit on the total size of keys plus values; a write "
                                   "that would exceed it fails with 'resource exhausted'. "
                                   "0 means unlimited.")
            .withDefault(std::int64_t{0})
            .atLeast(0));
    // Step 12: the factory gets parameters already validated against the specs above (types,
    // defaults filled in, ranges checked), so it only reads them and builds the node.
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("storage.memory factory", [&] {
        node = std::make_unique<aimass::plugins::storage::MemoryStorage>(
            static_cast<std::uint64_t>(config.getInt("max_bytes")));
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

// Step 13: one entry point per library: plugin name, plugin version, one-line summary and the
// registration callback. The macro also stamps the ABI version and toolchain the host checks.
AIMASS_PLUGIN("storage.memory", "1.0.0", "In-process key-value storage (narrated example)",
              &registerTypes)
