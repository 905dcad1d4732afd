// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/plugin.h"

namespace aimass::core {

/// Where a node type came from.
struct PluginInfo {
  std::string name;     ///< descriptor name ("storage.fs"); "builtin" for core's own types
  std::string version;  ///< descriptor version
  std::string summary;
  std::string library;  ///< absolute path of the .so; empty for built-in types
  std::uint32_t abi_major = AIMASS_ABI_MAJOR;
  std::uint32_t abi_minor = AIMASS_ABI_MINOR;
  std::string toolchain = AIMASS_TOOLCHAIN_TAG;
};

/// A node type known to the host.
struct RegisteredType {
  NodeType type;
  std::shared_ptr<const PluginInfo> plugin;
  /// Keeps the plugin library loaded; the graph copies it into every node's deleter. Null for
  /// built-in types.
  std::shared_ptr<void> library;
};

/// URI schemes a storage plugin declared (aimass/storage_uri.h), for `--storage URI`.
struct RegisteredUriScheme {
  /// As declared; its `map` keeps the plugin library loaded while it exists.
  StorageUriScheme scheme;
  std::shared_ptr<const PluginInfo> plugin;
};

/// A command-line subcommand a plugin added (aimass/command.h).
struct RegisteredCommand {
  /// As added; its handler keeps the plugin library loaded while it exists.
  CliCommand command;
  std::shared_ptr<const PluginInfo> plugin;
};

/// The first words of the `aimass` executable's own commands, which no plugin command may use.
inline constexpr std::string_view kBuiltinCommandWords[] = {
    "validate", "run",  "serve",   "eval",   "models", "datasets", "runs",
    "tune",     "jobs", "plugins", "plugin", "help"};

/// Every node type the host can instantiate, by type name.
///
/// Threading: filled on the main thread while plugins load; read-only afterwards.
class TypeRegistry {
 public:
  /// Checks a node type before it is accepted: name "<kind>.<name>" with [a-z0-9_] and the kind
  /// prefix matching `kind`, a factory, unique parameter names, defaults of the declared type
  /// inside the declared range and among the choices, ref kinds on ref parameters.
  static Status validateType(const NodeType& type);

  /// Checks a URI scheme declaration: scheme names well formed and unique within it, a form,
  /// exactly one of path_param and map. With `type` (the node type it names): a storage type,
  /// and path_param one of its path or string parameters.
  static Status validateUriScheme(const StorageUriScheme& scheme, const NodeType* type);

  /// Adds one type. kAlreadyExists (naming the plugin that has it) or the validateType error.
  Status add(NodeType type, std::shared_ptr<const PluginInfo> plugin,
             std::shared_ptr<void> library);

  /// Adds the URI schemes of a storage type already added by the same plugin. kAlreadyExists
  /// (naming the plugin that has it) for a scheme taken, or the validateUriScheme error.
  Status addUriScheme(StorageUriScheme scheme, std::shared_ptr<const PluginInfo> plugin,
                      std::shared_ptr<void> library);

  /// Checks a command before it is accepted: the name (one or two words of [a-z][a-z0-9-]*,
  /// each at most 32 characters, one space apart), a usage starting with the name, a summary
  /// and a handler. kAlreadyExists when its first word is a built-in command's.
  static Status validateCommand(const CliCommand& command);

  /// Adds a plugin's command. kAlreadyExists (naming the plugin that has it) or the
  /// validateCommand error.
  Status addCommand(CliCommand command, std::shared_ptr<const PluginInfo> plugin,
                    std::shared_ptr<void> library);
  /// The command named `name` ("auth hash-key"); null when no plugin added it.
  const RegisteredCommand* findCommand(std::string_view name) const;
  /// Every plugin command, sorted by name.
  std::vector<const RegisteredCommand*> commands() const;

  /// Null when unknown.
  const RegisteredType* find(std::string_view type) const;
  /// The declaration that serves `scheme` (lower case); null when no plugin declared it.
  const RegisteredUriScheme* findUriScheme(std::string_view scheme) const;
  /// Every URI scheme declaration, in the order the plugins were loaded.
  std::vector<const RegisteredUriScheme*> uriSchemes() const;

  /// Creates one node: the only place core calls a plugin's factory. `config` names the type
  /// (config.type()), the node, the host, and holds parameter values that are already typed,
  /// checked and completed with defaults (Graph::validate() makes them; so does validateNode()
  /// in graph.h for a node declared outside a configuration file) and the referenced nodes.
  ///
  /// The factory runs with every exception caught. The node comes back with a deleter that
  /// holds the plugin library, so the library stays loaded until the node is gone, whoever
  /// keeps it (the graph, the serving runtime, a CLI command).
  ///
  /// Errors carry no node context (callers prefix their own): kNotFound when no loaded plugin
  /// provides the type; kInvalidArgument when `kind` is given and the type is of another kind;
  /// the factory's own Status unchanged when it fails; kInternal, naming the plugin, when the
  /// factory throws, returns no node, or returns a node of another kind than it registered.
  Expected<std::shared_ptr<Node>> instantiate(const NodeConfig& config,
                                              std::optional<NodeKind> kind = std::nullopt) const;
  /// All types sorted by name.
  std::vector<const RegisteredType*> all() const;
  /// Up to three known type names close to `unknown` (edit distance), best first.
  std::vector<std::string> suggest(std::string_view unknown) const;

 private:
  std::map<std::string, RegisteredType, std::less<>> types_;
  std::deque<RegisteredUriScheme> uri_schemes_;  // a deque: pointers stay valid as it grows
  std::map<std::string, RegisteredCommand, std::less<>> commands_;
};

/// Levenshtein distance, used for "did you mean" hints on types and parameter names.
std::size_t editDistance(std::string_view a, std::string_view b);

/// The closest candidate within a sensible distance (about a third of the length), or "".
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// Registers the node types that live in core itself (job.train, collective.local, ...).
void registerBuiltinTypes(TypeRegistry& registry);

}  // namespace aimass::core
