// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "aimass/collective.h"
#include "aimass/core/graph.h"
#include "aimass/status.h"

namespace aimass::core {

/// One node of a configuration as the ranks of a distributed job compare it: its name, its
/// type and its validated parameter values (defaults filled in, paths resolved) as text.
struct NodeFingerprint {
  std::string name;
  std::string type;
  /// "name=value" per parameter, in name order.
  std::vector<std::string> params;

  bool operator==(const NodeFingerprint&) const = default;
};

/// The fingerprint of every node of `graph`, in the graph's order.
std::vector<NodeFingerprint> configurationFingerprint(const Graph& graph);

/// The byte form one rank sends the others, and its reverse (nullopt-like: false when
/// `bytes` is not such a form).
std::string encodeFingerprint(const std::vector<NodeFingerprint>& nodes);
bool decodeFingerprint(std::string_view bytes, std::vector<NodeFingerprint>& nodes);

/// Compares the fingerprints of every rank (`by_rank[r]` is rank r's) with rank 0's. OK when
/// all are equal; otherwise kFailedPrecondition naming the first node that differs, how (its
/// type, a parameter's values, a node one rank lacks), on which ranks, and every rank that
/// differs from rank 0.
Status compareFingerprints(const std::vector<std::vector<NodeFingerprint>>& by_rank);

/// Exchanges `mine` among the ranks of `collective` (two all-gathers: the lengths, then the
/// padded texts) and compares them: the same result on every rank. Every rank must call it.
Status agreeOnConfiguration(const std::vector<NodeFingerprint>& mine, Collective& collective);

/// The graph's first collective of more than one rank (in graph order), with its node name;
/// null when it has none (a single-process run).
std::pair<std::string, Collective*> distributedCollective(const Graph& graph);

/// Runtime::run() calls this once the nodes exist: when the graph holds a collective of more
/// than one rank (the first such, in graph order), the ranks agree on the configuration or
/// every rank fails with compareFingerprints()'s error. OK without such a collective.
Status checkConfigurationAcrossRanks(const Graph& graph);

}  // namespace aimass::core
