// SPDX-License-Identifier: Apache-2.0
#pragma once

// model.baseline — the narrated example model.
//
// A real, useful model: the baseline every other model must beat. For class labels it predicts
// the most frequent class with the training class frequencies as probabilities; for value
// labels it predicts the per-target mean. Read minimal.h, minimal.cc, then plugin.cc; the
// comments number the steps.
//
// Step 1: a model implements aimass::Model (schema, predict, save/load) and one way to train:
// GradientTraining (an optimizer drives it) or SelfTraining (it fits itself). A baseline is
// computed in one pass over the data, so it is a SelfTraining model.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::model {

/// The majority-class / mean baseline.
///
/// I/O conventions (shared with every classifier and regressor, the HTTP frontend relies on
/// them): input "input" FP32 [-1, F]. Classification outputs "probabilities" FP32 [-1, C],
/// "label" INT64 [-1] and "class" BYTES [-1]; regression outputs "prediction" FP32 [-1, T].
/// The features are checked but do not change the answer.
///
/// Threading: predict() is const and reads only immutable state, so it is safe from many
/// threads once ready. fit() and load() need exclusive access.
///
/// Payload (formatVersion 1), little-endian: u8 kind (1 classes, 2 values), u64 F, then for
/// classes u64 C and C x (u32 length, name bytes, f64 probability), for values u64 T and T x
/// f64 mean.
class BaselineModel final : public Model, public SelfTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 1;

  ModelSchema schema() const override;
  bool ready() const override { return state_.has_value(); }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  SelfTraining* selfTraining() override { return this; }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// Counts classes or averages targets over every row of `data`. kInvalidArgument for
  /// unlabelled data or rows that are not FP32 [F]; the model is unchanged on failure.
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override;

 private:
  // Step 2: everything predict() needs lives in one value that fit() and load() build
  // completely before swapping it in, so a failure half-way never leaves a half-made model.
  struct State {
    Task task = Task::kClassification;
    std::int64_t features = 0;
    std::vector<std::string> class_names;  // classification
    std::vector<double> probabilities;     // classification: one per class
    std::vector<double> means;             // regression: one per target
  };

  std::optional<State> state_;
};

}  // namespace aimass::plugins::model
