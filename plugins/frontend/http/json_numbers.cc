// SPDX-License-Identifier: Apache-2.0
#include "json_numbers.h"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tensor_elements.h"

namespace aimass::plugins::frontend {

/// A JSON number token as a double, correctly rounded. False when its magnitude is beyond the
/// double range; a token too small for a double reads as its nearest one (zero or subnormal).
bool parseDouble(std::string_view token, double& out) {
  const char* last = token.data() + token.size();
  auto [end, error] = std::from_chars(token.data(), last, out);
  if (error == std::errc()) {
    return end == last;
  }
  if (error != std::errc::result_out_of_range) {
    return false;
  }
  // from_chars says out of range for overflow and underflow alike; strtod tells them apart.
  std::string copy(token);
  double value = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(value)) {
    return false;
  }
  out = value;
  return true;
}

/// A JSON number as an integer of type T: an integer token in T's range, or an integral
/// number written with a fraction or exponent (3.0, 1e2) from a client that only has floats.

bool jsonScalarToElement(const JsonDocument::Node& scalar, DType dtype, void* out) {
  const auto integer = [&]<typename T>(T value) {
    if (!numberToInteger<T>(scalar, value)) {
      return false;
    }
    std::memcpy(out, &value, sizeof(value));
    return true;
  };
  const auto floating = [&]<typename T>(T value) {
    if (!numberToFloat<T>(scalar, value)) {
      return false;
    }
    std::memcpy(out, &value, sizeof(value));
    return true;
  };
  switch (dtype) {
    case DType::kBool: {
      if (scalar.kind != JsonDocument::Kind::kTrue && scalar.kind != JsonDocument::Kind::kFalse) {
        return false;
      }
      const bool value = scalar.kind == JsonDocument::Kind::kTrue;
      std::memcpy(out, &value, sizeof(value));
      return true;
    }
    case DType::kUInt8:
      return integer(std::uint8_t{});
    case DType::kUInt16:
      return integer(std::uint16_t{});
    case DType::kUInt32:
      return integer(std::uint32_t{});
    case DType::kUInt64:
      return integer(std::uint64_t{});
    case DType::kInt8:
      return integer(std::int8_t{});
    case DType::kInt16:
      return integer(std::int16_t{});
    case DType::kInt32:
      return integer(std::int32_t{});
    case DType::kInt64:
      return integer(std::int64_t{});
    case DType::kFloat32:
      return floating(float{});
    case DType::kFloat64:
      return floating(double{});
    case DType::kFloat16:
    case DType::kBFloat16: {
      // As makeTensor() reads them: the nearest half value, refused beyond the range.
      float f = 0;
      if (!numberToFloat<float>(scalar, f)) {
        return false;
      }
      const bool brain = dtype == DType::kBFloat16;
      const std::uint16_t half = brain ? floatToBfloat(f) : floatToHalf(f);
      if (std::isfinite(f) && !std::isfinite(brain ? bfloatToFloat(half) : halfToFloat(half))) {
        return false;
      }
      std::memcpy(out, &half, sizeof(half));
      return true;
    }
    case DType::kBytes:
      return false;
  }
  return false;
}

}  // namespace aimass::plugins::frontend
