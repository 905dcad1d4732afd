// SPDX-License-Identifier: Apache-2.0
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/testing/registration.h"
#include "csv_test_support.h"

namespace aimass::plugins::dataset {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

const char* kIris =
    "sepal_length,sepal_width,petal_length,petal_width,species\n"
    "5.1,3.5,1.4,0.2,setosa\n"
    "7.0,3.2,4.7,1.4,versicolor\n"
    "6.3,3.3,6.0,2.5,virginica\n"
    "4.9,3.0,1.4,0.2,setosa\n"
    "6.4,3.2,4.5,1.5,versicolor\n";

TEST_F(CsvDatasetTest, ReadsClassLabelledDataAndPassesTheConformanceSuite) {
  auto data = load(kIris, labelled("species"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const DatasetSchema& schema = (*data)->schema();
  EXPECT_EQ((*data)->size(), 5u);
  EXPECT_THAT(schema.feature_names,
              ElementsAre("sepal_length", "sepal_width", "petal_length", "petal_width"));
  EXPECT_EQ(schema.row_shape, Shape{4});
  EXPECT_EQ(schema.feature_dtype, DType::kFloat32);
  EXPECT_EQ(schema.label_kind, LabelKind::kClass);
  EXPECT_THAT(schema.class_names, ElementsAre("setosa", "versicolor", "virginica"));
  EXPECT_EQ(schema.num_targets, 1);

  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{2, 0}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{2, 4}));
  EXPECT_THAT(features(batch), ElementsAre(6.3f, 3.3f, 6.0f, 2.5f, 5.1f, 3.5f, 1.4f, 0.2f));
  EXPECT_EQ(batch.labels.dtype(), DType::kInt64);
  EXPECT_THAT(std::vector<std::int64_t>(batch.labels.span<std::int64_t>().begin(),
                                        batch.labels.span<std::int64_t>().end()),
              ElementsAre(2, 0));

  expectConformance(**data);
}

TEST_F(CsvDatasetTest, SortsIntegerClassNamesNumerically) {
  auto data = load("x,y\n1,10\n2,2\n3,1\n4,10\n5,-3\n", labelled("y"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("-3", "1", "2", "10"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3, 4}, batch).ok());
  auto labels = batch.labels.span<std::int64_t>();
  EXPECT_THAT(std::vector<std::int64_t>(labels.begin(), labels.end()), ElementsAre(3, 2, 1, 3, 0));
}

TEST_F(CsvDatasetTest, SortsMixedClassNamesAsText) {
  auto data = load("x,y\n1,10\n2,9\n3,b\n", labelled("y"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("10", "9", "b"));
}

TEST_F(CsvDatasetTest, ReadsValueLabelsAsOneTargetPerRow) {
  auto data = load("a,b,price\n1,2,3.5\n4,5,-6.25\n", labelled("price", LabelKind::kValue));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->schema().label_kind, LabelKind::kValue);
  EXPECT_EQ((*data)->schema().num_targets, 1);
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1, 0}, batch).ok());
  EXPECT_EQ(batch.labels.dtype(), DType::kFloat32);
  EXPECT_EQ(batch.labels.shape(), (Shape{2, 1}));
  EXPECT_FLOAT_EQ(batch.labels.data<float>()[0], -6.25f);
  EXPECT_FLOAT_EQ(batch.labels.data<float>()[1], 3.5f);
  expectConformance(**data);
}

TEST_F(CsvDatasetTest, WithoutALabelEveryColumnIsAFeature) {
  auto data = load("a,b\n1,2\n3,4\n");
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->schema().label_kind, LabelKind::kNone);
  EXPECT_EQ((*data)->schema().row_shape, Shape{2});
  Batch batch;
  batch.labels = Tensor::zeros(DType::kInt64, {3});
  batch.strings = Tensor::fromStrings({"stale"});
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(3.0f, 4.0f));
  EXPECT_EQ(batch.labels.raw(), nullptr) << "stale labels must not survive";
  EXPECT_TRUE(batch.strings.strings().empty()) << "stale strings must not survive";
  EXPECT_TRUE((*data)->schema().string_feature_names.empty());
  expectConformance(**data);
}

TEST_F(CsvDatasetTest, ColumnsSelectAndOrderTheFeatures) {
  CsvOptions options = labelled("species");
  options.columns = std::vector<std::string>{"petal_width", "sepal_length"};
  auto data = load(kIris, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("petal_width", "sepal_length"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(1.4f, 7.0f));
}

TEST_F(CsvDatasetTest, HandlesQuotesCrlfBomBlankLinesAndSpaces) {
  auto data = load(
      "\xEF\xBB\xBF\"first, name\",\"x\"\r\n"
      "\r\n"
      "\" 1.5 \",\"say \"\"hi\"\"\"\r\n"
      "  -2e1 ,  \"multi\nline\"  \r\n"
      "\n"
      "+3,plain\r\n",
      labelled("x"));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("first, name"));
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("multi\nline", "plain", "say \"hi\""));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(1.5f, -20.0f, 3.0f));
}

TEST_F(CsvDatasetTest, WithoutAHeaderColumnsAreNamedByPosition) {
  CsvOptions options = labelled("2");
  options.header = false;
  options.delimiter = ';';
  auto data = load("1;2;a\n3;4;b\n", options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 2u) << "the first line is data";
  EXPECT_THAT((*data)->schema().feature_names, ElementsAre("0", "1"));
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("a", "b"));
}

TEST_F(CsvDatasetTest, MissingAndUnreadableFilesAreReported) {
  CsvOptions options;
  options.path = dir_ / "nope.csv";
  auto missing = CsvDataset::open(options);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(options.path.string()));
  EXPECT_THAT(missing.status().message(), HasSubstr("No such file or directory"));

  options.path = dir_;
  auto folder = CsvDataset::open(options);
  EXPECT_EQ(folder.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(folder.status().message(), HasSubstr("is a folder"));

  // Root reads anything, so the permission check runs as an ordinary user in a child.
  fs::path secret = write("secret.csv", "a\n1\n");
  fs::permissions(secret, fs::perms::none);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_exec);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    CsvOptions o;
    o.path = secret;
    auto denied = CsvDataset::open(o);
    if (denied.status().code() != StatusCode::kPermissionDenied) ::_exit(11);
    if (denied.status().message().find(secret.string()) == std::string::npos) ::_exit(12);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child exit " << status;
}

TEST_F(CsvDatasetTest, EmptyFilesAndHeaderOnlyFilesAreRefused) {
  EXPECT_THAT(loadError(""), HasSubstr(csvPath() + "' is empty"));
  EXPECT_THAT(loadError("\n\r\n  \n"), HasSubstr("is empty"));
  EXPECT_THAT(loadError("a,b\n"), HasSubstr("has a header but no data rows"));
}

TEST_F(CsvDatasetTest, BadRowsNameTheFileLineAndColumn) {
  const std::string file = csvPath();
  EXPECT_THAT(loadError("a,b,c\n1,2,3\n4,5\n"),
              HasSubstr(file + ":3: has 2 fields, expected 3 (as in the header)"));
  EXPECT_THAT(loadError("a,b\n1,2\n3,4,\n"),
              HasSubstr(file + ":3: has 3 fields, expected 2 (as in the header)"));
  // Numbers that are not finite FP32 values are errors, not text and not missing values.
  EXPECT_THAT(loadError("a,b\n1,inf\n"), HasSubstr(file + ":2: column 'b': 'inf' is not finite"));
  EXPECT_THAT(loadError("a,b\n1,-inf\n"), HasSubstr(":2: column 'b': '-inf' is not finite"));
  EXPECT_THAT(loadError("a,b\n1,1e39\n"), HasSubstr("out of range for a 32-bit float"));
  // The earliest line's bad number is the one reported, whichever column it is in.
  EXPECT_THAT(loadError("a,b\n1,2\n3,1e39\ninf,4\n"),
              HasSubstr(file + ":3: column 'b': '1e39' is out of range"));
  // In a column that is text, "inf" is text like any other.
  auto text = load("a,b\n1,inf\n2,word\n");
  ASSERT_TRUE(text.ok()) << text.status().toString();
  EXPECT_THAT((*text)->schema().string_feature_names, ElementsAre("b"));
  CsvOptions no_markers;
  no_markers.missing_values = {};
  EXPECT_THAT(loadError("a,b\n1,nan\n", no_markers),
              HasSubstr(file + ":2: column 'b': 'nan' is not finite"));
  EXPECT_THAT(loadError("a,b\n1,2\n\"3,4\n"),
              HasSubstr(file + ":3: a quoted field is never closed"));
  EXPECT_THAT(loadError("a,b\n\"1\"x,2\n"),
              HasSubstr(file + ":2: unexpected 'x' after a closing quote"));
  // Line numbers count the lines inside quoted fields.
  EXPECT_THAT(loadError("a,b\n1,\"2\n\"\ninf,3\n", labelled("b")),
              HasSubstr(file + ":4: column 'a': 'inf' is not finite"));
  EXPECT_THAT(loadError("a,y\n1,abc\n", labelled("y", LabelKind::kValue)),
              HasSubstr(":2: column 'y': 'abc' is not a number"));
}

TEST_F(CsvDatasetTest, AMissingLabelIsAnErrorNamingTheLine) {
  const std::string file = csvPath();
  EXPECT_THAT(loadError("a,y\n1,x\n1, \n", labelled("y")),
              HasSubstr(file + ":3: column 'y': the label is empty"));
  EXPECT_THAT(loadError("a,y\n1,x\n2,NA\n", labelled("y")),
              HasSubstr(file + ":3: column 'y': the label 'NA' is a missing value"));
  EXPECT_THAT(loadError("a,y\n1,2.5\n2,\n", labelled("y", LabelKind::kValue)),
              HasSubstr(file + ":3: column 'y': the label is empty"));
  EXPECT_THAT(loadError("a,y\n1,2.5\n2,nan\n", labelled("y", LabelKind::kValue)),
              HasSubstr(file + ":3: column 'y': the label 'nan' is a missing value"));
  // Without the markers, "NA" is a class like any other.
  CsvOptions options = labelled("y");
  options.missing_values = {};
  auto data = load("a,y\n1,x\n2,NA\n", options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("NA", "x"));
}

TEST_F(CsvDatasetTest, UnknownColumnsSuggestTheClosestName) {
  std::string message = loadError(kIris, labelled("specis"));
  EXPECT_THAT(message, HasSubstr("label column 'specis' is not in '" + csvPath() + "'"));
  EXPECT_THAT(message, HasSubstr("did you mean 'species'?"));
  EXPECT_THAT(message, HasSubstr("columns: sepal_length, sepal_width"));

  CsvOptions options = labelled("species");
  options.columns = std::vector<std::string>{"sepal_length", "petal_widht"};
  EXPECT_THAT(loadError(kIris, options), HasSubstr("feature column 'petal_widht' is not in '" +
                                                   csvPath() + "'; did you mean 'petal_width'?"));
  options.columns = std::vector<std::string>{"species"};
  EXPECT_THAT(loadError(kIris, options), HasSubstr("'species' is the label"));
  options.columns = std::vector<std::string>{"sepal_width", "sepal_width"};
  EXPECT_THAT(loadError(kIris, options), HasSubstr("listed twice"));
  EXPECT_THAT(loadError("a,b,a\n1,2,3\n"),
              HasSubstr(":1: column name 'a' appears twice (columns 1 and 3)"));
  EXPECT_THAT(loadError("a,,c\n1,2,3\n"), HasSubstr(":1: column 2 has an empty name"));
  EXPECT_THAT(loadError("y\n1\n", labelled("y")), HasSubstr("no feature columns"));
}

TEST_F(CsvDatasetTest, ReadReportsTheFirstBadIndexAndReusesBuffers) {
  auto data = load(kIris, labelled("species"));
  ASSERT_TRUE(data.ok());
  Batch batch;
  Status bad = (*data)->read(std::vector<std::uint64_t>{1, 5, 7}, batch);
  EXPECT_EQ(bad.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(bad.message(), HasSubstr("row 5 is out of range: the dataset has 5 rows"));

  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3, 4}, batch).ok());
  const void* features_buffer = batch.features.raw();
  const void* labels_buffer = batch.labels.raw();
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{3}, batch).ok());
  EXPECT_EQ(batch.features.raw(), features_buffer);
  EXPECT_EQ(batch.labels.raw(), labels_buffer);
  EXPECT_EQ(batch.features.shape(), (Shape{1, 4}));
  EXPECT_THAT(features(batch), ElementsAre(4.9f, 3.0f, 1.4f, 0.2f));
}

TEST_F(CsvDatasetTest, FingerprintIsTheFnv1aOfTheFileBytes) {
  EXPECT_EQ(CsvDataset::fnv1aHex(""), "cbf29ce484222325");
  EXPECT_EQ(CsvDataset::fnv1aHex("a"), "af63dc4c8601ec8c");
  auto data = load(kIris, labelled("species"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ((*data)->fingerprint(), CsvDataset::fnv1aHex(kIris));
  auto changed = load(std::string(kIris) + "5.0,3.0,1.0,0.1,setosa\n", labelled("species"));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*changed)->fingerprint(), (*data)->fingerprint());
}

TEST_F(CsvDatasetTest, RegisteredFactoryReadsParametersIncludingATabDelimiter) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "dataset.csv");
  NodeConfig config("data", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  config.setValue("path", write("t.tsv", "a\tb\tkind\n1\t2\tx\n3\t4\ty\n").string());
  config.setValue("label", std::string("kind"));
  config.setValue("delimiter", std::string("tab"));
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& data = static_cast<Dataset&>(**node);
  EXPECT_EQ(data.size(), 2u);
  EXPECT_THAT(data.schema().class_names, ElementsAre("x", "y"));

  config.setValue("delimiter", std::string("::"));
  auto bad = type.factory(config);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'delimiter' must be one character"));
}

TEST_F(CsvDatasetTest, NormalizeStandardizesOrScalesEachColumnAtLoad) {
  const char* text = "a,b,c,y\n1,10,5,x\n2,20,5,y\n3,60,5,x\n";
  CsvOptions options = labelled("y");
  options.normalize = CsvNormalize::kStandardize;
  auto data = load(text, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2}, batch).ok());
  auto v = features(batch);
  // Column a: mean 2, population std sqrt(2/3); b: mean 30, std sqrt(1400/3); c is constant
  // and only centred (scikit-learn's StandardScaler does the same).
  const float sa = std::sqrt(2.0f / 3), sb = std::sqrt(1400.0f / 3);
  EXPECT_THAT(v, ElementsAre(FloatNear(-1 / sa, 1e-5), FloatNear(-20 / sb, 1e-5), 0.0f, 0.0f,
                             FloatNear(-10 / sb, 1e-5), 0.0f, FloatNear(1 / sa, 1e-5),
                             FloatNear(30 / sb, 1e-5), 0.0f));

  options.normalize = CsvNormalize::kMinMax;
  data = load(text, options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(0.0f, 0.0f, 0.0f, 0.5f, 0.2f, 0.0f, 1.0f, 1.0f, 0.0f));
  // Labels are never rescaled.
  EXPECT_THAT(std::vector<std::int64_t>(batch.labels.span<std::int64_t>().begin(),
                                        batch.labels.span<std::int64_t>().end()),
              ElementsAre(0, 1, 0));
}

}  // namespace
}  // namespace aimass::plugins::dataset
