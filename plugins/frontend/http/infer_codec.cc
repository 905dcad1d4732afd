// SPDX-License-Identifier: Apache-2.0
#include "infer_codec.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>

namespace aimass::plugins::frontend {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

bool isArray(const Var& v) { return v.type() == typeid(Array::Ptr); }
bool isObject(const Var& v) { return v.type() == typeid(Object::Ptr); }

std::string joinNames(const std::vector<TensorSpec>& specs) {
  std::string out;
  for (const auto& s : specs) {
    out += (out.empty() ? "" : ", ") + s.name;
  }
  return out.empty() ? "(nothing)" : out;
}

/// A short rendering of a JSON value for error messages.
std::string describeValue(const Var& v) {
  if (v.isEmpty()) {
    return "null";
  }
  if (isArray(v)) {
    return "a list";
  }
  if (isObject(v)) {
    return "an object";
  }
  std::string text;
  try {
    text = v.convert<std::string>();
  } catch (const Poco::Exception&) {
    return "a value of another kind";
  }
  if (text.size() > 40) {
    text = text.substr(0, 40) + "...";
  }
  return v.isString() ? "\"" + text + "\"" : text;
}

/// Gathers the scalar leaves of `data` in row-major order. Flat data is a list of scalars;
/// nested data must have exactly shape[d] entries at depth d and scalars at depth rank.
Status collectLeaves(const Array& data, const Shape& shape, const std::string& input,
                     std::vector<const Var*>& leaves) {
  bool nested = false;
  for (const auto& v : data) {
    if (isArray(v)) {
      nested = true;
      break;
    }
  }
  if (!nested) {
    for (const auto& v : data) {
      leaves.push_back(&v);
    }
    return Status();
  }
  // Depth-first walk with an explicit stack: the parser already bounds nesting, but the walk
  // must not depend on that.
  struct Frame {
    const Array* array;
    std::size_t depth;
    std::size_t next;
  };
  if (shape.empty() || static_cast<std::int64_t>(data.size()) != shape[0]) {
    return invalidArgument(
        "input '" + input + "': nested data has " + std::to_string(data.size()) +
        " entries at depth 0 but the shape " + shapeToString(shape) + " says " +
        (shape.empty() ? std::string("it is a scalar") : std::to_string(shape[0])));
  }
  std::vector<Frame> stack{{&data, 0, 0}};
  while (!stack.empty()) {
    Frame& top = stack.back();
    if (top.next == top.array->size()) {
      stack.pop_back();
      continue;
    }
    const Var& child = *(top.array->begin() + static_cast<std::ptrdiff_t>(top.next++));
    std::size_t child_depth = top.depth + 1;
    if (child_depth == shape.size()) {
      if (isArray(child)) {
        return invalidArgument("input '" + input + "': nested data is deeper than the shape " +
                               shapeToString(shape));
      }
      leaves.push_back(&child);
      continue;
    }
    if (!isArray(child)) {
      return invalidArgument("input '" + input + "': nested data does not match the shape " +
                             shapeToString(shape) + ": found " + describeValue(child) +
                             " where a list of " + std::to_string(shape[child_depth]) +
                             " was expected at depth " + std::to_string(child_depth));
    }
    const Array::Ptr& inner = child.extract<Array::Ptr>();
    if (static_cast<std::int64_t>(inner->size()) != shape[child_depth]) {
      return invalidArgument("input '" + input + "': nested data has " +
                             std::to_string(inner->size()) + " entries at depth " +
                             std::to_string(child_depth) + " but the shape " +
                             shapeToString(shape) + " says " + std::to_string(shape[child_depth]));
    }
    stack.push_back({inner.get(), child_depth, 0});
  }
  return Status();
}

template <typename T>
bool toInteger(const Var& v, T& out) {
  if (v.isBoolean() || !v.isNumeric()) {
    return false;
  }
  if (v.type() == typeid(double)) {
    double d = v.extract<double>();
    // An integral double (3.0 from a client that only has floats) is accepted; the upper
    // bound compares against max + 1, which rounds to the next power of two above max.
    if (!std::isfinite(d) || d != std::trunc(d) ||
        d < static_cast<double>(std::numeric_limits<T>::min()) ||
        d >= static_cast<double>(std::numeric_limits<T>::max()) + 1.0) {
      return false;
    }
    out = static_cast<T>(d);
    return true;
  }
  if (v.isSigned()) {
    auto s = v.convert<Poco::Int64>();
    if (!std::in_range<T>(s)) {
      return false;
    }
    out = static_cast<T>(s);
    return true;
  }
  auto u = v.convert<Poco::UInt64>();
  if (!std::in_range<T>(u)) {
    return false;
  }
  out = static_cast<T>(u);
  return true;
}

template <typename T>
bool toFloat(const Var& v, T& out) {
  if (v.isBoolean() || !v.isNumeric()) {
    return false;
  }
  double d = v.type() == typeid(double) ? v.extract<double>() : v.convert<double>();
  if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<T>::max())) {
    return false;
  }
  out = static_cast<T>(d);
  return true;
}

Status badElement(const std::string& input, std::size_t index, const Var& v, DType dtype) {
  return invalidArgument("input '" + input + "': element " + std::to_string(index) + " is " +
                         describeValue(v) + ", not a valid " + std::string(dtypeName(dtype)) +
                         " value");
}

template <typename T, typename Convert>
Status fill(const std::vector<const Var*>& leaves, Tensor& tensor, const std::string& input,
            Convert convert) {
  T* out = tensor.data<T>();
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    if (!convert(*leaves[i], out[i])) {
      return badElement(input, i, *leaves[i], tensor.dtype());
    }
  }
  return Status();
}

template <typename T>
Status fillIntegers(const std::vector<const Var*>& leaves, Tensor& tensor,
                    const std::string& input) {
  return fill<T>(leaves, tensor, input, [](const Var& v, T& out) { return toInteger<T>(v, out); });
}

Expected<Tensor> makeTensor(const std::vector<const Var*>& leaves, DType dtype, Shape shape,
                            const std::string& input) {
  if (dtype == DType::kBytes) {
    std::vector<std::string> strings;
    strings.reserve(leaves.size());
    for (std::size_t i = 0; i < leaves.size(); ++i) {
      if (!leaves[i]->isString()) {
        return badElement(input, i, *leaves[i], dtype);
      }
      strings.push_back(leaves[i]->extract<std::string>());
    }
    Tensor t = Tensor::fromStrings(std::move(strings));
    return t.reshaped(std::move(shape));
  }
  Tensor t(dtype, std::move(shape));
  Status status;
  switch (dtype) {
    case DType::kBool:
      status = fill<bool>(leaves, t, input, [](const Var& v, bool& out) {
        if (!v.isBoolean()) {
          return false;
        }
        out = v.extract<bool>();
        return true;
      });
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
      status = fill<float>(leaves, t, input,
                           [](const Var& v, float& out) { return toFloat<float>(v, out); });
      break;
    case DType::kFloat64:
      status = fill<double>(leaves, t, input,
                            [](const Var& v, double& out) { return toFloat<double>(v, out); });
      break;
    default:
      status = invalidArgument("input '" + input + "': datatype " + std::string(dtypeName(dtype)) +
                               " is not supported in JSON requests");
  }
  if (!status.ok()) {
    return status;
  }
  return t;
}

/// The declared shape: a list of non-negative integers whose product fits in memory terms.
Expected<Shape> readShape(const Var& value, const std::string& input) {
  auto bad = [&] {
    return invalidArgument("input '" + input +
                           "': \"shape\" must be a list of non-negative integers");
  };
  if (!isArray(value)) {
    return bad();
  }
  Shape shape;
  for (const auto& d : *value.extract<Array::Ptr>()) {
    std::int64_t dim = 0;
    if (!toInteger<std::int64_t>(d, dim) || dim < 0) {
      return bad();
    }
    shape.push_back(dim);
  }
  return shape;
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

Expected<std::string> stringMember(const Object& object, const std::string& key,
                                   const std::string& where) {
  Var v = object.get(key);
  if (!v.isString()) {
    return invalidArgument(where + " needs a string \"" + key + "\"");
  }
  return v.extract<std::string>();
}

Expected<InferRequest> decode(std::string_view body, const ModelSchema& schema) {
  Var root;
  try {
    Poco::JSON::Parser parser;
    root = parser.parse(std::string(body));
  } catch (const Poco::Exception& e) {
    return invalidArgument("malformed JSON: " + e.displayText());
  }
  if (!isObject(root)) {
    return invalidArgument("the request body must be a JSON object");
  }
  const Object& request = *root.extract<Object::Ptr>();
  InferRequest out;

  if (request.has("id") && !request.isNull("id")) {
    Var id = request.get("id");
    if (!id.isString()) {
      return invalidArgument("\"id\" must be a string");
    }
    out.id = id.extract<std::string>();
  }

  Var inputs = request.get("inputs");
  if (!isArray(inputs)) {
    return invalidArgument("the request needs an \"inputs\" list");
  }
  std::set<std::string> seen;
  std::size_t position = 0;
  for (const auto& item : *inputs.extract<Array::Ptr>()) {
    std::string where = "inputs[" + std::to_string(position++) + "]";
    if (!isObject(item)) {
      return invalidArgument(where + " must be an object");
    }
    const Object& input = *item.extract<Object::Ptr>();
    AIMASS_ASSIGN_OR_RETURN(std::string name, stringMember(input, "name", where));
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
    if (!seen.insert(name).second) {
      return invalidArgument("input '" + name + "' is given twice");
    }
    AIMASS_ASSIGN_OR_RETURN(std::string datatype,
                            stringMember(input, "datatype", "input '" + name + "'"));
    auto dtype = dtypeFromName(datatype);
    if (!dtype) {
      return invalidArgument("input '" + name + "': unknown datatype '" + datatype + "'");
    }
    if (*dtype != spec->dtype) {
      return invalidArgument("input '" + name + "' has datatype " + datatype +
                             " but the model expects " + std::string(dtypeName(spec->dtype)));
    }
    AIMASS_ASSIGN_OR_RETURN(Shape shape, readShape(input.get("shape"), name));
    if (!shapeFits(shape, spec->shape)) {
      return invalidArgument("input '" + name + "' has shape " + shapeToString(shape) +
                             " but the model expects " + shapeToString(spec->shape) +
                             " (-1: any size)");
    }
    Var data = input.get("data");
    if (!isArray(data)) {
      return invalidArgument("input '" + name +
                             "' needs a \"data\" list (binary tensor data "
                             "is not supported)");
    }
    std::vector<const Var*> leaves;
    AIMASS_RETURN_IF_ERROR(collectLeaves(*data.extract<Array::Ptr>(), shape, name, leaves));
    auto expected = elementCount(shape);
    if (!expected || *expected != leaves.size()) {
      return invalidArgument("input '" + name + "' has " + std::to_string(leaves.size()) +
                             " elements but its shape " + shapeToString(shape) + " needs " +
                             (expected ? std::to_string(*expected) : std::string("more")));
    }
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, makeTensor(leaves, *dtype, shape, name));
    out.inputs.set(name, std::move(tensor));
  }
  for (const auto& spec : schema.inputs) {
    if (!spec.optional && !seen.count(spec.name)) {
      return invalidArgument("missing input '" + spec.name + "' (" +
                             std::string(dtypeName(spec.dtype)) + " " + shapeToString(spec.shape) +
                             ")");
    }
  }

  if (request.has("outputs") && !request.isNull("outputs")) {
    Var outputs = request.get("outputs");
    if (!isArray(outputs)) {
      return invalidArgument("\"outputs\" must be a list of {\"name\": ...} objects");
    }
    std::size_t index = 0;
    for (const auto& item : *outputs.extract<Array::Ptr>()) {
      std::string where = "outputs[" + std::to_string(index++) + "]";
      if (!isObject(item)) {
        return invalidArgument(where + " must be an object");
      }
      AIMASS_ASSIGN_OR_RETURN(std::string name,
                              stringMember(*item.extract<Object::Ptr>(), "name", where));
      bool known = false;
      for (const auto& s : schema.outputs) {
        known = known || s.name == name;
      }
      if (!known) {
        return invalidArgument("unknown output '" + name +
                               "'; the model gives: " + joinNames(schema.outputs));
      }
      if (std::find(out.outputs.begin(), out.outputs.end(), name) == out.outputs.end()) {
        out.outputs.push_back(name);
      }
    }
  }
  return out;
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

float bfloatToFloat(std::uint16_t b) {
  std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
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

Expected<InferRequest> decodeInferRequest(std::string_view body, const ModelSchema& schema) {
  try {
    return decode(body, schema);
  } catch (const std::bad_alloc&) {
    return resourceExhausted("the request is too large to decode");
  } catch (const Poco::Exception& e) {
    return invalidArgument("malformed request: " + e.displayText());
  } catch (const std::exception& e) {
    return invalidArgument(std::string("malformed request: ") + e.what());
  }
}

Expected<std::string> encodeInferResponse(std::string_view model_name,
                                          std::string_view model_version,
                                          const std::optional<std::string>& id,
                                          const TensorMap& outputs,
                                          const std::vector<std::string>& selected) {
  std::string out;
  Status status = guard("encoding the response", [&]() -> Status {
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
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return out;
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
