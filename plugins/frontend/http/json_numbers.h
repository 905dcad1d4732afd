// SPDX-License-Identifier: Apache-2.0
#pragma once

// JSON numbers as tensor elements, as the inference codecs (infer_codec.h, mlflow_codec.h) read
// them: exactly, refused beyond the element type's range.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#include "aimass/tensor.h"
#include "json_document.h"

namespace aimass::plugins::frontend {

/// A JSON number token as a double, correctly rounded. False when its magnitude is beyond the
/// double range; a token too small for a double reads as its nearest one (zero or subnormal).
bool parseDouble(std::string_view token, double& out);

template <typename T>
bool numberToInteger(const JsonDocument::Node& node, T& out) {
  if (node.kind != JsonDocument::Kind::kNumber) {
    return false;
  }
  const std::string_view token = node.text;
  const char* last = token.data() + token.size();
  if (token.find_first_of(".eE") == std::string_view::npos) {
    if (token.front() == '-') {
      std::int64_t value = 0;
      auto [end, error] = std::from_chars(token.data(), last, value);
      if (error != std::errc() || end != last || !std::in_range<T>(value)) {
        return false;
      }
      out = static_cast<T>(value);
      return true;
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(token.data(), last, value);
    if (error != std::errc() || end != last || !std::in_range<T>(value)) {
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }
  double d = 0;
  if (!parseDouble(token, d) || d != std::trunc(d) ||
      d < static_cast<double>(std::numeric_limits<T>::min()) ||
      d >= static_cast<double>(std::numeric_limits<T>::max()) + 1.0) {
    return false;
  }
  out = static_cast<T>(d);
  return true;
}

/// A JSON number as a float or double: read as a double, refused beyond T's range. JSON null
/// is a missing value and reads as a quiet NaN (as a dataset's missing numbers are).
template <typename T>
bool numberToFloat(const JsonDocument::Node& node, T& out) {
  if (node.kind == JsonDocument::Kind::kNull) {
    out = std::numeric_limits<T>::quiet_NaN();
    return true;
  }
  double d = node.value;  // worked out by the scan when it could (JsonDocument::Node)
  if (node.kind != JsonDocument::Kind::kNumber || (!node.has_value && !parseDouble(node.text, d)) ||
      std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max())) {
    return false;
  }
  out = static_cast<T>(d);
  return true;
}

/// One JSON scalar (kind and text of a JsonDocument node or a JsonReader token) as an element
/// of the numeric or BOOL `dtype`, written to `out` (dtypeSize(dtype) bytes) as
/// decodeInferRequest() reads `data` elements: a number for a numeric datatype (an integral one
/// such as 3.0 for an integer datatype too), refused beyond the datatype's range; null (a
/// missing value) for a floating datatype (FP16, BF16, FP32, FP64), read as NaN; true or false
/// for BOOL. False, with nothing written, for anything else and for BYTES. Never throws.
bool jsonScalarToElement(const JsonDocument::Node& scalar, DType dtype, void* out);

}  // namespace aimass::plugins::frontend
