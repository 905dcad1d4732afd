// SPDX-License-Identifier: Apache-2.0
#include "tensor_elements.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace aimass::plugins::frontend {

float halfToFloat(std::uint16_t h) {
  std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1F;
  std::uint32_t mantissa = h & 0x3FF;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude =
        mantissa ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400), static_cast<int>(exponent) - 25);
  }
  return sign ? -magnitude : magnitude;
}

std::uint16_t floatToHalf(float f) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  std::uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude >= 0x7F800000) {  // infinity or NaN
    return static_cast<std::uint16_t>(sign | 0x7C00 | (magnitude > 0x7F800000 ? 0x200 : 0));
  }
  if (magnitude >= 0x477FF000) {  // 65520 and above round to infinity
    return static_cast<std::uint16_t>(sign | 0x7C00);
  }
  if (magnitude < 0x38800000) {  // below 2^-14: a subnormal half, in units of 2^-24
    float scaled = std::bit_cast<float>(magnitude) * 16777216.0f;
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::nearbyint(scaled)));
  }
  std::uint32_t half = (((magnitude >> 23) - 127 + 15) << 10) | ((magnitude & 0x7FFFFF) >> 13);
  std::uint32_t rest = magnitude & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) {
    ++half;  // a carry into the exponent is still the right rounding
  }
  return static_cast<std::uint16_t>(sign | half);
}

float bfloatToFloat(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}

std::uint16_t floatToBfloat(float f) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7FFFFFFF) > 0x7F800000) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  }
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

namespace {

/// Every INT64, UINT64 and FP64 value is exact in a long double (64-bit significand), so
/// conversions compare through it.
static_assert(std::numeric_limits<long double>::digits >= 64);
static_assert(std::endian::native == std::endian::little,
              "binary tensor data is little-endian; a big-endian host would have to swap");

long double elementValue(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::kBool:
      return t.data<bool>()[i] ? 1 : 0;
    case DType::kUInt8:
      return t.data<std::uint8_t>()[i];
    case DType::kUInt16:
      return t.data<std::uint16_t>()[i];
    case DType::kUInt32:
      return t.data<std::uint32_t>()[i];
    case DType::kUInt64:
      return static_cast<long double>(t.data<std::uint64_t>()[i]);
    case DType::kInt8:
      return t.data<std::int8_t>()[i];
    case DType::kInt16:
      return t.data<std::int16_t>()[i];
    case DType::kInt32:
      return t.data<std::int32_t>()[i];
    case DType::kInt64:
      return static_cast<long double>(t.data<std::int64_t>()[i]);
    case DType::kFloat16:
      return halfToFloat(t.data<std::uint16_t>()[i]);
    case DType::kBFloat16:
      return bfloatToFloat(t.data<std::uint16_t>()[i]);
    case DType::kFloat32:
      return t.data<float>()[i];
    case DType::kFloat64:
      return t.data<double>()[i];
    case DType::kBytes:
      break;
  }
  return 0;
}

template <typename T>
bool storeExactly(long double x, T& out) {
  if constexpr (std::is_floating_point_v<T>) {
    out = static_cast<T>(x);
    return static_cast<long double>(out) == x || (std::isnan(x) && std::isnan(out));
  } else {
    if (!std::isfinite(x) || x != std::trunc(x) ||
        x < static_cast<long double>(std::numeric_limits<T>::min()) ||
        x > static_cast<long double>(std::numeric_limits<T>::max())) {
      return false;
    }
    out = static_cast<T>(x);
    return true;
  }
}

bool storeHalfExactly(long double x, std::uint16_t& out, bool brain) {
  auto f = static_cast<float>(x);
  out = brain ? floatToBfloat(f) : floatToHalf(f);
  long double back = brain ? bfloatToFloat(out) : halfToFloat(out);
  return back == x || (std::isnan(x) && std::isnan(back));
}

}  // namespace

bool shapeFits(const Shape& actual, const Shape& expected) {
  if (actual.size() != expected.size()) {
    return false;
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (expected[i] >= 0 && actual[i] != expected[i]) {
      return false;
    }
  }
  return true;
}

bool isNumeric(DType t) { return t != DType::kBool && t != DType::kBytes; }

Expected<Tensor> convertExactly(const Tensor& source, DType target, const std::string& input) {
  Tensor out(target, source.shape());
  const std::int64_t n = source.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    long double x = elementValue(source, i);
    bool exact = false;
    switch (target) {
      case DType::kUInt8:
        exact = storeExactly(x, out.data<std::uint8_t>()[i]);
        break;
      case DType::kUInt16:
        exact = storeExactly(x, out.data<std::uint16_t>()[i]);
        break;
      case DType::kUInt32:
        exact = storeExactly(x, out.data<std::uint32_t>()[i]);
        break;
      case DType::kUInt64:
        exact = storeExactly(x, out.data<std::uint64_t>()[i]);
        break;
      case DType::kInt8:
        exact = storeExactly(x, out.data<std::int8_t>()[i]);
        break;
      case DType::kInt16:
        exact = storeExactly(x, out.data<std::int16_t>()[i]);
        break;
      case DType::kInt32:
        exact = storeExactly(x, out.data<std::int32_t>()[i]);
        break;
      case DType::kInt64:
        exact = storeExactly(x, out.data<std::int64_t>()[i]);
        break;
      case DType::kFloat16:
        exact = storeHalfExactly(x, out.data<std::uint16_t>()[i], false);
        break;
      case DType::kBFloat16:
        exact = storeHalfExactly(x, out.data<std::uint16_t>()[i], true);
        break;
      case DType::kFloat32:
        exact = storeExactly(x, out.data<float>()[i]);
        break;
      case DType::kFloat64:
        exact = storeExactly(x, out.data<double>()[i]);
        break;
      case DType::kBool:
      case DType::kBytes:
        break;
    }
    if (!exact) {
      char value[64];
      auto end = std::to_chars(value, value + sizeof(value), static_cast<double>(x)).ptr;
      return invalidArgument(
          "input '" + input + "': element " + std::to_string(i) + " (" + std::string(value, end) +
          ") of datatype " + std::string(dtypeName(source.dtype())) +
          " does not convert exactly to the model's " + std::string(dtypeName(target)));
    }
  }
  return out;
}

}  // namespace aimass::plugins::frontend
