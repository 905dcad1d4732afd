// SPDX-License-Identifier: Apache-2.0
#include "predict_parameters.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using Kind = JsonDocument::Kind;

std::string shown(const JsonDocument& doc, std::size_t index) {
  const JsonDocument::Node& node = doc.node(index);
  switch (node.kind) {
    case Kind::kArray:
      return "a list";
    case Kind::kObject:
      return "an object";
    case Kind::kString:
      return "a string";
    default: {
      std::string text(node.text.substr(0, 40));
      return node.text.size() > 40 ? text + "..." : text;
    }
  }
}

/// A whole number from 0 to kMaxTopK written as plain digits; -1 otherwise.
std::int64_t topKValue(const JsonDocument::Node& node) {
  if (node.kind != Kind::kNumber || node.text.empty() || node.text.size() > 6) {
    return -1;
  }
  std::int64_t value = 0;
  for (char c : node.text) {
    if (c < '0' || c > '9') {
      return -1;
    }
    value = value * 10 + (c - '0');
  }
  return value <= kMaxTopK ? value : -1;
}

}  // namespace

Expected<PredictOptions> readPredictOptions(const JsonDocument& doc, std::size_t parameters) {
  PredictOptions options;
  if (parameters == JsonDocument::kNone) {
    return options;
  }
  const std::uint32_t count = doc.node(parameters).size;
  std::size_t key = parameters + 1;
  for (std::uint32_t member = 0; member < count; ++member) {
    const std::size_t value = key + 1;
    const std::size_t next = doc.node(value).end;
    std::string name = doc.string(key);
    const JsonDocument::Node& node = doc.node(value);
    key = next;
    auto refuse = [&](const std::string& wanted) {
      return invalidArgument("the request: parameter \"" + name + "\" must be " + wanted +
                             ", not " + shown(doc, value));
    };
    if (name == "binary_data_output") {
      continue;  // the decoder's (binary tensor data extension)
    }
    if (name == "top_k") {
      const std::int64_t k = topKValue(node);
      if (k < 0) {
        return refuse("a whole number from 0 to " + std::to_string(kMaxTopK));
      }
      options.top_k = k;
      continue;
    }
    if (name == "exclude_seen") {
      if (node.kind != Kind::kTrue && node.kind != Kind::kFalse) {
        return refuse("true or false");
      }
      options.exclude_seen = node.kind == Kind::kTrue;
      continue;
    }
    switch (node.kind) {
      case Kind::kNull:
        continue;
      case Kind::kArray:
      case Kind::kObject:
        return refuse("a string, number or boolean");
      case Kind::kString:
        options.parameters.emplace_back(std::move(name), doc.string(value));
        continue;
      default:
        options.parameters.emplace_back(std::move(name), std::string(node.text));
        continue;
    }
  }
  // Sorted by name; of a repeated name the last stays (stable sort, then keep the last).
  auto& list = options.parameters;
  std::stable_sort(list.begin(), list.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::string>> unique;
  unique.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (i + 1 < list.size() && list[i + 1].first == list[i].first) {
      continue;
    }
    unique.push_back(std::move(list[i]));
  }
  list = std::move(unique);
  return options;
}

}  // namespace aimass::plugins::frontend
