// SPDX-License-Identifier: Apache-2.0
#include "images.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "aimass/util/fnv1a.h"
#include "image_resize.h"

namespace aimass::plugins::dataset {

namespace {

namespace fs = std::filesystem;

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

/// A text into a fingerprint, with its NUL: "ab" then "c" is not "a" then "bc".
void addText(Fnv1a& hash, const std::string& text) { hash.add(text.data(), text.size() + 1); }
void addNumber(Fnv1a& hash, std::uint64_t value) { hash.add(&value, sizeof value); }

std::uint64_t hashBytes(const std::vector<std::uint8_t>& bytes) {
  Fnv1a hash;
  hash.add(bytes.data(), bytes.size());
  return hash.value();
}

Status systemError(int err, const std::string& message) {
  std::string text = message + ": " + std::system_category().message(err);
  if (err == ENOENT) {
    return notFound(std::move(text));
  }
  return err == EACCES || err == EPERM ? permissionDenied(std::move(text))
                                       : invalidArgument(std::move(text));
}

/// Reads a whole file into `out`. A file larger than `max_bytes` is refused before it is read;
/// with `expected` (the size open() saw) non-zero, a file of another size has changed.
Status readFile(const fs::path& path, std::uint64_t max_bytes, std::uint64_t expected,
                std::vector<std::uint8_t>& out) {
  struct Descriptor {
    int fd;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    return systemError(errno, "cannot open image " + quote(path));
  }
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) {
    return systemError(errno, "cannot read image " + quote(path));
  }
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (expected != 0 && size != expected) {
    return failedPrecondition(quote(path) + " changed since the dataset was opened: it was " +
                              std::to_string(expected) + " bytes, now " + std::to_string(size));
  }
  if (size > max_bytes) {
    return invalidArgument(quote(path) + " is " + std::to_string(size) +
                           " bytes, more than max_file_bytes (" + std::to_string(max_bytes) +
                           "): refused unread");
  }
  out.resize(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t got = ::read(file.fd, out.data() + done, out.size() - done);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return systemError(errno, "cannot read image " + quote(path));
    }
    if (got == 0) {
      return failedPrecondition(quote(path) + " ended after " + std::to_string(done) + " of its " +
                                std::to_string(size) + " bytes while being read");
    }
    done += static_cast<std::size_t>(got);
  }
  return Status();
}

bool hidden(const fs::path& p) { return p.filename().string().starts_with('.'); }

/// Appends every regular file under `folder` (at any depth; hidden files and folders skipped)
/// to `out`, sorted by path. Links to files count as files; links to folders are refused (they
/// could loop), as are sockets, pipes, devices and broken links.
Status listImages(const fs::path& folder, std::vector<fs::path>& out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, ec), end;
  if (ec) {
    return systemError(ec.value(), "cannot list the folder " + quote(folder));
  }
  std::vector<fs::path> found;
  while (it != end) {
    const fs::path& path = it->path();
    std::error_code link_ec, status_ec;
    const bool link = it->is_symlink(link_ec);
    const fs::file_status status = it->status(status_ec);
    if (hidden(path)) {
      it.disable_recursion_pending();
    } else if (fs::is_directory(status) && link) {
      return invalidArgument(quote(path) + " is a link to a folder: links to folders are not " +
                             "followed; link the files, or move the folder in");
    } else if (fs::is_regular_file(status)) {
      found.push_back(path);
    } else if (!fs::is_directory(status)) {
      return invalidArgument(quote(path) +
                             (fs::exists(status) ? " is not a regular file" : " is a broken link") +
                             ": every entry of an image folder must be an image or a folder");
    }
    it.increment(ec);
    if (ec) {
      return systemError(ec.value(), "cannot list the folder " + quote(folder));
    }
  }
  std::sort(found.begin(), found.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  out.insert(out.end(), found.begin(), found.end());
  return Status();
}

/// The class folders of `folder` (its subfolders, sorted by name); refuses files beside them.
Expected<std::vector<fs::path>> classFolders(const fs::path& folder) {
  std::vector<fs::path> classes;
  std::error_code ec;
  fs::directory_iterator it(folder, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (hidden(it->path())) {
      continue;
    }
    const bool link = it->is_symlink(ec);
    if (it->is_directory(ec) && !link) {
      classes.push_back(it->path());
    } else if (it->is_directory(ec)) {
      return invalidArgument(quote(it->path()) + " is a link to a folder: links to folders are " +
                             "not followed; move the class folder in");
    } else {
      return invalidArgument(quote(it->path()) + " lies directly in the image folder: with " +
                             "labels: folders every image must be in a class folder (a " +
                             "subfolder named after its class)");
    }
  }
  if (ec) {
    return systemError(ec.value(), "cannot list the folder " + quote(folder));
  }
  std::sort(classes.begin(), classes.end(),
            [](const fs::path& a, const fs::path& b) { return a.native() < b.native(); });
  return classes;
}

std::string layoutText(const ImageFolderOptions& o) {
  return std::string(o.labels == ImageLabels::kFolders ? "folders;" : "none;") +
         std::to_string(o.width) + "x" + std::to_string(o.height) + "x" +
         std::to_string(o.channels) + (o.normalize == ImageNormalize::kScale ? ";scale" : ";none");
}

Status checkOptions(const ImageFolderOptions& o) {
  if (o.channels != 1 && o.channels != 3) {
    return invalidArgument("channels is " + std::to_string(o.channels) +
                           ": images are read as 1 (gray) or 3 (RGB) channels");
  }
  if ((o.width == 0) != (o.height == 0)) {
    return invalidArgument("width and height are both 0 (every image keeps its size) or both " +
                           std::string("set; here width is ") + std::to_string(o.width) +
                           " and height " + std::to_string(o.height));
  }
  if (std::uint64_t{o.width} * o.height > o.max_pixels) {
    return invalidArgument("width x height (" + std::to_string(o.width) + " x " +
                           std::to_string(o.height) + ") is more than max_pixels (" +
                           std::to_string(o.max_pixels) + ")");
  }
  return Status();
}

}  // namespace

Expected<std::unique_ptr<ImageFolderDataset>> ImageFolderDataset::open(
    const ImageFolderOptions& options) {
  AIMASS_RETURN_IF_ERROR(checkOptions(options));
  std::unique_ptr<ImageFolderDataset> data(new ImageFolderDataset());
  Status status = guard("reading the image folder " + quote(options.folder), [&]() -> Status {
    std::error_code ec;
    const fs::file_status folder = fs::status(options.folder, ec);
    if (!fs::exists(folder)) {
      return ec && ec != std::errc::no_such_file_or_directory
                 ? systemError(ec.value(), "cannot reach the image folder " + quote(options.folder))
                 : notFound("the image folder " + quote(options.folder) + " does not exist");
    }
    if (!fs::is_directory(folder)) {
      return invalidArgument(quote(options.folder) + " is not a folder: dataset.images reads " +
                             "a folder of PNG and JPEG images");
    }
    std::vector<fs::path> paths;
    if (options.labels == ImageLabels::kFolders) {
      AIMASS_ASSIGN_OR_RETURN(std::vector<fs::path> classes, classFolders(options.folder));
      for (const fs::path& class_folder : classes) {
        const std::size_t before = paths.size();
        AIMASS_RETURN_IF_ERROR(listImages(class_folder, paths));
        if (paths.size() == before) {
          return invalidArgument("the class folder " + quote(class_folder) +
                                 " holds no images: remove it, or add its images");
        }
        const auto label = static_cast<std::int64_t>(data->schema_.class_names.size());
        for (std::size_t i = before; i < paths.size(); ++i) {
          data->images_.push_back({paths[i], label, {}, 0, 0});
        }
        data->schema_.class_names.push_back(class_folder.filename().string());
      }
      data->schema_.label_kind = LabelKind::kClass;
      data->schema_.num_targets = 1;
    } else {
      AIMASS_RETURN_IF_ERROR(listImages(options.folder, paths));
      for (const fs::path& path : paths) {
        data->images_.push_back({path, 0, {}, 0, 0});
      }
    }
    if (data->images_.empty()) {
      return invalidArgument(
          "the image folder " + quote(options.folder) + " holds no images" +
          (options.labels == ImageLabels::kFolders ? " (no class folders)" : ""));
    }
    return data->checkImages(options);
  });
  if (!status.ok()) {
    return status;
  }
  return data;
}

Status ImageFolderDataset::checkImages(const ImageFolderOptions& options) {
  Fnv1a fingerprint;
  std::vector<std::uint8_t> bytes;
  for (Image& image : images_) {
    AIMASS_RETURN_IF_ERROR(readFile(image.path, options.max_file_bytes, 0, bytes));
    AIMASS_ASSIGN_OR_RETURN(image.header,
                            checkImage(bytes, image.path.string(), options.max_pixels));
    image.bytes = bytes.size();
    image.hash = hashBytes(bytes);
    addText(fingerprint, image.path.lexically_relative(options.folder).generic_string());
    addNumber(fingerprint, static_cast<std::uint64_t>(image.label));
    addNumber(fingerprint, image.bytes);
    addNumber(fingerprint, image.hash);
  }
  addText(fingerprint, layoutText(options));
  fingerprint_ = fingerprint.hex();

  const Image& first = images_.front();
  width_ = options.width != 0 ? options.width : first.header.width;
  height_ = options.height != 0 ? options.height : first.header.height;
  if (options.width == 0) {
    for (const Image& image : images_) {
      if (image.header.width != width_ || image.header.height != height_) {
        return invalidArgument(
            quote(image.path) + " is " + std::to_string(image.header.width) + " x " +
            std::to_string(image.header.height) + " pixels but " + quote(first.path) +
            ", the first image, is " + std::to_string(width_) + " x " + std::to_string(height_) +
            ": with width and height 0 every image must have the first one's size; set width " +
            "and height to scale them all to one size");
      }
    }
  }
  const std::uint64_t features = std::uint64_t{width_} * height_ * options.channels;
  if (features >= (std::uint64_t{1} << 31)) {
    return invalidArgument("rows of " + std::to_string(features) +
                           " features (width x height x channels) are too large");
  }
  channels_ = options.channels;
  scale_ = options.normalize == ImageNormalize::kScale ? 1.0f / 255.0f : 1.0f;
  max_file_bytes_ = options.max_file_bytes;
  schema_.feature_dtype = DType::kFloat32;
  schema_.row_shape = {static_cast<std::int64_t>(features)};
  return Status();
}

Status ImageFolderDataset::readRow(const Image& image, std::vector<std::uint8_t>& bytes,
                                   std::vector<std::uint8_t>& scratch,
                                   std::vector<std::uint8_t>& pixels, std::vector<float>& resized,
                                   float* features) const {
  AIMASS_RETURN_IF_ERROR(readFile(image.path, max_file_bytes_, image.bytes, bytes));
  if (hashBytes(bytes) != image.hash) {
    return failedPrecondition(quote(image.path) +
                              " changed since the dataset was opened: its bytes differ from "
                              "those checked and fingerprinted then");
  }
  AIMASS_RETURN_IF_ERROR(
      decodeImage(bytes, image.header, channels_, image.path.string(), scratch, pixels));
  resizeArea(pixels.data(), image.header.width, image.header.height, channels_, width_, height_,
             scale_, features, resized);
  return Status();
}

Status ImageFolderDataset::read(std::span<const std::uint64_t> rows, Batch& out) const {
  for (std::uint64_t row : rows) {
    if (row >= images_.size()) {
      return outOfRange("row " + std::to_string(row) + " is out of range: the dataset has " +
                        std::to_string(images_.size()) + " images");
    }
  }
  return guard("dataset.images read", [&]() -> Status {
    const auto n = static_cast<std::int64_t>(rows.size());
    const std::size_t width =
        schema_.row_shape.empty() ? 0 : static_cast<std::size_t>(schema_.row_shape[0]);
    out.features.resize(DType::kFloat32, {n, static_cast<std::int64_t>(width)});
    float* features = out.features.data<float>();
    std::vector<std::uint8_t> bytes, scratch, pixels;
    std::vector<float> resized;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      AIMASS_RETURN_IF_ERROR(
          readRow(images_[rows[i]], bytes, scratch, pixels, resized, features + i * width));
    }
    if (schema_.label_kind == LabelKind::kClass) {
      out.labels.resize(DType::kInt64, {n});
      std::int64_t* labels = out.labels.data<std::int64_t>();
      for (std::size_t i = 0; i < rows.size(); ++i) {
        labels[i] = images_[rows[i]].label;
      }
    } else if (out.labels.raw() != nullptr || out.labels.dtype() == DType::kBytes) {
      out.labels = Tensor();
    }
    if (out.lengths.raw() != nullptr || out.lengths.dtype() == DType::kBytes) {
      out.lengths = Tensor();
    }
    return Status();
  });
}

}  // namespace aimass::plugins::dataset
