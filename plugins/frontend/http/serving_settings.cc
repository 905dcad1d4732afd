// SPDX-License-Identifier: Apache-2.0
#include "serving_settings.h"

#include <charconv>

namespace aimass::plugins::frontend {
namespace {

constexpr const char* kKnownKeys =
    "max_batch_size, preferred_batch_sizes, max_queue_delay_us, max_queue_size, "
    "queue_timeout_ms, version_policy";

bool wholeNumber(std::string_view text, std::int64_t& out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size() && out >= 0;
}

}  // namespace

Status validateBatching(const BatchingOptions& options, std::string_view where) {
  auto bad = [&](const std::string& what) {
    return invalidArgument(std::string(where) + ": " + what);
  };
  if (options.max_batch_size < 0) {
    return bad("max_batch_size must be 0 (no batching) or more");
  }
  for (auto p : options.preferred_batch_sizes) {
    if (p < 1 || (options.max_batch_size > 1 && p > options.max_batch_size)) {
      return bad("preferred batch size " + std::to_string(p) +
                 " must lie between 1 and max_batch_size (" +
                 std::to_string(options.max_batch_size) + ")");
    }
  }
  if (options.max_queue_delay_us < 0) {
    return bad("max_queue_delay_us must be 0 or more");
  }
  if (options.max_queue_size < 1) {
    return bad("max_queue_size must be 1 or more");
  }
  if (options.timeout_ms < 0) {
    return bad("queue_timeout_ms must be 0 (no limit) or more");
  }
  return okStatus();
}

Expected<ModelSettings> parseModelSettings(std::string_view entry,
                                           const BatchingOptions& defaults) {
  const std::string where = "model_settings entry '" + std::string(entry) + "'";
  ModelSettings settings;
  settings.batching = defaults;
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while (at < entry.size()) {
    while (at < entry.size() && entry[at] == ' ') {
      ++at;
    }
    std::size_t end = entry.find(' ', at);
    if (end == std::string_view::npos) {
      end = entry.size();
    }
    if (end > at) {
      words.push_back(entry.substr(at, end - at));
    }
    at = end;
  }
  if (words.empty() || words.front().find('=') != std::string_view::npos) {
    return invalidArgument(where +
                           ": it must start with the model's name, e.g. 'iris "
                           "max_batch_size=16'");
  }
  settings.model = std::string(words.front());
  for (std::size_t i = 1; i < words.size(); ++i) {
    auto eq = words[i].find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return invalidArgument(where + ": '" + std::string(words[i]) + "' is not a key=value pair");
    }
    std::string_view key = words[i].substr(0, eq);
    std::string_view value = words[i].substr(eq + 1);
    auto number = [&](std::int64_t& out) -> Status {
      if (!wholeNumber(value, out)) {
        return invalidArgument(where + ": " + std::string(key) +
                               " must be a whole number from 0, got '" + std::string(value) + "'");
      }
      return okStatus();
    };
    if (key == "max_batch_size") {
      AIMASS_RETURN_IF_ERROR(number(settings.batching.max_batch_size));
    } else if (key == "max_queue_delay_us") {
      AIMASS_RETURN_IF_ERROR(number(settings.batching.max_queue_delay_us));
    } else if (key == "max_queue_size") {
      AIMASS_RETURN_IF_ERROR(number(settings.batching.max_queue_size));
    } else if (key == "queue_timeout_ms") {
      AIMASS_RETURN_IF_ERROR(number(settings.batching.timeout_ms));
    } else if (key == "preferred_batch_sizes") {
      settings.batching.preferred_batch_sizes.clear();
      std::string_view rest = value;
      while (true) {
        auto comma = rest.find(',');
        std::int64_t size = 0;
        if (!wholeNumber(rest.substr(0, comma), size)) {
          return invalidArgument(where +
                                 ": preferred_batch_sizes must be whole numbers "
                                 "separated by commas, got '" +
                                 std::string(value) + "'");
        }
        settings.batching.preferred_batch_sizes.push_back(size);
        if (comma == std::string_view::npos) {
          break;
        }
        rest = rest.substr(comma + 1);
      }
    } else if (key == "version_policy") {
      auto policy = parseVersionPolicy(value);
      if (!policy.ok()) {
        return invalidArgument(where + ": " + policy.status().message());
      }
      settings.version_policy = std::move(policy).value();
    } else {
      return invalidArgument(where + ": unknown setting '" + std::string(key) +
                             "' (known: " + kKnownKeys + ")");
    }
  }
  AIMASS_RETURN_IF_ERROR(validateBatching(settings.batching, where));
  return settings;
}

}  // namespace aimass::plugins::frontend
