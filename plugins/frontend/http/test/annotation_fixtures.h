// SPDX-License-Identifier: Apache-2.0
// What the annotation routes' tests label: a dataset of 4x4 images with a text column, and a
// classifier that is surer of low rows than of high ones.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/tensor_names.h"

namespace aimass::plugins::frontend {

inline constexpr std::uint64_t kShapeRows = 12;

/// 4x4 images (row r's pixels are r / 20) with a text column "note", and three classes.
class Shapes final : public Dataset {
 public:
  Shapes() {
    schema_.row_shape = {16};
    schema_.label_kind = LabelKind::kNone;
    schema_.class_names = {"cat", "dog", "fox"};
    schema_.string_feature_names = {"note"};
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return kShapeRows; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features = Tensor(DType::kFloat32, {n, 16});
    std::vector<std::string> notes;
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t r = rows[static_cast<std::size_t>(i)];
      if (r >= kShapeRows) return outOfRange("row " + std::to_string(r));
      for (int k = 0; k < 16; ++k) {
        out.features.data<float>()[i * 16 + k] = static_cast<float>(r) / 20.0f;
      }
      notes.push_back("Ada <b>met</b> Bö in row " + std::to_string(r));
    }
    out.strings = Tensor::fromStrings(std::move(notes));  // one text column
    return Status();
  }

 private:
  DatasetSchema schema_;
};

/// A classifier that is surest of row 0 and least sure of the last row: p(cat) = 1 - r/24,
/// the rest split between dog and fox (dog a little more).
class Guesser final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 16}}};
    s.outputs = {{tensor_names::kProbabilities, DType::kFloat32, {-1, 3}}};
    s.class_names = {"cat", "dog", "fox"};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    const std::int64_t n = x->dim(0);
    Tensor p(DType::kFloat32, {n, 3});
    for (std::int64_t i = 0; i < n; ++i) {
      const float r = x->data<float>()[i * 16] * 20.0f;
      const float cat = 1.0f - r / 24.0f;
      p.data<float>()[i * 3] = cat;
      p.data<float>()[i * 3 + 1] = (1.0f - cat) * 0.6f;
      p.data<float>()[i * 3 + 2] = (1.0f - cat) * 0.4f;
    }
    outputs.set(tensor_names::kProbabilities, std::move(p));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "guesser";
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

}  // namespace aimass::plugins::frontend
