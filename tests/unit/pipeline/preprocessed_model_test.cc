// SPDX-License-Identifier: Apache-2.0
// PreprocessedModel on hand-made parts: a transform that centres numbers and codes text, and a
// model that sums its input row. Checks the raw inputs it serves, that fitting sees only the
// rows it is given, the saved artifact (round trip, and a failed load leaving it unchanged) and
// the errors of bad requests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aimass/byte_io.h"
#include "pipeline/preprocessed_model.h"

namespace {

using aimass::Batch;
using aimass::DatasetSchema;
using aimass::DType;
using aimass::Expected;
using aimass::Model;
using aimass::ModelSchema;
using aimass::Node;
using aimass::PredictOptions;
using aimass::Status;
using aimass::Table;
using aimass::TableColumns;
using aimass::Tensor;
using aimass::TensorMap;
using aimass::core::NodeMaker;
using aimass::core::PreprocessedModel;
using aimass::core::PreprocessStep;

/// Subtracts each numeric column's mean over the fitted rows (a NaN result becomes 0) and replaces each
/// text column by a numeric column "<col>=code": the value's rank among the fitted values, -1
/// for an unseen one.
class CentreAndCode final : public aimass::Transform {
 public:
  Expected<TableColumns> fit(const Table& rows) override {
    in_ = rows.columns;
    means_.assign(in_.numeric.size(), 0.0);
    const auto n = rows.rows();
    for (std::size_t c = 0; c < in_.numeric.size(); ++c) {
      for (std::size_t r = 0; r < n; ++r) {
        means_[c] += rows.numeric.data<float>()[r * in_.numeric.size() + c] / double(n);
      }
    }
    codes_.assign(in_.strings.size(), {});
    for (std::size_t c = 0; c < in_.strings.size(); ++c) {
      for (std::size_t r = 0; r < n; ++r) {
        codes_[c].emplace(rows.strings.strings()[r * in_.strings.size() + c], 0);
      }
      int code = 0;
      for (auto& [value, k] : codes_[c]) {
        k = code++;
      }
    }
    fitted_ = true;
    return outputColumns();
  }
  bool fitted() const override { return fitted_; }
  TableColumns inputColumns() const override { return in_; }
  TableColumns outputColumns() const override {
    TableColumns out;
    out.numeric = in_.numeric;
    for (const auto& name : in_.strings) {
      out.numeric.push_back(name + "=code");
    }
    return out;
  }
  Status apply(const Table& in, Table& out) const override {
    const auto n = static_cast<std::int64_t>(in.rows());
    const auto width = static_cast<std::int64_t>(in_.numeric.size() + in_.strings.size());
    out.columns = outputColumns();
    out.numeric = Tensor(DType::kFloat32, {n, width});
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::size_t c = 0; c < in_.numeric.size(); ++c) {
        const float v = in.numeric.data<float>()[r * std::int64_t(in_.numeric.size()) + c];
        const double centred = v - means_[c];
        out.numeric.data<float>()[r * width + c] =
            std::isnan(centred) ? 0.0f : static_cast<float>(centred);
      }
      for (std::size_t c = 0; c < in_.strings.size(); ++c) {
        const auto& value = in.strings.strings()[r * in_.strings.size() + c];
        auto it = codes_[c].find(value);
        out.numeric.data<float>()[r * width + std::int64_t(in_.numeric.size() + c)] =
            it == codes_[c].end() ? -1.0f : static_cast<float>(it->second);
      }
    }
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    aimass::ByteWriter out(payload);
    out.u32(static_cast<std::uint32_t>(in_.numeric.size()));
    for (std::size_t c = 0; c < in_.numeric.size(); ++c) {
      out.u32(static_cast<std::uint32_t>(in_.numeric[c].size()));
      out.bytes(in_.numeric[c]);
      out.f64(means_[c]);
    }
    out.u32(static_cast<std::uint32_t>(in_.strings.size()));
    for (std::size_t c = 0; c < in_.strings.size(); ++c) {
      out.u32(static_cast<std::uint32_t>(in_.strings[c].size()));
      out.bytes(in_.strings[c]);
      out.u32(static_cast<std::uint32_t>(codes_[c].size()));
      for (const auto& [value, code] : codes_[c]) {
        out.u32(static_cast<std::uint32_t>(value.size()));
        out.bytes(value);
      }
    }
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    aimass::ByteReader in(payload);
    CentreAndCode next;
    const std::uint32_t numeric = in.u32();
    for (std::uint32_t c = 0; in.ok() && c < numeric; ++c) {
      next.in_.numeric.push_back(in.bytes(in.u32()));
      next.means_.push_back(in.f64());
    }
    const std::uint32_t text = in.u32();
    for (std::uint32_t c = 0; in.ok() && c < text; ++c) {
      next.in_.strings.push_back(in.bytes(in.u32()));
      next.codes_.emplace_back();
      const std::uint32_t values = in.u32();
      for (std::uint32_t k = 0; in.ok() && k < values; ++k) {
        next.codes_.back().emplace(in.bytes(in.u32()), int(k));
      }
    }
    if (!in.ok() || !in.atEnd()) {
      return aimass::dataLoss("bad centre-and-code payload");
    }
    next.fitted_ = true;
    *this = std::move(next);
    return Status();
  }

 private:
  TableColumns in_;
  std::vector<double> means_;
  std::vector<std::map<std::string, int>> codes_;
  bool fitted_ = false;
};

/// "prediction" = the sum of each input row; remembers the width it was prepared for.
class RowSum final : public Model, public aimass::SelfTraining {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = aimass::Task::kRegression;
    s.inputs = {{"input", DType::kFloat32, {-1, width_}}};
    s.outputs = {{"prediction", DType::kFloat32, {-1, 1}}};
    return s;
  }
  bool ready() const override { return width_ > 0; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    auto input = aimass::featureInput("row sum", inputs, width_);
    if (!input.ok()) {
      return input.status();
    }
    const Tensor& x = **input;
    Tensor y(DType::kFloat32, {x.dim(0), 1});
    for (std::int64_t r = 0; r < x.dim(0); ++r) {
      float sum = 0;
      for (std::int64_t c = 0; c < width_; ++c) {
        sum += x.data<float>()[r * width_ + c];
      }
      y.data<float>()[r] = sum;
    }
    outputs.set("prediction", std::move(y));
    return Status();
  }
  aimass::SelfTraining* selfTraining() override { return this; }
  Status fit(const aimass::Dataset& data, std::uint64_t, aimass::FitObserver&) override {
    width_ = data.schema().row_shape.at(0);
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    aimass::ByteWriter(payload).i64(width_);
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    aimass::ByteReader in(payload);
    const std::int64_t width = in.i64();
    if (!in.ok()) {
      return aimass::dataLoss("bad row-sum payload");
    }
    width_ = width;
    return Status();
  }

 private:
  std::int64_t width_ = 0;
};

/// Two numeric columns and one text column; the last row is never fitted on.
class Rows final : public aimass::Dataset {
 public:
  Rows() {
    schema_.feature_names = {"a", "b"};
    schema_.row_shape = {2};
    schema_.string_feature_names = {"colour"};
    schema_.label_kind = aimass::LabelKind::kValue;
    schema_.num_targets = 1;
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return kA.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features = Tensor(DType::kFloat32, {n, 2});
    out.labels = Tensor::zeros(DType::kFloat32, {n, 1});
    std::vector<std::string> text;
    for (std::int64_t i = 0; i < n; ++i) {
      out.features.data<float>()[2 * i] = kA[rows[i]];
      out.features.data<float>()[2 * i + 1] = kB[rows[i]];
      text.push_back(kColour[rows[i]]);
    }
    out.strings = Tensor::fromStrings(std::move(text)).reshaped({n, 1});
    return Status();
  }

  static inline const std::vector<float> kA = {1, 3, NAN, 100};
  static inline const std::vector<float> kB = {10, 20, 30, 1000};
  static inline const std::vector<std::string> kColour = {"red", "blue", "red", "green"};

 private:
  DatasetSchema schema_;
};

NodeMaker maker() {
  return [](const std::string& type) -> Expected<std::shared_ptr<Node>> {
    if (type == "transform.centre") {
      return std::shared_ptr<Node>(std::make_shared<CentreAndCode>());
    }
    if (type == "model.rowsum") {
      return std::shared_ptr<Node>(std::make_shared<RowSum>());
    }
    return aimass::notFound("no type " + type);
  };
}

class Counter final : public aimass::FitObserver {
 public:
  bool onIteration(std::uint64_t, double) override { return false; }
};

std::unique_ptr<PreprocessedModel> fitted() {
  auto model = std::make_unique<PreprocessedModel>(
      maker(), std::make_shared<RowSum>(), "model.rowsum",
      std::vector<PreprocessStep>{{"transform.centre", std::make_shared<CentreAndCode>()}});
  Rows rows;
  const std::vector<std::uint64_t> train = {0, 1, 2};
  Status status = model->fitPreprocessing(rows, train);
  EXPECT_TRUE(status.ok()) << status.toString();
  Counter observer;
  EXPECT_TRUE(model->selfTraining()->fit(rows, 1, observer).ok());
  return model;
}

TensorMap request(std::vector<float> numbers, std::vector<std::string> colours) {
  TensorMap inputs;
  const auto n = static_cast<std::int64_t>(colours.size());
  inputs.set("input", Tensor::fromVector(numbers, {n, 2}));
  inputs.set("colour", Tensor::fromStrings(std::move(colours)));
  return inputs;
}

float predictOne(const Model& model, std::vector<float> numbers, std::string colour) {
  TensorMap outputs;
  Status status = model.predict(request(std::move(numbers), {std::move(colour)}), outputs, {});
  EXPECT_TRUE(status.ok()) << status.toString();
  const Tensor* y = outputs.find("prediction");
  return y == nullptr ? NAN : y->data<float>()[0];
}

TEST(PreprocessedModel, ServesTheRawColumnsAndFitsOnTheGivenRowsOnly) {
  auto model = fitted();
  ASSERT_TRUE(model->ready());
  const ModelSchema schema = model->schema();
  ASSERT_EQ(schema.inputs.size(), 2u);
  EXPECT_EQ(schema.inputs[0].name, "input");
  EXPECT_EQ(schema.inputs[0].columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(schema.inputs[1].name, "colour");
  EXPECT_EQ(schema.inputs[1].dtype, DType::kBytes);
  EXPECT_EQ(schema.task, aimass::Task::kRegression);
  // Means over rows 0..2 only: a = (1 + 3 + NaN) / 3 is NaN, so the centred a is NaN -> 0
  // (as this transform fills); b = 20. Codes: blue 0, red 1; green was never fitted: -1.
  EXPECT_FLOAT_EQ(predictOne(*model, {5, 25}, "red"), 0 + 5 + 1);
  EXPECT_FLOAT_EQ(predictOne(*model, {5, 25}, "green"), 0 + 5 - 1);
}

TEST(PreprocessedModel, SavedAndLoadedItAnswersTheSameAndABadPayloadChangesNothing) {
  auto model = fitted();
  std::string payload;
  ASSERT_TRUE(model->save(payload).ok());
  PreprocessedModel loaded(maker());
  EXPECT_FALSE(loaded.ready());
  ASSERT_TRUE(loaded.load(payload, model->formatVersion()).ok());
  EXPECT_EQ(loaded.modelType(), "model.rowsum");
  EXPECT_FLOAT_EQ(predictOne(loaded, {7, 21}, "blue"), predictOne(*model, {7, 21}, "blue"));

  for (std::size_t cut : {std::size_t{0}, payload.size() / 2, payload.size() - 1}) {
    Status status = loaded.load(payload.substr(0, cut), 1);
    EXPECT_FALSE(status.ok()) << "cut at " << cut;
  }
  EXPECT_FALSE(loaded.load(payload, 2).ok()) << "an unknown format version";
  EXPECT_FLOAT_EQ(predictOne(loaded, {7, 21}, "blue"), predictOne(*model, {7, 21}, "blue"))
      << "failed loads left the pipeline as it was";

  PreprocessedModel unknown([](const std::string& type) -> Expected<std::shared_ptr<Node>> {
    return aimass::notFound("no plugin offers the node type '" + type + "'");
  });
  Status status = unknown.load(payload, 1);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("transform.centre"));
}

TEST(PreprocessedModel, BadRequestsNameTheInput) {
  auto model = fitted();
  TensorMap outputs;
  TensorMap no_colour;
  no_colour.set("input", Tensor::fromVector(std::vector<float>{1, 2}, {1, 2}));
  EXPECT_THAT(model->predict(no_colour, outputs, {}).message(),
              ::testing::HasSubstr("missing input 'colour'"));
  TensorMap extra = request({1, 2}, {"red"});
  extra.set("size", Tensor::fromVector(std::vector<float>{1}, {1}));
  EXPECT_THAT(model->predict(extra, outputs, {}).message(),
              ::testing::HasSubstr("unknown input 'size'"));
  TensorMap narrow;
  narrow.set("input", Tensor::fromVector(std::vector<float>{1}, {1, 1}));
  narrow.set("colour", Tensor::fromStrings({"red"}));
  EXPECT_THAT(model->predict(narrow, outputs, {}).message(),
              ::testing::HasSubstr("input 'input' must be FP32 [-1, 2]"));
  TensorMap uneven = request({1, 2, 3, 4}, {"red", "blue"});
  uneven.set("colour", Tensor::fromStrings({"red"}));
  EXPECT_THAT(model->predict(uneven, outputs, {}).message(),
              ::testing::HasSubstr("input 'colour' has 1 rows but 'input' has 2"));
}

TEST(PreprocessedModel, AnEmptyOrUnfittedPipelineSaysWhatIsMissing) {
  PreprocessedModel empty(maker());
  TensorMap outputs;
  EXPECT_THAT(empty.predict(request({1, 2}, {"red"}), outputs, {}).message(),
              ::testing::HasSubstr("declare the model's own type with preprocess"));
  PreprocessedModel unfitted(
      maker(), std::make_shared<RowSum>(), "model.rowsum",
      std::vector<PreprocessStep>{{"transform.centre", std::make_shared<CentreAndCode>()}});
  EXPECT_THAT(unfitted.predict(request({1, 2}, {"red"}), outputs, {}).message(),
              ::testing::HasSubstr("not fitted yet"));
  Rows rows;
  EXPECT_THAT(unfitted.fitPreprocessing(rows, {}).message(),
              ::testing::HasSubstr("training rows to fit on, and there are none"));
}

}  // namespace
