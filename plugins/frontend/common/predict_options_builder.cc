// SPDX-License-Identifier: Apache-2.0
#include "predict_options_builder.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using Kind = PredictOptionsBuilder::Kind;

/// A whole number from 0 to kMaxTopK written as plain digits; -1 otherwise.
std::int64_t topKValue(Kind kind, std::string_view text) {
  if (kind != Kind::kNumber || text.empty() || text.size() > 6) {
    return -1;
  }
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return -1;
    }
    value = value * 10 + (c - '0');
  }
  return value <= kMaxTopK ? value : -1;
}

std::string shown(Kind kind, std::string_view text) {
  switch (kind) {
    case Kind::kList:
      return "a list";
    case Kind::kObject:
      return "an object";
    case Kind::kString:
      return "a string";
    default:
      return text.size() > 40 ? std::string(text.substr(0, 40)) + "..." : std::string(text);
  }
}

}  // namespace

Status PredictOptionsBuilder::add(std::string name, Kind kind, std::string text) {
  auto refuse = [&](const std::string& wanted) {
    return invalidArgument("parameter \"" + name + "\" must be " + wanted + ", not " +
                           shown(kind, text));
  };
  if (name == "binary_data_output") {
    return okStatus();  // the OIP decoder's (binary tensor data extension)
  }
  if (name == "top_k") {
    const std::int64_t k = topKValue(kind, text);
    if (k < 0) {
      return refuse("a whole number from 0 to " + std::to_string(kMaxTopK));
    }
    options_.top_k = k;
    return okStatus();
  }
  if (name == "exclude_seen") {
    if (kind != Kind::kBool) {
      return refuse("true or false");
    }
    options_.exclude_seen = text == "true";
    return okStatus();
  }
  switch (kind) {
    case Kind::kNull:
      return okStatus();
    case Kind::kList:
    case Kind::kObject:
      return refuse("a string, number or boolean");
    default:
      options_.parameters.emplace_back(std::move(name), std::move(text));
      return okStatus();
  }
}

PredictOptions PredictOptionsBuilder::finish() && {
  // Sorted by name; of a repeated name the last stays (stable sort, then keep the last).
  auto& list = options_.parameters;
  std::stable_sort(list.begin(), list.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::string>> unique;
  unique.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i + 1 == list.size() || list[i + 1].first != list[i].first) {
      unique.push_back(std::move(list[i]));
    }
  }
  list = std::move(unique);
  return std::move(options_);
}

}  // namespace aimass::plugins::frontend
