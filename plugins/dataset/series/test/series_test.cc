// SPDX-License-Identifier: Apache-2.0
#include "series.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/registration.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

/// time t = 1..10, y = 10 t, temp = t + 0.5, z = -t.
std::string tenRows() {
  std::string text = "time,y,temp,z\n";
  for (int t = 1; t <= 10; ++t) {
    text += std::to_string(t) + "," + std::to_string(10 * t) + "," + std::to_string(t) + ".5," +
            std::to_string(-t) + "\n";
  }
  return text;
}

class SeriesDatasetTest : public ::testing::Test {
 protected:
  SeriesOptions options(const std::string& content, std::int64_t window, std::int64_t horizon) {
    SeriesOptions o;
    o.path = dir_ / "s.csv";
    std::ofstream(o.path, std::ios::binary) << content;
    o.target_columns = {"y"};
    o.window = window;
    o.horizon = horizon;
    return o;
  }
  static std::pair<std::vector<float>, std::vector<float>> rows(const Dataset& data,
                                                                std::vector<std::uint64_t> r) {
    Batch batch;
    Status s = data.read(r, batch);
    EXPECT_TRUE(s.ok()) << s.toString();
    auto x = batch.features.span<float>();
    auto y = batch.labels.span<float>();
    return {{x.begin(), x.end()}, {y.begin(), y.end()}};
  }
  std::string error(const SeriesOptions& o) {
    auto data = SeriesDataset::open(o);
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status().toString();
    return data.status().message();
  }
  aimass::testing::TempDir temp_{"aimass-series-test"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(SeriesDatasetTest, WindowsHoldTargetsThenCovariatesAndTheNextSteps) {
  SeriesOptions o = options(tenRows(), 3, 2);
  o.covariate_columns = {"temp"};
  auto data = SeriesDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const Dataset& d = **data;
  EXPECT_EQ(d.size(), 6u);  // first targets at rows 3..8
  EXPECT_EQ(d.schema().row_shape, (Shape{3, 2}));
  EXPECT_EQ(d.schema().label_kind, LabelKind::kValue);
  EXPECT_EQ(d.schema().num_targets, 2);
  EXPECT_THAT(d.schema().feature_names, ElementsAre("y", "temp"));
  auto [x, y] = rows(d, {0, 5});
  EXPECT_THAT(x, ElementsAre(10, 1.5, 20, 2.5, 30, 3.5, 60, 6.5, 70, 7.5, 80, 8.5));
  EXPECT_THAT(y, ElementsAre(40, 50, 90, 100));
  for (const auto& check : aimass::testing::checkDataset(d)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST_F(SeriesDatasetTest, SeveralTargetsAreStepMajorAndStrideSkipsWindows) {
  SeriesOptions o = options(tenRows(), 2, 2);
  o.target_columns = {"y", "z"};
  o.stride = 3;
  auto data = SeriesDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 3u);  // first targets at rows 2, 5, 8
  auto [x, y] = rows(**data, {1});
  EXPECT_THAT(x, ElementsAre(40, -4, 50, -5));
  EXPECT_THAT(y, ElementsAre(60, -6, 70, -7));
}

TEST_F(SeriesDatasetTest, PartsSplitByTimeAndTakeHistoryFromEarlierRows) {
  // 10 rows: train 0..5, validation 6..7, test 8..9.
  SeriesOptions o = options(tenRows(), 3, 1);
  o.validation_fraction = 0.2;
  o.test_fraction = 0.2;
  o.part = SeriesPart::kTrain;
  auto train = SeriesDataset::open(o);
  ASSERT_TRUE(train.ok()) << train.status().toString();
  EXPECT_EQ((*train)->size(), 3u);
  EXPECT_THAT(rows(**train, {0, 1, 2}).second, ElementsAre(40, 50, 60));
  o.part = SeriesPart::kValidation;
  auto validation = SeriesDataset::open(o);
  ASSERT_TRUE(validation.ok()) << validation.status().toString();
  EXPECT_EQ((*validation)->size(), 2u);
  auto [x, y] = rows(**validation, {0, 1});
  EXPECT_THAT(x, ElementsAre(40, 50, 60, 50, 60, 70));  // inputs from the train rows
  EXPECT_THAT(y, ElementsAre(70, 80));
  o.part = SeriesPart::kTest;
  auto test = SeriesDataset::open(o);
  ASSERT_TRUE(test.ok());
  EXPECT_THAT(rows(**test, {0, 1}).second, ElementsAre(90, 100));
  EXPECT_NE((*test)->fingerprint(), (*validation)->fingerprint());

  o.horizon = 2;  // validation windows may not reach into the test rows: only t0 = 6 fits
  o.part = SeriesPart::kValidation;
  validation = SeriesDataset::open(o);
  ASSERT_TRUE(validation.ok());
  EXPECT_EQ((*validation)->size(), 1u);
  o.horizon = 3;
  EXPECT_THAT(error(o), HasSubstr("the validation part of"));
}

TEST_F(SeriesDatasetTest, IsoTimesAreSecondsSinceTheEpoch) {
  EXPECT_EQ(SeriesDataset::parseIsoTime("1970-01-02"), 86400.0);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2000-03-01T00:00:00Z"), 951868800.0);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2000-03-01 01:30:00+01:30"), 951868800.0);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2000-03-01T00:00"), 951868800.0);
  EXPECT_EQ(SeriesDataset::parseIsoTime("1970-01-01T00:00:01.5"), 1.5);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2023-02-29"), std::nullopt);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2024-02-29"), 1709164800.0);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2024-13-01"), std::nullopt);
  EXPECT_EQ(SeriesDataset::parseIsoTime("2024-01-01T25:00"), std::nullopt);
  EXPECT_EQ(SeriesDataset::parseIsoTime("12"), std::nullopt);

  auto data = SeriesDataset::open(
      options("time,y\n2024-01-01T00:00,1\n2024-01-01T01:00,2\n2024-01-01T02:00,3\n", 1, 1));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 2u);
}

TEST_F(SeriesDatasetTest, BadRowsNameTheLineAndColumn) {
  EXPECT_THAT(error(options("time,y\n1,1\n3,2\n2,3\n", 1, 1)),
              HasSubstr("s.csv:4: time '2' is earlier than line 3's '3'"));
  EXPECT_THAT(error(options("time,y\n1,1\n2,2\n2,3\n", 1, 1)),
              HasSubstr("s.csv:4: time '2' repeats the time of line 3"));
  EXPECT_THAT(error(options("time,y\n1,1\n2,\n3,3\n", 1, 1)),
              HasSubstr("s.csv:3: column 'y': is empty (missing values are not supported)"));
  EXPECT_THAT(error(options("time,y\n1,1\nnoon,2\n", 1, 1)),
              HasSubstr("s.csv:3: column 'time': 'noon' is neither a number nor an ISO-8601"));
  EXPECT_THAT(error(options("time,y\n1,1\n2024-01-01,2\n", 1, 1)),
              HasSubstr("is a date but the times before it are numbers"));
  SeriesOptions o = options("time,y\n1,1\n2,2\n", 1, 1);
  o.target_columns = {"load"};
  EXPECT_THAT(error(o), HasSubstr("target column 'load' is not in"));
  o.target_columns = {"y", "y"};
  EXPECT_THAT(error(o), HasSubstr("named twice"));
  EXPECT_THAT(error(options("time,y\n1,1\n2,2\n", 2, 1)), HasSubstr("holds no window"));
}

TEST_F(SeriesDatasetTest, TheForecastConfigsGeneratedSeriesLoads) {
  // scripts/make-series.py writes configs/forecast.yaml's data; 14 days of hourly rows here.
  const fs::path output = dir_ / "load.csv";
  const std::string command = "python3 " AIMASS_SOURCE_DIR "/scripts/make-series.py --days 14 "
                              "--output " + output.string() + " > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "scripts/make-series.py failed (scripts/install-deps.sh installs python3)";
  SeriesOptions o;
  o.path = output;
  o.target_columns = {"load"};
  o.covariate_columns = {"temperature"};
  o.window = 48;
  o.horizon = 24;
  o.test_fraction = 0.25;  // the last 84 of 336 hours
  o.part = SeriesPart::kTest;
  auto data = SeriesDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 84u - 24 + 1);
  EXPECT_EQ((*data)->schema().row_shape, (Shape{48, 2}));
  EXPECT_EQ((*data)->schema().num_targets, 24);
}

TEST_F(SeriesDatasetTest, RegisteredFactoryReadsParameters) {
  auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "dataset.series");
  NodeConfig config("data", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  SeriesOptions o = options(tenRows(), 1, 1);
  config.setValue("path", o.path.string());
  config.setValue("target_columns", std::vector<std::string>{"y"});
  config.setValue("covariate_columns", std::vector<std::string>{"temp"});
  config.setValue("window", std::int64_t{4});
  config.setValue("part", std::string("test"));
  config.setValue("test_fraction", 0.3);
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ(static_cast<Dataset&>(**node).size(), 3u);
  EXPECT_EQ(static_cast<Dataset&>(**node).schema().row_shape, (Shape{4, 2}));
}

}  // namespace
}  // namespace aimass::plugins::dataset
