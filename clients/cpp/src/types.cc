// SPDX-License-Identifier: Apache-2.0
#include "aimass/client/types.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>

namespace aimass::client {
namespace {

struct TypeRow {
  DataType type;
  std::string_view name;
  std::size_t size;
};

constexpr std::array<TypeRow, 14> kTypes{{
    {DataType::kBool, "BOOL", 1},
    {DataType::kUint8, "UINT8", 1},
    {DataType::kUint16, "UINT16", 2},
    {DataType::kUint32, "UINT32", 4},
    {DataType::kUint64, "UINT64", 8},
    {DataType::kInt8, "INT8", 1},
    {DataType::kInt16, "INT16", 2},
    {DataType::kInt32, "INT32", 4},
    {DataType::kInt64, "INT64", 8},
    {DataType::kFp16, "FP16", 2},
    {DataType::kFp32, "FP32", 4},
    {DataType::kFp64, "FP64", 8},
    {DataType::kBf16, "BF16", 2},
    {DataType::kBytes, "BYTES", 0},
}};

double halfToDouble(std::uint16_t h) {
  int exponent = (h >> 10) & 0x1f;
  int mantissa = h & 0x3ff;
  double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (exponent == 0) {
    return sign * std::ldexp(mantissa, -24);
  }
  if (exponent == 31) {
    return mantissa ? NAN : sign * INFINITY;
  }
  return sign * std::ldexp(mantissa + 1024, exponent - 25);
}

template <typename T>
void appendAll(std::vector<double>& out, std::span<const std::byte> bytes) {
  std::size_t n = bytes.size() / sizeof(T);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + i * sizeof(T), sizeof(T));
    out.push_back(static_cast<double>(v));
  }
}

}  // namespace

std::string_view dataTypeName(DataType type) noexcept {
  for (const auto& row : kTypes) {
    if (row.type == type) {
      return row.name;
    }
  }
  return "?";
}

std::optional<DataType> parseDataType(std::string_view name) noexcept {
  for (const auto& row : kTypes) {
    if (row.name == name) {
      return row.type;
    }
  }
  return std::nullopt;
}

std::size_t elementSize(DataType type) noexcept {
  for (const auto& row : kTypes) {
    if (row.type == type) {
      return row.size;
    }
  }
  return 0;
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this == &other) {
    return *this;
  }
  name_ = other.name_;
  type_ = other.type_;
  shape_ = other.shape_;
  elements_ = other.elements_;
  bool owns = !other.owned_.empty() && other.bytes_.data() == other.owned_.data();
  owned_ = owns ? other.owned_ : std::vector<std::byte>();
  bytes_ = owns ? std::span<const std::byte>(owned_) : other.bytes_;
  return *this;
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this == &other) {
    return *this;
  }
  name_ = std::move(other.name_);
  type_ = other.type_;
  shape_ = std::move(other.shape_);
  elements_ = std::move(other.elements_);
  owned_ = std::move(other.owned_);  // the buffer moves: a span into it stays valid
  bytes_ = other.bytes_;
  other.bytes_ = {};
  return *this;
}

std::size_t Tensor::elementCount() const noexcept {
  std::size_t count = 1;
  for (std::int64_t d : shape_) {
    count *= d < 0 ? 0 : static_cast<std::size_t>(d);
  }
  return count;
}

void Tensor::checkCount(std::size_t count) const {
  for (std::int64_t d : shape_) {
    if (d < 0) {
      throw Error(
          ErrorCode::kInvalidArgument, 0,
          "tensor '" + name_ + "': a shape dimension is negative (" + std::to_string(d) + ")");
    }
  }
  if (elementCount() != count) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "tensor '" + name_ + "': its shape holds " + std::to_string(elementCount()) +
                    " elements but the data hold " + std::to_string(count));
  }
}

void Tensor::own() {
  if (!bytes_.empty() && bytes_.data() != owned_.data()) {
    owned_.assign(bytes_.begin(), bytes_.end());
    bytes_ = owned_;
  }
}

Tensor Tensor::fromBytes(std::string name, DataType type, Shape shape,
                         std::span<const std::byte> bytes) {
  Tensor t;
  t.name_ = std::move(name);
  t.type_ = type;
  t.shape_ = std::move(shape);
  if (type == DataType::kBytes) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "tensor '" + t.name_ + "': BYTES tensors are made with Tensor::strings");
  }
  if (bytes.size() % elementSize(type) != 0) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "tensor '" + t.name_ + "': " + std::to_string(bytes.size()) +
                    " bytes are not a whole number of " + std::string(dataTypeName(type)) +
                    " elements");
  }
  t.checkCount(bytes.size() / elementSize(type));
  t.owned_.assign(bytes.begin(), bytes.end());
  t.bytes_ = t.owned_;
  return t;
}

Tensor Tensor::strings(std::string name, Shape shape, std::vector<std::string> elements) {
  Tensor t;
  t.name_ = std::move(name);
  t.type_ = DataType::kBytes;
  t.shape_ = std::move(shape);
  t.checkCount(elements.size());
  t.elements_ = std::move(elements);
  return t;
}

std::vector<double> Tensor::toDoubles() const {
  std::vector<double> out;
  switch (type_) {
    case DataType::kBool:
    case DataType::kUint8:
      appendAll<std::uint8_t>(out, bytes_);
      break;
    case DataType::kUint16:
      appendAll<std::uint16_t>(out, bytes_);
      break;
    case DataType::kUint32:
      appendAll<std::uint32_t>(out, bytes_);
      break;
    case DataType::kUint64:
      appendAll<std::uint64_t>(out, bytes_);
      break;
    case DataType::kInt8:
      appendAll<std::int8_t>(out, bytes_);
      break;
    case DataType::kInt16:
      appendAll<std::int16_t>(out, bytes_);
      break;
    case DataType::kInt32:
      appendAll<std::int32_t>(out, bytes_);
      break;
    case DataType::kInt64:
      appendAll<std::int64_t>(out, bytes_);
      break;
    case DataType::kFp32:
      appendAll<float>(out, bytes_);
      break;
    case DataType::kFp64:
      appendAll<double>(out, bytes_);
      break;
    case DataType::kFp16:
    case DataType::kBf16:
      for (std::size_t i = 0; i + 1 < bytes_.size(); i += 2) {
        std::uint16_t h;
        std::memcpy(&h, bytes_.data() + i, 2);
        out.push_back(type_ == DataType::kFp16
                          ? halfToDouble(h)
                          : static_cast<double>(std::bit_cast<float>(std::uint32_t{h} << 16)));
      }
      break;
    case DataType::kBytes:
      throw Error(ErrorCode::kInvalidArgument, 0,
                  "tensor '" + name_ + "' is BYTES: it has no numeric values");
  }
  return out;
}

const Tensor* InferResult::find(std::string_view name) const noexcept {
  for (const auto& t : outputs) {
    if (t.name() == name) {
      return &t;
    }
  }
  return nullptr;
}

const Tensor& InferResult::output(std::string_view name) const {
  if (const Tensor* t = find(name)) {
    return *t;
  }
  std::string names;
  for (const auto& t : outputs) {
    names += (names.empty() ? "'" : ", '") + t.name() + "'";
  }
  throw Error(ErrorCode::kInvalidArgument, 0,
              "no output '" + std::string(name) + "' in the answer (it has " +
                  (names.empty() ? std::string("none") : names) + ")");
}

}  // namespace aimass::client
