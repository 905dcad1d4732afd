// SPDX-License-Identifier: Apache-2.0
#include "store_options.h"

#include <algorithm>
#include <iterator>

namespace aimass::core {

namespace {

bool listed(const auto& names, std::string_view name) {
  return std::ranges::find(names, name) != std::ranges::end(names);
}

}  // namespace

Expected<StoreOptions> parseStoreOptions(const std::vector<std::string>& words,
                                         const StoreOptionSpec& spec,
                                         const StoreOptionHandler& handle) {
  static constexpr std::string_view kShared[] = {"--config", "--storage", "--storage-node",
                                                 "--log-level", "--plugin-path"};
  StoreOptions options;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string word = words[i];
    if (!word.starts_with("--")) {
      options.positional.push_back(word);
      continue;
    }
    std::string value;
    bool has_inline_value = false;
    if (auto eq = word.find('='); eq != std::string::npos) {
      value = word.substr(eq + 1);
      word = word.substr(0, eq);
      has_inline_value = true;
    }
    if (listed(spec.flags, word)) {
      if (has_inline_value) {
        return invalidArgument("option '" + word + "' takes no value");
      }
      AIMASS_RETURN_IF_ERROR(handle(word, ""));
      continue;
    }
    const bool shared = listed(kShared, word);
    if (!shared && !listed(spec.valued, word)) {
      return invalidArgument("unknown option '" + word + "' for 'aimass " +
                             std::string(spec.command) + "'");
    }
    if (!has_inline_value) {
      if (i + 1 >= words.size()) {
        return invalidArgument("option '" + word + "' needs a value");
      }
      value = words[++i];
    }
    if (word == "--config") {
      options.config = value;
    } else if (word == "--storage") {
      options.storage_uri = value;
    } else if (word == "--storage-node") {
      options.storage_node = value;
    } else if (!shared) {
      AIMASS_RETURN_IF_ERROR(handle(word, value));
    }
  }
  return options;
}

}  // namespace aimass::core
