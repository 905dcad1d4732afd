// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The plugin entry point.
///
/// A plugin is a shared library with exactly one exported symbol, `aimass_plugin_entry`: a
/// Boost.DLL alias (a pointer, in the library's "boostdll" section, to a C-linkage function
/// that returns the plugin's descriptor). AIMASS_PLUGIN() below writes both. The host loads the
/// library with Boost.DLL, reads the descriptor, checks the ABI (major equal, minor not newer,
/// toolchain tag equal), then calls register_types() once. Libraries are never unloaded before
/// the process exits, and every node a plugin makes keeps its library loaded.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aimass/command.h"
#include "aimass/node.h"
#include "aimass/params.h"
#include "aimass/status.h"
#include "aimass/storage_uri.h"
#include "aimass/version.h"

namespace aimass {

/// Makes a node from validated parameters. Must not throw (return a Status); the host catches
/// as a last resort and names the plugin.
using NodeFactory = std::function<Expected<std::unique_ptr<Node>>(const NodeConfig& config)>;

/// One node type a plugin offers: its name in configs, its kind, its parameters and its factory.
/// Type names are "<kind>.<name>" ("model.softmax"); the name part may use [a-z0-9_].
struct NodeType {
  std::string type;
  NodeKind kind = NodeKind::kModel;
  std::string summary;            ///< one line for `aimass plugins list` and the docs
  std::vector<ParamSpec> params;  ///< every parameter the config may set
  NodeFactory factory;
};

/// What a plugin's register_types() adds its node types (and commands) to. Implemented by the host;
/// valid only during the call.
class Registrar {
 public:
  /// Adds a node type. kAlreadyExists when another loaded plugin has the name; kInvalidArgument
  /// for a malformed type (bad name, duplicate parameter, default outside its range, no factory).
  virtual Status add(NodeType type) = 0;

  /// Declares the URI schemes of one of this plugin's storage types (aimass/storage_uri.h), so
  /// that `--storage URI` finds it. kInvalidArgument for a malformed declaration (bad scheme
  /// name, neither or both of path_param and map); kAlreadyExists when another plugin declared
  /// a scheme. That `type` is a storage type this plugin registers (and that path_param is one
  /// of its path or string parameters) is checked once register_types() returns; a failure
  /// refuses the library like a bad type. Added in ABI 3.1, at the end of the interface, which
  /// only the host implements: plugins built for 2.0 still load.
  virtual Status addStorageUriScheme(StorageUriScheme scheme) = 0;

  /// Adds a subcommand to the `aimass` executable (aimass/command.h). kInvalidArgument for a
  /// malformed command (bad name, a usage that does not start with the name, no summary or
  /// handler); kAlreadyExists when a built-in command or another loaded plugin has the name (or
  /// this plugin adds it twice). A failure refuses the library like a bad type. The host loads
  /// plugins as for other commands (--plugin-path, $AIMASS_PLUGIN_PATH, the default folder) to
  /// find a command that is not built in. Added in ABI 3.3, at the end of the interface.
  virtual Status addCommand(CliCommand command) = 0;

 protected:
  ~Registrar() = default;
};

}  // namespace aimass

extern "C" {

/// The descriptor a plugin's entry function returns. Plain data; its strings must live as long
/// as the library (string literals).
struct AimassPluginDescriptor {
  std::uint32_t abi_major;  ///< AIMASS_ABI_MAJOR the plugin was built with
  std::uint32_t abi_minor;  ///< AIMASS_ABI_MINOR the plugin was built with
  const char* toolchain;    ///< AIMASS_TOOLCHAIN_TAG the plugin was built with
  const char* name;         ///< plugin name, e.g. "storage.fs"
  const char* version;      ///< the plugin's own version, e.g. "1.2.0"
  const char* summary;      ///< one line
  /// Adds the plugin's node types. Called once, on the host's main thread.
  aimass::Status (*register_types)(aimass::Registrar& registrar);
};

/// Signature of the entry function the alias points to.
typedef const AimassPluginDescriptor* (*AimassPluginEntryFn)();
}

/// The exported alias name the host looks up.
#define AIMASS_PLUGIN_ENTRY_NAME "aimass_plugin_entry"

/// Declares the plugin's entry point. Use once per library, at namespace scope:
///
///     AIMASS_PLUGIN("storage.fs", "1.0.0", "Local directory storage", &registerTypes)
///
/// Expands to a C-linkage function returning a static descriptor, and an exported Boost.DLL
/// alias to it (the same symbol layout BOOST_DLL_ALIAS produces: `const void*` in section
/// "boostdll"), so `boost::dll::shared_library::get_alias` finds it. Written out here so that
/// plugins need no Boost headers.
#define AIMASS_PLUGIN(NAME, VERSION, SUMMARY, REGISTER_FN)                           \
  extern "C" __attribute__((visibility("hidden"))) const AimassPluginDescriptor*     \
  aimass_plugin_descriptor_fn() {                                                    \
    static const AimassPluginDescriptor descriptor = {                               \
        AIMASS_ABI_MAJOR, AIMASS_ABI_MINOR, AIMASS_TOOLCHAIN_TAG, NAME,              \
        VERSION,          SUMMARY,          REGISTER_FN};                            \
    return &descriptor;                                                              \
  }                                                                                  \
  namespace aimass_autoaliases {                                                     \
  extern "C" __attribute__((visibility("default"))) const void* aimass_plugin_entry; \
  __attribute__((section("boostdll"), weak)) const void* aimass_plugin_entry =       \
      reinterpret_cast<const void*>(                                                 \
          reinterpret_cast<std::intptr_t>(&aimass_plugin_descriptor_fn));            \
  }
