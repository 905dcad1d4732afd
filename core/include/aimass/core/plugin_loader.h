// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "aimass/core/type_registry.h"
#include "aimass/status.h"

namespace aimass::core {

/// A library the host refused, and why (the message names the path and, for version problems,
/// both versions).
struct PluginFailure {
  std::string library;
  std::string reason;
};

/// Loads plugin libraries with Boost.DLL and registers their node types.
///
/// A library is refused, with a distinct reason each, when: it cannot be loaded (not a shared
/// library, missing dependency); it has no `aimass_plugin_entry`; the entry returns null; the
/// ABI major differs; its ABI minor is newer than the host's; its toolchain tag differs; it has
/// no register callback; the callback fails or throws; a type is malformed or already taken.
/// A refused library contributes no type at all (registration is all or nothing), and loading
/// carries on with the other libraries.
///
/// Each library is loaded at most once (by canonical path) and never unloaded while the loader
/// or any node made from it is alive.
class PluginLoader {
 public:
  explicit PluginLoader(TypeRegistry& registry);
  ~PluginLoader();

  /// Loads one library. Returns the refusal (also recorded in failures()); OK when loaded or
  /// already loaded.
  Status load(const std::filesystem::path& library);
  /// Loads every `libaimass_*.so` directly inside `dir`, in name order. A missing directory is
  /// not an error.
  void loadDirectory(const std::filesystem::path& dir);
  /// The discovery order: `config_paths` (files or folders named by the config's `plugins:`),
  /// then each folder in $AIMASS_PLUGIN_PATH (':'-separated), then defaultPluginDir(). A type
  /// found earlier wins; a later library offering the same type is refused as a duplicate.
  void discover(const std::vector<std::filesystem::path>& config_paths);

  const std::vector<PluginFailure>& failures() const { return failures_; }
  const std::vector<std::shared_ptr<const PluginInfo>>& loaded() const { return loaded_; }

  /// <dir of the running executable>/../lib/aimass/plugins: the build tree and the install
  /// tree share this layout.
  static std::filesystem::path defaultPluginDir();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TypeRegistry& registry_;
  std::vector<PluginFailure> failures_;
  std::vector<std::shared_ptr<const PluginInfo>> loaded_;
};

}  // namespace aimass::core
