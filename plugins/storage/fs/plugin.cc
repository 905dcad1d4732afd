// SPDX-License-Identifier: Apache-2.0
// storage.fs: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "fs.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("storage.fs registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "storage.fs";
    type.kind = aimass::NodeKind::kStorage;
    type.summary = "Key-value storage in a local folder, atomic across threads and processes";
    type.params.push_back(
        aimass::ParamSpec::path("path",
                                "Folder that holds the data (created with its parents when "
                                "missing). Several processes may share it.")
            .withExample("{tmp}/store"));
    type.params.push_back(
        aimass::ParamSpec::boolean("fsync",
                                   "Flush every write to disk before it returns. Turning it off "
                                   "is faster; a crash still cannot tear a value, but a power "
                                   "loss may lose the latest writes.")
            .withDefault(true));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      auto storage = aimass::plugins::storage::FsStorage::create(config.getPath("path"),
                                                                 config.getBool("fsync"));
      if (!storage.ok()) {
        return storage.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(storage).value());
    };
    AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
    aimass::StorageUriScheme uri;
    uri.schemes = {"file", "fs"};
    uri.type = "storage.fs";
    uri.form = "file:///abs/dir, fs:///abs/dir, fs:relative/dir";
    uri.path_param = "path";
    return registrar.addStorageUriScheme(std::move(uri));
  });
}

}  // namespace

AIMASS_PLUGIN("storage.fs", "1.0.0", "Local folder storage", &registerTypes)
