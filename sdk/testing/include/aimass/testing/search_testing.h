// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers the search optimizers' unit tests share (free of gtest, so any test framework
// can use them): dimension makers, the conformance suite as one string of failures, the
// plugin's registered node type and a node made from it, and the comparisons a state
// round-trip test makes. Not thread-safe; nothing here throws but std::bad_alloc.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/plugin.h"
#include "aimass/status.h"
#include "aimass/testing/optimizer_conformance.h"
#include "aimass/testing/registration.h"

namespace aimass::testing {

/// A numeric dimension (kFloat or kInt) named `name` on [low, high].
inline SearchDimension numericDimension(std::string name, SearchDimension::Type type, double low,
                                        double high, bool log_scale = false) {
  SearchDimension d;
  d.name = std::move(name);
  d.type = type;
  d.low = low;
  d.high = high;
  d.log_scale = log_scale;
  return d;
}

/// A kFloat dimension named `name` on [low, high].
inline SearchDimension floatDimension(std::string name, double low, double high,
                                      bool log_scale = false) {
  return numericDimension(std::move(name), SearchDimension::Type::kFloat, low, high, log_scale);
}

/// A kCategorical dimension named `name` with `choices`.
inline SearchDimension categoricalDimension(std::string name, std::vector<std::string> choices) {
  SearchDimension d;
  d.name = std::move(name);
  d.type = SearchDimension::Type::kCategorical;
  d.choices = std::move(choices);
  return d;
}

/// An optimizer's options struct with its defaults and the node seed `seed`.
template <typename Options>
Options seededOptions(std::uint64_t seed) {
  Options options;
  options.seed = seed;
  return options;
}

/// The node seeds the optimizers' conformance tests run checkSearchOptimizer() with.
inline constexpr std::uint64_t kConformanceSeeds[] = {0, 1, 12345};

/// checkSearchOptimizer()'s failed checks, one "name: detail" line each; empty when all passed
/// (so a test writes `EXPECT_EQ(searchConformanceFailures(search), "")`).
inline std::string searchConformanceFailures(SearchOptimizer& optimizer) {
  std::string failures;
  for (const auto& check : checkSearchOptimizer(optimizer)) {
    if (!check.passed) {
      failures += check.name + ": " + check.detail + "\n";
    }
  }
  return failures;
}

/// The one node type a plugin registers, checked to be named `type`: kInternal when the register
/// callback failed, registered another number of types or another name.
inline Expected<NodeType> onlyRegisteredType(const AimassPluginDescriptor& descriptor,
                                             std::string_view type) {
  RegisteredTypes registered = collectRegisteredTypes(descriptor);
  if (!registered.status.ok()) {
    return registered.status;
  }
  if (registered.types.size() != 1) {
    return Status(StatusCode::kInternal, "the plugin registered " +
                                             std::to_string(registered.types.size()) +
                                             " node types, expected 1");
  }
  if (registered.types[0].type != type) {
    return Status(StatusCode::kInternal, "the plugin registered '" + registered.types[0].type +
                                             "', expected '" + std::string(type) + "'");
  }
  return std::move(registered.types[0]);
}

/// The node `type` makes from `config`, checked to be a search optimizer: the factory's error,
/// or kInternal when the node is no optimizer of style kSearch.
inline Expected<std::unique_ptr<Node>> makeSearchNode(const NodeType& type,
                                                      const NodeConfig& config) {
  auto node = type.factory(config);
  if (!node.ok()) {
    return node.status();
  }
  auto* optimizer = dynamic_cast<Optimizer*>(node->get());
  if (optimizer == nullptr || optimizer->style() != OptimizerStyle::kSearch) {
    return Status(StatusCode::kInternal, "'" + type.type + "' made no search optimizer");
  }
  return std::move(node).value();
}

/// Where two batches of candidates differ ("" when they have the same size, ids and values; NaN
/// equals NaN): what a state round-trip test compares between the saved and the resumed search.
inline std::string candidateDifference(const std::vector<Candidate>& a,
                                       const std::vector<Candidate>& b) {
  if (a.size() != b.size()) {
    return std::to_string(a.size()) + " candidates against " + std::to_string(b.size());
  }
  for (std::size_t k = 0; k < a.size(); ++k) {
    if (a[k].id != b[k].id) {
      return "candidate " + std::to_string(k) + ": id " + std::to_string(a[k].id) + " against " +
             std::to_string(b[k].id);
    }
    bool same = a[k].values.size() == b[k].values.size();
    for (std::size_t i = 0; same && i < a[k].values.size(); ++i) {
      const double x = a[k].values[i], y = b[k].values[i];
      same = x == y || (std::isnan(x) && std::isnan(y));
    }
    if (!same) {
      return "candidate " + std::to_string(k) + " (id " + std::to_string(a[k].id) +
             "): other values";
    }
  }
  return "";
}

/// Loads every `step`-th truncation of the optimizer's own saved state and checks that each is
/// refused with kDataLoss and changes nothing (the state saved afterwards is the same). The
/// problems found, one a line; empty when none.
inline std::string truncatedStateProblems(SearchOptimizer& optimizer, std::size_t step) {
  std::string before;
  if (Status s = optimizer.saveState(before); !s.ok()) {
    return "saveState: " + s.toString() + "\n";
  }
  std::string problems;
  for (std::size_t cut = 0; cut < before.size(); cut += step) {
    const Status s = optimizer.loadState(std::string_view(before).substr(0, cut));
    if (s.code() != StatusCode::kDataLoss) {
      problems += "the first " + std::to_string(cut) + " bytes gave " + s.toString() + "\n";
    }
  }
  std::string after;
  if (Status s = optimizer.saveState(after); !s.ok() || after != before) {
    problems += "the refused states changed the search\n";
  }
  return problems;
}

}  // namespace aimass::testing
