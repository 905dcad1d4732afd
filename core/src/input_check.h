// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "aimass/core/serving.h"
#include "aimass/model.h"
#include "aimass/tensor.h"
#include "data_profile.h"

namespace aimass::core {

std::optional<InputPolicy> parseInputPolicy(std::string_view text);
std::string_view inputPolicyName(InputPolicy policy);

/// What was wrong with a request.
enum class InputProblemKind {
  kInfinite,        ///< +-Inf in a number feature
  kMissing,         ///< NaN (or an empty text) where the training rows had no gap
  kOutOfRange,      ///< beyond [min - margin x range, max + margin x range]
  kUnseenCategory,  ///< a text never seen in training (complete category sets only)
  kWrongType,       ///< the input's datatype is not the feature's (FP32 numbers, BYTES texts)
  kWrongWidth,      ///< "input" does not hold one value per number feature a row
};
inline constexpr std::size_t kInputProblemKinds = 6;
/// "infinite", "missing", "out_of_range", "unseen_category", "wrong_type", "wrong_width".
std::string_view inputProblemName(InputProblemKind kind);

struct InputProblem {
  InputProblemKind kind;
  std::int64_t row = 0;  ///< 0-based row of the request
  std::string feature;
  std::string detail;  ///< the value and the bound it broke
  /// "row 3, feature 'pressure_kpa': out_of_range: 9000 is outside [250, 600] ..."
  std::string message() const;
};

/// Requests flagged per problem kind, for /metrics: each request counts once, under the first
/// problem found. Shared by the versions a settings change remakes. Thread-safe (atomics).
struct InputValidationCounts {
  std::array<std::atomic<std::uint64_t>, kInputProblemKinds> warned{};
  std::array<std::atomic<std::uint64_t>, kInputProblemKinds> rejected{};
};

/// Checks requests' rows against a training-data profile, in one pass over their values.
/// Immutable once made; check() is safe from many threads.
class InputCheck {
 public:
  /// The check of `profile` for a model taking `schema`; null when the profile does not
  /// describe the model's inputs (the model takes no FP32 "input" block as wide as the number
  /// features, or no BYTES input named after a category feature): `why` then says what differs.
  static std::unique_ptr<InputCheck> make(std::shared_ptr<const DataProfile> profile,
                                          const ModelSchema& schema,
                                          const InputValidation& settings, std::string& why);

  /// The first problem of `inputs` in row order within each input; nullopt when none.
  std::optional<InputProblem> check(const TensorMap& inputs) const;
  InputPolicy policy() const noexcept { return settings_.policy; }

 private:
  struct NumberBounds {
    double low = 0, high = 0;
    bool ranged = false;     // false when training saw no value
    bool gaps_seen = false;  // training had NaN here
  };
  std::optional<InputProblem> checkNumbers(const Tensor& input) const;
  /// One row's first problem, value by value.
  std::optional<InputProblem> checkRow(const float* values, std::int64_t row) const;
  std::optional<InputProblem> checkCategory(const FeatureProfile& feature,
                                            const Tensor& input) const;

  std::shared_ptr<const DataProfile> profile_;
  InputValidation settings_;
  std::vector<NumberBounds> bounds_;
  /// The bounds as floats a value inside passes exactly when it passes the double bounds
  /// (rounded inwards; finite for a feature without a range, so that infinities still stop),
  /// for a first pass over each row that the compiler vectorises; a row that fails it is
  /// looked at value by value.
  std::vector<float> low_, high_;
};

}  // namespace aimass::core
