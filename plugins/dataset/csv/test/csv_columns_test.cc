// SPDX-License-Identifier: Apache-2.0
// dataset.csv: text columns, missing values and the deprecated `normalize`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "aimass/testing/registration.h"
#include "csv_test_support.h"

namespace aimass::plugins::dataset {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsNan;

std::vector<std::string> strings(const Batch& batch) { return batch.strings.strings(); }

const char* kShop =
    "id,color,size,zip,y\n"
    "1,red,2.5,01234,a\n"
    "2, blue ,3,99999,b\n"
    "3,red,,NA,a\n"
    "4,,4,00000,b\n";

TEST_F(CsvDatasetTest, AColumnWithAValueThatIsNotANumberIsText) {
  auto data = load(kShop, labelled("y"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const DatasetSchema& schema = (*data)->schema();
  EXPECT_THAT(schema.feature_names, ElementsAre("id", "size", "zip"));
  EXPECT_THAT(schema.string_feature_names, ElementsAre("color"));
  EXPECT_EQ(schema.row_shape, Shape{3});
  EXPECT_THAT(schema.class_names, ElementsAre("a", "b"));
  EXPECT_THAT((*data)->warnings(), IsEmpty()) << "color has no numbers at all";

  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{3, 1, 2}, batch).ok());
  EXPECT_EQ(batch.strings.dtype(), DType::kBytes);
  EXPECT_EQ(batch.strings.shape(), (Shape{3, 1}));
  // Row 4's empty color is missing: ""; values are taken without surrounding spaces.
  EXPECT_THAT(strings(batch), ElementsAre("", "blue", "red"));
  EXPECT_THAT(features(batch),
              ElementsAre(4.0f, 4.0f, 0.0f, 2.0f, 3.0f, 99999.0f, 3.0f, IsNan(), IsNan()));
  expectConformance(**data);
}

TEST_F(CsvDatasetTest, TextColumnsReadNumbersAsTextExactlyAsWritten) {
  CsvOptions options = labelled("y");
  options.text_columns = {"zip", "id"};
  auto data = load(kShop, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  // Source order, not the order of text_columns.
  EXPECT_THAT((*data)->schema().string_feature_names, ElementsAre("id", "color", "zip"));
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("size"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 2, 3}, batch).ok());
  EXPECT_EQ(batch.strings.shape(), (Shape{3, 3}));
  EXPECT_THAT(strings(batch), ElementsAre("1", "red", "01234", "3", "red", "", "4", "", "00000"));
  EXPECT_THAT(features(batch), ElementsAre(2.5f, IsNan(), 4.0f));
  expectConformance(**data);

  // With `columns`, text columns follow its order.
  options.text_columns = {"zip"};
  options.columns = std::vector<std::string>{"zip", "size", "color"};
  data = load(kShop, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().string_feature_names, ElementsAre("zip", "color"));
}

TEST_F(CsvDatasetTest, TextColumnsNamingAnUnknownColumnIsAnError) {
  CsvOptions options = labelled("y");
  options.text_columns = {"zipp"};
  std::string message = loadError(kShop, options);
  EXPECT_THAT(message, HasSubstr("text_columns names a column 'zipp' is not in '" + csvPath() +
                                 "'; did you mean 'zip'?"));
  EXPECT_THAT(message, HasSubstr("(columns: id, color, size, zip, y)"));
  options.text_columns = {"y"};
  EXPECT_THAT(loadError(kShop, options),
              HasSubstr("text_columns names column 'y', which is the label"));
  options.text_columns = {"zip"};
  options.columns = std::vector<std::string>{"size"};
  EXPECT_THAT(loadError(kShop, options),
              HasSubstr("text_columns names column 'zip', which is not among 'columns'"));
}

TEST_F(CsvDatasetTest, EmptyFieldsAndMarkersAreMissingNumbers) {
  // Every default marker, with spaces around some; quoted "" is empty too.
  auto data = load(
      "a,b\n"
      "1,NA\n"
      ",N/A\n"
      " n/a ,NaN\n"
      "nan,null\n"
      "NULL,None\n"
      "?,\"\"\n"
      "  ,7\n");
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("a", "b"));
  EXPECT_THAT((*data)->schema().string_feature_names, IsEmpty());
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3, 4, 5, 6}, batch).ok());
  auto v = features(batch);
  ASSERT_EQ(v.size(), 14u);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[13], 7.0f);
  for (std::size_t i = 1; i < 13; ++i) {
    EXPECT_TRUE(std::isnan(v[i])) << "value " << i << " is " << v[i];
  }
  EXPECT_TRUE(batch.strings.strings().empty());
  expectConformance(**data);
}

TEST_F(CsvDatasetTest, MissingValuesReplacesTheDefaultMarkers) {
  CsvOptions options;
  options.missing_values = {"-999", " unknown "};
  auto data = load("a,b,c\n1,-999,x\n-999.0,2,unknown\n3,NA,\n", options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  // "NA" is no marker now, so b is text; "-999.0" is not "-999", so it is a number.
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("a"));
  EXPECT_THAT((*data)->schema().string_feature_names, ElementsAre("b", "c"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(1.0f, -999.0f, 3.0f));
  EXPECT_THAT(strings(batch), ElementsAre("", "x", "2", "", "NA", ""));
}

TEST_F(CsvDatasetTest, FeaturesThatAreAllTextLeaveNoNumericColumns) {
  auto data = load("color,shape,y\nred,round,a\nblue,square,b\nred,NA,a\n", labelled("y"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().feature_names, IsEmpty());
  EXPECT_EQ((*data)->schema().row_shape, Shape{0});
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{2, 0}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{2, 0}));
  EXPECT_EQ(batch.rows(), 2u);
  EXPECT_THAT(strings(batch), ElementsAre("red", "", "red", "round"));
  expectConformance(**data);
}

TEST_F(CsvDatasetTest, AMostlyNumericColumnReadAsTextIsWarnedAbout) {
  auto data = load("a,b\n1.50,x\n2,y\n3,7\nx7,z\n4,w\n");
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().string_feature_names, ElementsAre("a", "b"));
  ASSERT_EQ((*data)->warnings().size(), 1u) << "b is mostly text: no warning for it";
  EXPECT_THAT((*data)->warnings()[0],
              HasSubstr(csvPath() + ":5: column 'a' is read as text because 'x7' is not a "
                                    "number, although 4 of its 5 values are"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 3}, batch).ok());
  EXPECT_THAT(strings(batch), ElementsAre("1.50", "x", "x7", "z")) << "as written";
  EXPECT_EQ(batch.features.shape(), (Shape{2, 0}));

  CsvOptions options;
  options.text_columns = {"a"};
  data = load("a,b\n1,x\n2,y\n3,7\nx7,z\n4,w\n", options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->warnings(), IsEmpty()) << "text_columns says text is meant";
}

TEST_F(CsvDatasetTest, FingerprintChangesWhenATextCellChanges) {
  auto data = load("c,y\nred,a\nblue,b\n", labelled("y"));
  auto changed = load("c,y\nred,a\nblue,b\n", labelled("y"));
  ASSERT_TRUE(data.ok() && changed.ok());
  EXPECT_EQ((*data)->fingerprint(), (*changed)->fingerprint());
  changed = load("c,y\nred,a\nBlue,b\n", labelled("y"));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*data)->fingerprint(), (*changed)->fingerprint());
}

TEST_F(CsvDatasetTest, NormalizeIgnoresMissingValues) {
  const char* text = "a,b,c,y\n1,4,,x\n,4,,y\n3,4,,x\n5,,,y\n";
  CsvOptions options = labelled("y");
  options.normalize = CsvNormalize::kStandardize;
  auto data = load(text, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3}, batch).ok());
  // a: 1, 3, 5 have mean 3 and population std sqrt(8/3); b is constant and only centred; c has
  // no values and stays missing.
  const float sa = std::sqrt(8.0f / 3);
  EXPECT_THAT(features(batch), ElementsAre(FloatEq(-2 / sa), 0.0f, IsNan(), IsNan(), 0.0f, IsNan(),
                                           0.0f, 0.0f, IsNan(), FloatEq(2 / sa), IsNan(), IsNan()));

  options.normalize = CsvNormalize::kMinMax;
  data = load(text, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(0.0f, 0.0f, IsNan(), IsNan(), 0.0f, IsNan(), 0.5f, 0.0f,
                                           IsNan(), 1.0f, IsNan(), IsNan()));
}

TEST_F(CsvDatasetTest, TheShippedFieldReadingsHaveAVendorColumnAndGaps) {
  // configs/data/pumps_field.csv, made by scripts/make_demo_data.py for docs/pipelines.md.
  CsvOptions options = labelled("state");
  options.path = fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps_field.csv";
  auto data = CsvDataset::open(options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const DatasetSchema& schema = (*data)->schema();
  EXPECT_EQ((*data)->size(), 600u);
  EXPECT_THAT(schema.feature_names,
              ElementsAre("pressure_kpa", "temperature_c", "vibration_g", "flow_lpm"));
  EXPECT_THAT(schema.string_feature_names, ElementsAre("vendor"));
  EXPECT_THAT(schema.class_names, ElementsAre("failing", "healthy", "worn"));
  EXPECT_THAT((*data)->warnings(), IsEmpty());
  std::vector<std::uint64_t> rows(600);
  std::iota(rows.begin(), rows.end(), std::uint64_t{0});
  Batch batch;
  ASSERT_TRUE((*data)->read(rows, batch).ok());
  auto values = features(batch);
  auto missing = std::count_if(values.begin(), values.end(), [](float v) { return std::isnan(v); });
  EXPECT_GT(missing, 2400 * 3 / 100) << "about 5% of the readings are missing";
  EXPECT_LT(missing, 2400 * 8 / 100);
  auto vendors = strings(batch);
  EXPECT_GT(std::count(vendors.begin(), vendors.end(), ""), 5);
  EXPECT_GT(std::count(vendors.begin(), vendors.end(), "Castell"), 100);
  expectConformance(**data);
}

TEST(CsvDatasetRandomTest, RandomFilesLoadOrFailCleanlyAndLoadedOnesConform) {
  // Fields drawn from numbers, words, markers, bad numbers, quotes and stray delimiters and
  // line ends: every file either loads and passes the conformance suite, or is refused with
  // kInvalidArgument. Fixed seed.
  const std::vector<std::string> pieces = {"1",    "-2.5", "3e2", "007", "",     " ",
                                           "NA",   "?",    "red", "inf", "1e39", "\"q,\"",
                                           "\"\"", ",",    "\n",  "x y"};
  const std::vector<std::string> labels = {"1", "2.5", "-3"};
  std::mt19937 random(17);
  int loaded = 0;
  for (int file = 0; file < 300; ++file) {
    std::string text = "a,b,y\n";
    const int rows = 1 + static_cast<int>(random() % 6);
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < 2; ++c) {
        text += pieces[random() % pieces.size()] + ",";
      }
      // Mostly a good label, sometimes any piece.
      text += random() % 4 ? labels[random() % labels.size()] : pieces[random() % pieces.size()];
      text += "\n";
    }
    CsvOptions options = labelled("y");
    options.label_kind = file % 2 ? LabelKind::kClass : LabelKind::kValue;
    auto data = CsvDataset::parse(text, "<random>", options);
    if (!data.ok()) {
      EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << text;
      EXPECT_THAT(data.status().message(), HasSubstr("<random>")) << text;
      continue;
    }
    ++loaded;
    const DatasetSchema& schema = (*data)->schema();
    EXPECT_EQ(schema.feature_names.size() + schema.string_feature_names.size(), 2u) << text;
    for (const auto& check : aimass::testing::checkDataset(**data)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail << "\n" << text;
    }
  }
  EXPECT_GT(loaded, 20) << "the pieces should make some loadable files";
}

/// The dataset.csv factory and a config with every default, `path` and `label` set.
class CsvFactoryTest : public CsvDatasetTest {
 protected:
  void SetUp() override {
    CsvDatasetTest::SetUp();
    auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
    ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
    ASSERT_EQ(registrar.types.size(), 1u);
    type_ = registrar.types[0];
    for (const auto& spec : type_.params) {
      if (!std::holds_alternative<std::monostate>(spec.default_value)) {
        config_.setValue(spec.name, spec.default_value);
      }
    }
    config_.setValue("label", std::string("y"));
  }

  Expected<std::unique_ptr<Node>> make(const std::string& content) {
    config_.setValue("path", write("f.csv", content).string());
    return type_.factory(config_);
  }

  RecordingHost host_;
  NodeConfig config_{"shop", "dataset.csv", &host_};
  NodeType type_;
};

TEST_F(CsvFactoryTest, NormalizeLogsOneDeprecationWarning) {
  auto plain = make("a,y\n1,x\n2,y\n");
  ASSERT_TRUE(plain.ok()) << plain.status().toString();
  EXPECT_THAT(host_.lines(), IsEmpty()) << "normalize: none is quiet";

  config_.setValue("normalize", std::string("standardize"));
  auto node = make("a,y\n1,x\n2,y\n3,x\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto lines = host_.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, LogLevel::kWarning);
  EXPECT_EQ(lines[0].node, "shop");
  EXPECT_THAT(lines[0].message, HasSubstr("normalize is deprecated"));
  EXPECT_THAT(lines[0].message, HasSubstr("not part of the saved model"));
  EXPECT_THAT(lines[0].message, HasSubstr("preprocess: [..] with transform.standardize"));
  EXPECT_THAT(lines[0].message, HasSubstr("docs/pipelines.md"));
  // The behaviour stays: the column is standardised.
  Batch batch;
  ASSERT_TRUE(static_cast<Dataset&>(**node).read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(0.0f));
}

TEST_F(CsvFactoryTest, ReadsTextColumnsAndMissingValuesAndLogsReadingWarnings) {
  config_.setValue("text_columns", std::vector<std::string>{"zip"});
  config_.setValue("missing_values", std::vector<std::string>{"-"});
  auto node = make("zip,size,n,y\n01234,-,1,x\n99999,2,2,y\n00000,3,3,x\n,4,oops,y\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& data = static_cast<Dataset&>(**node);
  EXPECT_THAT(data.schema().string_feature_names, ElementsAre("zip", "n"));
  EXPECT_THAT(data.schema().feature_names, ElementsAre("size"));
  Batch batch;
  ASSERT_TRUE(data.read(std::vector<std::uint64_t>{0, 3}, batch).ok());
  EXPECT_THAT(strings(batch), ElementsAre("01234", "1", "", "oops"));
  EXPECT_THAT(features(batch), ElementsAre(IsNan(), 4.0f));
  auto lines = host_.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].level, LogLevel::kWarning);
  EXPECT_THAT(lines[0].message, HasSubstr(":5: column 'n' is read as text because 'oops'"));
}

TEST_F(CsvFactoryTest, DefaultMissingValuesAreTheDocumentedOnes) {
  for (const auto& spec : type_.params) {
    if (spec.name == "missing_values") {
      EXPECT_EQ(std::get<std::vector<std::string>>(spec.default_value),
                (std::vector<std::string>{"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None",
                                          "?"}));
      return;
    }
  }
  ADD_FAILURE() << "no missing_values parameter";
}

}  // namespace
}  // namespace aimass::plugins::dataset
