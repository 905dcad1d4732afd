// SPDX-License-Identifier: Apache-2.0
#include "idx.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include "aimass/util/fnv1a.h"

namespace aimass::plugins::dataset {

namespace {

/// Asks the CPU to start loading every cache line of [start, start + bytes). Always inlined:
/// GCC 12 finds an out-of-line call to it free of side effects and deletes the call.
[[gnu::always_inline]] inline void prefetchBytes(const char* start, std::size_t bytes) {
  constexpr std::size_t kLine = 64;
  for (std::size_t offset = 0; offset < bytes; offset += kLine) {
    __builtin_prefetch(start + offset);
  }
  if (bytes > 0) {
    __builtin_prefetch(start + bytes - 1);  // the last line, when the run is unaligned
  }
}

/// Values (rows x width) from which read() splits its conversion over threads: W1's batch of 128
/// images (100,352 values) gains on 2 threads; a served request's few rows would not.
constexpr std::size_t kParallelReadMinimum = 1 << 15;

std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

/// Element types of the IDX format, by type byte.
struct IdxType {
  std::uint8_t code;
  const char* name;
  std::size_t size;
  bool integer;
};

constexpr IdxType kIdxTypes[] = {
    {0x08, "unsigned byte", 1, true}, {0x09, "signed byte", 1, true}, {0x0B, "short", 2, true},
    {0x0C, "int", 4, true},           {0x0D, "float", 4, false},      {0x0E, "double", 8, false},
};

const IdxType* idxType(std::uint8_t code) {
  for (const auto& t : kIdxTypes) {
    if (t.code == code) {
      return &t;
    }
  }
  return nullptr;
}

/// An IDX file opened through zlib, which reads gzip and plain files alike.
class IdxFile {
 public:
  ~IdxFile() {
    if (file_ != nullptr) {
      gzclose(file_);
    }
  }

  Status open(const std::filesystem::path& path, std::string_view role) {
    path_ = path;
    role_ = std::string(role);
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
      int err = errno;
      std::string message = "cannot open " + role_ + " file " + quote(path) + ": " +
                            std::system_category().message(err);
      if (err == ENOENT) {
        return notFound(std::move(message));
      }
      return err == EACCES ? permissionDenied(std::move(message))
                           : invalidArgument(std::move(message));
    }
    if (S_ISDIR(info.st_mode)) {
      return invalidArgument(role_ + " path " + quote(path) + " is a folder, not a file");
    }
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      std::string message = "cannot open " + role_ + " file " + quote(path) + ": " +
                            std::system_category().message(err);
      return err == EACCES || err == EPERM ? permissionDenied(std::move(message))
                                           : invalidArgument(std::move(message));
    }
    file_ = gzdopen(fd, "rb");
    if (file_ == nullptr) {
      ::close(fd);
      return invalidArgument("cannot open " + role_ + " file " + quote(path) + " with zlib");
    }
    gzbuffer(file_, 1 << 17);
    return Status();
  }

  /// Reads exactly n bytes, or says the file is truncated, naming what was being read
  /// (`what()` is called only then).
  template <typename Describe>
  Status readExact(void* out, std::size_t n, Describe what) {
    auto* p = static_cast<std::uint8_t*>(out);
    std::size_t done = 0;
    while (done < n) {
      unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
      int got = gzread(file_, p + done, chunk);
      if (got <= 0) {
        int code = Z_OK;
        const char* message = gzerror(file_, &code);
        std::string detail = got < 0 || (code != Z_OK && code != Z_BUF_ERROR)
                                 ? std::string(": ") + message
                                 : std::string();
        return invalidArgument(role_ + " file " + quote(path_) + " is truncated: it ends after " +
                               std::to_string(offset_ + done) + " bytes, inside " + what() +
                               detail);
      }
      done += static_cast<std::size_t>(got);
    }
    offset_ += n;
    return Status();
  }

  /// Appends exactly n bytes to `out`, growing it a megabyte at a time, so that a header
  /// announcing more data than the file holds costs no more memory than the file's content.
  template <typename Describe>
  Status append(std::vector<std::uint8_t>& out, std::uint64_t n, Describe what) {
    constexpr std::uint64_t kChunk = 1 << 20;
    while (n > 0) {
      const std::size_t chunk = static_cast<std::size_t>(std::min(n, kChunk));
      const std::size_t old = out.size();
      out.resize(old + chunk);
      AIMASS_RETURN_IF_ERROR(readExact(out.data() + old, chunk, what));
      n -= chunk;
    }
    return Status();
  }

  /// True when the file holds nothing more.
  bool atEnd() {
    std::uint8_t byte = 0;
    return gzread(file_, &byte, 1) <= 0;
  }

  std::uint64_t offset() const { return offset_; }

  /// "images file 'x.gz'" for error messages.
  std::string name() const { return role_ + " file " + quote(path_); }

 private:
  gzFile file_ = nullptr;
  std::filesystem::path path_;
  std::string role_;
  std::uint64_t offset_ = 0;
};

struct IdxHeader {
  const IdxType* type = nullptr;
  std::vector<std::uint64_t> dims;
};

Status readHeader(IdxFile& file, IdxHeader& header, Fnv1a& hash) {
  std::uint8_t magic[4];
  AIMASS_RETURN_IF_ERROR(file.readExact(magic, 4, [] { return std::string("the magic number"); }));
  hash.add(magic, 4);
  if (magic[0] != 0 || magic[1] != 0) {
    char text[16];
    std::snprintf(text, sizeof text, "%02x %02x %02x %02x", magic[0], magic[1], magic[2], magic[3]);
    std::string hint = magic[0] == 0x1f && magic[1] == 0x8b
                           ? " (it looks gzipped but does not decompress)"
                           : " (an IDX file starts with 00 00, a type byte and a rank)";
    return invalidArgument(file.name() + " has a bad magic number " + text + hint);
  }
  header.type = idxType(magic[2]);
  if (header.type == nullptr) {
    char text[8];
    std::snprintf(text, sizeof text, "0x%02x", magic[2]);
    return invalidArgument(file.name() + " has an unknown type byte " + text +
                           " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  }
  if (magic[3] == 0) {
    return invalidArgument(file.name() + " has 0 dimensions; the first dimension counts rows");
  }
  header.dims.resize(magic[3]);
  for (std::size_t d = 0; d < header.dims.size(); ++d) {
    std::uint8_t be[4];
    AIMASS_RETURN_IF_ERROR(
        file.readExact(be, 4, [d] { return "dimension " + std::to_string(d + 1); }));
    hash.add(be, 4);
    header.dims[d] = (std::uint64_t{be[0]} << 24) | (std::uint64_t{be[1]} << 16) |
                     (std::uint64_t{be[2]} << 8) | std::uint64_t{be[3]};
    if (header.dims[d] == 0) {
      return invalidArgument(file.name() + " has size 0 in dimension " + std::to_string(d + 1) +
                             (d == 0 ? ": there are no rows" : ""));
    }
  }
  return Status();
}

/// Big-endian element `i` of `raw` as a double.
double elementAt(const std::uint8_t* raw, const IdxType& type) {
  switch (type.code) {
    case 0x08:
      return raw[0];
    case 0x09:
      return static_cast<std::int8_t>(raw[0]);
    case 0x0B:
      return static_cast<std::int16_t>((raw[0] << 8) | raw[1]);
    case 0x0C:
      return static_cast<std::int32_t>((std::uint32_t{raw[0]} << 24) |
                                       (std::uint32_t{raw[1]} << 16) |
                                       (std::uint32_t{raw[2]} << 8) | std::uint32_t{raw[3]});
    case 0x0D: {
      std::uint32_t bits = (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) |
                           (std::uint32_t{raw[2]} << 8) | std::uint32_t{raw[3]};
      return std::bit_cast<float>(bits);
    }
    default: {
      std::uint64_t bits = 0;
      for (int b = 0; b < 8; ++b) {
        bits = (bits << 8) | raw[b];
      }
      return std::bit_cast<double>(bits);
    }
  }
}

}  // namespace

Expected<std::unique_ptr<IdxDataset>> IdxDataset::open(const IdxOptions& options) {
  std::unique_ptr<IdxDataset> data(new IdxDataset());
  Fnv1a hash;
  Status status = guard("reading " + quote(options.images), [&]() -> Status {
    IdxFile images;
    AIMASS_RETURN_IF_ERROR(images.open(options.images, "images"));
    IdxHeader header;
    AIMASS_RETURN_IF_ERROR(readHeader(images, header, hash));
    const std::uint64_t count = header.dims[0];
    std::uint64_t width = 1;
    for (std::size_t d = 1; d < header.dims.size(); ++d) {
      width *= header.dims[d];
      if (width > (std::uint64_t{1} << 31)) {
        return invalidArgument(images.name() + " has rows of more than 2^31 values");
      }
    }
    if (options.offset >= count) {
      return invalidArgument("offset " + std::to_string(options.offset) + " leaves no rows: " +
                             images.name() + " has " + std::to_string(count) +
                             " rows (offset counts the rows skipped, from 0)");
    }
    const std::uint64_t available = count - options.offset;
    const std::uint64_t rows =
        options.limit > 0 ? std::min(options.limit, available) : available;
    const std::size_t row_bytes = static_cast<std::size_t>(width) * header.type->size;
    if (options.normalize == IdxNormalize::kScale && header.type->code != 0x08) {
      return invalidArgument(
          "normalize: scale divides by 255 and applies to unsigned-byte "
          "images, but " +
          images.name() + " holds " + header.type->name + " values; use none or standardize");
    }

    // Buffers grow with the data actually read, never to what a header merely announces.
    std::vector<std::uint8_t> raw;
    // The rows before `offset` are read through (zlib streams cannot seek) and dropped; they
    // are neither kept nor part of the fingerprint.
    for (std::uint64_t r = 0; r < options.offset; ++r) {
      raw.clear();
      AIMASS_RETURN_IF_ERROR(images.append(raw, row_bytes, [&] {
        return "row " + std::to_string(r + 1) + " of " + std::to_string(count) +
               " (skipped by offset; the header announces " + std::to_string(count) +
               " rows of " + std::to_string(row_bytes) + " bytes)";
      }));
    }
    for (std::uint64_t r = 0; r < rows; ++r) {
      auto what = [&] {
        return "row " + std::to_string(options.offset + r + 1) + " of " + std::to_string(count) +
               " (the header announces " + std::to_string(count) + " rows of " +
               std::to_string(row_bytes) + " bytes)";
      };
      if (header.type->code == 0x08) {
        const std::size_t before = data->bytes_.size();
        AIMASS_RETURN_IF_ERROR(images.append(data->bytes_, row_bytes, what));
        hash.add(data->bytes_.data() + before, row_bytes);
        continue;
      }
      raw.clear();
      AIMASS_RETURN_IF_ERROR(images.append(raw, row_bytes, what));
      hash.add(raw.data(), row_bytes);
      data->values_.resize(static_cast<std::size_t>((r + 1) * width));
      float* row = data->values_.data() + r * width;
      for (std::uint64_t i = 0; i < width; ++i) {
        double v = elementAt(raw.data() + i * header.type->size, *header.type);
        if (!std::isfinite(v) || std::fabs(v) > std::numeric_limits<float>::max()) {
          return invalidArgument(images.name() + ": row " + std::to_string(options.offset + r + 1) +
                                 " value " +
                                 std::to_string(i + 1) + " is not a finite 32-bit float");
        }
        row[i] = static_cast<float>(v);
      }
    }
    if (options.offset + rows == count && !images.atEnd()) {
      return invalidArgument(images.name() + " has bytes after the " + std::to_string(count) +
                             " rows its header announces: the dimensions do not match the size");
    }

    if (options.labels) {
      IdxFile labels;
      AIMASS_RETURN_IF_ERROR(labels.open(*options.labels, "labels"));
      IdxHeader label_header;
      AIMASS_RETURN_IF_ERROR(readHeader(labels, label_header, hash));
      if (label_header.dims.size() != 1) {
        return invalidArgument(labels.name() + " has " + std::to_string(label_header.dims.size()) +
                               " dimensions; labels need exactly 1 (one per row)");
      }
      if (!label_header.type->integer) {
        return invalidArgument(labels.name() + " holds " + label_header.type->name +
                               " values; class labels must be integers");
      }
      if (label_header.dims[0] != count) {
        return invalidArgument(labels.name() + " has " + std::to_string(label_header.dims[0]) +
                               " labels but " + images.name() + " has " + std::to_string(count) +
                               " rows");
      }
      const std::size_t size = label_header.type->size;
      std::vector<std::uint8_t> all;
      AIMASS_RETURN_IF_ERROR(labels.append(all, count * size, [&] {
        return "the labels (the header announces " + std::to_string(count) + " labels)";
      }));
      hash.add(all.data(), all.size());
      if (!labels.atEnd()) {
        return invalidArgument(labels.name() + " has bytes after the " + std::to_string(count) +
                               " labels its header announces");
      }
      std::int64_t largest = 0;
      data->labels_.resize(static_cast<std::size_t>(rows));
      for (std::uint64_t r = 0; r < count; ++r) {
        auto label =
            static_cast<std::int64_t>(elementAt(all.data() + r * size, *label_header.type));
        if (label < 0 || label > 255) {
          return invalidArgument(labels.name() + ": label " + std::to_string(r + 1) + " is " +
                                 std::to_string(label) + "; class labels must lie in [0, 255]");
        }
        largest = std::max(largest, label);
        if (r >= options.offset && r - options.offset < rows) {
          data->labels_[static_cast<std::size_t>(r - options.offset)] = label;
        }
      }
      if (options.classes.empty()) {
        for (std::int64_t c = 0; c <= largest; ++c) {
          data->schema_.class_names.push_back(std::to_string(c));
        }
      }
      data->schema_.label_kind = LabelKind::kClass;
      data->schema_.num_targets = 1;
    }
    std::uint64_t kept = rows;
    if (!options.classes.empty()) {
      AIMASS_ASSIGN_OR_RETURN(
          kept, data->keepClasses(options, rows, static_cast<std::size_t>(width)));
      // The filter is part of what the rows are.
      for (std::int64_t c : options.classes) {
        hash.add(reinterpret_cast<const std::uint8_t*>(&c), sizeof c);
      }
    }

    data->rows_ = kept;
    data->width_ = static_cast<std::size_t>(width);
    data->schema_.feature_dtype = DType::kFloat32;
    data->schema_.row_shape = {static_cast<std::int64_t>(width)};
    switch (options.normalize) {
      case IdxNormalize::kNone:
        break;
      case IdxNormalize::kScale:
        data->scale_ = 1.0f / 255.0f;
        break;
      case IdxNormalize::kStandardize: {
        // Two passes in double: the mean first, then the spread around it.
        auto each = [&](auto&& fn) {
          if (!data->bytes_.empty()) {
            for (auto v : data->bytes_) fn(static_cast<double>(v));
          } else {
            for (auto v : data->values_) fn(static_cast<double>(v));
          }
        };
        const double n = static_cast<double>(kept) * static_cast<double>(width);
        double sum = 0;
        each([&](double v) { sum += v; });
        const double mean = sum / n;
        double squares = 0;
        each([&](double v) { squares += (v - mean) * (v - mean); });
        const double stddev = std::sqrt(squares / n);
        const double scale = stddev > 0 ? 1.0 / stddev : 1.0;
        data->scale_ = static_cast<float>(scale);
        data->shift_ = static_cast<float>(-mean * scale);
        break;
      }
    }
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  data->fingerprint_ = hash.hex();
  data->threads_ = std::max(1, options.threads);
  return data;
}

Expected<std::uint64_t> IdxDataset::keepClasses(const IdxOptions& options, std::uint64_t rows,
                                                std::size_t width) {
  const std::string file = quote(options.images);
  if (!options.labels) {
    return invalidArgument("classes selects rows by their label, but " + file +
                           " has no labels: set `labels`");
  }
  std::vector<std::int64_t> position(256, -1);
  for (std::size_t i = 0; i < options.classes.size(); ++i) {
    const std::int64_t c = options.classes[i];
    if (c < 0 || c > 255) {
      return invalidArgument("classes: " + std::to_string(c) +
                             " is not a class label (they lie in [0, 255])");
    }
    if (position[static_cast<std::size_t>(c)] >= 0) {
      return invalidArgument("classes: " + std::to_string(c) + " is listed twice");
    }
    position[static_cast<std::size_t>(c)] = static_cast<std::int64_t>(i);
    schema_.class_names.push_back(std::to_string(c));
  }
  // Compact the kept rows to the front, in order, and renumber their labels.
  const bool as_bytes = !bytes_.empty();
  std::uint64_t kept = 0;
  for (std::uint64_t r = 0; r < rows; ++r) {
    const std::int64_t label = position[static_cast<std::size_t>(labels_[r])];
    if (label < 0) {
      continue;
    }
    if (kept != r) {
      if (as_bytes) {
        std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(r * width), width,
                    bytes_.begin() + static_cast<std::ptrdiff_t>(kept * width));
      } else {
        std::copy_n(values_.begin() + static_cast<std::ptrdiff_t>(r * width), width,
                    values_.begin() + static_cast<std::ptrdiff_t>(kept * width));
      }
    }
    labels_[kept++] = label;
  }
  if (kept == 0) {
    return invalidArgument("classes: no row of " + file + " in rows [" +
                           std::to_string(options.offset) + ", " +
                           std::to_string(options.offset + rows) +
                           ") has one of the classes listed");
  }
  labels_.resize(kept);
  if (as_bytes) {
    bytes_.resize(kept * width);
  } else {
    values_.resize(kept * width);
  }
  bytes_.shrink_to_fit();
  values_.shrink_to_fit();
  return kept;
}

void IdxDataset::convertRows(std::span<const std::uint64_t> rows, float* features) const {
  const float scale = scale_, shift = shift_;
  // Shuffled rows are scattered over a set larger than the caches, and the hardware
  // prefetcher only starts after a row's first misses, so a batch read would wait on memory
  // once per cache line. Asking for the lines of the row kRowsAhead further on while this one
  // converts keeps those loads in flight together.
  constexpr std::size_t kRowsAhead = 4;
  const std::size_t row_bytes = width_ * (bytes_.empty() ? sizeof(float) : 1);
  const char* base = bytes_.empty() ? reinterpret_cast<const char*>(values_.data())
                                    : reinterpret_cast<const char*>(bytes_.data());
  for (std::size_t i = 0; i < std::min(kRowsAhead, rows.size()); ++i) {
    prefetchBytes(base + rows[i] * row_bytes, row_bytes);
  }
  // __restrict: the output never overlaps the loaded data, so the loops vectorise without
  // run-time overlap checks.
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i + kRowsAhead < rows.size()) {
      prefetchBytes(base + rows[i + kRowsAhead] * row_bytes, row_bytes);
    }
    float* __restrict dst = features + i * width_;
    if (!bytes_.empty()) {
      const std::uint8_t* __restrict src = bytes_.data() + rows[i] * width_;
      for (std::size_t j = 0; j < width_; ++j) {
        dst[j] = static_cast<float>(src[j]) * scale + shift;
      }
    } else {
      const float* __restrict src = values_.data() + rows[i] * width_;
      for (std::size_t j = 0; j < width_; ++j) {
        dst[j] = src[j] * scale + shift;
      }
    }
  }
}

Status IdxDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= rows_) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(rows_) + " rows");
    }
  }
  return guard("dataset.idx read", [&] {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, static_cast<std::int64_t>(width_)});
    float* features = out.features.data<float>();
    // A batch of W1's size (128 rows of 784 pixels) takes as long to convert as a large
    // matrix product: split over the training's threads, which otherwise wait for it.
    const int threads = static_cast<int>(std::min<std::size_t>(
        rows.size() * width_ >= kParallelReadMinimum ? static_cast<std::size_t>(threads_) : 1,
        rows.size()));
    if (threads <= 1) {
      convertRows(rows, features);
    } else {
      const std::size_t per_thread = (rows.size() + threads - 1) / threads;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
      for (int t = 0; t < threads; ++t) {
        const std::size_t begin = std::min(rows.size(), t * per_thread);
        const std::size_t end = std::min(rows.size(), begin + per_thread);
        convertRows(rows.subspan(begin, end - begin), features + begin * width_);
      }
    }
    if (schema_.label_kind == LabelKind::kClass) {
      out.labels.resize(DType::kInt64, {n});
      std::int64_t* labels = out.labels.data<std::int64_t>();
      for (std::size_t i = 0; i < rows.size(); ++i) {
        labels[i] = labels_[rows[i]];
      }
    } else if (out.labels.raw() != nullptr || out.labels.dtype() == DType::kBytes) {
      out.labels = Tensor();
    }
    if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
      out.lengths = Tensor();
    }
  });
}

}  // namespace aimass::plugins::dataset
