// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "aimass/aimass.h"

namespace vendor {

/// A nearest-centroid classifier: fit() averages the rows of each class; predict() picks the
/// class whose centroid is closest, with probabilities from a softmax over negative squared
/// distances. Small, but a real model that satisfies the whole Model contract: a schema,
/// thread-safe predict, self-training, and versioned save/load.
class NearestCentroid final : public aimass::Model, public aimass::SelfTraining {
 public:
  /// `temperature` scales distances before the softmax (larger: softer probabilities).
  explicit NearestCentroid(double temperature) : temperature_(temperature) {}

  aimass::ModelSchema schema() const override;
  bool ready() const override { return !centroids_.empty(); }
  aimass::Status predict(const aimass::TensorMap& inputs, aimass::TensorMap& outputs,
                         const aimass::PredictOptions& options) const override;
  aimass::SelfTraining* selfTraining() override { return this; }
  aimass::Status fit(const aimass::Dataset& data, std::uint64_t seed,
                     aimass::FitObserver& observer) override;
  std::uint32_t formatVersion() const override { return 1; }
  aimass::Status save(std::string& payload) const override;
  aimass::Status load(std::string_view payload, std::uint32_t format_version) override;

 private:
  double temperature_;
  std::int64_t features_ = 0;
  std::vector<std::string> class_names_;
  std::vector<float> centroids_;  // classes x features, row-major
};

}  // namespace vendor
