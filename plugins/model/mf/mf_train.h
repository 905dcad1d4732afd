// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <vector>

#include "aimass/model.h"
#include "mf.h"
#include "mf_state.h"

namespace aimass::plugins::model {

/// The training interactions in model indices (users and items with at least one row).
struct MfTrainingSet {
  std::size_t users = 0, items = 0;
  std::vector<std::int32_t> user, item;  ///< per row
  std::vector<float> value;              ///< per row: the rating, or the implicit strength
};

/// Trains `state`'s factor tables and mean from `set` with `solver`, one observer call per
/// epoch with the epoch's loss; stops early when the observer asks. `state` must have its
/// feedback, rank, l2 weights and alpha set. Deterministic for a seed at any thread count.
void trainMf(const MfTrainingSet& set, MfSolver solver, const MfOptions& options,
             std::uint64_t seed, FitObserver& observer, MfState& state);

}  // namespace aimass::plugins::model
