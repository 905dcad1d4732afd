// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"

namespace aimass::core {

/// The options one store command (`aimass models|datasets|runs|tune ...`) accepts besides the
/// shared ones (--config, --storage, --storage-node, and --log-level and --plugin-path, which
/// the global parser has read).
struct StoreOptionSpec {
  std::string_view command;                        ///< e.g. "models", for "unknown option" errors
  std::initializer_list<std::string_view> flags;   ///< options that take no value (--json)
  std::initializer_list<std::string_view> valued;  ///< the command's own valued options
};

/// The words of a store command line, split by parseStoreOptions.
struct StoreOptions {
  std::vector<std::string> positional;  ///< the words that are not options, in order
  std::string config;                   ///< --config CONFIG (the last one given)
  std::string storage_uri;              ///< --storage URI (the last one given)
  std::string storage_node;             ///< --storage-node NAME (the last one given)
};

/// Called for each of the command's own options, in the order given: the option's name and its
/// value ("" for a flag). A non-OK status stops the parse and is returned.
using StoreOptionHandler = std::function<Status(const std::string& name, const std::string& value)>;

/// Splits `words` into positional words and options: `--option=value` or `--option value` for
/// valued options, `--flag` for flags (options may come anywhere; a later value replaces an
/// earlier one for the shared options). --log-level and --plugin-path are skipped with their
/// values. kInvalidArgument: "unknown option '--x' for 'aimass COMMAND'", "option '--x' needs a
/// value" (a valued option last with no value), "option '--x' takes no value" (a flag with
/// =value); otherwise the handler's first non-OK status.
Expected<StoreOptions> parseStoreOptions(const std::vector<std::string>& words,
                                         const StoreOptionSpec& spec,
                                         const StoreOptionHandler& handle);

/// Copies the store choice of `options` into a parsed command's config, storage_uri and
/// storage_node.
template <typename Command>
void assignStoreChoice(const StoreOptions& options, Command& command) {
  command.config = options.config;
  command.storage_uri = options.storage_uri;
  command.storage_node = options.storage_node;
}

}  // namespace aimass::core
