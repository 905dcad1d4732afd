// SPDX-License-Identifier: Apache-2.0
#include "infer_codec.h"

#include <Poco/Exception.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "json_document.h"

namespace aimass::plugins::frontend {
namespace {

std::string joinNames(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    out += (out.empty() ? "" : ", ") + s.name;
  }
  return out.empty() ? "(nothing)" : out;
}

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

/// IEEE half precision, rounding to nearest even; overflow becomes infinity.
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

/// bfloat16, rounding to nearest even.
std::uint16_t floatToBfloat(float f) {
  std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
  if ((bits & 0x7FFFFFFF) > 0x7F800000) {
    return static_cast<std::uint16_t>((bits >> 16) | 0x40);
  }
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

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

bool isNumeric(DType t) { return t != DType::kBool && t != DType::kBytes; }

/// `source` in the model's `target` datatype, when every element converts exactly.
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

/// product(shape), or nullopt when it overflows.
std::optional<std::uint64_t> elementCount(const Shape& shape) {
  std::uint64_t n = 1;
  for (auto d : shape) {
    auto dim = static_cast<std::uint64_t>(d);
    if (dim != 0 && n > std::numeric_limits<std::uint64_t>::max() / dim) {
      return std::nullopt;
    }
    n *= dim;
  }
  return n;
}

std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
  return a > std::numeric_limits<std::uint64_t>::max() - b
             ? std::numeric_limits<std::uint64_t>::max()
             : a + b;
}

/// inputCapacity() of `shape`; a variable (-1) dimension counts as 0 with `variable_as_zero`,
/// and makes it nullopt otherwise.
std::optional<InputCapacity> shapeCapacity(const Shape& shape, bool variable_as_zero) {
  InputCapacity capacity;
  // Nested data has one list for the whole tensor and, below it, one per entry of each
  // dimension but the last: 1 + d0 + d0*d1 + ... lists for [d0, d1, ..., dn].
  std::uint64_t prefix = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0 && !variable_as_zero) {
      return std::nullopt;
    }
    capacity.lists = saturatingAdd(capacity.lists, prefix);
    const auto d = static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
    if (d != 0 && prefix > std::numeric_limits<std::uint64_t>::max() / d) {
      return std::nullopt;
    }
    prefix *= d;
  }
  capacity.elements = prefix;
  capacity.lists = std::max<std::uint64_t>(capacity.lists, 1);  // a scalar's `data` is a list
  return capacity;
}

/// JSON values of a request besides its inputs' data and its outputs: the request object,
/// "id", "inputs", "outputs" and "parameters" (accepted and ignored, so a client may send some
/// of its own). Room to spare: 4096 nodes are 160 KiB.
constexpr std::uint64_t kRequestValues = 4096;
/// Per input: its object and the names and values of "name", "datatype", "shape", "data",
/// "parameters" and "binary_data_size" (12), plus one per dimension of "shape", with room for
/// parameters of its own.
constexpr std::uint64_t kInputValues = 32;
/// Per output: {"name": ..., "parameters": {"binary_data": ...}} (7).
constexpr std::uint64_t kOutputValues = 8;

/// A tensor from binary tensor data: little-endian, row-major; BOOL one byte 0 or 1; BYTES a
/// 4-byte little-endian length before each element.
Expected<Tensor> tensorFromBinary(std::string_view bytes, DType dtype, const Shape& shape,
                                  const std::string& input) {
  auto count = elementCount(shape);
  if (dtype == DType::kBytes) {
    // Each element is at least its 4-byte length, so the bytes bound the shape before anything
    // is counted; the elements are then counted, and checked, before any string is made (a
    // string costs 32 bytes or more, eight times its shortest encoding).
    if (!count || *count > bytes.size() / 4) {
      return invalidArgument("input '" + input + "': BYTES " + shapeToString(shape) + " has " +
                             (count ? std::to_string(*count) : std::string("too many")) +
                             " elements but binary_data_size " + std::to_string(bytes.size()) +
                             " holds at most " + std::to_string(bytes.size() / 4) +
                             " (each element starts with a 4-byte length)");
    }
    std::size_t elements = 0;
    for (std::size_t pos = 0; pos < bytes.size(); ++elements) {
      if (bytes.size() - pos < 4) {
        return invalidArgument("input '" + input + "': BYTES element " + std::to_string(elements) +
                               " is cut off in its 4-byte length prefix");
      }
      std::uint32_t length = 0;
      std::memcpy(&length, bytes.data() + pos, sizeof(length));
      pos += 4;
      if (length > bytes.size() - pos) {
        return invalidArgument("input '" + input + "': BYTES element " + std::to_string(elements) +
                               " says " + std::to_string(length) + " bytes but only " +
                               std::to_string(bytes.size() - pos) + " are left");
      }
      pos += length;
    }
    if (*count != elements) {
      return invalidArgument("input '" + input + "' has " + std::to_string(elements) +
                             " BYTES elements in its binary data but its shape " +
                             shapeToString(shape) + " needs " + std::to_string(*count));
    }
    std::vector<std::string> strings;
    strings.reserve(elements);
    for (std::size_t pos = 0; pos < bytes.size();) {
      std::uint32_t length = 0;
      std::memcpy(&length, bytes.data() + pos, sizeof(length));
      strings.emplace_back(bytes.substr(pos + 4, length));
      pos += 4 + length;
    }
    return Tensor::fromStrings(std::move(strings)).reshaped(shape);
  }
  const std::size_t size = dtypeSize(dtype);
  if (!count || *count > std::numeric_limits<std::uint64_t>::max() / size ||
      *count * size != bytes.size()) {
    return invalidArgument("input '" + input + "': binary_data_size is " +
                           std::to_string(bytes.size()) + " bytes but " +
                           std::string(dtypeName(dtype)) + " " + shapeToString(shape) + " needs " +
                           (count && *count <= std::numeric_limits<std::uint64_t>::max() / size
                                ? std::to_string(*count * size)
                                : std::string("more")));
  }
  if (dtype == DType::kBool) {
    auto bad = std::find_if(bytes.begin(), bytes.end(), [](char c) { return c != 0 && c != 1; });
    if (bad != bytes.end()) {
      return invalidArgument("input '" + input + "': BOOL element " +
                             std::to_string(bad - bytes.begin()) + " is byte " +
                             std::to_string(static_cast<unsigned char>(*bad)) + ", not 0 or 1");
    }
  }
  Tensor t(dtype, shape);
  if (!bytes.empty()) {
    std::memcpy(t.raw(), bytes.data(), bytes.size());
  }
  return t;
}

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

/// A JSON number as a float or double: read as a double, refused beyond T's range.
template <typename T>
bool numberToFloat(const JsonDocument::Node& node, T& out) {
  double d = node.value;  // worked out by the scan when it could (JsonDocument::Node)
  if (node.kind != JsonDocument::Kind::kNumber || (!node.has_value && !parseDouble(node.text, d)) ||
      std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max())) {
    return false;
  }
  out = static_cast<T>(d);
  return true;
}

/// A short rendering of the JSON value at `index` for error messages.
std::string describeNode(const JsonDocument& doc, std::size_t index) {
  const JsonDocument::Node& node = doc.node(index);
  std::string text;
  switch (node.kind) {
    case JsonDocument::Kind::kArray:
      return "a list";
    case JsonDocument::Kind::kObject:
      return "an object";
    case JsonDocument::Kind::kString:
      text = doc.string(index);
      break;
    default:
      text = node.text;
      break;
  }
  if (text.size() > 40) {
    text = text.substr(0, 40) + "...";
  }
  return node.kind == JsonDocument::Kind::kString ? "\"" + text + "\"" : text;
}

/// A tensor's elements as nodes of a parsed request, for makeTensor().
struct NodeLeaves {
  const JsonDocument& doc;
  const std::vector<std::uint32_t>& nodes;

  std::size_t size() const { return nodes.size(); }
  template <typename T>
  bool integer(std::size_t i, T& out) const {
    return numberToInteger<T>(doc.node(nodes[i]), out);
  }
  template <typename T>
  bool floating(std::size_t i, T& out) const {
    return numberToFloat<T>(doc.node(nodes[i]), out);
  }
  bool boolean(std::size_t i, bool& out) const {
    const auto kind = doc.node(nodes[i]).kind;
    out = kind == JsonDocument::Kind::kTrue;
    return kind == JsonDocument::Kind::kTrue || kind == JsonDocument::Kind::kFalse;
  }
  bool string(std::size_t i, std::string& out) const {
    if (doc.node(nodes[i]).kind != JsonDocument::Kind::kString) {
      return false;
    }
    out = doc.string(nodes[i]);
    return true;
  }
  std::string describe(std::size_t i) const { return describeNode(doc, nodes[i]); }
};

template <typename Leaves>
Status badElement(const Leaves& leaves, const std::string& input, std::size_t index, DType dtype) {
  return invalidArgument("input '" + input + "': element " + std::to_string(index) + " is " +
                         leaves.describe(index) + ", not a valid " + std::string(dtypeName(dtype)) +
                         " value");
}

template <typename T, typename Leaves, typename Convert>
Status fill(const Leaves& leaves, Tensor& tensor, const std::string& input, Convert convert) {
  T* out = tensor.data<T>();
  const std::size_t n = leaves.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (!convert(i, out[i])) {
      return badElement(leaves, input, i, tensor.dtype());
    }
  }
  return Status();
}

template <typename T, typename Leaves>
Status fillIntegers(const Leaves& leaves, Tensor& tensor, const std::string& input) {
  return fill<T>(leaves, tensor, input,
                 [&](std::size_t i, T& out) { return leaves.template integer<T>(i, out); });
}

template <typename T, typename Leaves>
Status fillFloats(const Leaves& leaves, Tensor& tensor, const std::string& input) {
  return fill<T>(leaves, tensor, input,
                 [&](std::size_t i, T& out) { return leaves.template floating<T>(i, out); });
}

/// A tensor of `dtype` and `shape` from its elements in row-major order (as many as the
/// shape's product), each checked against the datatype.
template <typename Leaves>
Expected<Tensor> makeTensor(const Leaves& leaves, DType dtype, Shape shape,
                            const std::string& input) {
  if (dtype == DType::kBytes) {
    std::vector<std::string> strings(leaves.size());
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      if (!leaves.string(i, strings[i])) {
        return badElement(leaves, input, i, dtype);
      }
    }
    Tensor t = Tensor::fromStrings(std::move(strings));
    return t.reshaped(std::move(shape));
  }
  Tensor t(dtype, std::move(shape));
  Status status;
  switch (dtype) {
    case DType::kBool:
      status = fill<bool>(leaves, t, input,
                          [&](std::size_t i, bool& out) { return leaves.boolean(i, out); });
      break;
    case DType::kUInt8:
      status = fillIntegers<std::uint8_t>(leaves, t, input);
      break;
    case DType::kUInt16:
      status = fillIntegers<std::uint16_t>(leaves, t, input);
      break;
    case DType::kUInt32:
      status = fillIntegers<std::uint32_t>(leaves, t, input);
      break;
    case DType::kUInt64:
      status = fillIntegers<std::uint64_t>(leaves, t, input);
      break;
    case DType::kInt8:
      status = fillIntegers<std::int8_t>(leaves, t, input);
      break;
    case DType::kInt16:
      status = fillIntegers<std::int16_t>(leaves, t, input);
      break;
    case DType::kInt32:
      status = fillIntegers<std::int32_t>(leaves, t, input);
      break;
    case DType::kInt64:
      status = fillIntegers<std::int64_t>(leaves, t, input);
      break;
    case DType::kFloat32:
      status = fillFloats<float>(leaves, t, input);
      break;
    case DType::kFloat64:
      status = fillFloats<double>(leaves, t, input);
      break;
    case DType::kFloat16:
    case DType::kBFloat16: {
      // JSON has no half-precision numbers: each value rounds to the nearest FP16/BF16 one, as
      // FP32 data rounds to float; values beyond the range are refused.
      bool brain = dtype == DType::kBFloat16;
      status = fill<std::uint16_t>(leaves, t, input, [&](std::size_t i, std::uint16_t& out) {
        float f = 0;
        if (!leaves.template floating<float>(i, f)) {
          return false;
        }
        out = brain ? floatToBfloat(f) : floatToHalf(f);
        return !std::isfinite(f) || std::isfinite(brain ? bfloatToFloat(out) : halfToFloat(out));
      });
      break;
    }
    case DType::kBytes:
      break;
  }
  if (!status.ok()) {
    return status;
  }
  return t;
}

/// Gathers the scalar leaves of the `data` list at `data` in row-major order. Flat data is a
/// list of scalars; nested data must have exactly shape[d] entries at depth d and scalars at
/// depth rank.
Status collectLeaves(const JsonDocument& doc, std::size_t data, const Shape& shape,
                     const std::string& input, std::vector<std::uint32_t>& leaves) {
  const JsonDocument::Node& list = doc.node(data);
  bool nested = false;
  for (std::size_t i = data + 1, k = 0; k < list.size; ++k, i = doc.node(i).end) {
    if (doc.node(i).kind == JsonDocument::Kind::kArray) {
      nested = true;
      break;
    }
  }
  if (!nested) {
    leaves.reserve(list.size);
    for (std::size_t i = data + 1, k = 0; k < list.size; ++k, i = doc.node(i).end) {
      leaves.push_back(static_cast<std::uint32_t>(i));
    }
    return Status();
  }
  if (shape.empty() || static_cast<std::int64_t>(list.size) != shape[0]) {
    return invalidArgument(
        "input '" + input + "': nested data has " + std::to_string(list.size) +
        " entries at depth 0 but the shape " + shapeToString(shape) + " says " +
        (shape.empty() ? std::string("it is a scalar") : std::to_string(shape[0])));
  }
  // Depth-first walk with an explicit stack: the parser already bounds nesting, but the walk
  // must not depend on that.
  struct Frame {
    std::size_t depth;
    std::size_t next;    ///< node index of the next child
    std::uint32_t left;  ///< children not yet visited
  };
  std::vector<Frame> stack{{0, data + 1, list.size}};
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.left == 0) {
      stack.pop_back();
      continue;
    }
    const std::size_t child = top.next;
    top.next = doc.node(child).end;
    --top.left;
    const std::size_t child_depth = top.depth + 1;
    const JsonDocument::Node& node = doc.node(child);
    if (child_depth == shape.size()) {
      if (node.kind == JsonDocument::Kind::kArray) {
        return invalidArgument("input '" + input + "': nested data is deeper than the shape " +
                               shapeToString(shape));
      }
      leaves.push_back(static_cast<std::uint32_t>(child));
      continue;
    }
    if (node.kind != JsonDocument::Kind::kArray) {
      return invalidArgument("input '" + input + "': nested data does not match the shape " +
                             shapeToString(shape) + ": found " + describeNode(doc, child) +
                             " where a list of " + std::to_string(shape[child_depth]) +
                             " was expected at depth " + std::to_string(child_depth));
    }
    if (static_cast<std::int64_t>(node.size) != shape[child_depth]) {
      return invalidArgument("input '" + input + "': nested data has " + std::to_string(node.size) +
                             " entries at depth " + std::to_string(child_depth) +
                             " but the shape " + shapeToString(shape) + " says " +
                             std::to_string(shape[child_depth]));
    }
    stack.push_back({child_depth, child + 1, node.size});
  }
  return Status();
}

/// The declared shape: a list of non-negative integers.
Expected<Shape> readShape(const JsonDocument& doc, std::size_t value, const std::string& input) {
  auto bad = [&] {
    return invalidArgument("input '" + input +
                           "': \"shape\" must be a list of non-negative integers");
  };
  if (value == JsonDocument::kNone || doc.node(value).kind != JsonDocument::Kind::kArray) {
    return bad();
  }
  Shape shape;
  const JsonDocument::Node& list = doc.node(value);
  for (std::size_t i = value + 1, k = 0; k < list.size; ++k, i = doc.node(i).end) {
    std::int64_t dim = 0;
    if (!numberToInteger<std::int64_t>(doc.node(i), dim) || dim < 0) {
      return bad();
    }
    shape.push_back(dim);
  }
  return shape;
}

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

/// The value of Inference-Header-Content-Length: the JSON header's length within `body`.
Expected<std::size_t> headerLength(std::string_view value, std::size_t body_size) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  std::uint64_t length = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), length);
  if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
    return invalidArgument("Inference-Header-Content-Length must be a byte count, not '" +
                           std::string(value.substr(0, 40)) + "'");
  }
  if (length == 0) {
    return invalidArgument(
        "Inference-Header-Content-Length: 0 (a raw binary body without a JSON header) is not "
        "supported; send the JSON header first and give its length");
  }
  if (length > body_size) {
    return invalidArgument("Inference-Header-Content-Length is " + std::to_string(length) +
                           " but the body has only " + std::to_string(body_size) + " bytes");
  }
  return static_cast<std::size_t>(length);
}

/// The string member `key` of the object at `object`, decoded.
Expected<std::string> stringMember(const JsonDocument& doc, std::size_t object,
                                   std::string_view key, const std::string& where) {
  std::size_t value = doc.member(object, key);
  if (value == JsonDocument::kNone || doc.node(value).kind != JsonDocument::Kind::kString) {
    return invalidArgument(where + " needs a string \"" + std::string(key) + "\"");
  }
  return doc.string(value);
}

/// Whether the object at `object` has member `key` with a value other than null.
bool hasValue(const JsonDocument& doc, std::size_t object, std::string_view key) {
  std::size_t value = doc.member(object, key);
  return value != JsonDocument::kNone && doc.node(value).kind != JsonDocument::Kind::kNull;
}

/// The index of `object.parameters` when present: kNone when absent or null, an error when it
/// is not an object.
Expected<std::size_t> parametersOf(const JsonDocument& doc, std::size_t object,
                                   const std::string& where) {
  std::size_t parameters = doc.member(object, "parameters");
  if (parameters == JsonDocument::kNone || doc.node(parameters).kind == JsonDocument::Kind::kNull) {
    return JsonDocument::kNone;
  }
  if (doc.node(parameters).kind != JsonDocument::Kind::kObject) {
    return invalidArgument(where + ": \"parameters\" must be an object");
  }
  return parameters;
}

/// A boolean member of the `parameters` object; nullopt when absent.
Expected<std::optional<bool>> boolParameter(const JsonDocument& doc, std::size_t parameters,
                                            std::string_view key, const std::string& where) {
  if (parameters == JsonDocument::kNone) {
    return std::optional<bool>();
  }
  std::size_t value = doc.member(parameters, key);
  if (value == JsonDocument::kNone) {
    return std::optional<bool>();
  }
  const auto kind = doc.node(value).kind;
  if (kind != JsonDocument::Kind::kTrue && kind != JsonDocument::Kind::kFalse) {
    return invalidArgument(where + ": parameter \"" + std::string(key) +
                           "\" must be true or false, not " + describeNode(doc, value));
  }
  return std::optional<bool>(kind == JsonDocument::Kind::kTrue);
}

/// The binary data following the JSON header, consumed input by input.
struct BinarySection {
  bool present = false;
  std::string_view bytes;
  std::size_t used = 0;
};

/// The common case read directly: a flat `data` list of as many numbers as `shape` holds, for
/// an FP32 or FP64 tensor. Empty when anything differs (nested lists, other elements, a value
/// out of range...): the general path then reads it, or says what is wrong.
std::optional<Tensor> flatFloats(const JsonDocument& doc, std::size_t data, DType dtype,
                                 const Shape& shape) {
  const JsonDocument::Node& list = doc.node(data);
  const auto count = elementCount(shape);
  if ((dtype != DType::kFloat32 && dtype != DType::kFloat64) || !count || *count != list.size ||
      list.end != data + 1 + list.size) {
    return std::nullopt;
  }
  Tensor tensor(dtype, shape);
  const std::size_t n = list.size;
  const bool single = dtype == DType::kFloat32;
  for (std::size_t i = 0; i < n; ++i) {
    const JsonDocument::Node& node = doc.node(data + 1 + i);
    bool ok = single ? numberToFloat(node, tensor.data<float>()[i])
                     : numberToFloat(node, tensor.data<double>()[i]);
    if (!ok) {
      return std::nullopt;
    }
  }
  return tensor;
}

/// The declared datatype of input `where` when `spec` takes it (the same or, both numeric,
/// converted exactly later).
Expected<DType> checkDatatype(const std::string& where, std::string_view datatype,
                              const TensorSpec& spec) {
  auto dtype = dtypeFromName(datatype);
  if (!dtype) {
    return invalidArgument(where + ": unknown datatype '" + std::string(datatype) + "'");
  }
  if (*dtype != spec.dtype && !(isNumeric(*dtype) && isNumeric(spec.dtype))) {
    return invalidArgument(where + " has datatype " + std::string(datatype) +
                           " but the model expects " + std::string(dtypeName(spec.dtype)) +
                           " (only numeric datatypes convert, and only exactly)");
  }
  return *dtype;
}

Status checkShape(const std::string& where, const Shape& shape, const TensorSpec& spec) {
  if (!shapeFits(shape, spec.shape)) {
    return invalidArgument(where + " has shape " + shapeToString(shape) +
                           " but the model expects " + shapeToString(spec.shape) +
                           " (-1: any size)");
  }
  return Status();
}

Expected<Tensor> decodeInput(const JsonDocument& doc, std::size_t input, const std::string& name,
                             const TensorSpec& spec, BinarySection& binary) {
  const std::string where = "input '" + name + "'";
  AIMASS_ASSIGN_OR_RETURN(std::string datatype, stringMember(doc, input, "datatype", where));
  AIMASS_ASSIGN_OR_RETURN(DType dtype, checkDatatype(where, datatype, spec));
  AIMASS_ASSIGN_OR_RETURN(Shape shape, readShape(doc, doc.member(input, "shape"), name));
  AIMASS_RETURN_IF_ERROR(checkShape(where, shape, spec));
  AIMASS_ASSIGN_OR_RETURN(std::size_t parameters, parametersOf(doc, input, where));
  const bool has_data = hasValue(doc, input, "data");
  const std::size_t binary_size = parameters == JsonDocument::kNone
                                      ? JsonDocument::kNone
                                      : doc.member(parameters, "binary_data_size");
  Tensor tensor;
  if (binary_size != JsonDocument::kNone) {
    std::int64_t size = -1;
    if (!numberToInteger<std::int64_t>(doc.node(binary_size), size) || size < 0) {
      return invalidArgument(where + ": \"binary_data_size\" must be a non-negative integer");
    }
    if (has_data) {
      return invalidArgument(where + " has both \"data\" and \"binary_data_size\"; give one");
    }
    if (!binary.present) {
      return invalidArgument(where +
                             " has \"binary_data_size\" but the request has no "
                             "Inference-Header-Content-Length header saying where its JSON ends");
    }
    std::size_t left = binary.bytes.size() - binary.used;
    if (static_cast<std::uint64_t>(size) > left) {
      return invalidArgument(where + ": binary_data_size " + std::to_string(size) +
                             " runs past the end of the body (" + std::to_string(left) +
                             " bytes of binary data left)");
    }
    auto bytes = binary.bytes.substr(binary.used, static_cast<std::size_t>(size));
    binary.used += static_cast<std::size_t>(size);
    AIMASS_ASSIGN_OR_RETURN(tensor, tensorFromBinary(bytes, dtype, shape, name));
  } else {
    std::size_t data = doc.member(input, "data");
    if (data == JsonDocument::kNone || doc.node(data).kind != JsonDocument::Kind::kArray) {
      return invalidArgument(where +
                             " needs a \"data\" list (or, with binary data, a "
                             "\"binary_data_size\" parameter)");
    }
    // The declared shape against what the request carries, before reading a value: every
    // element is a node inside the list, so a shape of more elements than that is refused
    // without allocating for it.
    const JsonDocument::Node& list = doc.node(data);
    const std::size_t carried = list.end - data - 1;
    if (auto declared = elementCount(shape); !declared || *declared > carried) {
      const std::string needs = declared ? std::to_string(*declared) : std::string("more");
      if (carried == list.size) {  // flat: every node is an element
        return invalidArgument(where + " has " + std::to_string(carried) +
                               " elements but its shape " + shapeToString(shape) + " needs " +
                               needs);
      }
      return invalidArgument(where + " has shape " + shapeToString(shape) + " of " + needs +
                             " elements but its \"data\" holds only " + std::to_string(carried) +
                             " values");
    }
    std::optional<Tensor> flat = flatFloats(doc, data, dtype, shape);
    std::vector<std::uint32_t> leaves;
    if (flat) {
      tensor = std::move(*flat);
    } else {
      AIMASS_RETURN_IF_ERROR(collectLeaves(doc, data, shape, name, leaves));
      auto expected = elementCount(shape);
      if (!expected || *expected != leaves.size()) {
        return invalidArgument(where + " has " + std::to_string(leaves.size()) +
                               " elements but its shape " + shapeToString(shape) + " needs " +
                               (expected ? std::to_string(*expected) : std::string("more")));
      }
      AIMASS_ASSIGN_OR_RETURN(tensor, makeTensor(NodeLeaves{doc, leaves}, dtype, shape, name));
    }
  }
  if (dtype != spec.dtype) {
    return convertExactly(tensor, spec.dtype, name);
  }
  return tensor;
}

/// The request in a parsed document, checked against `schema`.
Expected<InferRequest> decodeDocument(const JsonDocument& doc, const ModelSchema& schema,
                                      BinarySection& binary) {
  if (doc.node(0).kind != JsonDocument::Kind::kObject) {
    return invalidArgument("the request body must be a JSON object");
  }
  InferRequest out;
  if (hasValue(doc, 0, "id")) {
    std::size_t id = doc.member(0, "id");
    if (doc.node(id).kind != JsonDocument::Kind::kString) {
      return invalidArgument("\"id\" must be a string");
    }
    out.id = doc.string(id);
  }
  AIMASS_ASSIGN_OR_RETURN(std::size_t parameters, parametersOf(doc, 0, "the request"));
  AIMASS_ASSIGN_OR_RETURN(std::optional<bool> binary_output,
                          boolParameter(doc, parameters, "binary_data_output", "the request"));
  out.binary_data_output = binary_output.value_or(false);

  std::size_t inputs = doc.member(0, "inputs");
  if (inputs == JsonDocument::kNone || doc.node(inputs).kind != JsonDocument::Kind::kArray) {
    return invalidArgument("the request needs an \"inputs\" list");
  }
  std::vector<std::string> seen;
  const std::uint32_t input_count = doc.node(inputs).size;
  for (std::size_t item = inputs + 1, position = 0; position < input_count;
       ++position, item = doc.node(item).end) {
    std::string where = "inputs[" + std::to_string(position) + "]";
    if (doc.node(item).kind != JsonDocument::Kind::kObject) {
      return invalidArgument(where + " must be an object");
    }
    AIMASS_ASSIGN_OR_RETURN(std::string name, stringMember(doc, item, "name", where));
    const TensorSpec* spec = nullptr;
    for (const auto& s : schema.inputs) {
      if (s.name == name) {
        spec = &s;
      }
    }
    if (!spec) {
      return invalidArgument("unknown input '" + name +
                             "'; the model takes: " + joinNames(schema.inputs));
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
      return invalidArgument("input '" + name + "' is given twice");
    }
    seen.push_back(name);
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, decodeInput(doc, item, name, *spec, binary));
    out.inputs.set(name, std::move(tensor));
  }
  for (const auto& spec : schema.inputs) {
    if (!spec.optional && std::find(seen.begin(), seen.end(), spec.name) == seen.end()) {
      return invalidArgument("missing input '" + spec.name + "' (" +
                             std::string(dtypeName(spec.dtype)) + " " + shapeToString(spec.shape) +
                             ")");
    }
  }
  if (binary.used != binary.bytes.size()) {
    return invalidArgument(std::to_string(binary.bytes.size() - binary.used) +
                           " bytes of binary data follow the last binary input; the inputs' "
                           "binary_data_size values add up to " +
                           std::to_string(binary.used));
  }

  if (hasValue(doc, 0, "outputs")) {
    std::size_t outputs = doc.member(0, "outputs");
    if (doc.node(outputs).kind != JsonDocument::Kind::kArray) {
      return invalidArgument("\"outputs\" must be a list of {\"name\": ...} objects");
    }
    const std::uint32_t output_count = doc.node(outputs).size;
    for (std::size_t item = outputs + 1, index = 0; index < output_count;
         ++index, item = doc.node(item).end) {
      std::string where = "outputs[" + std::to_string(index) + "]";
      if (doc.node(item).kind != JsonDocument::Kind::kObject) {
        return invalidArgument(where + " must be an object");
      }
      AIMASS_ASSIGN_OR_RETURN(std::string name, stringMember(doc, item, "name", where));
      bool known = false;
      for (const auto& s : schema.outputs) {
        known = known || s.name == name;
      }
      if (!known) {
        return invalidArgument("unknown output '" + name +
                               "'; the model gives: " + joinNames(schema.outputs));
      }
      AIMASS_ASSIGN_OR_RETURN(std::size_t output_parameters,
                              parametersOf(doc, item, "output '" + name + "'"));
      AIMASS_ASSIGN_OR_RETURN(
          std::optional<bool> binary_data,
          boolParameter(doc, output_parameters, "binary_data", "output '" + name + "'"));
      if (binary_data) {
        out.output_binary.emplace_back(name, *binary_data);
      }
      if (std::find(out.outputs.begin(), out.outputs.end(), name) == out.outputs.end()) {
        out.outputs.push_back(name);
      }
    }
  }
  return out;
}

/// A quick walk over a request body that finds what each entry of its top-level "inputs" list
/// declares ("name", "datatype", "shape") and skips the rest, `data` lists included, eight
/// bytes at a time where there are no brackets, braces or quotes. It allocates nothing per
/// value and checks little: where the text is not JSON it can follow, the walk stops and the
/// full parse says what is wrong. Names and datatypes are taken as written (one with escapes
/// is not recognised), shapes only as lists of plain integers.
class DeclaredInputs {
 public:
  /// What one entry declares, as written.
  struct Entry {
    std::optional<std::string_view> name;
    std::optional<std::string_view> datatype;
    bool shape_read = false;  ///< `shape` holds the entry's "shape"
    Shape shape;
  };

  explicit DeclaredInputs(std::string_view json) : s_(json.data()), n_(json.size()) {}

  /// Calls on_list() at each top-level "inputs" list (the last one counts, as in the full
  /// parse) and on_entry(const Entry&) after each object in it. False when the walk could not
  /// follow the body to its end.
  template <typename OnList, typename OnEntry>
  bool walk(OnList on_list, OnEntry on_entry) {
    space();
    return object([&](std::string_view key) {
      if (key != "inputs" || !peek('[')) {
        return skipValue();
      }
      on_list();
      ++p_;
      space();
      if (take(']')) {
        return true;
      }
      do {
        space();
        if (!peek('{')) {
          if (!skipValue()) {
            return false;
          }
        } else if (entry()) {
          on_entry(entry_);
        } else {
          return false;
        }
        space();
      } while (take(','));
      return take(']');
    });
  }

 private:
  /// Dimensions recorded of a shape; a longer one is not read.
  static constexpr std::size_t kMaxRank = 64;

  static constexpr std::uint64_t everyByte(unsigned char c) { return 0x0101010101010101ULL * c; }

  /// Whether a byte of `v` is zero (exact for "any").
  static constexpr bool hasZeroByte(std::uint64_t v) {
    return ((v - everyByte(1)) & ~v & everyByte(0x80)) != 0;
  }

  std::uint64_t eightAt(std::size_t p) const {
    std::uint64_t v;
    std::memcpy(&v, s_ + p, sizeof(v));
    return v;
  }

  bool peek(char c) const { return p_ < n_ && s_[p_] == c; }

  bool take(char c) {
    if (!peek(c)) {
      return false;
    }
    ++p_;
    return true;
  }

  void space() {
    while (p_ < n_ && (s_[p_] == ' ' || s_[p_] == '\n' || s_[p_] == '\r' || s_[p_] == '\t')) {
      ++p_;
    }
  }

  /// A string at p_; `text` is what lies between its quotes, escapes as written.
  bool string(std::string_view& text, bool& escaped) {
    const std::size_t start = ++p_;
    escaped = false;
    while (p_ < n_) {
      while (n_ - p_ >= 8 && !hasZeroByte(eightAt(p_) ^ everyByte('"')) &&
             !hasZeroByte(eightAt(p_) ^ everyByte('\\'))) {
        p_ += 8;
      }
      if (p_ == n_) {
        break;
      }
      if (s_[p_] == '"') {
        text = std::string_view(s_ + start, p_ - start);
        ++p_;
        return true;
      }
      if (s_[p_] == '\\') {
        escaped = true;
        p_ = std::min(p_ + 2, n_);
      } else {
        ++p_;
      }
    }
    return false;
  }

  /// A member name and the ':' after it; one with escapes reads as "\" (matching no key).
  bool memberName(std::string_view& key) {
    space();
    bool escaped = false;
    if (!peek('"') || !string(key, escaped)) {
      return false;
    }
    if (escaped) {
      key = "\\";
    }
    space();
    if (!take(':')) {
      return false;
    }
    space();
    return true;
  }

  /// Any value: a string, a list or object with everything inside it, or a scalar.
  bool skipValue() {
    if (p_ == n_) {
      return false;
    }
    if (s_[p_] == '"') {
      std::string_view text;
      bool escaped = false;
      return string(text, escaped);
    }
    if (s_[p_] != '[' && s_[p_] != '{') {
      while (p_ < n_ && s_[p_] != ',' && s_[p_] != ']' && s_[p_] != '}' && s_[p_] != ' ' &&
             s_[p_] != '\n' && s_[p_] != '\r' && s_[p_] != '\t') {
        ++p_;
      }
      return true;
    }
    std::size_t depth = 0;
    while (p_ < n_) {
      // Or-ing 0x20 into every byte turns '[' into '{' and ']' into '}' (and nothing else).
      while (n_ - p_ >= 8) {
        const std::uint64_t v = eightAt(p_);
        const std::uint64_t folded = v | everyByte(0x20);
        if (hasZeroByte(folded ^ everyByte('{')) || hasZeroByte(folded ^ everyByte('}')) ||
            hasZeroByte(v ^ everyByte('"'))) {
          break;
        }
        p_ += 8;
      }
      if (p_ == n_) {
        break;
      }
      const char c = s_[p_];
      if (c == '"') {
        std::string_view text;
        bool escaped = false;
        if (!string(text, escaped)) {
          return false;
        }
        continue;
      }
      ++p_;
      if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && --depth == 0) {
        return true;
      }
    }
    return false;
  }

  /// "shape" into entry_ when it is a list of plain non-negative integers; skipped otherwise.
  bool shape() {
    const std::size_t start = p_;
    entry_.shape.clear();
    if (take('[')) {
      space();
      bool read = take(']');
      while (!read && entry_.shape.size() < kMaxRank) {
        std::int64_t dim = 0;
        const std::size_t digits = p_;
        while (p_ < n_ && s_[p_] >= '0' && s_[p_] <= '9' &&
               dim <= (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          dim = dim * 10 + (s_[p_] - '0');
          ++p_;
        }
        if (p_ == digits || (p_ < n_ && s_[p_] >= '0' && s_[p_] <= '9')) {
          break;
        }
        entry_.shape.push_back(dim);
        space();
        read = take(']');
        if (!read && !take(',')) {
          break;
        }
        space();
      }
      if (read) {
        entry_.shape_read = true;
        return true;
      }
    }
    p_ = start;
    entry_.shape_read = false;
    return skipValue();
  }

  /// The object at p_, member by member: on_member(key) reads the member's value.
  template <typename OnMember>
  bool object(OnMember on_member) {
    if (!take('{')) {
      return false;
    }
    space();
    if (take('}')) {
      return true;
    }
    do {
      std::string_view key;
      if (!memberName(key) || !on_member(key)) {
        return false;
      }
      space();
    } while (take(','));
    return take('}');
  }

  /// The object at p_, an entry of "inputs".
  bool entry() {
    entry_.name.reset();
    entry_.datatype.reset();
    entry_.shape_read = false;
    return object([&](std::string_view key) {
      if (key == "shape") {
        return shape();
      }
      if (key != "name" && key != "datatype") {
        return skipValue();
      }
      std::optional<std::string_view>& field = key == "name" ? entry_.name : entry_.datatype;
      field.reset();
      if (!peek('"')) {
        return skipValue();
      }
      std::string_view text;
      bool escaped = false;
      if (!string(text, escaped)) {
        return false;
      }
      if (!escaped) {
        field = text;
      }
      return true;
    });
  }

  const char* s_;
  std::size_t n_;
  std::size_t p_ = 0;
  Entry entry_;
};

/// The JSON values a request may hold once the shapes it declares are known: `base_limit`
/// (inferRequestValueLimit()) plus, for each input with a variable dimension that an entry of
/// "inputs" names, the elements and nested lists of the shape the entry declares. Each such
/// shape and its datatype are first checked against the model, and its elements against the
/// body (every value takes a byte and a separator at least): an entry that does not check out
/// is refused here, with the error decodeInput() would give, before anything is indexed. An
/// entry the walk cannot read (no readable shape or datatype, an escaped name) adds nothing.
/// `declared` gets the counted shapes for messages ("x [2, 4]").
Expected<std::size_t> declaredValueLimit(std::string_view json, const ModelSchema& schema,
                                         std::size_t base_limit, std::string& declared) {
  std::vector<bool> counted(schema.inputs.size());
  std::uint64_t extra = 0;
  Status refusal;
  const std::uint64_t most_values = (json.size() + 1) / 2;
  auto on_list = [&] {
    counted.assign(counted.size(), false);
    extra = 0;
    refusal = Status();
    declared.clear();
  };
  auto on_entry = [&](const DeclaredInputs::Entry& entry) {
    if (!refusal.ok() || !entry.name) {
      return;
    }
    const std::string name(*entry.name);
    const auto spec = std::find_if(schema.inputs.begin(), schema.inputs.end(),
                                   [&](const TensorSpec& s) { return s.name == name; });
    if (spec == schema.inputs.end()) {
      refusal = invalidArgument("unknown input '" + name +
                                "'; the model takes: " + joinNames(schema.inputs));
      return;
    }
    const auto index = static_cast<std::size_t>(spec - schema.inputs.begin());
    if (counted[index] || !entry.datatype || !entry.shape_read ||
        std::none_of(spec->shape.begin(), spec->shape.end(), [](auto d) { return d < 0; })) {
      return;
    }
    const std::string where = "input '" + name + "'";
    if (auto dtype = checkDatatype(where, *entry.datatype, *spec); !dtype.ok()) {
      refusal = dtype.status();
      return;
    }
    if (refusal = checkShape(where, entry.shape, *spec); !refusal.ok()) {
      return;
    }
    const auto capacity = shapeCapacity(entry.shape, /*variable_as_zero=*/false);
    if (!capacity || capacity->elements > most_values) {
      refusal = invalidArgument(
          where + " has shape " + shapeToString(entry.shape) + " of " +
          (capacity ? std::to_string(capacity->elements) : std::string("too many")) +
          " elements but the request's " + std::to_string(json.size()) +
          " bytes of JSON hold at most " + std::to_string(most_values) +
          " (a value and its comma take two bytes at least)");
      return;
    }
    // An empty tensor's nested lists are left to the base limit's spare values: counted, a
    // declared [1000000000, 0] would let a body of "[]," take a node per three bytes.
    if (capacity->elements > 0) {
      extra = saturatingAdd(extra, saturatingAdd(capacity->elements, capacity->lists));
    }
    counted[index] = true;
    declared += (declared.empty() ? "" : ", ") + name + " " + shapeToString(entry.shape);
  };
  DeclaredInputs(json).walk(on_list, on_entry);
  if (!refusal.ok()) {
    return refusal;
  }
  const std::uint64_t limit = saturatingAdd(base_limit, extra);
  return limit >= JsonDocument::kNoNodeLimit ? JsonDocument::kNoNodeLimit
                                             : static_cast<std::size_t>(limit);
}

Expected<InferRequest> decode(std::string_view body, const ModelSchema& schema,
                              const InferDecodeOptions& options) {
  BinarySection binary;
  std::string_view json = body;
  if (options.header_length) {
    AIMASS_ASSIGN_OR_RETURN(std::size_t length, headerLength(*options.header_length, body.size()));
    json = body.substr(0, length);
    binary.present = true;
    binary.bytes = body.substr(length);
  }
  // Each thread keeps its document, so a request reuses the node storage of the last one.
  thread_local JsonDocument doc;
  std::size_t value_limit = inferRequestValueLimit(schema);
  Status parsed = doc.parse(json, options.max_json_depth, value_limit);
  std::string declared;
  if (parsed.code() == StatusCode::kOutOfRange &&
      std::any_of(schema.inputs.begin(), schema.inputs.end(), [](const TensorSpec& s) {
        return std::any_of(s.shape.begin(), s.shape.end(), [](auto d) { return d < 0; });
      })) {
    // More values than the model takes at its smallest: a variable dimension may need them,
    // as far as the shapes the request declares (checked against the model first) reach. The
    // parse that stopped indexed no more than the limit, so trying again costs little.
    auto limit = declaredValueLimit(json, schema, value_limit, declared);
    if (!limit.ok()) {
      doc.trim();
      return limit.status();
    }
    if (*limit > value_limit) {
      value_limit = *limit;
      parsed = doc.parse(json, options.max_json_depth, value_limit);
    }
  }
  if (!parsed.ok()) {
    doc.trim();
    if (parsed.code() == StatusCode::kOutOfRange) {
      return invalidArgument(
          "the request holds more than " + std::to_string(value_limit) +
          " JSON values, more than the model's inputs can take (" + describeInputs(schema.inputs) +
          (declared.empty() ? std::string() : ") at the shapes it declares (" + declared) +
          "); it was not read further. Send at most the shapes the model accepts");
    }
    bool binary_hint = !options.header_length && parsed.message().starts_with("malformed JSON") &&
                       json.find("\"binary_data_size\"") != json.npos;
    if (binary_hint) {
      return invalidArgument(parsed.message() +
                             " (a body with binary tensor data needs the "
                             "Inference-Header-Content-Length header)");
    }
    return parsed;
  }
  auto decoded = decodeDocument(doc, schema, binary);
  doc.trim();
  return decoded;
}

template <typename T>
void appendNumber(std::string& out, T value) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(value)) {
      out += "null";
      return;
    }
  }
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

template <typename T, typename Write>
void appendElements(std::string& out, const Tensor& t, Write write) {
  const T* p = t.data<T>();
  auto n = t.numel();
  for (std::int64_t i = 0; i < n; ++i) {
    if (i) {
      out += ',';
    }
    write(out, p[i]);
  }
}

template <typename T>
void appendNumbers(std::string& out, const Tensor& t) {
  appendElements<T>(out, t, [](std::string& o, T v) { appendNumber(o, v); });
}

void appendData(std::string& out, const Tensor& t) {
  out += '[';
  switch (t.dtype()) {
    case DType::kBool:
      appendElements<bool>(out, t, [](std::string& o, bool v) { o += v ? "true" : "false"; });
      break;
    case DType::kUInt8:
      appendNumbers<std::uint8_t>(out, t);
      break;
    case DType::kUInt16:
      appendNumbers<std::uint16_t>(out, t);
      break;
    case DType::kUInt32:
      appendNumbers<std::uint32_t>(out, t);
      break;
    case DType::kUInt64:
      appendNumbers<std::uint64_t>(out, t);
      break;
    case DType::kInt8:
      appendNumbers<std::int8_t>(out, t);
      break;
    case DType::kInt16:
      appendNumbers<std::int16_t>(out, t);
      break;
    case DType::kInt32:
      appendNumbers<std::int32_t>(out, t);
      break;
    case DType::kInt64:
      appendNumbers<std::int64_t>(out, t);
      break;
    case DType::kFloat16:
      appendElements<std::uint16_t>(
          out, t, [](std::string& o, std::uint16_t v) { appendNumber(o, halfToFloat(v)); });
      break;
    case DType::kBFloat16:
      appendElements<std::uint16_t>(
          out, t, [](std::string& o, std::uint16_t v) { appendNumber(o, bfloatToFloat(v)); });
      break;
    case DType::kFloat32:
      appendNumbers<float>(out, t);
      break;
    case DType::kFloat64:
      appendNumbers<double>(out, t);
      break;
    case DType::kBytes: {
      bool first = true;
      for (const auto& s : t.strings()) {
        if (!first) {
          out += ',';
        }
        first = false;
        appendJsonString(out, s);
      }
      break;
    }
  }
  out += ']';
}

void appendShape(std::string& out, const Shape& shape) {
  out += '[';
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) {
      out += ',';
    }
    appendNumber(out, shape[i]);
  }
  out += ']';
}

void appendTensorSpecs(std::string& out, const std::vector<TensorSpec>& specs) {
  out += '[';
  for (std::size_t i = 0; i < specs.size(); ++i) {
    if (i) {
      out += ',';
    }
    out += "{\"name\":";
    appendJsonString(out, specs[i].name);
    out += ",\"datatype\":\"";
    out += dtypeName(specs[i].dtype);
    out += "\",\"shape\":";
    appendShape(out, specs[i].shape);
    if (specs[i].optional) {
      out += ",\"optional\":true";
    }
    out += '}';
  }
  out += ']';
}

}  // namespace

void appendJsonString(std::string& out, std::string_view text) {
  out += '"';
  out += jsonEscape(text);
  out += '"';
}

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

bool InferRequest::wantsBinary(std::string_view output) const {
  for (const auto& [name, binary] : output_binary) {
    if (name == output) {
      return binary;
    }
  }
  return binary_data_output;
}

std::string describeInputs(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    out += (out.empty() ? "" : ", ") + s.name + " " + std::string(dtypeName(s.dtype)) + " " +
           shapeToString(s.shape);
  }
  return out.empty() ? "(nothing)" : out;
}

std::optional<InputCapacity> inputCapacity(const TensorSpec& spec) {
  return shapeCapacity(spec.shape, /*variable_as_zero=*/false);
}

std::size_t inferRequestValueLimit(const ModelSchema& schema) {
  std::uint64_t total = kRequestValues + kOutputValues * schema.outputs.size();
  for (const auto& spec : schema.inputs) {
    // A variable dimension counts as 0 here: declaredValueLimit() adds what a request declares.
    auto capacity = shapeCapacity(spec.shape, /*variable_as_zero=*/true);
    if (!capacity) {
      return JsonDocument::kNoNodeLimit;
    }
    total = saturatingAdd(total, saturatingAdd(capacity->elements, capacity->lists));
    total = saturatingAdd(total, kInputValues + spec.shape.size());
  }
  return total >= JsonDocument::kNoNodeLimit ? JsonDocument::kNoNodeLimit
                                             : static_cast<std::size_t>(total);
}

JsonOutline jsonOutline(std::string_view json, std::size_t depth_limit, std::size_t value_limit) {
  JsonOutline outline;
  std::size_t depth = 0;
  bool in_string = false;
  char previous = 0;  // the last character outside strings and whitespace
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
      continue;
    }
    const char before = previous;
    previous = c;
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c == '[' || c == '{') {
      ++outline.containers;
      outline.depth = std::max(outline.depth, ++depth);
      if (outline.depth > depth_limit) {
        outline.depth = depth_limit + 1;
        return outline;
      }
    } else if (c == ']' || c == '}') {
      depth -= depth > 0 ? 1 : 0;
      // An empty list or object: no value followed its opening bracket after all.
      outline.values -= (before == '[' || before == '{') && outline.values > 1 ? 1 : 0;
      continue;
    } else if (c == ':') {
      ++outline.names;
    } else if (c != ',') {
      continue;
    }
    if (++outline.values > value_limit) {
      outline.values = value_limit + 1;
      return outline;
    }
  }
  return outline;
}

std::size_t jsonNestingDepth(std::string_view json, std::size_t limit) {
  return jsonOutline(json, limit, static_cast<std::size_t>(-1)).depth;
}

void appendTensorElement(std::string& out, const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::kBool:
      out += t.data<bool>()[i] ? "true" : "false";
      break;
    case DType::kUInt8:
      appendNumber(out, t.data<std::uint8_t>()[i]);
      break;
    case DType::kUInt16:
      appendNumber(out, t.data<std::uint16_t>()[i]);
      break;
    case DType::kUInt32:
      appendNumber(out, t.data<std::uint32_t>()[i]);
      break;
    case DType::kUInt64:
      appendNumber(out, t.data<std::uint64_t>()[i]);
      break;
    case DType::kInt8:
      appendNumber(out, t.data<std::int8_t>()[i]);
      break;
    case DType::kInt16:
      appendNumber(out, t.data<std::int16_t>()[i]);
      break;
    case DType::kInt32:
      appendNumber(out, t.data<std::int32_t>()[i]);
      break;
    case DType::kInt64:
      appendNumber(out, t.data<std::int64_t>()[i]);
      break;
    case DType::kFloat16:
      appendNumber(out, halfToFloat(t.data<std::uint16_t>()[i]));
      break;
    case DType::kBFloat16:
      appendNumber(out, bfloatToFloat(t.data<std::uint16_t>()[i]));
      break;
    case DType::kFloat32:
      appendNumber(out, t.data<float>()[i]);
      break;
    case DType::kFloat64:
      appendNumber(out, t.data<double>()[i]);
      break;
    case DType::kBytes:
      appendJsonString(out, t.strings()[static_cast<std::size_t>(i)]);
      break;
  }
}

Expected<InferRequest> decodeInferRequest(std::string_view body, const ModelSchema& schema,
                                          const InferDecodeOptions& options) {
  try {
    return decode(body, schema, options);
  } catch (const std::bad_alloc&) {
    return resourceExhausted("the request is too large to decode");
  } catch (const Poco::Exception& e) {
    return invalidArgument("malformed request: " + e.displayText());
  } catch (const std::exception& e) {
    return invalidArgument(std::string("malformed request: ") + e.what());
  }
}

namespace {

/// Appends `tensor` in the binary tensor data layout; returns the byte count.
std::size_t appendBinary(std::string& out, const Tensor& tensor) {
  std::size_t before = out.size();
  if (tensor.dtype() == DType::kBytes) {
    for (const auto& s : tensor.strings()) {
      auto length = static_cast<std::uint32_t>(s.size());
      char prefix[4];
      std::memcpy(prefix, &length, sizeof(prefix));
      out.append(prefix, sizeof(prefix));
      out += s;
    }
  } else if (tensor.nbytes() > 0) {
    out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  }
  return out.size() - before;
}

Status encode(std::string_view model_name, std::string_view model_version,
              const std::optional<std::string>& id, const TensorMap& outputs,
              const std::vector<std::string>& selected, const InferRequest* request,
              InferResponseBody& response) {
  std::string& out = response.body;
  std::string binary;
  bool any_binary = false;
  // Room for the envelope and a short number per element, so a typical answer is written
  // without growing the string several times.
  std::size_t elements = 0;
  for (const auto& [name, tensor] : outputs) {
    elements += static_cast<std::size_t>(std::max<std::int64_t>(tensor.numel(), 0));
  }
  out.reserve(out.size() + 128 + model_name.size() + outputs.size() * 64 +
              std::min<std::size_t>(elements, 1 << 16) * 12);
  out += "{\"model_name\":";
  appendJsonString(out, model_name);
  out += ",\"model_version\":";
  appendJsonString(out, model_version);
  if (id) {
    out += ",\"id\":";
    appendJsonString(out, *id);
  }
  out += ",\"outputs\":[";
  bool first = true;
  auto write = [&](const std::string& name, const Tensor& tensor) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += "{\"name\":";
    appendJsonString(out, name);
    out += ",\"datatype\":\"";
    out += dtypeName(tensor.dtype());
    out += "\",\"shape\":";
    appendShape(out, tensor.shape());
    if (request && request->wantsBinary(name)) {
      any_binary = true;
      out += ",\"parameters\":{\"binary_data_size\":";
      appendNumber(out, appendBinary(binary, tensor));
      out += "}}";
      return;
    }
    out += ",\"data\":";
    appendData(out, tensor);
    out += '}';
  };
  if (selected.empty()) {
    for (const auto& [name, tensor] : outputs) {
      write(name, tensor);
    }
  } else {
    for (const auto& name : selected) {
      const Tensor* tensor = outputs.find(name);
      if (!tensor) {
        return internalError("the model did not produce its output '" + name + "'");
      }
      write(name, *tensor);
    }
  }
  out += "]}";
  if (any_binary) {
    response.header_length = out.size();
    out += binary;
  }
  return Status();
}

}  // namespace

Expected<InferResponseBody> encodeInferResponse(std::string_view model_name,
                                                std::string_view model_version,
                                                const InferRequest& request,
                                                const TensorMap& outputs) {
  InferResponseBody response;
  Status status = guard("encoding the response", [&] {
    return encode(model_name, model_version, request.id, outputs, request.outputs, &request,
                  response);
  });
  if (!status.ok()) {
    return status;
  }
  return response;
}

Expected<std::string> encodeInferResponse(std::string_view model_name,
                                          std::string_view model_version,
                                          const std::optional<std::string>& id,
                                          const TensorMap& outputs,
                                          const std::vector<std::string>& selected) {
  InferResponseBody response;
  Status status = guard("encoding the response", [&] {
    return encode(model_name, model_version, id, outputs, selected, nullptr, response);
  });
  if (!status.ok()) {
    return status;
  }
  return std::move(response.body);
}

std::string encodeModelMetadata(std::string_view name, const std::vector<std::string>& versions,
                                const ModelSchema& schema) {
  std::string out = "{\"name\":";
  appendJsonString(out, name);
  out += ",\"versions\":[";
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (i) {
      out += ',';
    }
    appendJsonString(out, versions[i]);
  }
  out += "],\"platform\":\"aimass_";
  out += taskName(schema.task);
  out += "\",\"inputs\":";
  appendTensorSpecs(out, schema.inputs);
  out += ",\"outputs\":";
  appendTensorSpecs(out, schema.outputs);
  if (!schema.class_names.empty()) {
    out += ",\"parameters\":{\"class_names\":[";
    for (std::size_t i = 0; i < schema.class_names.size(); ++i) {
      if (i) {
        out += ',';
      }
      appendJsonString(out, schema.class_names[i]);
    }
    out += "]}";
  }
  out += '}';
  return out;
}

}  // namespace aimass::plugins::frontend
