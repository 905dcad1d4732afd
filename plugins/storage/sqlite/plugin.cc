// SPDX-License-Identifier: Apache-2.0
// storage.sqlite: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "sqlite.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("storage.sqlite registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "storage.sqlite";
    type.kind = aimass::NodeKind::kStorage;
    type.summary = "Key-value storage in one SQLite database file; the embedded default";
    type.params.push_back(
        aimass::ParamSpec::path("path",
                                "Database file (created with its parent folders when missing). "
                                "Several processes may share it.")
            .withExample("{tmp}/store.db"));
    type.params.push_back(
        aimass::ParamSpec::integer("busy_timeout_ms",
                                   "How long a writer waits for another connection's write lock "
                                   "before failing with 'unavailable'.")
            .withDefault(std::int64_t{5000})
            .atLeast(0));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      auto storage = aimass::plugins::storage::SqliteStorage::create(
          config.getPath("path"), config.getInt("busy_timeout_ms"));
      if (!storage.ok()) {
        return storage.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(storage).value());
    };
    AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
    aimass::StorageUriScheme uri;
    uri.schemes = {"sqlite"};
    uri.type = "storage.sqlite";
    uri.form = "sqlite:///abs/path/store.db, sqlite:relative/store.db";
    uri.path_param = "path";  // ?busy_timeout_ms=1000 sets the other parameter
    return registrar.addStorageUriScheme(std::move(uri));
  });
}

}  // namespace

AIMASS_PLUGIN("storage.sqlite", "1.0.0", "SQLite database storage", &registerTypes)
