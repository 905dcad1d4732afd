// SPDX-License-Identifier: Apache-2.0
#include "config_fingerprint.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <type_traits>
#include <variant>

namespace aimass::core {
namespace {

// Values print with enough digits to tell any two doubles apart.
void print(std::ostringstream& out, const FieldValue& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          out << "~";
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                             std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          out << v;
        } else {
          out << '[';
          for (std::size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
          out << ']';
        }
      },
      value);
}

void print(std::ostringstream& out, const ParamRecord& record) {
  out << '{';
  bool first = true;
  for (const auto& [name, value] : record.values()) {
    out << (first ? "" : ", ") << name << ": ";
    print(out, value);
    first = false;
  }
  out << '}';
}

std::string text(const ParamValue& value) {
  std::ostringstream out;
  out.precision(17);
  if (const auto* records = std::get_if<std::vector<ParamRecord>>(&value)) {
    out << '[';
    for (const ParamRecord& record : *records) print(out, record);
    out << ']';
  } else if (const auto* map = std::get_if<ParamRecordMap>(&value)) {
    out << '{';
    for (const auto& [key, record] : *map) {
      out << key << ": ";
      print(out, record);
      out << "; ";
    }
    out << '}';
  } else {
    print(out, std::visit(
                   [](const auto& v) -> FieldValue {
                     using T = std::decay_t<decltype(v)>;
                     if constexpr (std::is_constructible_v<FieldValue, T>) {
                       return v;
                     } else {
                       return std::monostate{};
                     }
                   },
                   value));
  }
  return out.str();
}

// Fields are written as "<length>:<bytes>", so any byte may appear in a value.
void putField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

bool getField(std::string_view& in, std::string& field) {
  const auto colon = in.find(':');
  std::size_t length = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(in.data(), in.data() + colon, length).ptr != in.data() + colon ||
      in.size() - colon - 1 < length) {
    return false;
  }
  field.assign(in.substr(colon + 1, length));
  in.remove_prefix(colon + 1 + length);
  return true;
}

std::string quoted(const std::string& value) {
  constexpr std::size_t kShown = 120;
  return "'" + (value.size() > kShown ? value.substr(0, kShown) + "..." : value) + "'";
}

std::string rankList(const std::vector<std::size_t>& ranks) {
  std::string out;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(ranks[i]);
  }
  return out;
}

const NodeFingerprint* findNode(const std::vector<NodeFingerprint>& nodes,
                                const std::string& name) {
  auto it = std::find_if(nodes.begin(), nodes.end(),
                         [&](const NodeFingerprint& node) { return node.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

// How rank `r`'s nodes first differ from rank 0's, in rank 0's order, then nodes only r has.
std::string firstDifference(const std::vector<NodeFingerprint>& zero,
                            const std::vector<NodeFingerprint>& other, std::size_t r) {
  const std::string on_r = "rank " + std::to_string(r);
  for (const NodeFingerprint& node : zero) {
    const NodeFingerprint* theirs = findNode(other, node.name);
    if (theirs == nullptr) {
      return "node '" + node.name + "' (" + node.type + ") is on rank 0 but not on " + on_r;
    }
    if (theirs->type != node.type) {
      return "node '" + node.name + "' is of type " + node.type + " on rank 0 but " + theirs->type +
             " on " + on_r;
    }
    if (theirs->params == node.params) {
      continue;
    }
    const auto mismatch = std::mismatch(node.params.begin(), node.params.end(),
                                        theirs->params.begin(), theirs->params.end());
    const std::string mine =
        mismatch.first == node.params.end() ? "nothing" : quoted(*mismatch.first);
    const std::string other_value =
        mismatch.second == theirs->params.end() ? "nothing" : quoted(*mismatch.second);
    return "node '" + node.name + "' (" + node.type + ") has " + mine + " on rank 0 but " +
           other_value + " on " + on_r;
  }
  for (const NodeFingerprint& node : other) {
    if (findNode(zero, node.name) == nullptr) {
      return "node '" + node.name + "' (" + node.type + ") is on " + on_r + " but not on rank 0";
    }
  }
  return "the nodes are in another order on " + on_r;
}

}  // namespace

std::vector<NodeFingerprint> configurationFingerprint(const Graph& graph) {
  std::vector<NodeFingerprint> nodes;
  for (const GraphNode& node : graph.nodes()) {
    NodeFingerprint fingerprint{node.decl.name, node.decl.type, {}};
    for (const auto& [name, value] : node.values) {
      fingerprint.params.push_back(name + "=" + text(value));
    }
    std::sort(fingerprint.params.begin(), fingerprint.params.end());
    nodes.push_back(std::move(fingerprint));
  }
  return nodes;
}

std::string encodeFingerprint(const std::vector<NodeFingerprint>& nodes) {
  std::string out;
  for (const NodeFingerprint& node : nodes) {
    putField(out, node.name);
    putField(out, node.type);
    putField(out, std::to_string(node.params.size()));
    for (const std::string& param : node.params) putField(out, param);
  }
  return out;
}

bool decodeFingerprint(std::string_view bytes, std::vector<NodeFingerprint>& nodes) {
  nodes.clear();
  while (!bytes.empty()) {
    NodeFingerprint node;
    std::string count_text;
    std::size_t count = 0;
    if (!getField(bytes, node.name) || !getField(bytes, node.type) ||
        !getField(bytes, count_text) ||
        std::from_chars(count_text.data(), count_text.data() + count_text.size(), count).ec !=
            std::errc()) {
      return false;
    }
    node.params.resize(std::min(count, bytes.size()));
    for (std::size_t i = 0; i < count; ++i) {
      if (i >= node.params.size() || !getField(bytes, node.params[i])) return false;
    }
    nodes.push_back(std::move(node));
  }
  return true;
}

Status compareFingerprints(const std::vector<std::vector<NodeFingerprint>>& by_rank) {
  std::vector<std::size_t> differing;
  std::string first;
  for (std::size_t r = 1; r < by_rank.size(); ++r) {
    if (by_rank[r] != by_rank[0]) {
      if (differing.empty()) first = firstDifference(by_rank[0], by_rank[r], r);
      differing.push_back(r);
    }
  }
  if (differing.empty()) {
    return Status();
  }
  return failedPrecondition(
      "the ranks disagree on the configuration: " + first + " (" +
      (differing.size() > 1 ? "ranks " : "rank ") + rankList(differing) + " of " +
      std::to_string(by_rank.size()) + (differing.size() > 1 ? " differ" : " differs") +
      " from rank 0). Every rank must run the same configuration with the same values; "
      "look for environment variables, included files or paths that differ between them");
}

Status agreeOnConfiguration(const std::vector<NodeFingerprint>& mine, Collective& collective) {
  const auto size = static_cast<std::size_t>(collective.size());
  std::string bytes = encodeFingerprint(mine);
  std::uint64_t length = bytes.size();
  std::vector<std::uint64_t> lengths(size);
  Status status = collective.allgather(std::as_bytes(std::span(&length, 1)),
                                       std::as_writable_bytes(std::span(lengths)));
  if (!status.ok()) {
    return Status(status.code(), "comparing the configuration across ranks: " + status.message());
  }
  const std::uint64_t longest = *std::max_element(lengths.begin(), lengths.end());
  bytes.resize(longest, '\0');
  std::string all(longest * size, '\0');
  status = collective.allgather(std::as_bytes(std::span(bytes.data(), bytes.size())),
                                std::as_writable_bytes(std::span(all.data(), all.size())));
  if (!status.ok()) {
    return Status(status.code(), "comparing the configuration across ranks: " + status.message());
  }
  std::vector<std::vector<NodeFingerprint>> by_rank(size);
  for (std::size_t r = 0; r < size; ++r) {
    if (!decodeFingerprint(std::string_view(all).substr(r * longest, lengths[r]), by_rank[r])) {
      return dataLoss("comparing the configuration across ranks: rank " + std::to_string(r) +
                      " sent a fingerprint that does not decode (a different aimass version?)");
    }
  }
  return compareFingerprints(by_rank);
}

std::pair<std::string, Collective*> distributedCollective(const Graph& graph) {
  for (const auto& [name, node] : graph.nodesOfKind(NodeKind::kCollective)) {
    auto& collective = static_cast<Collective&>(*node);
    if (collective.size() > 1) {
      return {name, &collective};
    }
  }
  return {{}, nullptr};
}

Status checkConfigurationAcrossRanks(const Graph& graph) {
  const auto [name, found] = distributedCollective(graph);
  if (found == nullptr) {
    return Status();
  }
  Collective& collective = *found;
  Status status = agreeOnConfiguration(configurationFingerprint(graph), collective);
  if (!status.ok()) {
    return Status(status.code(), status.message() + " [collective '" + name + "', rank " +
                                     std::to_string(collective.rank()) + "]");
  }
  return Status();
}

}  // namespace aimass::core
