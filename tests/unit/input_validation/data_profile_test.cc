// SPDX-License-Identifier: Apache-2.0
// The training-data profile: exact counts, min and max; quantiles exact while the sample holds
// every value and within the reservoir's documented rank error beyond; bounded category sets;
// the stored record round trip; refusals of data it cannot profile.
#include "data_profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "aimass/core/model_artifact.h"
#include "map_storage.h"

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

DatasetSchema schemaOf(std::vector<std::string> numbers, std::vector<std::string> texts = {}) {
  DatasetSchema schema;
  schema.row_shape = {static_cast<std::int64_t>(numbers.size())};
  schema.feature_names = std::move(numbers);
  schema.string_feature_names = std::move(texts);
  return schema;
}

Batch batchOf(const std::vector<float>& values, std::int64_t width,
              std::vector<std::string> texts = {}, std::int64_t text_width = 0) {
  Batch batch;
  const auto rows = static_cast<std::int64_t>(values.size()) / width;
  batch.features = Tensor::fromVector(values, {rows, width});
  if (text_width > 0) {
    batch.strings = Tensor::fromStrings(std::move(texts)).reshaped({rows, text_width});
  }
  return batch;
}

TEST(DataProfileTest, CountsMinMaxMissingAndQuantilesExactlyOnSmallData) {
  auto builder = DataProfileBuilder::forSchema(schemaOf({"a", "b"}, {"color"}));
  ASSERT_TRUE(builder.ok()) << builder.status().toString();
  // a: 0..100 in two batches; b: 10 * a with every fourth value missing; color: 3 values + gaps.
  for (int part = 0; part < 2; ++part) {
    std::vector<float> values;
    std::vector<std::string> colors;
    for (int i = part * 51; i < std::min(101, (part + 1) * 51); ++i) {
      values.push_back(static_cast<float>(i));
      values.push_back(i % 4 == 0 ? NAN : static_cast<float>(10 * i));
      colors.push_back(i % 10 == 0 ? "" : std::vector<std::string>{"red", "green", "blue"}[i % 3]);
    }
    ASSERT_TRUE(builder->add(batchOf(values, 2, colors, 1)).ok());
  }
  const DataProfile profile = builder->finish();
  EXPECT_EQ(profile.rows, 101u);
  ASSERT_EQ(profile.features.size(), 3u);
  EXPECT_EQ(profile.numberFeatures(), 2u);
  const FeatureProfile& a = profile.features[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.present, 101u);
  EXPECT_EQ(a.missing, 0u);
  EXPECT_EQ(a.min, 0);
  EXPECT_EQ(a.max, 100);
  // Linear interpolation between order statistics of 0..100: the p-quantile is 100 p, so
  // percentile i is i; the quantiles shown are taken from the percentiles.
  for (std::size_t q = 0; q < kProfileQuantiles.size(); ++q) {
    EXPECT_NEAR(a.quantiles[q], 100 * kProfileQuantiles[q], 1e-9) << kProfileQuantiles[q];
  }
  ASSERT_EQ(a.percentiles.size(), kProfilePercentiles);
  for (std::size_t i = 0; i < kProfilePercentiles; ++i) {
    EXPECT_NEAR(a.percentiles[i], static_cast<double>(i), 1e-9) << "percentile " << i;
  }
  EXPECT_EQ(a.sample_size, 101u);
  // Mean 50; variance (with n - 1) of 0..100 is 101 * 102 / 12 = 858.5.
  EXPECT_NEAR(a.mean, 50, 1e-12);
  EXPECT_NEAR(a.stddev, std::sqrt(858.5), 1e-12);
  const FeatureProfile& b = profile.features[1];
  EXPECT_EQ(b.missing, 26u);  // 0, 4, ..., 100
  EXPECT_EQ(b.present, 75u);
  EXPECT_NEAR(b.missingRate(), 26.0 / 101.0, 1e-12);
  EXPECT_EQ(b.min, 10);
  EXPECT_EQ(b.max, 990);
  const FeatureProfile& color = profile.features[2];
  EXPECT_EQ(color.kind, FeatureProfile::Kind::kCategory);
  EXPECT_EQ(color.missing, 11u);
  EXPECT_THAT(color.categories, ElementsAre("blue", "green", "red"));
  // i % 3 == 2, 1, 0 over 0..100 without the multiples of 10.
  std::vector<std::uint64_t> counts(3, 0);
  for (int i = 0; i <= 100; ++i) {
    if (i % 10 != 0) ++counts[std::vector<std::size_t>{2, 1, 0}[i % 3]];
  }
  EXPECT_EQ(color.category_counts, counts);
  EXPECT_TRUE(color.complete);
  EXPECT_TRUE(profile.outlier.has_value());  // 101 sampled rows: at least kOutlierMinRows
}

TEST(DataProfileTest, QuantilesOfManyRowsAreWithinTheSampleRankError) {
  auto builder = DataProfileBuilder::forSchema(schemaOf({"u"}));
  ASSERT_TRUE(builder.ok());
  // 200000 uniform values on [0, 1): the true p-quantile is p. The reservoir keeps 2048; the
  // documented rank error is about sqrt(p(1-p)/2048) <= 0.011, and we allow 4.5 times it.
  std::mt19937 gen(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (int part = 0; part < 50; ++part) {
    std::vector<float> values(4000);
    for (auto& v : values) v = unit(gen);
    ASSERT_TRUE(builder->add(batchOf(values, 1)).ok());
  }
  const DataProfile profile = builder->finish();
  EXPECT_EQ(profile.rows, 200000u);
  for (std::size_t q = 0; q < kProfileQuantiles.size(); ++q) {
    const double p = kProfileQuantiles[q];
    EXPECT_NEAR(profile.features[0].quantiles[q], p, 4.5 * std::sqrt(p * (1 - p) / 2048))
        << "quantile " << p;
  }
  EXPECT_LT(profile.features[0].min, 0.001);
  EXPECT_GT(profile.features[0].max, 0.999);
}

TEST(DataProfileTest, CategorySetsStopAtTheirBoundAndSayTheyAreIncomplete) {
  auto builder = DataProfileBuilder::forSchema(schemaOf({}, {"id"}));
  ASSERT_TRUE(builder.ok());
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < kMaxProfileCategories + 5; ++i)
    ids.push_back("id" + std::to_string(i));
  Batch batch;
  batch.features = Tensor(DType::kFloat32, {static_cast<std::int64_t>(ids.size()), 0});
  batch.strings = Tensor::fromStrings(ids).reshaped({static_cast<std::int64_t>(ids.size()), 1});
  ASSERT_TRUE(builder->add(batch).ok());
  const FeatureProfile f = builder->finish().features[0];
  EXPECT_EQ(f.categories.size(), kMaxProfileCategories);
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(f.present, kMaxProfileCategories + 5);
}

TEST(DataProfileTest, RecordRoundTripsAndNamesWhatIsMalformed) {
  auto builder = DataProfileBuilder::forSchema(schemaOf({"pressure kpa", "t"}, {"vendor"}));
  ASSERT_TRUE(builder.ok());
  ASSERT_TRUE(
      builder->add(batchOf({1.5f, NAN, 2.25f, 7.0f, -3.0f, 8.0f}, 2, {"a b", "", "c"}, 1)).ok());
  const DataProfile profile = builder->finish();
  const std::string text = encodeDataProfile(profile);
  auto decoded = decodeDataProfile(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(encodeDataProfile(*decoded), text);
  EXPECT_EQ(decoded->features[0].name, "pressure kpa");
  EXPECT_EQ(decoded->features[0].min, -3.0);
  EXPECT_EQ(decoded->features[1].missing, 1u);
  EXPECT_THAT(decoded->features[2].categories, ElementsAre("a b", "c"));

  auto broken =
      decodeDataProfile("aimass-data-profile 1\nrows 3\nnumber x 1 0 oops 2 0 0 0 0 0 0 0\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(broken.status().message(), HasSubstr("'oops' of feature 'x'"));
  EXPECT_FALSE(decodeDataProfile("aimass-model-version 1\n").ok());

  // Saved beside an artifact and read back by its key.
  aimass::testing::MapStorage storage;
  const std::string key = dataProfileKey("models/m/artifacts/1.aimass");
  EXPECT_EQ(key, "models/m/artifacts/1.aimass.profile");
  ASSERT_TRUE(writeBlob(storage, key, text).ok());
  auto read = readDataProfile(storage, key);
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ((*read)->rows, 3u);
  auto absent = readDataProfile(storage, "models/m/artifacts/2.aimass.profile");
  ASSERT_FALSE(absent.ok());
  EXPECT_THAT(absent.status().message(), HasSubstr("2.aimass.profile"));
}

TEST(DataProfileTest, Format1RecordsStillDecodeWithoutDriftData) {
  auto v1 = decodeDataProfile(
      "aimass-data-profile 1\nrows 3\nnumber x 3 0 1 2 1 1 1 1.5 2 2 2\n"
      "category vendor 3 0 complete b a\n");
  ASSERT_TRUE(v1.ok()) << v1.status().toString();
  EXPECT_EQ(v1->format, 1);
  const FeatureProfile& x = v1->features[0];
  EXPECT_EQ(x.quantiles[3], 1.5);
  EXPECT_TRUE(x.percentiles.empty());
  EXPECT_EQ(x.sample_size, 0u);
  EXPECT_THAT(v1->features[1].categories, ElementsAre("a", "b"));
  EXPECT_TRUE(v1->features[1].category_counts.empty());
  EXPECT_FALSE(v1->outlier.has_value());
  // Written again, it is format 2 (with what format 1 did not keep left empty).
  EXPECT_THAT(encodeDataProfile(*v1), ::testing::StartsWith("aimass-data-profile 2\n"));
}

TEST(DataProfileTest, Format2RecordKeepsPercentilesCountsAndTheOutlierScorer) {
  auto builder = DataProfileBuilder::forSchema(schemaOf({"u", "v"}, {"c"}));
  ASSERT_TRUE(builder.ok());
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<float> values;
  std::vector<std::string> texts;
  for (int i = 0; i < 500; ++i) {
    const float u = unit(gen);
    values.push_back(u);
    values.push_back(u + 0.1f * unit(gen));
    texts.push_back(i % 5 == 0 ? "rare" : "common");
  }
  ASSERT_TRUE(builder->add(batchOf(values, 2, texts, 1)).ok());
  const DataProfile profile = builder->finish();
  ASSERT_TRUE(profile.outlier.has_value());
  const std::string text = encodeDataProfile(profile);
  auto decoded = decodeDataProfile(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(encodeDataProfile(*decoded), text);
  EXPECT_EQ(decoded->format, 2);
  EXPECT_EQ(decoded->features[0].mean, profile.features[0].mean);  // exact double text
  EXPECT_EQ(decoded->features[0].stddev, profile.features[0].stddev);
  EXPECT_EQ(decoded->features[0].sample_size, 500u);
  EXPECT_EQ(decoded->features[0].percentiles.size(), kProfilePercentiles);
  EXPECT_EQ(decoded->features[0].quantiles[3], decoded->features[0].percentiles[50]);
  EXPECT_THAT(decoded->features[2].category_counts, ElementsAre(400, 100));
  EXPECT_EQ(decoded->outlier->kind, OutlierModel::Kind::kFull);
  EXPECT_EQ(decoded->outlier->covariance.size(), 3u);
  EXPECT_EQ(decoded->outlier->threshold, profile.outlier->threshold);

  // Malformed: percentiles out of order, counts beyond the present rows, a covariance short.
  std::string unordered = text;
  const auto at = unordered.find("\nnumber u ");
  const auto line_end = unordered.find('\n', at + 1);
  unordered.replace(line_end, 0, " -5");  // a 102nd percentile: the wrong field count
  EXPECT_THAT(decodeDataProfile(unordered).status().message(), HasSubstr("unexpected line"));
  std::string reversed = "aimass-data-profile 2\nrows 2\nnumber x 2 0 0 1 0.5 0.7 2";
  for (int i = 0; i < 101; ++i) reversed += " " + std::to_string(100 - i);
  EXPECT_THAT(decodeDataProfile(reversed + "\n").status().message(),
              HasSubstr("percentiles of feature 'x' are not in increasing order"));
  EXPECT_THAT(decodeDataProfile("aimass-data-profile 2\nrows 2\ncategory c 2 0 complete a 2 b 1\n")
                  .status()
                  .message(),
              HasSubstr("add up to more than its 2 present rows"));
  std::string short_covariance = text.substr(0, text.rfind("\ncovariance")) + "\n";
  EXPECT_THAT(decodeDataProfile(short_covariance).status().message(),
              HasSubstr("1 covariance lines for a full outlier scorer of 2 number features"));
}

TEST(DataProfileTest, RefusesDataItCannotProfile) {
  DatasetSchema ids = schemaOf({"user", "item"});
  ids.feature_dtype = DType::kInt64;
  auto refused = DataProfileBuilder::forSchema(ids);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("INT64"));
  DatasetSchema sequences;
  sequences.row_shape = {-1};
  EXPECT_THAT(DataProfileBuilder::forSchema(sequences).status().message(),
              HasSubstr("variable length"));
  auto builder = DataProfileBuilder::forSchema(schemaOf({"a", "b"}));
  ASSERT_TRUE(builder.ok());
  EXPECT_THAT(builder->add(batchOf({1, 2, 3}, 3)).message(), HasSubstr("not 2 FP32 values a row"));
}

}  // namespace
}  // namespace aimass::core
