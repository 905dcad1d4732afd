// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "image_decode.h"

namespace aimass::plugins::dataset {

/// Where dataset.images takes class labels from.
enum class ImageLabels {
  kNone,     ///< unlabelled: every image under the folder, at any depth
  kFolders,  ///< one class per subfolder of the folder, named after it (as ImageFolder does)
};

/// How dataset.images maps pixel values (0 to 255) to features.
enum class ImageNormalize {
  kScale,  ///< value / 255, in [0, 1]
  kNone,   ///< the value itself, in [0, 255]
};

/// How to read a folder of images. Mirrors the dataset.images parameters.
struct ImageFolderOptions {
  std::filesystem::path folder;
  ImageLabels labels = ImageLabels::kNone;
  /// Every image is scaled to width x height; both 0: the size of the first image, which every
  /// image must then have. One 0 and the other not is an error.
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  int channels = 1;  ///< 1: gray; 3: RGB
  ImageNormalize normalize = ImageNormalize::kScale;
  /// An image whose header declares more pixels than this is refused before it is decoded
  /// (the decompression-bomb guard); width x height may not exceed it either.
  std::uint64_t max_pixels = 40'000'000;
  /// A file larger than this is refused before it is read.
  std::uint64_t max_file_bytes = 50ull << 20;
};

/// A folder of PNG and JPEG images as rows of pixels, optionally with one class per subfolder.
///
/// Files are told apart by their content (the PNG and JPEG signatures), not their names: every
/// regular file under the folder must be a PNG or a JPEG, except hidden files and folders
/// (names starting with '.'), which are skipped. Images are listed in byte order of their path
/// relative to the folder; classes in byte order of their folder's name. With ImageLabels::
/// kFolders every image must sit in a class folder (at any depth below it), and every class
/// folder must hold an image.
///
/// open() reads every file once, checks it without decoding its pixels (checkImage(): type,
/// file size, declared pixel count, whole structure) and hashes it; read() decodes the rows
/// asked for, so a folder of thousands of images costs memory for its list only.
///
/// A row: width * height * channels FP32 features, row-major with a pixel's channels together
/// (R, G, B, R, G, B, ...), scaled by area averaging (resizeArea()) and normalized.
///
/// Threading: immutable after open(); read() may be called from many threads at once (every
/// decode uses buffers of its own call).
class ImageFolderDataset final : public Dataset {
 public:
  /// Lists and checks the folder. kNotFound when it does not exist; kPermissionDenied when a
  /// file or folder cannot be read; kInvalidArgument, naming the file, for a path that is not
  /// a folder, no images, a file that is empty, larger than max_file_bytes, neither PNG nor
  /// JPEG, or refused by checkImage(), an entry that is neither a file nor a folder (a link to
  /// a folder, a socket), sizes that differ with width and height 0, only one of them 0, more
  /// than max_pixels of width x height, channels other than 1 or 3, and with kFolders a file
  /// outside the class folders, or an empty class folder.
  static Expected<std::unique_ptr<ImageFolderDataset>> open(const ImageFolderOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return images_.size(); }
  /// Decodes the images of `rows` into FP32 features [n, width * height * channels] and, with
  /// class folders, INT64 labels [n] (else an empty tensor), reusing out's buffers.
  /// kOutOfRange naming the first index >= size(), with `out` untouched; kFailedPrecondition
  /// when a file changed since open() (its bytes no longer match what was hashed);
  /// kInvalidArgument naming the file when its pixel data is damaged; kNotFound or
  /// kPermissionDenied when it is gone or unreadable.
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a, 16 hex digits, over every image's path relative to the folder, class and
  /// bytes, and the options that shape the rows (labels, width, height, channels, normalize).
  /// A copy of the folder elsewhere has the same fingerprint.
  std::string fingerprint() const override { return fingerprint_; }

  /// The size every image is scaled to.
  std::uint32_t width() const noexcept { return width_; }
  std::uint32_t height() const noexcept { return height_; }
  /// The path of row `row`'s image (row < size()).
  const std::filesystem::path& imagePath(std::uint64_t row) const { return images_[row].path; }

 private:
  /// One image file, as open() found it.
  struct Image {
    std::filesystem::path path;
    std::int64_t label = 0;
    ImageHeader header;
    std::uint64_t bytes = 0;  // the file's size
    std::uint64_t hash = 0;   // FNV-1a of its bytes
  };

  ImageFolderDataset() = default;
  /// Reads, checks and hashes every listed image; sets the row size.
  Status checkImages(const ImageFolderOptions& options);
  /// Decodes one image into `features` (width_ * height_ * channels_ floats).
  Status readRow(const Image& image, std::vector<std::uint8_t>& bytes,
                 std::vector<std::uint8_t>& scratch, std::vector<std::uint8_t>& pixels,
                 std::vector<float>& resized, float* features) const;

  DatasetSchema schema_;
  std::vector<Image> images_;
  std::uint32_t width_ = 0;
  std::uint32_t height_ = 0;
  int channels_ = 1;
  float scale_ = 1;
  std::uint64_t max_file_bytes_ = 0;
  std::string fingerprint_;
};

}  // namespace aimass::plugins::dataset
