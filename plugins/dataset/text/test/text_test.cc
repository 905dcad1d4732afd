// SPDX-License-Identifier: Apache-2.0
#include "text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/registration.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TextDatasetTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static TextOptions lm(fs::path path, std::int64_t streams, std::int64_t length) {
    TextOptions options;
    options.path = std::move(path);
    options.streams = streams;
    options.sequence_length = length;
    return options;
  }
  /// Features and labels of `rows` as text (bytes vocabulary).
  static std::vector<std::string> rowsText(const Dataset& data, std::vector<std::uint64_t> rows) {
    Batch batch;
    Status s = data.read(rows, batch);
    EXPECT_TRUE(s.ok()) << s.toString();
    std::vector<std::string> out;
    const auto t = static_cast<std::size_t>(batch.features.dim(1));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::string x, y;
      for (std::size_t j = 0; j < t; ++j) {
        x += static_cast<char>(batch.features.data<std::int64_t>()[i * t + j]);
        y += static_cast<char>(batch.labels.data<std::int64_t>()[i * t + j]);
      }
      out.push_back(x + "/" + y);
    }
    return out;
  }
  static void conforms(const Dataset& data) {
    for (const auto& check : aimass::testing::checkDataset(data)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }
  aimass::testing::TempDir temp_{"aimass-text-test"};
  const fs::path& dir_ = temp_.path();
};

constexpr const char* kAlphabet = "abcdefghijklmnopqrstuvwxyz";

TEST_F(TextDatasetTest, RowsInterleaveContiguousStreams) {
  // 26 bytes in 2 streams of 13; chunks of 3 (+1): (13 - 1) / 3 = 4 per stream, 8 rows.
  auto data = TextDataset::open(lm(write("t.txt", kAlphabet), 2, 3));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const Dataset& d = **data;
  EXPECT_EQ(d.size(), 8u);
  EXPECT_EQ(d.schema().label_kind, LabelKind::kNextToken);
  EXPECT_EQ(d.schema().feature_dtype, DType::kInt64);
  EXPECT_EQ(d.schema().row_shape, Shape{3});
  EXPECT_THAT(d.schema().cardinalities, ElementsAre(256));
  ASSERT_EQ(d.schema().id_names.size(), 1u);
  EXPECT_EQ(d.schema().id_names[0][97], "a");
  EXPECT_THAT(rowsText(d, {0, 1, 2, 3, 6, 7}),
              ElementsAre("abc/bcd", "nop/opq", "def/efg", "qrs/rst", "jkl/klm", "wxy/xyz"));
  conforms(d);
}

TEST_F(TextDatasetTest, ValidationIsTheTailOfEveryStreamAndSharesNoToken) {
  // Streams of 13: the tail round(13 * 0.4) = 5 tokens is validation, the head 8 train.
  TextOptions options = lm(write("t.txt", kAlphabet), 2, 3);
  options.validation_fraction = 0.4;
  options.part = TextPart::kTrain;
  auto train = TextDataset::open(options);
  ASSERT_TRUE(train.ok()) << train.status().toString();
  EXPECT_EQ((*train)->size(), 4u);  // (8 - 1) / 3 = 2 chunks per stream
  EXPECT_THAT(rowsText(**train, {0, 1, 2, 3}),
              ElementsAre("abc/bcd", "nop/opq", "def/efg", "qrs/rst"));
  options.part = TextPart::kValidation;
  auto validation = TextDataset::open(options);
  ASSERT_TRUE(validation.ok()) << validation.status().toString();
  EXPECT_EQ((*validation)->size(), 2u);
  EXPECT_THAT(rowsText(**validation, {0, 1}), ElementsAre("ijk/jkl", "vwx/wxy"));
  EXPECT_NE((*validation)->fingerprint(), (*train)->fingerprint());

  options.validation_fraction = 0.1;  // 1 token: no chunk fits
  auto none = TextDataset::open(options);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("validation part"));
}

TEST_F(TextDatasetTest, AFolderIsItsRegularFilesByNameWithoutLinksOrSubfolders) {
  write("dir/b.txt", "XY");
  write("dir/a.txt", "ab");
  write("dir/sub/c.txt", "zzzz");
  fs::create_symlink(dir_ / "dir" / "a.txt", dir_ / "dir" / "c-link");
  auto data = TextDataset::open(lm(dir_ / "dir", 1, 3));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 1u);
  EXPECT_THAT(rowsText(**data, {0}), ElementsAre("abX/bXY"));

  auto files = TextDataset::listFiles(dir_ / "dir" / "c-link");  // a link named directly
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 1u);
  fs::create_directories(dir_ / "empty");
  EXPECT_THAT(TextDataset::open(lm(dir_ / "empty", 1, 1)).status().message(),
              HasSubstr("no regular files"));
  EXPECT_EQ(TextDataset::open(lm(dir_ / "missing", 1, 1)).status().code(), StatusCode::kNotFound);
  ASSERT_EQ(::mkfifo((dir_ / "fifo").c_str(), 0600), 0);  // would block a reader: refused
  EXPECT_THAT(TextDataset::open(lm(dir_ / "fifo", 1, 1)).status().message(),
              HasSubstr("neither a regular file nor a folder"));
}

TEST_F(TextDatasetTest, CharsVocabularyIsTheCodePointsSeenSorted) {
  TextOptions options = lm(write("t.txt", "h\xC3\xA9llo w\xC3\xB6rld"), 1, 2);
  options.vocabulary = TextVocabulary::kChars;
  auto data = TextDataset::open(options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const auto& names = (*data)->schema().id_names[0];
  EXPECT_THAT(names, ElementsAre(" ", "d", "h", "l", "o", "r", "w", "\xC3\xA9", "\xC3\xB6"));
  EXPECT_THAT((*data)->schema().cardinalities, ElementsAre(9));
  // 11 characters: (11 - 1) / 2 = 5 rows; row 0 is "hé" -> "él".
  EXPECT_EQ((*data)->size(), 5u);
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0}, batch).ok());
  EXPECT_THAT(batch.features.span<std::int64_t>(), ElementsAre(2, 7));
  EXPECT_THAT(batch.labels.span<std::int64_t>(), ElementsAre(7, 3));
  conforms(**data);
}

TEST_F(TextDatasetTest, CharsAcrossTheReadChunkBoundaryAndInvalidUtf8) {
  // "é" straddles the 1 MiB read chunk: decoded whole.
  std::string big((std::size_t{1} << 20) - 1, 'a');
  TextOptions options = lm(write("big.txt", big + "\xC3\xA9" + "b"), 1, 4);
  options.vocabulary = TextVocabulary::kChars;
  auto data = TextDataset::open(options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_THAT((*data)->schema().id_names[0], ElementsAre("a", "b", "\xC3\xA9"));

  options.path = write("bad.txt", "ab\ncd\xC3(x");
  auto bad = TextDataset::open(options);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.txt:2: invalid UTF-8 at byte offset 5"));
  options.path = write("cut.txt", "abcdef\xE2\x82");  // cut short at the end of the file
  EXPECT_THAT(TextDataset::open(options).status().message(), HasSubstr("byte offset 6"));
  options.vocabulary = TextVocabulary::kBytes;  // any bytes are fine
  EXPECT_TRUE(TextDataset::open(options).ok());
}

TEST_F(TextDatasetTest, TooLittleTextSaysSo) {
  auto data = TextDataset::open(lm(write("t.txt", kAlphabet), 8, 3));  // 8 streams of 3 < 4
  EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("26 tokens: too few for 8 streams"));
}

TEST_F(TextDatasetTest, CsvRowsArePaddedWithLengthsAndSortedClasses) {
  TextOptions options;
  options.csv = true;
  options.max_length = 4;
  options.path = write("c.csv", "text,label\nhi,pos\nhello,neg\n\"a,b\",pos\n");
  auto data = TextDataset::open(options);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const Dataset& d = **data;
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.schema().row_shape, Shape{-1});
  EXPECT_EQ(d.schema().label_kind, LabelKind::kClass);
  EXPECT_THAT(d.schema().class_names, ElementsAre("neg", "pos"));
  Batch batch;
  ASSERT_TRUE(d.read(std::vector<std::uint64_t>{0, 1}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{2, 4}));
  EXPECT_THAT(batch.features.span<std::int64_t>(),
              ElementsAre('h', 'i', 0, 0, 'h', 'e', 'l', 'l'));  // truncated to max_length
  EXPECT_THAT(batch.lengths.span<std::int64_t>(), ElementsAre(2, 4));
  EXPECT_THAT(batch.labels.span<std::int64_t>(), ElementsAre(1, 0));
  ASSERT_TRUE(d.read(std::vector<std::uint64_t>{2}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{1, 3}));
  EXPECT_THAT(batch.features.span<std::int64_t>(), ElementsAre('a', ',', 'b'));
  conforms(d);

  options.path = write("e.csv", "text,label\nhi,pos\n,neg\n");
  EXPECT_THAT(TextDataset::open(options).status().message(),
              HasSubstr("e.csv:3: column 'text': the text is empty"));
  options.path = write("u.csv", "text,label\nhi,pos\nx\xFFy,neg\n");
  options.vocabulary = TextVocabulary::kChars;
  EXPECT_THAT(TextDataset::open(options).status().message(),
              HasSubstr("u.csv:3: column 'text': invalid UTF-8 at byte 1"));
  options.path = write("m.csv", "body,label\nhi,pos\n");
  EXPECT_THAT(TextDataset::open(options).status().message(),
              HasSubstr("text_column column 'text' is not in"));
}

TEST_F(TextDatasetTest, DebianLicensesAreTheW5Text) {
  const fs::path licenses = "/usr/share/common-licenses";
  if (!fs::is_directory(licenses)) {
    AIMASS_SKIP_OR_FAIL("no " + licenses.string() + " (Debian's base-files ships it)");
  }
  auto data = TextDataset::open(lm(licenses, 1, 1));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size() + 1, 237320u) << "the regular files' bytes, links left out";
}

TEST_F(TextDatasetTest, RegisteredFactoryReadsParameters) {
  auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "dataset.text");
  NodeConfig config("data", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  config.setValue("path", write("t.txt", kAlphabet).string());
  config.setValue("streams", std::int64_t{2});
  config.setValue("sequence_length", std::int64_t{3});
  config.setValue("part", std::string("validation"));
  config.setValue("validation_fraction", 0.4);
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ(static_cast<Dataset&>(**node).size(), 2u);
}

}  // namespace
}  // namespace aimass::plugins::dataset
