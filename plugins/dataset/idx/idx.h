// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::dataset {

/// How dataset.idx maps stored values to features.
enum class IdxNormalize {
  kNone,         ///< the stored value as FP32
  kScale,        ///< value / 255: unsigned-byte images to [0, 1]
  kStandardize,  ///< (value - mean) / std over every value of the rows read (one mean and std
                 ///< for the whole set, as image pipelines do); a constant set is only centred
};

/// How to read an IDX pair. Mirrors the dataset.idx parameters.
struct IdxOptions {
  std::filesystem::path images;
  /// The labels file; nullopt for unlabelled data.
  std::optional<std::filesystem::path> labels;
  IdxNormalize normalize = IdxNormalize::kScale;
  /// Skip the first `offset` rows: the dataset holds rows [offset, offset + limit) of the file
  /// (to its end when limit is 0). Must be below the file's row count.
  std::uint64_t offset = 0;
  /// Read only `limit` rows (from `offset`); 0 reads every row to the end.
  std::uint64_t limit = 0;
  /// Keep only the rows of [offset, offset + limit) whose label is one of these, in this
  /// order: the classes are then named after them ("5", "7") and a row's label is its class's
  /// position in the list. Needs labels; empty keeps every row and class.
  std::vector<std::int64_t> classes;
  /// Threads a large read() converts its rows on (the host's training threads): a batch of
  /// 128 images takes as long as one of W1's matrix products on one thread.
  int threads = 1;
};

/// Images (or any array) in the IDX format of MNIST and Fashion-MNIST, gzipped or plain, read
/// once into memory, with optional class labels from a second IDX file.
///
/// IDX: two zero bytes, a type byte (0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64),
/// the number of dimensions, each dimension as a big-endian u32, then the values big-endian,
/// row-major. The first dimension counts the rows; the others are flattened into one feature
/// row (28x28 images become rows of 784 features). Files starting with the gzip magic are
/// decompressed on the fly.
///
/// Labels: a one-dimensional IDX file of integers with as many entries as the images file has
/// rows; each is a class index in [0, 255]. The classes are "0", "1", ... up to the largest
/// label of the whole labels file (so `offset` and `limit` keep every class), or with `classes`
/// those classes only, in that order (see IdxOptions::classes).
///
/// Unsigned-byte images are kept as bytes and normalised while read(), so a 60 000-image set
/// takes 47 MB, not 188 MB. Other types are converted to FP32 once.
///
/// Threading: immutable after open(); read() may be called from many threads at once.
class IdxDataset final : public Dataset {
 public:
  /// Reads both files. Every error names the file: kNotFound for a missing file,
  /// kPermissionDenied for an unreadable one, kInvalidArgument for a folder, a bad magic
  /// number or type byte, zero dimensions or rows, a truncated file or trailing bytes after
  /// the rows the header announces, non-finite floats, labels that are not one-dimensional
  /// integers, a label count different from the image count, labels outside [0, 255],
  /// `scale` on data that is not unsigned bytes, an `offset` at or past the last row, and
  /// `classes` without labels, with a class outside [0, 255] or twice, or keeping no row.
  static Expected<std::unique_ptr<IdxDataset>> open(const IdxOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  /// Fills `out` with FP32 features [n, F] (normalised) and INT64 labels [n] (an empty tensor
  /// when unlabelled), reusing out's buffers. kOutOfRange naming the first index >= size();
  /// `out` is untouched then.
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// 64-bit FNV-1a of the decompressed bytes read (images, then labels), 16 hex digits.
  std::string fingerprint() const override { return fingerprint_; }

  /// The affine map applied on read: feature = value * scale + shift.
  float scale() const noexcept { return scale_; }
  float shift() const noexcept { return shift_; }

 private:
  IdxDataset() = default;
  /// Applies options.classes to the `rows` rows read: keeps those of the listed classes
  /// (compacted, in order) with their labels renumbered, and names the classes. Returns how
  /// many rows are kept; kInvalidArgument as open() describes.
  Expected<std::uint64_t> keepClasses(const IdxOptions& options, std::uint64_t rows,
                                      std::size_t width);
  /// Converts `rows` (in range) to floats, scaled, into `features` (rows.size() x width_).
  void convertRows(std::span<const std::uint64_t> rows, float* features) const;

  DatasetSchema schema_;
  std::uint64_t rows_ = 0;
  std::size_t width_ = 0;
  std::vector<std::uint8_t> bytes_;  // unsigned-byte images, rows_ x width_
  std::vector<float> values_;        // other types, rows_ x width_
  std::vector<std::int64_t> labels_;
  float scale_ = 1;
  float shift_ = 0;
  int threads_ = 1;
  std::string fingerprint_;
};

}  // namespace aimass::plugins::dataset
