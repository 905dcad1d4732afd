// SPDX-License-Identifier: Apache-2.0
#include "tensor_record.h"

#include <bit>
#include <cstring>
#include <utility>
#include <vector>

namespace aimass::core {
namespace {

// Tensor data is written as the host holds it, which is the little-endian layout the records
// promise on every host aimass builds for.
static_assert(std::endian::native == std::endian::little,
              "serving records store tensor data little-endian");

constexpr std::uint32_t kMaxRank = 32;

/// Reads one tensor; the sizes it declares are checked against the bytes left before
/// anything of that size is allocated.
Expected<std::pair<std::string, Tensor>> readTensor(ByteReader& in, std::string_view record) {
  auto corrupt = [&](const std::string& what) {
    return dataLoss(std::string(record) + " is corrupt: " + what);
  };
  std::string name = readLengthPrefixed(in);
  const std::string dtype_name = readLengthPrefixed(in);
  const std::uint32_t rank = in.u32();
  if (!in.ok()) {
    return corrupt("truncated tensor header");
  }
  auto dtype = dtypeFromName(dtype_name);
  if (!dtype || rank > kMaxRank) {
    return corrupt("tensor '" + name + "' has an unknown datatype or rank");
  }
  Shape shape;
  std::uint64_t elements = 1;
  for (std::uint32_t d = 0; d < rank; ++d) {
    const std::int64_t dim = in.i64();
    if (!in.ok() || dim < 0) {
      return corrupt("tensor '" + name + "' has a bad shape");
    }
    const auto udim = static_cast<std::uint64_t>(dim);
    if (udim != 0 && elements > in.remaining() / udim) {
      return corrupt("tensor '" + name + "' declares more elements than the record holds");
    }
    elements *= udim;
    shape.push_back(dim);
  }
  if (*dtype == DType::kBytes) {
    if (elements > in.remaining() / 8) {
      return corrupt("tensor '" + name + "' declares more strings than the record holds");
    }
    std::vector<std::string> strings;
    strings.reserve(static_cast<std::size_t>(elements));
    for (std::uint64_t i = 0; i < elements && in.ok(); ++i) {
      strings.push_back(readLengthPrefixed(in));
    }
    if (!in.ok()) {
      return corrupt("tensor '" + name + "' is truncated");
    }
    return std::pair{std::move(name), Tensor::fromStrings(std::move(strings)).reshaped(shape)};
  }
  const std::uint64_t nbytes = in.u64();
  if (!in.ok() || nbytes != elements * dtypeSize(*dtype) || nbytes > in.remaining()) {
    return corrupt("tensor '" + name + "' has a data size that does not match its shape");
  }
  Tensor tensor(*dtype, shape);
  const std::string data = in.bytes(nbytes);
  if (!data.empty()) {
    std::memcpy(tensor.raw(), data.data(), data.size());
  }
  return std::pair{std::move(name), std::move(tensor)};
}

}  // namespace

void writeLengthPrefixed(ByteWriter& out, std::string_view text) {
  out.u64(text.size());
  out.bytes(text);
}

std::string readLengthPrefixed(ByteReader& in) {
  const std::uint64_t size = in.u64();
  return in.bytes(size);  // fails (ok() false) when fewer bytes remain: nothing huge is made
}

void writeTensorMap(ByteWriter& out, const TensorMap& tensors) {
  out.u32(static_cast<std::uint32_t>(tensors.size()));
  for (const auto& [name, tensor] : tensors) {
    writeNamedTensor(out, name, tensor);
  }
}

void writeNamedTensor(ByteWriter& out, std::string_view name, const Tensor& tensor) {
  writeLengthPrefixed(out, name);
  writeLengthPrefixed(out, dtypeName(tensor.dtype()));
  out.u32(static_cast<std::uint32_t>(tensor.rank()));
  for (std::int64_t dim : tensor.shape()) {
    out.i64(dim);
  }
  if (tensor.dtype() == DType::kBytes) {
    for (const auto& text : tensor.strings()) {
      writeLengthPrefixed(out, text);
    }
  } else {
    out.u64(tensor.nbytes());
    out.bytes(std::string_view(static_cast<const char*>(tensor.raw()), tensor.nbytes()));
  }
}

Expected<TensorMap> readTensorMap(ByteReader& in, std::string_view record) {
  const std::uint32_t count = in.u32();
  if (!in.ok() || count > in.remaining()) {
    return dataLoss(std::string(record) + " is corrupt: bad tensor count");
  }
  TensorMap tensors;
  for (std::uint32_t i = 0; i < count; ++i) {
    auto tensor = readTensor(in, record);
    if (!tensor.ok()) {
      return tensor.status();
    }
    if (tensors.find(tensor->first) != nullptr) {
      return dataLoss(std::string(record) + " is corrupt: tensor '" + tensor->first +
                      "' appears twice");
    }
    tensors.set(std::move(tensor->first), std::move(tensor->second));
  }
  return tensors;
}

}  // namespace aimass::core
