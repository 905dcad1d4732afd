// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <vector>

#include "tune/study.h"
#include "tune/tune_space.h"

namespace aimass::core {

/// The fewest complete trials parameterImportances() estimates from.
inline constexpr std::size_t kMinImportanceTrials = 4;

/// How much each dimension of a study's space matters to its objective: a quick, model-free
/// estimate from the complete trials (those with a finite value; pruned, failed and running
/// trials are left out), for `aimass tune show` and the tuner's log.
///
/// For each dimension the complete trials are grouped by the dimension's value: a choice
/// dimension by its choice, a numeric one into (at most) 4 bins at the quartiles of its values
/// among the trials (rank-based, so the same bins on a linear or a log scale; equal values
/// share a bin); trials where a conditional dimension was inactive form one more group. The
/// dimension's raw share is the fraction of the objective's variance its groups explain,
/// corrected for what as many groups explain by chance (epsilon squared, as in a one-way
/// analysis of variance):
///
///     (SS_between - (k - 1) * SS_within / (N - k)) / SS_total,  at least 0
///
/// with N trials in k groups (0 when N <= k: too few trials to tell the groups apart). The raw
/// shares are then scaled to sum to 1. Marginal effects only: a dimension that matters only
/// together with another one is underrated, and a few trials give a rough picture.
///
/// Returns one share per dimension, in the order of `dimensions`: empty when fewer than
/// kMinImportanceTrials trials completed; all 0 when the objective did not vary or no
/// dimension explains more than chance. A trial's missing values count as inactive.
/// Pure; thread-safe.
std::vector<double> parameterImportances(const std::vector<TuneDimension>& dimensions,
                                         const std::vector<Trial>& trials);

}  // namespace aimass::core
