// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "aimass/status.h"

/// Active learning: which unlabelled rows of a pool an annotator should label next, chosen from
/// the current model's class probabilities (uncertainty sampling), from the rows' features as
/// well (diversity), or at random (the baseline every strategy is judged against).
///
/// Threading: every function here is pure (no state, no I/O; randomness only from the seed it
/// is given) and safe to call from many threads. The same inputs and seed give the same result
/// on every platform. Failure modes: kInvalidArgument for sizes that disagree or a zero size
/// where one is needed; no function throws except std::bad_alloc.
namespace aimass::core::annotation {

enum class SelectionStrategy {
  kLeastConfidence,  ///< the rows whose most likely class is least likely: 1 - p_max
  kMargin,           ///< the rows whose two most likely classes are closest: 1 - (p_1 - p_2)
  kEntropy,          ///< the rows whose class distribution has most entropy: -sum p ln p
  /// Diverse mini-batches: the beta x batch rows of highest margin uncertainty, clustered into
  /// `batch` clusters by uncertainty-weighted k-means over their features, one row per cluster
  /// (the one nearest its centre), so that a batch does not spend labels on near-duplicates.
  kDiversity,
  kRandom,  ///< a seeded random order (the baseline)
};

/// The strategy named "least_confidence", "margin", "entropy", "diversity" or "random";
/// kInvalidArgument listing those names for anything else.
Expected<SelectionStrategy> parseSelectionStrategy(std::string_view name);

/// The name parseSelectionStrategy() reads, e.g. "least_confidence".
std::string_view selectionStrategyName(SelectionStrategy strategy);

/// Per row of `probabilities` (row-major `rows` x `classes`, each row a class distribution),
/// how uncertain the model is about it: higher is more uncertain.
///
/// - kLeastConfidence: 1 - p_max, in [0, 1 - 1/classes];
/// - kMargin and kDiversity (which ranks by margin before clustering): 1 - (p_1 - p_2), p_1 and
///   p_2 the two largest probabilities (p_2 = 0 with one class), in [0, 1];
/// - kEntropy: -sum_c p_c ln p_c in nats, with 0 ln 0 = 0 (and probabilities <= 0 counted as 0),
///   in [0, ln classes];
/// - kRandom: 0 for every row (the order comes from the seed, not from the model).
///
/// A row holding NaN scores NaN; rankings put such rows last. kInvalidArgument when
/// probabilities.size() != rows * classes or classes is 0.
Expected<std::vector<double>> uncertaintyScores(SelectionStrategy strategy,
                                                std::span<const float> probabilities,
                                                std::size_t rows, std::size_t classes);

/// The unlabelled pool a selection chooses from: row r of the pool is row r of both arrays.
/// The views must outlive the call that reads them; nothing is kept.
struct SelectionPool {
  std::size_t rows = 0;
  /// Row-major rows x classes: the current model's class probabilities per row. Not read by
  /// kRandom (may be empty then).
  std::span<const float> probabilities;
  std::size_t classes = 0;
  /// Row-major rows x dims: what kDiversity clusters (the model's inputs, or an embedding of
  /// them). Read only by kDiversity (may be empty otherwise).
  std::span<const float> features;
  std::size_t dims = 0;
};

struct SelectionOptions {
  std::size_t batch = 1;   ///< rows to choose
  std::uint64_t seed = 0;  ///< kRandom's order; kDiversity's k-means++ seeding
  /// kDiversity: the batch is chosen from the beta x batch most uncertain rows (by margin).
  double beta = 10;
  /// kDiversity: the most Lloyd iterations after k-means++ seeding (it stops earlier once no
  /// row changes cluster).
  std::size_t kmeans_iterations = 10;
};

/// The whole pool in the order rows should be shown to annotators:
///
/// - uncertainty strategies: by descending uncertaintyScores() (ties: the lower row first; NaN
///   scores last);
/// - kDiversity: as kMargin (diversity is a property of a batch: use selectBatch());
/// - kRandom: a permutation drawn from `seed` (std::mt19937_64 and a Fisher-Yates shuffle with an
///   unbiased bounded draw of its own, so every platform draws the same order).
///
/// kInvalidArgument when the pool's arrays do not match its sizes (for the arrays the strategy
/// reads).
Expected<std::vector<std::size_t>> rankPool(SelectionStrategy strategy, const SelectionPool& pool,
                                            std::uint64_t seed);

/// The next `options.batch` rows to label (all rows when the pool has no more), as pool row
/// indices:
///
/// - uncertainty strategies and kRandom: the first rows of rankPool() (for kRandom, with
///   `options.seed`), in that order;
/// - kDiversity: the ceil(beta x batch) rows of highest margin uncertainty (all rows when the
///   pool has no more) are clustered by k-means (k = batch; k-means++ seeding drawn from
///   `options.seed`; Lloyd iterations with every row weighted by its margin uncertainty, or
///   all alike when every weight is 0; squared Euclidean distances); from each cluster the row
///   nearest its centre is chosen (ties: the lower row). Clusters left empty are made up with
///   the most uncertain candidates not chosen yet. The batch is returned in descending
///   uncertainty. When the pool has at most `batch` rows this is rankPool(kMargin).
///
/// kInvalidArgument when options.batch is 0, options.beta < 1 (or not finite), or an array
/// the strategy reads does not match the pool's sizes (kDiversity also needs dims > 0).
Expected<std::vector<std::size_t>> selectBatch(SelectionStrategy strategy,
                                               const SelectionPool& pool,
                                               const SelectionOptions& options);

}  // namespace aimass::core::annotation
