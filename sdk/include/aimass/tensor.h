// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aimass {

/// Element types. The names match the Open Inference Protocol v2 ("FP32", "INT64", ...), so a
/// tensor's datatype travels over HTTP unchanged.
enum class DType : std::uint8_t {
  kBool,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
  kBytes,  ///< Variable-length byte strings; stored out of line (see Tensor::strings()).
};

/// Bytes per element; 0 for kBytes (variable length).
constexpr std::size_t dtypeSize(DType t) noexcept {
  switch (t) {
    case DType::kBool:
    case DType::kUInt8:
    case DType::kInt8:
      return 1;
    case DType::kUInt16:
    case DType::kInt16:
    case DType::kFloat16:
    case DType::kBFloat16:
      return 2;
    case DType::kUInt32:
    case DType::kInt32:
    case DType::kFloat32:
      return 4;
    case DType::kUInt64:
    case DType::kInt64:
    case DType::kFloat64:
      return 8;
    case DType::kBytes:
      return 0;
  }
  return 0;
}

/// The protocol name: "BOOL", "UINT8", ..., "FP32", "FP64", "BF16", "BYTES".
constexpr std::string_view dtypeName(DType t) noexcept {
  switch (t) {
    case DType::kBool:
      return "BOOL";
    case DType::kUInt8:
      return "UINT8";
    case DType::kUInt16:
      return "UINT16";
    case DType::kUInt32:
      return "UINT32";
    case DType::kUInt64:
      return "UINT64";
    case DType::kInt8:
      return "INT8";
    case DType::kInt16:
      return "INT16";
    case DType::kInt32:
      return "INT32";
    case DType::kInt64:
      return "INT64";
    case DType::kFloat16:
      return "FP16";
    case DType::kBFloat16:
      return "BF16";
    case DType::kFloat32:
      return "FP32";
    case DType::kFloat64:
      return "FP64";
    case DType::kBytes:
      return "BYTES";
  }
  return "UNKNOWN";
}

/// Parses a protocol name (case-sensitive, as the protocol requires); nullopt when unknown.
inline std::optional<DType> dtypeFromName(std::string_view name) noexcept {
  for (int i = 0; i <= static_cast<int>(DType::kBytes); ++i) {
    auto t = static_cast<DType>(i);
    if (dtypeName(t) == name) {
      return t;
    }
  }
  return std::nullopt;
}

template <typename T>
constexpr DType dtypeOf() noexcept;
template <>
constexpr DType dtypeOf<bool>() noexcept {
  return DType::kBool;
}
template <>
constexpr DType dtypeOf<std::uint8_t>() noexcept {
  return DType::kUInt8;
}
template <>
constexpr DType dtypeOf<std::uint16_t>() noexcept {
  return DType::kUInt16;
}
template <>
constexpr DType dtypeOf<std::uint32_t>() noexcept {
  return DType::kUInt32;
}
template <>
constexpr DType dtypeOf<std::uint64_t>() noexcept {
  return DType::kUInt64;
}
template <>
constexpr DType dtypeOf<std::int8_t>() noexcept {
  return DType::kInt8;
}
template <>
constexpr DType dtypeOf<std::int16_t>() noexcept {
  return DType::kInt16;
}
template <>
constexpr DType dtypeOf<std::int32_t>() noexcept {
  return DType::kInt32;
}
template <>
constexpr DType dtypeOf<std::int64_t>() noexcept {
  return DType::kInt64;
}
template <>
constexpr DType dtypeOf<float>() noexcept {
  return DType::kFloat32;
}
template <>
constexpr DType dtypeOf<double>() noexcept {
  return DType::kFloat64;
}

/// Where a tensor's bytes live.
enum class Device : std::uint8_t { kCpu, kCuda };

using Shape = std::vector<std::int64_t>;

/// Product of the dimensions (1 for a scalar shape {}); -1 when a dimension is negative.
inline std::int64_t shapeElements(const Shape& shape) noexcept {
  std::int64_t n = 1;
  for (auto d : shape) {
    if (d < 0) {
      return -1;
    }
    n *= d;
  }
  return n;
}

/// "[2, 784]"
inline std::string shapeToString(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return s + "]";
}

/// A dense, row-major, contiguous n-dimensional array.
///
/// Ownership: the buffer is shared. Copying a Tensor is cheap and aliases the same bytes (like a
/// shared_ptr); use clone() for a deep copy. CPU buffers are 64-byte aligned so vector kernels
/// and oneDNN can use them directly.
///
/// Threading: concurrent reads are safe; writes to a shared buffer need outside synchronisation.
///
/// kBytes tensors keep one std::string per element in strings(); data() is null for them.
class Tensor {
 public:
  static constexpr std::size_t kAlignment = 64;

  /// An empty tensor: no dtype storage, shape {0}.
  Tensor() = default;

  /// Allocates an uninitialised CPU tensor. Throws std::bad_alloc on exhaustion (callers on
  /// plugin boundaries wrap allocation in guard()).
  Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) { allocate(); }

  /// A tensor of zeros.
  static Tensor zeros(DType dtype, Shape shape) {
    Tensor t(dtype, std::move(shape));
    if (t.data_) {
      std::memset(t.data_.get(), 0, t.nbytes());
    }
    return t;
  }

  /// A float tensor holding `values` with `shape` (sizes must agree).
  template <typename T>
  static Tensor fromVector(const std::vector<T>& values, Shape shape) {
    Tensor t(dtypeOf<T>(), std::move(shape));
    if (!values.empty()) {
      std::memcpy(t.data_.get(), values.data(), values.size() * sizeof(T));
    }
    return t;
  }

  /// Wraps memory owned by someone else; `owner` keeps it alive as long as any copy of the
  /// tensor exists. No copy is made.
  static Tensor wrap(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner,
                     Device device = Device::kCpu) {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = std::move(shape);
    t.device_ = device;
    t.data_ = std::shared_ptr<std::byte>(std::move(owner), static_cast<std::byte*>(data));
    return t;
  }

  /// A kBytes tensor of the given strings with shape {n}.
  static Tensor fromStrings(std::vector<std::string> values) {
    Tensor t;
    t.dtype_ = DType::kBytes;
    t.shape_ = {static_cast<std::int64_t>(values.size())};
    t.strings_ = std::make_shared<std::vector<std::string>>(std::move(values));
    return t;
  }

  DType dtype() const noexcept { return dtype_; }
  Device device() const noexcept { return device_; }
  const Shape& shape() const noexcept { return shape_; }
  std::size_t rank() const noexcept { return shape_.size(); }
  std::int64_t dim(std::size_t i) const noexcept { return shape_[i]; }
  std::int64_t numel() const noexcept { return shapeElements(shape_); }
  std::size_t nbytes() const noexcept {
    return static_cast<std::size_t>(numel()) * dtypeSize(dtype_);
  }
  bool empty() const noexcept { return numel() == 0; }

  void* raw() noexcept { return data_.get(); }
  const void* raw() const noexcept { return data_.get(); }
  template <typename T>
  T* data() noexcept {
    return reinterpret_cast<T*>(data_.get());
  }
  template <typename T>
  const T* data() const noexcept {
    return reinterpret_cast<const T*>(data_.get());
  }
  template <typename T>
  std::span<T> span() noexcept {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }
  template <typename T>
  std::span<const T> span() const noexcept {
    return {data<T>(), static_cast<std::size_t>(numel())};
  }

  /// Elements of a kBytes tensor; empty for other dtypes.
  const std::vector<std::string>& strings() const noexcept {
    static const std::vector<std::string> kNone;
    return strings_ ? *strings_ : kNone;
  }

  /// Same bytes, another shape with the same element count; returns an empty tensor otherwise.
  Tensor reshaped(Shape shape) const {
    if (shapeElements(shape) != numel()) {
      return Tensor();
    }
    Tensor t = *this;
    t.shape_ = std::move(shape);
    return t;
  }

  /// A deep copy in a fresh buffer.
  Tensor clone() const {
    if (dtype_ == DType::kBytes) {
      return fromStrings(strings());
    }
    Tensor t(dtype_, shape_);
    if (nbytes()) {
      std::memcpy(t.data_.get(), data_.get(), nbytes());
    }
    return t;
  }

  /// Keeps the buffer when it is already big enough and not shared; reallocates otherwise.
  /// Lets hot loops reuse one output tensor across batches without allocating.
  void resize(DType dtype, Shape shape) {
    std::size_t old_bytes = data_ ? capacity_ : 0;
    dtype_ = dtype;
    shape_ = std::move(shape);
    if (dtype_ == DType::kBytes || nbytes() > old_bytes || data_.use_count() > 1) {
      allocate();
    }
  }

 private:
  void allocate() {
    strings_.reset();
    data_.reset();
    capacity_ = 0;
    if (dtype_ == DType::kBytes) {
      auto n = numel();
      strings_ = std::make_shared<std::vector<std::string>>(n > 0 ? n : 0);
      return;
    }
    std::size_t bytes = nbytes();
    std::size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) {
      rounded = kAlignment;
    }
    auto* p = static_cast<std::byte*>(::operator new(rounded, std::align_val_t(kAlignment)));
    data_ = std::shared_ptr<std::byte>(
        p, [](std::byte* q) { ::operator delete(q, std::align_val_t(kAlignment)); });
    capacity_ = rounded;
  }

  DType dtype_ = DType::kFloat32;
  Shape shape_{0};
  Device device_ = Device::kCpu;
  std::shared_ptr<std::byte> data_;
  std::size_t capacity_ = 0;
  std::shared_ptr<std::vector<std::string>> strings_;
};

/// Named tensors in a fixed order (the order of a model's schema, or of a request).
class TensorMap {
 public:
  void set(std::string name, Tensor tensor) {
    for (auto& [n, t] : items_) {
      if (n == name) {
        t = std::move(tensor);
        return;
      }
    }
    items_.emplace_back(std::move(name), std::move(tensor));
  }
  /// Null when absent.
  const Tensor* find(std::string_view name) const noexcept {
    for (const auto& [n, t] : items_) {
      if (n == name) {
        return &t;
      }
    }
    return nullptr;
  }
  Tensor* find(std::string_view name) noexcept {
    for (auto& [n, t] : items_) {
      if (n == name) {
        return &t;
      }
    }
    return nullptr;
  }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  void clear() noexcept { items_.clear(); }
  auto begin() const noexcept { return items_.begin(); }
  auto end() const noexcept { return items_.end(); }
  auto begin() noexcept { return items_.begin(); }
  auto end() noexcept { return items_.end(); }

 private:
  std::vector<std::pair<std::string, Tensor>> items_;
};

}  // namespace aimass
