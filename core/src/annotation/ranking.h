// SPDX-License-Identifier: Apache-2.0
// The order in which an annotation project's rows are handed out: a seeded random order, or
// the served model's, by how unsure it is of each row (selection.h). Scoring reads the whole
// pool through the dataset node and runs the model directly (not through serving's queue, so
// annotation neither waits behind traffic nor counts in its statistics).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "annotation/selection.h"

namespace aimass::core::annotation {

struct RankingSettings {
  SelectionStrategy strategy = SelectionStrategy::kRandom;
  std::string model;        ///< the served model that ranks; empty: a random order
  std::uint64_t seed = 0;   ///< the random order's, and diversity's k-means seeding
  std::size_t batch = 100;  ///< diversity: rows chosen together at the top of the ranking
};

/// A ranking of every row of the pool.
struct Ranking {
  std::vector<std::uint64_t> order;  ///< every row, the one to label first first
  std::vector<float> scores;         ///< by row: uncertainty (higher: less sure); empty: none
  SelectionStrategy strategy = SelectionStrategy::kRandom;
  std::string model, version;  ///< the model and version that scored; empty: random
  std::int64_t unix_ms = 0;
  std::string note;  ///< why the order is random when a model was asked for
};

/// Every row in a random order drawn from `seed`.
std::shared_ptr<const Ranking> randomRanking(std::uint64_t rows, std::uint64_t seed,
                                             std::string note);

/// The model's class probabilities for `rows` of `data` (row-major, rows x classes; classes
/// set). The model's first input takes the rows' features as FP32 [rows, features].
/// kInvalidArgument when the model has no probabilities output or does not take the rows.
Expected<std::vector<float>> classProbabilities(const Model& model, const Batch& rows,
                                                std::size_t& classes);

/// The pool ranked by `model` (its `version`, for the record): every row scored by the
/// strategy's uncertainty, most uncertain first; with kDiversity the first `batch` rows are a
/// diverse batch of the rows `open` accepts (selectBatch()), the rest by margin.
Expected<std::shared_ptr<const Ranking>> modelRanking(
    const Dataset& data, const Model& model, const RankingSettings& settings,
    const std::string& version, const std::function<bool(std::uint64_t)>& open);

}  // namespace aimass::core::annotation
