// SPDX-License-Identifier: Apache-2.0
// storage.postgres: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "postgres.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("storage.postgres registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "storage.postgres";
    type.kind = aimass::NodeKind::kStorage;
    type.summary = "Key-value storage in a PostgreSQL database; for teams sharing one store";
    type.params.push_back(
        aimass::ParamSpec::string(
            "uri",
            "libpq connection URI postgresql://USER@HOST:PORT/DATABASE (options such as "
            "?sslmode=require may follow). Must not hold a password: use password_env.")
            .withExample("postgresql://aimass@127.0.0.1:5432/aimass"));
    type.params.push_back(
        aimass::ParamSpec::string("password_env",
                                  "Name of the environment variable that holds the password "
                                  "(e.g. AIMASS_PG_PASSWORD). Empty: libpq's own PGPASSWORD or "
                                  "~/.pgpass, or no password.")
            .withDefault(std::string()));
    type.params.push_back(
        aimass::ParamSpec::integer("pool_size",
                                   "Connections kept open for reuse; more are opened while many "
                                   "threads work at once and closed when they are done.")
            .withDefault(std::int64_t{4})
            .range(1, 1000));
    type.params.push_back(
        aimass::ParamSpec::integer("connect_timeout_s",
                                   "Seconds to wait for a connection before failing with "
                                   "'unavailable' (unless the uri sets connect_timeout).")
            .withDefault(std::int64_t{5})
            .range(1, 3600));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::storage::PostgresOptions options;
      options.uri = config.getString("uri");
      options.password_env = config.getString("password_env");
      options.pool_size = config.getInt("pool_size");
      options.connect_timeout_s = config.getInt("connect_timeout_s");
      auto storage = aimass::plugins::storage::PostgresStorage::create(options);
      if (!storage.ok()) {
        return storage.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(storage).value());
    };
    AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
    aimass::StorageUriScheme uri;
    uri.schemes = {"postgresql", "postgres"};
    uri.type = "storage.postgres";
    uri.form =
        "postgresql://USER@HOST:PORT/DATABASE (or postgres://; ?password_env=VAR names the "
        "variable holding the password)";
    uri.map = aimass::plugins::storage::postgresUriParams;
    return registrar.addStorageUriScheme(std::move(uri));
  });
}

}  // namespace

AIMASS_PLUGIN("storage.postgres", "1.0.0", "PostgreSQL database storage", &registerTypes)
