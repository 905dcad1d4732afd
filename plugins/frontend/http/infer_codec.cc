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

#include "declared_inputs.h"
#include "json_document.h"
#include "predict_parameters.h"
#include "tensor_elements.h"

namespace aimass::plugins::frontend {
namespace {

std::string joinNames(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    out += (out.empty() ? "" : ", ") + s.name;
  }
  return out.empty() ? "(nothing)" : out;
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
/// "id", "inputs", "outputs" and "parameters" (the model's request options: top_k,
/// exclude_seen and any other). Room to spare: 4096 nodes are 160 KiB.
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
  /// A string, or null (a missing value) as the empty string.
  bool string(std::size_t i, std::string& out) const {
    const auto kind = doc.node(nodes[i]).kind;
    if (kind == JsonDocument::Kind::kNull) {
      out.clear();
      return true;
    }
    if (kind != JsonDocument::Kind::kString) {
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
  AIMASS_ASSIGN_OR_RETURN(out.options, readPredictOptions(doc, parameters));
  if (out.id) {
    out.options.request_id = *out.id;
  }

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


}  // namespace



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

}  // namespace aimass::plugins::frontend
