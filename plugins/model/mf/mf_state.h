// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aimass/status.h"

namespace aimass::plugins::model {

enum class MfFeedback : std::uint8_t { kExplicit, kImplicit };
enum class MfSolver : std::uint8_t { kAdam, kSgd, kAls, kBpr };

/// One interaction of a user: the item and its value (the rating; 1 per implicit interaction).
struct MfInteraction {
  std::int32_t item = 0;
  float value = 0;
};

/// Hash that lets the id maps look up string_views without building a string.
struct MfTextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
using MfIdMap = std::unordered_map<std::string, std::int32_t, MfTextHash, std::equal_to<>>;

/// a . b over n floats, in 8 independent partial sums so the compiler can vectorise it without
/// reassociating (the same order, so the same result, everywhere it is used).
inline float dotProduct(const float* a, const float* b, std::size_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::size_t d = 0;
  for (; d + 8 <= n; d += 8) {
    for (std::size_t j = 0; j < 8; ++j) {
      partial[j] += a[d + j] * b[d + j];
    }
  }
  float total = ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
                ((partial[4] + partial[5]) + (partial[6] + partial[7]));
  for (; d < n; ++d) {
    total += a[d] * b[d];
  }
  return total;
}

/// A small splitmix64 generator: the same numbers on every platform.
class MfRng {
 public:
  explicit MfRng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0).
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) / 9007199254740992.0; }
  /// Standard normal (Box-Muller).
  double normal();

 private:
  std::uint64_t state_;
};

/// Everything a trained model.mf knows. The primary fields are saved; the derived ones are
/// rebuilt from them by derive(). Layout: both factor tables hold rank + 1 floats per row, the
/// factors then the bias, so a user's top-k is one pass of dot products of [p_u, 1] with the
/// contiguous item table (p_u.q_i + b_i) and a score is mu + b_u + that.
struct MfState {
  // Primary (saved).
  MfFeedback feedback = MfFeedback::kExplicit;
  MfSolver solver = MfSolver::kAdam;
  std::int32_t rank = 0;
  double l2_factors = 0, l2_biases = 0, alpha = 0;
  float mu = 0;  ///< explicit: the training mean; implicit: 0
  std::vector<std::string> user_ids, item_ids;
  std::vector<float> user_table;  ///< users x (rank + 1)
  std::vector<float> item_table;  ///< items x (rank + 1)
  /// Per user, the training interactions then the learned ones, in order.
  std::vector<std::vector<MfInteraction>> history;

  // Derived (derive()).
  MfIdMap user_index, item_index;
  std::vector<std::vector<std::int32_t>> seen;  ///< per user: sorted distinct items
  std::vector<std::int64_t> item_users;         ///< per item: distinct users who interacted
  std::vector<float> popularity;                ///< per item: distinct users who interacted / users
  std::vector<std::int32_t> popular;            ///< items by popularity, most first (ties: index)
  std::vector<double> gram;  ///< implicit: Q^T Q over the item factors, rank x rank

  std::size_t users() const { return user_ids.size(); }
  std::size_t items() const { return item_ids.size(); }
  std::size_t stride() const { return static_cast<std::size_t>(rank) + 1; }
  const float* user(std::size_t u) const { return user_table.data() + u * stride(); }
  const float* item(std::size_t i) const { return item_table.data() + i * stride(); }

  /// Rebuilds every derived field. kInvalidArgument for duplicate or empty ids.
  Status derive();
  /// Recomputes popularity and the popular order from item_users.
  void refreshPopularity();
  /// mu + b_u + b_i + p_u.q_i of a known pair.
  float score(std::size_t u, std::size_t i) const;
  /// The score of a pair where the user, the item or both are unknown (-1): explicit falls back
  /// to mu plus the known side's bias; implicit to the item's popularity (0 for unknown items).
  float fallbackScore(std::int64_t u, std::int64_t i) const;
  /// Re-solves user u's factors and bias against the fixed item table over history[u]:
  /// explicit: ridge regression of r - mu - b_i on [q_i, 1] with weights l2_factors * n and
  /// l2_biases * n (n = the user's interactions); implicit: the HKV user step with confidence
  /// 1 + alpha * r (repeated items add up) and weight l2_factors.
  void foldIn(std::size_t u);

  /// Appends the primary fields to `out`.
  void save(std::string& out) const;
  /// Reads what save() wrote, checking every size, index and value; nothing of `*this` is
  /// trusted or kept on failure (the caller loads into a fresh state).
  Status load(std::string_view payload);
};

/// Solves the symmetric positive definite system A x = b (n x n, row-major) in place by
/// Cholesky; b becomes x. False when A is not positive definite.
bool solveSpd(std::vector<double>& a, std::vector<double>& b, std::size_t n);

/// Ridge step of one row of biased MF: fits target(e) = value - mu - other_bias on
/// [other_factors, 1] over `entries` (other index, value) with diagonal weights `l2_factors`
/// and `l2_biases`, writing rank factors and the bias to `out` (rank + 1 floats).
void solveBiasedRow(std::span<const MfInteraction> entries, const float* other_table,
                    std::size_t rank, float mu, double l2_factors, double l2_biases, float* out);

/// HKV step of one row: out = (G + sum (c - 1) y y^T + l2 I)^-1 sum c y with c = 1 + alpha r
/// over `entries` (other index, summed strength r); the bias (out[rank]) is 0.
void solveImplicitRow(std::span<const MfInteraction> entries, const float* other_table,
                      std::size_t rank, const std::vector<double>& gram, double alpha, double l2,
                      float* out);

/// Q^T Q over the first `rank` columns of a (rank + 1)-stride table of `rows` rows.
std::vector<double> gramOf(const std::vector<float>& table, std::size_t rows, std::size_t rank);

}  // namespace aimass::plugins::model
