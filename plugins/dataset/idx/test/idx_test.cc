// SPDX-License-Identifier: Apache-2.0
#include "idx.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/registration.h"
#include "skip_or_fail.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

/// An IDX file's bytes: magic, big-endian dimensions, then `body`.
std::string idx(std::uint8_t type, const std::vector<std::uint32_t>& dims,
                const std::string& body) {
  std::string out{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims) {
    out += static_cast<char>(d >> 24);
    out += static_cast<char>(d >> 16);
    out += static_cast<char>(d >> 8);
    out += static_cast<char>(d);
  }
  return out + body;
}

std::string bytes(const std::vector<int>& values) {
  std::string out;
  for (int v : values) {
    out += static_cast<char>(v);
  }
  return out;
}

std::string bigEndianFloats(const std::vector<float>& values) {
  std::string out;
  for (float v : values) {
    auto bits = std::bit_cast<std::uint32_t>(v);
    for (int shift = 24; shift >= 0; shift -= 8) {
      out += static_cast<char>(bits >> shift);
    }
  }
  return out;
}

/// Three 2x2 unsigned-byte images and their labels 2, 0, 1.
const std::string kImages =
    idx(0x08, {3, 2, 2}, bytes({0, 51, 102, 255, 10, 20, 30, 40, 255, 255, 0, 0}));
const std::string kLabels = idx(0x08, {3}, bytes({2, 0, 1}));

class IdxDatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "aimass-idx-test-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path write(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  fs::path writeGzip(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    gzFile file = gzopen(path.c_str(), "wb");
    EXPECT_NE(file, nullptr);
    EXPECT_EQ(gzwrite(file, content.data(), static_cast<unsigned>(content.size())),
              static_cast<int>(content.size()));
    gzclose(file);
    return path;
  }

  IdxOptions options(const std::string& images, const std::string& labels,
                     IdxNormalize normalize = IdxNormalize::kScale) {
    IdxOptions o;
    o.images = write("images.idx", images);
    o.labels = write("labels.idx", labels);
    o.normalize = normalize;
    return o;
  }

  /// The message of an open that must fail with kInvalidArgument.
  std::string openError(const IdxOptions& o) {
    auto data = IdxDataset::open(o);
    EXPECT_FALSE(data.ok()) << "opened although it should not";
    if (data.ok()) {
      return {};
    }
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status().toString();
    return data.status().message();
  }

  static std::vector<float> features(const Batch& batch) {
    auto span = batch.features.span<float>();
    return {span.begin(), span.end()};
  }
  static std::vector<std::int64_t> labels(const Batch& batch) {
    auto span = batch.labels.span<std::int64_t>();
    return {span.begin(), span.end()};
  }

  fs::path dir_;
};

TEST_F(IdxDatasetTest, ReadsPlainFilesScaledAndPassesTheConformanceSuite) {
  auto data = IdxDataset::open(options(kImages, kLabels));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const DatasetSchema& schema = (*data)->schema();
  EXPECT_EQ((*data)->size(), 3u);
  EXPECT_EQ(schema.row_shape, Shape{4});
  EXPECT_EQ(schema.label_kind, LabelKind::kClass);
  EXPECT_THAT(schema.class_names, ElementsAre("0", "1", "2"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 2}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{2, 4}));
  EXPECT_THAT(features(batch),
              Pointwise(FloatNear(1e-6f), std::vector<float>{0, 0.2f, 0.4f, 1, 1, 1, 0, 0}));
  EXPECT_THAT(labels(batch), ElementsAre(2, 1));
  for (const auto& check : aimass::testing::checkDataset(**data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST_F(IdxDatasetTest, GzippedFilesReadTheSameAsPlainOnes) {
  auto plain = IdxDataset::open(options(kImages, kLabels, IdxNormalize::kNone));
  ASSERT_TRUE(plain.ok()) << plain.status().toString();
  IdxOptions gz;
  gz.images = writeGzip("images.idx.gz", kImages);
  gz.labels = writeGzip("labels.idx.gz", kLabels);
  gz.normalize = IdxNormalize::kNone;
  auto zipped = IdxDataset::open(gz);
  ASSERT_TRUE(zipped.ok()) << zipped.status().toString();
  Batch a, b;
  std::vector<std::uint64_t> all{0, 1, 2};
  ASSERT_TRUE((*plain)->read(all, a).ok());
  ASSERT_TRUE((*zipped)->read(all, b).ok());
  EXPECT_THAT(features(b), ElementsAre(0, 51, 102, 255, 10, 20, 30, 40, 255, 255, 0, 0));
  EXPECT_EQ(features(a), features(b));
  EXPECT_EQ(labels(a), labels(b));
  // The fingerprint hashes the decompressed content, so compression does not change it.
  EXPECT_EQ((*plain)->fingerprint(), (*zipped)->fingerprint());
  EXPECT_EQ((*plain)->fingerprint().size(), 16u);
}

TEST_F(IdxDatasetTest, StandardizeGivesZeroMeanAndUnitVariance) {
  auto data = IdxDataset::open(options(kImages, kLabels, IdxNormalize::kStandardize));
  ASSERT_TRUE(data.ok()) << data.status().toString();
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2}, batch).ok());
  double sum = 0, squares = 0;
  for (float v : features(batch)) {
    sum += v;
    squares += static_cast<double>(v) * v;
  }
  EXPECT_NEAR(sum / 12, 0.0, 1e-5);
  EXPECT_NEAR(squares / 12, 1.0, 1e-5);
}

TEST_F(IdxDatasetTest, FloatImagesWithoutLabelsAndWithALimit) {
  IdxOptions o;
  o.images = write("f.idx", idx(0x0D, {3, 2}, bigEndianFloats({1.5f, -2, 0.25f, 8, 3, 4})));
  o.normalize = IdxNormalize::kNone;
  o.limit = 2;
  auto data = IdxDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 2u);
  EXPECT_EQ((*data)->schema().label_kind, LabelKind::kNone);
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1, 0}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(0.25f, 8, 1.5f, -2));
  EXPECT_EQ(batch.labels.numel(), 0);
  for (const auto& check : aimass::testing::checkDataset(**data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  o.normalize = IdxNormalize::kScale;
  EXPECT_THAT(openError(o), HasSubstr("holds float values; use none or standardize"));
}

TEST_F(IdxDatasetTest, ALimitKeepsEveryClassOfTheLabelsFile) {
  IdxOptions o = options(kImages, kLabels);
  o.limit = 1;
  auto data = IdxDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 1u);
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("0", "1", "2"));
}

TEST_F(IdxDatasetTest, AnOffsetSkipsRowsAndTheirLabels) {
  IdxOptions o = options(kImages, kLabels, IdxNormalize::kNone);
  o.offset = 1;
  auto data = IdxDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 2u);
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("0", "1", "2"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(10, 20, 30, 40, 255, 255, 0, 0));
  EXPECT_THAT(labels(batch), ElementsAre(0, 1));
  for (const auto& check : aimass::testing::checkDataset(**data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }

  // With a limit: rows [offset, offset + limit), gzipped alike.
  o.images = writeGzip("offset.idx.gz", kImages);
  o.limit = 1;
  auto one = IdxDataset::open(o);
  ASSERT_TRUE(one.ok()) << one.status().toString();
  EXPECT_EQ((*one)->size(), 1u);
  ASSERT_TRUE((*one)->read(std::vector<std::uint64_t>{0}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(10, 20, 30, 40));
  EXPECT_THAT(labels(batch), ElementsAre(0));
  EXPECT_NE((*one)->fingerprint(), (*data)->fingerprint()) << "other rows, other fingerprint";

  // A limit past the end stops at the end; an offset at or past it is an error.
  o.limit = 10;
  auto rest = IdxDataset::open(o);
  ASSERT_TRUE(rest.ok()) << rest.status().toString();
  EXPECT_EQ((*rest)->size(), 2u);
  o.offset = 3;
  EXPECT_THAT(openError(o), AllOf(HasSubstr("offset 3 leaves no rows"), HasSubstr("has 3 rows")));
}

TEST_F(IdxDatasetTest, ClassesKeepTheirRowsInOrderAndRenumberTheLabels) {
  // Labels 2, 0, 1: keep classes 1 and 2 (in that order) -> rows 0 and 2, labels 1 and 0.
  IdxOptions o = options(kImages, kLabels, IdxNormalize::kNone);
  o.classes = {1, 2};
  auto data = IdxDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 2u);
  EXPECT_THAT((*data)->schema().class_names, ElementsAre("1", "2"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(0, 51, 102, 255, 255, 255, 0, 0));
  EXPECT_THAT(labels(batch), ElementsAre(1, 0));
  for (const auto& check : aimass::testing::checkDataset(**data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  IdxOptions all = options(kImages, kLabels, IdxNormalize::kNone);
  auto every = IdxDataset::open(all);
  ASSERT_TRUE(every.ok());
  EXPECT_NE((*data)->fingerprint(), (*every)->fingerprint()) << "other rows, other fingerprint";

  // With an offset, gzipped, standardized over the kept rows only: rows 1 and 2 of the file
  // hold classes 0 and 1; keeping class 0 leaves row 1 (10, 20, 30, 40).
  o.images = writeGzip("classes.idx.gz", kImages);
  o.offset = 1;
  o.classes = {0};
  o.normalize = IdxNormalize::kStandardize;
  auto one = IdxDataset::open(o);
  ASSERT_TRUE(one.ok()) << one.status().toString();
  EXPECT_EQ((*one)->size(), 1u);
  EXPECT_THAT((*one)->schema().class_names, ElementsAre("0"));
  // mean 25, std sqrt(125): (10 - 25) / sqrt(125) = -1.3416...
  EXPECT_NEAR((*one)->shift(), -25 / std::sqrt(125.0), 1e-5);
  ASSERT_TRUE((*one)->read(std::vector<std::uint64_t>{0}, batch).ok());
  EXPECT_THAT(labels(batch), ElementsAre(0));
}

TEST_F(IdxDatasetTest, BadClassesAreRefused) {
  IdxOptions o = options(kImages, kLabels);
  o.classes = {1, 1};
  EXPECT_THAT(openError(o), HasSubstr("classes: 1 is listed twice"));
  o.classes = {256};
  EXPECT_THAT(openError(o), HasSubstr("classes: 256 is not a class label"));
  o.classes = {7};
  EXPECT_THAT(openError(o), HasSubstr("classes: no row of"));
  EXPECT_THAT(openError(o), HasSubstr("in rows [0, 3) has one of the classes listed"));
  o.labels.reset();
  o.classes = {1};
  EXPECT_THAT(openError(o), HasSubstr("has no labels: set `labels`"));
}

TEST_F(IdxDatasetTest, MissingFilesAndFoldersAreReportedWithTheirPath) {
  IdxOptions o;
  o.images = dir_ / "nope.gz";
  auto data = IdxDataset::open(o);
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("nope.gz"));
  o.images = dir_;
  EXPECT_THAT(openError(o), HasSubstr("is a folder"));
  o = options(kImages, kLabels);
  o.labels = dir_ / "labels-missing.idx";
  data = IdxDataset::open(o);
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(data.status().message(), HasSubstr("labels-missing.idx"));
}

TEST_F(IdxDatasetTest, BadHeadersAreRefusedNamingTheFile) {
  EXPECT_THAT(openError(options("PK\x03\x04 not idx", kLabels)),
              AllOf(HasSubstr("images.idx"), HasSubstr("bad magic number 50 4b 03 04")));
  EXPECT_THAT(openError(options(idx(0x07, {3, 4}, ""), kLabels)),
              HasSubstr("unknown type byte 0x07"));
  EXPECT_THAT(openError(options(idx(0x08, {}, ""), kLabels)), HasSubstr("0 dimensions"));
  EXPECT_THAT(openError(options(idx(0x08, {0, 4}, ""), kLabels)), HasSubstr("no rows"));
  EXPECT_THAT(openError(options(std::string("\0\0", 2), kLabels)),
              AllOf(HasSubstr("images.idx"), HasSubstr("truncated")));
}

TEST_F(IdxDatasetTest, TruncatedAndOversizedFilesAreRefused) {
  std::string truncated = kImages.substr(0, kImages.size() - 3);
  EXPECT_THAT(openError(options(truncated, kLabels)),
              AllOf(HasSubstr("images.idx"), HasSubstr("is truncated"), HasSubstr("row 3 of 3")));
  EXPECT_THAT(openError(options(kImages + "x", kLabels)),
              HasSubstr("bytes after the 3 rows its header announces"));
  // A gzip stream cut short is truncated too.
  std::string gz_bytes;
  {
    fs::path full = writeGzip("full.gz", kImages);
    std::ifstream in(full, std::ios::binary);
    gz_bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  IdxOptions o;
  o.images = write("cut.gz", gz_bytes.substr(0, gz_bytes.size() / 2));
  EXPECT_THAT(openError(o), AllOf(HasSubstr("cut.gz"), HasSubstr("truncated")));
}

TEST_F(IdxDatasetTest, LabelsMustMatchTheImages) {
  EXPECT_THAT(
      openError(options(kImages, idx(0x08, {2}, bytes({0, 1})))),
      AllOf(HasSubstr("labels.idx"), HasSubstr("has 2 labels but"), HasSubstr("has 3 rows")));
  EXPECT_THAT(openError(options(kImages, idx(0x08, {3, 1}, bytes({0, 1, 2})))),
              HasSubstr("labels need exactly 1"));
  EXPECT_THAT(openError(options(kImages, idx(0x0D, {3}, bigEndianFloats({0, 1, 2})))),
              HasSubstr("class labels must be integers"));
  EXPECT_THAT(openError(options(kImages, idx(0x0B, {3}, bytes({0, 1, 1, 0, 0, 2})))),
              AllOf(HasSubstr("label 2 is 256"), HasSubstr("[0, 255]")));
  EXPECT_THAT(openError(options(kImages, idx(0x09, {3}, bytes({0, 0xFF, 1})))),
              HasSubstr("label 2 is -1"));
  EXPECT_THAT(openError(options(kImages, idx(0x08, {3}, bytes({0, 1})))),
              AllOf(HasSubstr("labels.idx"), HasSubstr("truncated")));
}

TEST_F(IdxDatasetTest, ReadReportsTheFirstBadIndex) {
  auto data = IdxDataset::open(options(kImages, kLabels));
  ASSERT_TRUE(data.ok());
  Batch batch;
  Status status = (*data)->read(std::vector<std::uint64_t>{1, 7, 9}, batch);
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("row 7"));
}

TEST_F(IdxDatasetTest, ALargeReadSplitOverThreadsGivesTheRowsOfAReadOnOne) {
  // 400 images of 7x19 bytes and 400 of 7x19 floats: a read of 300 rows (39,900 values) is
  // split over the threads, one of 200 is not; every row must land where a single thread puts
  // it, whatever the split.
  constexpr int kRows = 400, kWidth = 133;
  std::vector<int> pixels(kRows * kWidth);
  std::vector<float> values(kRows * kWidth);
  std::vector<int> classes(kRows);
  for (int i = 0; i < kRows * kWidth; ++i) {
    pixels[static_cast<std::size_t>(i)] = (i * 37 + i / kWidth) % 256;
    values[static_cast<std::size_t>(i)] = static_cast<float>(i % 1013) * 0.25f - 7.0f;
  }
  for (int r = 0; r < kRows; ++r) {
    classes[static_cast<std::size_t>(r)] = r % 10;
  }
  const std::string label_file = idx(0x08, {kRows}, bytes(classes));
  const std::string byte_images = idx(0x08, {kRows, 7, 19}, bytes(pixels));
  const std::string float_images = idx(0x0D, {kRows, 7, 19}, bigEndianFloats(values));
  std::vector<std::uint64_t> rows;
  for (int i = 0; i < 300; ++i) {
    rows.push_back(static_cast<std::uint64_t>((i * 131) % kRows));  // scattered, no repeats
  }
  for (const std::string* images : {&byte_images, &float_images}) {
    IdxOptions one = options(*images, label_file, IdxNormalize::kStandardize);
    IdxOptions three = one;
    three.threads = 3;
    auto serial = IdxDataset::open(one);
    auto parallel = IdxDataset::open(three);
    ASSERT_TRUE(serial.ok()) << serial.status().toString();
    ASSERT_TRUE(parallel.ok()) << parallel.status().toString();
    for (std::size_t count : {std::size_t{300}, std::size_t{200}}) {
      const std::span<const std::uint64_t> some(rows.data(), count);
      Batch a, b;
      ASSERT_TRUE((*serial)->read(some, a).ok());
      ASSERT_TRUE((*parallel)->read(some, b).ok());
      ASSERT_EQ(features(a).size(), count * kWidth);
      EXPECT_EQ(features(a), features(b)) << count << " rows";
      EXPECT_EQ(labels(a), labels(b));
      // Spot checks against the file: row rows[i] of the images, standardized.
      const float scale = (*serial)->scale(), shift = (*serial)->shift();
      for (std::size_t i : {std::size_t{0}, count / 2, count - 1}) {
        const std::size_t at = static_cast<std::size_t>(rows[i]) * kWidth + 5;
        const float raw = images == &byte_images ? static_cast<float>(pixels[at]) : values[at];
        EXPECT_FLOAT_EQ(features(b)[i * kWidth + 5], raw * scale + shift) << i;
        EXPECT_EQ(labels(b)[i], static_cast<std::int64_t>(rows[i] % 10));
      }
    }
  }
}

TEST_F(IdxDatasetTest, ReadsTheFashionMnistTestSet) {
  const fs::path dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir / "t10k-images-idx3-ubyte.gz")) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kFashionMnistMissing);
  }
  IdxOptions o;
  o.images = dir / "t10k-images-idx3-ubyte.gz";
  o.labels = dir / "t10k-labels-idx1-ubyte.gz";
  auto data = IdxDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 10000u);
  EXPECT_EQ((*data)->schema().row_shape, Shape{784});
  EXPECT_EQ((*data)->schema().class_names.size(), 10u);
  Batch batch;
  std::vector<std::uint64_t> all(10000);
  for (std::uint64_t i = 0; i < all.size(); ++i) {
    all[i] = i;
  }
  ASSERT_TRUE((*data)->read(all, batch).ok());
  // The test set is balanced: 1000 images of each class; pixels lie in [0, 1].
  std::vector<int> counts(10);
  for (auto label : labels(batch)) {
    ++counts[static_cast<std::size_t>(label)];
  }
  EXPECT_THAT(counts, ::testing::Each(1000));
  auto pixels = features(batch);
  EXPECT_EQ(*std::min_element(pixels.begin(), pixels.end()), 0.0f);
  EXPECT_EQ(*std::max_element(pixels.begin(), pixels.end()), 1.0f);
  // The first test image is an ankle boot (class 9), as the dataset's documentation shows.
  EXPECT_EQ(labels(batch)[0], 9);
}

TEST_F(IdxDatasetTest, RegisteredFactoryReadsParameters) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "dataset.idx");
  aimass::testing::FactoryHost host(2);
  NodeConfig config("data", type.type, &host);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  config.setValue("images", writeGzip("i.gz", kImages).string());
  config.setValue("labels", write("l.idx", kLabels).string());
  config.setValue("normalize", std::string("none"));
  config.setValue("limit", std::int64_t{2});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& data = static_cast<Dataset&>(**node);
  EXPECT_EQ(data.size(), 2u);
  Batch batch;
  ASSERT_TRUE(data.read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(10, 20, 30, 40));

  config.setValue("offset", std::int64_t{2});
  auto shifted = type.factory(config);
  ASSERT_TRUE(shifted.ok()) << shifted.status().toString();
  auto& last = static_cast<Dataset&>(**shifted);
  EXPECT_EQ(last.size(), 1u);
  ASSERT_TRUE(last.read(std::vector<std::uint64_t>{0}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(255, 255, 0, 0));
}

}  // namespace
}  // namespace aimass::plugins::dataset
