// SPDX-License-Identifier: Apache-2.0
// dataset.images on real folders: listing, labels, scaling, the conformance suite, every
// refusal at open, damage and changes found by read, the fingerprint and the registration.
#include "images.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/registration.h"
#include "image_files.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

std::string grayPng(std::uint32_t width, std::uint32_t height, std::vector<std::uint16_t> values) {
  testing::PngSpec spec;
  spec.width = width;
  spec.height = height;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.samples = std::move(values);
  return testing::pngFile(spec);
}

std::string rgbPng(std::uint32_t width, std::uint32_t height, std::vector<std::uint16_t> values) {
  testing::PngSpec spec;
  spec.width = width;
  spec.height = height;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.samples = std::move(values);
  return testing::pngFile(spec);
}

/// A 2 x 2 JPEG of one gray value.
std::string grayJpeg(int value) {
  return testing::jpegFile(2, 2, 1, std::vector<std::uint8_t>(4, static_cast<std::uint8_t>(value)));
}

std::vector<float> scaled(std::vector<float> values) {
  for (float& v : values) {
    v /= 255.0f;
  }
  return values;
}

class ImageFolderTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& relative, const std::string& content) {
    const fs::path path = dir_.path() / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  ImageFolderOptions options(ImageLabels labels = ImageLabels::kNone) {
    ImageFolderOptions o;
    o.folder = dir_.path();
    o.labels = labels;
    return o;
  }

  /// The message of an open that must fail with `code`.
  static std::string openError(const ImageFolderOptions& o,
                               StatusCode code = StatusCode::kInvalidArgument) {
    auto data = ImageFolderDataset::open(o);
    EXPECT_FALSE(data.ok()) << "opened although it should not";
    if (data.ok()) {
      return {};
    }
    EXPECT_EQ(data.status().code(), code) << data.status().toString();
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
  static void expectConformance(const Dataset& data) {
    for (const auto& check : aimass::testing::checkDataset(data)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }

  aimass::testing::TempDir dir_{"aimass-images-test"};
};

TEST_F(ImageFolderTest, ReadsEveryImageUnderTheFolderByContentAndPassesTheConformanceSuite) {
  // Names say nothing: a PNG called .jpg, one with no extension, a JPEG called .png.
  write("b.jpg", grayPng(2, 2, {0, 51, 102, 255}));
  write("a/c", grayPng(2, 2, {255, 255, 0, 0}));
  write("z.png", grayJpeg(200));
  // Hidden files and folders are skipped, whatever they hold.
  write(".DS_Store", "not an image");
  write(".git/config", "[core]");
  auto data = ImageFolderDataset::open(options());
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->size(), 3u);
  EXPECT_EQ((*data)->schema().row_shape, Shape{4});
  EXPECT_EQ((*data)->schema().label_kind, LabelKind::kNone);
  EXPECT_TRUE((*data)->schema().feature_names.empty());
  // Rows in byte order of the path: a/c, b.jpg, z.png.
  EXPECT_THAT((*data)->imagePath(0).string(), EndsWith("/a/c"));
  EXPECT_THAT((*data)->imagePath(1).string(), EndsWith("/b.jpg"));
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1, 0, 2}, batch).ok());
  EXPECT_EQ(batch.features.shape(), (Shape{3, 4}));
  EXPECT_EQ(batch.labels.numel(), 0);
  const std::vector<float> all = features(batch);
  EXPECT_THAT(std::vector<float>(all.begin(), all.begin() + 8),
              Pointwise(FloatNear(1e-6f), scaled({0, 51, 102, 255, 255, 255, 0, 0})));
  EXPECT_THAT(std::vector<float>(all.begin() + 8, all.end()),
              Pointwise(FloatNear(2.5f / 255), scaled({200, 200, 200, 200})));
  expectConformance(**data);
}

TEST_F(ImageFolderTest, ClassFoldersLabelTheirImagesInNameOrder) {
  write("dog/1.png", grayPng(2, 1, {1, 1}));
  write("cat/x/2.png", grayPng(2, 1, {2, 2}));  // at any depth below the class folder
  write("cat/3.png", grayPng(2, 1, {3, 3}));
  write("ant/4.jpg", grayPng(2, 1, {4, 4}));
  write("cat/.thumbs/junk", "skipped");
  write(".cache/junk", "skipped");
  ImageFolderOptions o = options(ImageLabels::kFolders);
  o.normalize = ImageNormalize::kNone;
  auto data = ImageFolderDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  const DatasetSchema& schema = (*data)->schema();
  EXPECT_EQ(schema.label_kind, LabelKind::kClass);
  EXPECT_EQ(schema.num_targets, 1);
  EXPECT_THAT(schema.class_names, ElementsAre("ant", "cat", "dog"));
  ASSERT_EQ((*data)->size(), 4u);
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1, 2, 3}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(4, 4, 3, 3, 2, 2, 1, 1));
  EXPECT_THAT(labels(batch), ElementsAre(0, 1, 1, 2));
  expectConformance(**data);
}

TEST_F(ImageFolderTest, ImagesAreScaledToWidthAndHeight) {
  // 4 x 4 in 2 x 2 blocks of 0, 40, 80, 120 (with a little variation inside each block).
  write("big.png", grayPng(4, 4, {0, 2, 40, 42, 2, 0, 42, 40, 80, 82, 120, 122, 82, 80, 122, 120}));
  write("small.png", grayPng(1, 1, {77}));
  ImageFolderOptions o = options();
  o.width = 2;
  o.height = 2;
  o.normalize = ImageNormalize::kNone;
  auto data = ImageFolderDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->schema().row_shape, Shape{4});
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0, 1}, batch).ok());
  EXPECT_THAT(features(batch),
              Pointwise(FloatNear(1e-4f), std::vector<float>{1, 41, 81, 121, 77, 77, 77, 77}));
  expectConformance(**data);
}

TEST_F(ImageFolderTest, ThreeChannelsKeepAPixelsValuesTogether) {
  write("rgb.png", rgbPng(2, 1, {255, 0, 0, 0, 0, 255}));
  write("gray.png", grayPng(2, 1, {10, 20}));
  ImageFolderOptions o = options();
  o.channels = 3;
  o.normalize = ImageNormalize::kNone;
  auto data = ImageFolderDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  EXPECT_EQ((*data)->schema().row_shape, Shape{6});
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{1, 0}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(255, 0, 0, 0, 0, 255, 10, 10, 10, 20, 20, 20));
  o.channels = 1;
  auto gray = ImageFolderDataset::open(o);
  ASSERT_TRUE(gray.ok()) << gray.status().toString();
  ASSERT_TRUE((*gray)->read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), ElementsAre(76, 29));  // BT.601 luma of red and blue
}

TEST_F(ImageFolderTest, SizesAndChannelsAreChecked) {
  write("a.png", grayPng(2, 2, {0, 0, 0, 0}));
  write("b.png", grayPng(3, 2, {0, 0, 0, 0, 0, 0}));
  ImageFolderOptions o = options();
  EXPECT_THAT(openError(o), AllOf(HasSubstr("b.png' is 3 x 2 pixels but"),
                                  HasSubstr("a.png', the first image, is 2 x 2"),
                                  HasSubstr("set width and height")));
  o.width = 3;
  EXPECT_THAT(openError(o), HasSubstr("width and height are both 0"));
  o.height = 2;
  o.max_pixels = 5;
  EXPECT_THAT(openError(o), HasSubstr("width x height (3 x 2) is more than max_pixels (5)"));
  o.max_pixels = 100;
  o.channels = 2;
  EXPECT_THAT(openError(o), HasSubstr("channels is 2"));
  o.channels = 1;
  EXPECT_TRUE(ImageFolderDataset::open(o).ok());
}

TEST_F(ImageFolderTest, AFileThatIsNoImageIsRefusedNamingIt) {
  write("good.png", grayPng(1, 1, {0}));
  write("notes/x.png", "Hello, world\n");
  EXPECT_THAT(openError(options()),
              AllOf(HasSubstr("notes/x.png' is neither a PNG nor a JPEG image"),
                    HasSubstr("starts with 48 65 6c 6c 6f 2c 20 77 (\"Hello, w\")")));
  fs::remove(dir_.path() / "notes/x.png");
  write("empty.jpg", "");
  EXPECT_THAT(openError(options()), HasSubstr("empty.jpg' is empty"));
}

TEST_F(ImageFolderTest, BrokenFilesAreRefusedAtOpen) {
  const std::string png = grayPng(2, 2, {1, 2, 3, 4});
  const fs::path truncated = write("t.png", png.substr(0, png.size() - 20));
  EXPECT_THAT(openError(options()), AllOf(HasSubstr(truncated.string()), HasSubstr("truncated")));
  fs::remove(truncated);
  write("c.jpg", std::string("\xFF\xD8\xFF\xE0 corrupt JPEG"));
  EXPECT_THAT(openError(options()), HasSubstr("c.jpg' is not a valid JPEG"));
  fs::remove(dir_.path() / "c.jpg");
  write("bomb.png", testing::pngHeaderOnly(100000, 100000));
  EXPECT_THAT(openError(options()),
              AllOf(HasSubstr("bomb.png' declares 100000 x 100000 = 10000000000 pixels"),
                    HasSubstr("more than max_pixels (40000000)")));
  fs::remove(dir_.path() / "bomb.png");
  write("big.png", png);
  ImageFolderOptions o = options();
  o.max_file_bytes = 10;
  EXPECT_THAT(openError(o), AllOf(HasSubstr("big.png' is " + std::to_string(png.size()) + " bytes"),
                                  HasSubstr("more than max_file_bytes (10): refused unread")));
}

TEST_F(ImageFolderTest, FoldersWithoutImagesAndOddEntriesAreRefused) {
  EXPECT_THAT(openError(options()), HasSubstr("holds no images"));
  write(".hidden.png", grayPng(1, 1, {0}));
  EXPECT_THAT(openError(options()), HasSubstr("holds no images"));
  EXPECT_THAT(openError(options(ImageLabels::kFolders)), HasSubstr("no class folders"));
  ImageFolderOptions missing = options();
  missing.folder = dir_.path() / "nope";
  EXPECT_THAT(openError(missing, StatusCode::kNotFound), HasSubstr("nope' does not exist"));
  missing.folder = write("file.png", grayPng(1, 1, {0}));
  EXPECT_THAT(openError(missing), HasSubstr("file.png' is not a folder"));

  // labels: folders wants every image in a class folder, and every class folder to hold one.
  EXPECT_THAT(openError(options(ImageLabels::kFolders)),
              HasSubstr("file.png' lies directly in the image folder"));
  fs::remove(dir_.path() / "file.png");
  write("cat/1.png", grayPng(1, 1, {0}));
  fs::create_directories(dir_.path() / "dog");
  EXPECT_THAT(openError(options(ImageLabels::kFolders)),
              HasSubstr("class folder '" + (dir_.path() / "dog").string() + "' holds no images"));
  fs::remove(dir_.path() / "dog");
  ASSERT_TRUE(ImageFolderDataset::open(options(ImageLabels::kFolders)).ok());

  // Links to folders could loop: refused. A broken link is no image.
  fs::create_directory_symlink(dir_.path() / "cat", dir_.path() / "cat" / "again");
  EXPECT_THAT(openError(options()), HasSubstr("again' is a link to a folder"));
  fs::remove(dir_.path() / "cat" / "again");
  fs::create_symlink(dir_.path() / "gone.png", dir_.path() / "cat" / "link.png");
  EXPECT_THAT(openError(options()), HasSubstr("link.png' is a broken link"));
  fs::remove(dir_.path() / "cat" / "link.png");
  fs::create_symlink(dir_.path() / "cat" / "1.png", dir_.path() / "cat" / "link.png");
  auto linked = ImageFolderDataset::open(options());
  ASSERT_TRUE(linked.ok()) << linked.status().toString();
  EXPECT_EQ((*linked)->size(), 2u) << "a link to a file is read as the file";
}

TEST_F(ImageFolderTest, ReadFindsDamagedChangedAndMissingFiles) {
  // Whole chunks with good CRCs around image data that does not inflate: opens, fails to read.
  const std::string good = grayPng(2, 1, {5, 6});
  write("a.png", good);
  write("b.png", good.substr(0, 33) + testing::pngChunk("IDAT", "no zlib stream here") +
                     testing::pngChunk("IEND", ""));
  auto data = ImageFolderDataset::open(options());
  ASSERT_TRUE(data.ok()) << data.status().toString();
  Batch batch;
  ASSERT_TRUE((*data)->read(std::vector<std::uint64_t>{0}, batch).ok());
  Status status = (*data)->read(std::vector<std::uint64_t>{0, 1}, batch);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot decode '" + (dir_.path() / "b.png").string()));

  status = (*data)->read(std::vector<std::uint64_t>{0, 2}, batch);
  EXPECT_EQ(status.code(), StatusCode::kOutOfRange);
  EXPECT_THAT(status.message(), HasSubstr("row 2 is out of range"));

  // The same size, other bytes; another size; gone.
  write("a.png", grayPng(2, 1, {5, 7}));
  ASSERT_EQ(fs::file_size(dir_.path() / "a.png"), good.size());
  status = (*data)->read(std::vector<std::uint64_t>{0}, batch);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("a.png' changed since the dataset was opened"));
  write("a.png", good + "trailing");
  status = (*data)->read(std::vector<std::uint64_t>{0}, batch);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("it was " + std::to_string(good.size()) + " bytes"));
  fs::remove(dir_.path() / "a.png");
  EXPECT_EQ((*data)->read(std::vector<std::uint64_t>{0}, batch).code(), StatusCode::kNotFound);
}

TEST_F(ImageFolderTest, TheFingerprintFollowsNamesBytesAndLayoutNotTheFolder) {
  write("x/a.png", grayPng(2, 1, {5, 6}));
  write("x/b.png", grayPng(2, 1, {7, 8}));
  write("y/a.png", grayPng(2, 1, {5, 6}));
  write("y/b.png", grayPng(2, 1, {7, 8}));
  write("z/a.png", grayPng(2, 1, {5, 6}));
  write("z/c.png", grayPng(2, 1, {7, 8}));
  auto fingerprint = [&](const std::string& folder, std::uint32_t width = 0) {
    ImageFolderOptions o = options();
    o.folder = dir_.path() / folder;
    o.width = width;
    o.height = width == 0 ? 0 : 1;
    auto data = ImageFolderDataset::open(o);
    EXPECT_TRUE(data.ok()) << data.status().toString();
    return data.ok() ? (*data)->fingerprint() : std::string();
  };
  const std::string x = fingerprint("x");
  EXPECT_EQ(x.size(), 16u);
  EXPECT_EQ(fingerprint("y"), x) << "a copy elsewhere";
  EXPECT_NE(fingerprint("z"), x) << "a file renamed";
  EXPECT_NE(fingerprint("x", 4), x) << "another size";
  write("y/b.png", grayPng(2, 1, {7, 9}));
  EXPECT_NE(fingerprint("y"), x) << "a pixel changed";
}

TEST_F(ImageFolderTest, RegisteredFactoryReadsParameters) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "dataset.images");
  EXPECT_EQ(type.kind, NodeKind::kDataset);
  aimass::testing::FactoryHost host(1);
  NodeConfig config("images", type.type, &host);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  write("red/1.png", rgbPng(2, 2, {255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0, 0}));
  write("blue/2.png", rgbPng(1, 1, {0, 0, 255}));
  config.setValue("path", dir_.path().string());
  config.setValue("labels", std::string("folders"));
  config.setValue("width", std::int64_t{1});
  config.setValue("height", std::int64_t{1});
  config.setValue("channels", std::int64_t{3});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& data = static_cast<Dataset&>(**node);
  EXPECT_THAT(data.schema().class_names, ElementsAre("blue", "red"));
  Batch batch;
  ASSERT_TRUE(data.read(std::vector<std::uint64_t>{1}, batch).ok());
  EXPECT_THAT(features(batch), Pointwise(FloatNear(1e-6f), std::vector<float>{1, 0, 0}));
  EXPECT_THAT(labels(batch), ElementsAre(1));

  config.setValue("max_pixels", std::int64_t{3});
  auto refused = type.factory(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("1.png' declares 2 x 2 = 4 pixels"));
}

}  // namespace
}  // namespace aimass::plugins::dataset
