// SPDX-License-Identifier: Apache-2.0
#include "grpc_tensors.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <type_traits>
#include <utility>

#include "predict_options_builder.h"
#include "tensor_elements.h"

namespace aimass::plugins::frontend {
namespace {

using inference::InferTensorContents;
using inference::ModelInferRequest;
using Shape64 = google::protobuf::RepeatedField<std::int64_t>;

/// The element count of `shape`; nullopt for a negative dimension or a product beyond int64.
std::optional<std::int64_t> elementCount(const Shape64& shape) {
  std::int64_t count = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0 || (dim != 0 && count > std::numeric_limits<std::int64_t>::max() / dim)) {
      return std::nullopt;
    }
    count *= dim;
  }
  return count;
}

std::string shapeText(const Shape64& shape) {
  std::string out = "[";
  for (int i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape.Get(i));
  }
  return out + "]";
}

/// The `contents` field that holds elements of `dtype`, and how many it has; no name for FP16
/// and BF16, which travel raw only.
struct TypedField {
  const char* name = nullptr;
  int size = 0;
};

TypedField typedField(const InferTensorContents& c, DType dtype) {
  switch (dtype) {
    case DType::kBool:
      return {"bool_contents", c.bool_contents_size()};
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
      return {"int_contents", c.int_contents_size()};
    case DType::kInt64:
      return {"int64_contents", c.int64_contents_size()};
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
      return {"uint_contents", c.uint_contents_size()};
    case DType::kUInt64:
      return {"uint64_contents", c.uint64_contents_size()};
    case DType::kFloat32:
      return {"fp32_contents", c.fp32_contents_size()};
    case DType::kFloat64:
      return {"fp64_contents", c.fp64_contents_size()};
    case DType::kBytes:
      return {"bytes_contents", c.bytes_contents_size()};
    case DType::kFloat16:
    case DType::kBFloat16:
      break;
  }
  return {};
}

/// Elements in every field of `c` together.
std::int64_t typedElements(const InferTensorContents& c) {
  return std::int64_t{c.bool_contents_size()} + c.int_contents_size() + c.int64_contents_size() +
         c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
         c.fp64_contents_size() + c.bytes_contents_size();
}

/// Copies `values` into `tensor` (of element type T), refusing a value T cannot hold.
template <typename T, typename Values>
Status fillTyped(const Values& values, Tensor& tensor, const std::string& input) {
  T* out = tensor.data<T>();
  for (int i = 0; i < values.size(); ++i) {
    const auto value = values.Get(i);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                  !std::is_same_v<T, decltype(value)>) {
      if (!std::in_range<T>(value)) {
        return invalidArgument(input + ": element " + std::to_string(i) + " (" +
                               std::to_string(value) + ") is out of range for " +
                               std::string(dtypeName(tensor.dtype())));
      }
    }
    out[i] = static_cast<T>(value);
  }
  return okStatus();
}

/// A tensor from its `contents`, whose field for `dtype` holds exactly `count` elements (what
/// `shape`, written `shape_text`, holds).
Expected<Tensor> typedTensor(const InferTensorContents& c, DType dtype, Shape shape,
                             const std::string& shape_text, std::int64_t count,
                             const std::string& input) {
  const TypedField field = typedField(c, dtype);
  const std::string type(dtypeName(dtype));
  if (field.name == nullptr) {
    return invalidArgument(input + ": " + type +
                           " has no typed contents field; send it in raw_input_contents");
  }
  if (typedElements(c) != field.size) {
    return invalidArgument(input + ": " + type + " elements go in contents." + field.name +
                           ", but other contents fields hold elements");
  }
  if (field.size != count) {
    return invalidArgument(input + ": shape " + shape_text + " holds " + std::to_string(count) +
                           " elements but contents." + field.name + " has " +
                           std::to_string(field.size));
  }
  if (dtype == DType::kBytes) {
    std::vector<std::string> strings(c.bytes_contents().begin(), c.bytes_contents().end());
    return Tensor::fromStrings(std::move(strings)).reshaped(std::move(shape));
  }
  Tensor tensor(dtype, std::move(shape));
  Status filled;
  switch (dtype) {
    case DType::kBool:
      filled = fillTyped<bool>(c.bool_contents(), tensor, input);
      break;
    case DType::kInt8:
      filled = fillTyped<std::int8_t>(c.int_contents(), tensor, input);
      break;
    case DType::kInt16:
      filled = fillTyped<std::int16_t>(c.int_contents(), tensor, input);
      break;
    case DType::kInt32:
      filled = fillTyped<std::int32_t>(c.int_contents(), tensor, input);
      break;
    case DType::kInt64:
      filled = fillTyped<std::int64_t>(c.int64_contents(), tensor, input);
      break;
    case DType::kUInt8:
      filled = fillTyped<std::uint8_t>(c.uint_contents(), tensor, input);
      break;
    case DType::kUInt16:
      filled = fillTyped<std::uint16_t>(c.uint_contents(), tensor, input);
      break;
    case DType::kUInt32:
      filled = fillTyped<std::uint32_t>(c.uint_contents(), tensor, input);
      break;
    case DType::kUInt64:
      filled = fillTyped<std::uint64_t>(c.uint64_contents(), tensor, input);
      break;
    case DType::kFloat32:
      filled = fillTyped<float>(c.fp32_contents(), tensor, input);
      break;
    case DType::kFloat64:
      filled = fillTyped<double>(c.fp64_contents(), tensor, input);
      break;
    default:
      break;
  }
  if (!filled.ok()) {
    return filled;
  }
  return tensor;
}

/// A BYTES tensor of `count` elements from raw bytes: each a 4-byte little-endian length, then
/// its bytes; nothing may follow the last.
Expected<Tensor> rawStrings(std::string_view bytes, Shape shape, std::int64_t count,
                            const std::string& input) {
  // Each element takes at least its 4-byte length, so the bytes bound the count before any
  // string is made.
  if (static_cast<std::uint64_t>(count) > bytes.size() / 4) {
    return invalidArgument(input + ": BYTES shape holds " + std::to_string(count) +
                           " elements but its " + std::to_string(bytes.size()) +
                           " raw bytes hold at most " + std::to_string(bytes.size() / 4) +
                           " (each element starts with a 4-byte length)");
  }
  std::vector<std::string> strings;
  strings.reserve(static_cast<std::size_t>(count));
  std::size_t pos = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    if (bytes.size() - pos < 4) {
      return invalidArgument(input + ": BYTES element " + std::to_string(i) +
                             " is cut off in its 4-byte length");
    }
    std::uint32_t length = 0;
    for (int b = 3; b >= 0; --b) {
      length = (length << 8) | static_cast<unsigned char>(bytes[pos + static_cast<std::size_t>(b)]);
    }
    pos += 4;
    if (bytes.size() - pos < length) {
      return invalidArgument(input + ": BYTES element " + std::to_string(i) + " says " +
                             std::to_string(length) + " bytes but only " +
                             std::to_string(bytes.size() - pos) + " follow");
    }
    strings.emplace_back(bytes.substr(pos, length));
    pos += length;
  }
  if (pos != bytes.size()) {
    return invalidArgument(input + ": " + std::to_string(bytes.size() - pos) +
                           " raw bytes follow its last BYTES element");
  }
  return Tensor::fromStrings(std::move(strings)).reshaped(std::move(shape));
}

/// A tensor from its raw bytes: little-endian, row-major, BOOL one byte 0 or 1.
Expected<Tensor> rawTensor(std::string_view bytes, DType dtype, Shape shape, std::int64_t count,
                           const std::string& input) {
  if (dtype == DType::kBytes) {
    return rawStrings(bytes, std::move(shape), count, input);
  }
  const std::size_t size = dtypeSize(dtype);
  if (static_cast<std::uint64_t>(count) > bytes.size() / size ||
      static_cast<std::uint64_t>(count) * size != bytes.size()) {
    return invalidArgument(input + ": " + std::string(dtypeName(dtype)) + " shape holds " +
                           std::to_string(count) + " elements (" + std::to_string(size) +
                           " bytes each) but raw_input_contents has " +
                           std::to_string(bytes.size()) + " bytes");
  }
  if (dtype == DType::kBool) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] != 0 && bytes[i] != 1) {
        return invalidArgument(input + ": BOOL element " + std::to_string(i) +
                               " is neither 0 nor 1");
      }
    }
  }
  Tensor tensor(dtype, std::move(shape));
  if (!bytes.empty()) {
    std::memcpy(tensor.raw(), bytes.data(), bytes.size());
  }
  return tensor;
}

Status readParameters(const ModelInferRequest& request, PredictOptions& options) {
  using Kind = PredictOptionsBuilder::Kind;
  PredictOptionsBuilder builder;
  for (const auto& [name, value] : request.parameters()) {
    Kind kind = Kind::kNull;
    std::string text;
    switch (value.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam:
        kind = Kind::kBool;
        text = value.bool_param() ? "true" : "false";
        break;
      case inference::InferParameter::kInt64Param:
        kind = Kind::kNumber;
        text = std::to_string(value.int64_param());
        break;
      case inference::InferParameter::kStringParam:
        kind = Kind::kString;
        text = value.string_param();
        break;
      case inference::InferParameter::kDoubleParam: {
        // The shortest text that reads back as the same double ("3", "0.25", "1e+100").
        char buffer[32];
        const auto written = std::to_chars(buffer, buffer + sizeof buffer, value.double_param());
        kind = Kind::kNumber;
        text.assign(buffer, written.ptr);
        break;
      }
      case inference::InferParameter::kUint64Param:
        kind = Kind::kNumber;
        text = std::to_string(value.uint64_param());
        break;
      case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
        break;
    }
    Status added = builder.add(name, kind, std::move(text));
    if (!added.ok()) {
      return invalidArgument("the request: " + added.message());
    }
  }
  options = std::move(builder).finish();
  options.request_id = request.id();
  return okStatus();
}

}  // namespace

Expected<GrpcInferRequest> decodeGrpcInferRequest(const ModelInferRequest& request) {
  GrpcInferRequest decoded;
  const int inputs = request.inputs_size();
  if (inputs == 0) {
    return invalidArgument("the request has no inputs");
  }
  decoded.raw = request.raw_input_contents_size() > 0;
  if (decoded.raw && request.raw_input_contents_size() != inputs) {
    return invalidArgument("the request has " + std::to_string(inputs) + " inputs but " +
                           std::to_string(request.raw_input_contents_size()) +
                           " raw_input_contents; send one per input, in the same order");
  }
  std::set<std::string_view> names;
  for (int i = 0; i < inputs; ++i) {
    const auto& input = request.inputs(i);
    const std::string where = "input '" + input.name() + "'";
    if (input.name().empty()) {
      return invalidArgument("input " + std::to_string(i) + " has no name");
    }
    if (!names.insert(input.name()).second) {
      return invalidArgument(where + " appears twice");
    }
    const auto dtype = dtypeFromName(input.datatype());
    if (!dtype) {
      return invalidArgument(where + ": unknown datatype '" + input.datatype() +
                             "' (BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, "
                             "FP16, BF16, FP32, FP64 or BYTES)");
    }
    const auto count = elementCount(input.shape());
    if (!count) {
      return invalidArgument(where + ": shape " + shapeText(input.shape()) +
                             " has a negative dimension or too many elements");
    }
    Shape shape(input.shape().begin(), input.shape().end());
    Expected<Tensor> tensor = Tensor();
    if (decoded.raw) {
      if (input.has_contents() && typedElements(input.contents()) > 0) {
        return invalidArgument(where +
                               " has contents although the request uses "
                               "raw_input_contents; send every input one way");
      }
      tensor = rawTensor(request.raw_input_contents(i), *dtype, std::move(shape), *count, where);
    } else {
      tensor = typedTensor(input.contents(), *dtype, std::move(shape), shapeText(input.shape()),
                           *count, where);
    }
    if (!tensor.ok()) {
      return tensor.status();
    }
    decoded.inputs.set(input.name(), std::move(tensor).value());
  }
  std::set<std::string_view> selected;
  for (const auto& output : request.outputs()) {
    if (output.name().empty()) {
      return invalidArgument("a requested output has no name");
    }
    if (!selected.insert(output.name()).second) {
      return invalidArgument("output '" + output.name() + "' is requested twice");
    }
    decoded.outputs.push_back(output.name());
  }
  AIMASS_RETURN_IF_ERROR(readParameters(request, decoded.options));
  return decoded;
}

namespace {

/// `tensor`'s elements in the `contents` field of its datatype.
void appendTyped(const Tensor& tensor, InferTensorContents& c) {
  const auto n = static_cast<std::size_t>(tensor.numel());
  auto add = [&](auto* field, const auto* values) {
    field->Reserve(static_cast<int>(n));
    for (std::size_t i = 0; i < n; ++i) {
      field->AddAlreadyReserved(values[i]);
    }
  };
  switch (tensor.dtype()) {
    case DType::kBool:
      add(c.mutable_bool_contents(), tensor.data<bool>());
      break;
    case DType::kInt8:
      add(c.mutable_int_contents(), tensor.data<std::int8_t>());
      break;
    case DType::kInt16:
      add(c.mutable_int_contents(), tensor.data<std::int16_t>());
      break;
    case DType::kInt32:
      add(c.mutable_int_contents(), tensor.data<std::int32_t>());
      break;
    case DType::kInt64:
      add(c.mutable_int64_contents(), tensor.data<std::int64_t>());
      break;
    case DType::kUInt8:
      add(c.mutable_uint_contents(), tensor.data<std::uint8_t>());
      break;
    case DType::kUInt16:
      add(c.mutable_uint_contents(), tensor.data<std::uint16_t>());
      break;
    case DType::kUInt32:
      add(c.mutable_uint_contents(), tensor.data<std::uint32_t>());
      break;
    case DType::kUInt64:
      add(c.mutable_uint64_contents(), tensor.data<std::uint64_t>());
      break;
    case DType::kFloat32:
      add(c.mutable_fp32_contents(), tensor.data<float>());
      break;
    case DType::kFloat64:
      add(c.mutable_fp64_contents(), tensor.data<double>());
      break;
    case DType::kBytes:
      for (const auto& s : tensor.strings()) {
        c.add_bytes_contents(s);
      }
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      break;  // always raw (encodeGrpcOutputs)
  }
}

/// `tensor`'s raw bytes: little-endian, row-major; BYTES elements each after a 4-byte length.
void appendRaw(const Tensor& tensor, std::string& out) {
  if (tensor.dtype() != DType::kBytes) {
    out.assign(static_cast<const char*>(tensor.raw()), tensor.nbytes());
    return;
  }
  std::size_t total = 0;
  for (const auto& s : tensor.strings()) {
    total += 4 + s.size();
  }
  out.reserve(total);
  for (const auto& s : tensor.strings()) {
    const auto length = static_cast<std::uint32_t>(s.size());
    for (int b = 0; b < 4; ++b) {
      out.push_back(static_cast<char>((length >> (8 * b)) & 0xff));
    }
    out += s;
  }
}

}  // namespace

Status encodeGrpcOutputs(const TensorMap& outputs, const std::vector<std::string>& selected,
                         bool raw, inference::ModelInferResponse& response) {
  std::vector<std::pair<const std::string*, const Tensor*>> chosen;
  if (selected.empty()) {
    for (const auto& [name, tensor] : outputs) {
      chosen.emplace_back(&name, &tensor);
    }
  } else {
    for (const auto& name : selected) {
      const Tensor* tensor = outputs.find(name);
      if (tensor == nullptr) {
        return internalError("the model wrote no output '" + name + "'");
      }
      chosen.emplace_back(&name, tensor);
    }
  }
  for (const auto& [name, tensor] : chosen) {
    if (tensor->dtype() == DType::kFloat16 || tensor->dtype() == DType::kBFloat16) {
      raw = true;  // no typed field holds them; the protocol then answers every output raw
    }
  }
  for (const auto& [name, tensor] : chosen) {
    auto* output = response.add_outputs();
    output->set_name(*name);
    output->set_datatype(std::string(dtypeName(tensor->dtype())));
    for (const std::int64_t dim : tensor->shape()) {
      output->add_shape(dim);
    }
    if (raw) {
      appendRaw(*tensor, *response.add_raw_output_contents());
    } else {
      appendTyped(*tensor, *output->mutable_contents());
    }
  }
  return okStatus();
}

void fillTensorMetadata(
    const std::vector<TensorSpec>& specs,
    google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>& out) {
  for (const auto& spec : specs) {
    auto* tensor = out.Add();
    tensor->set_name(spec.name);
    tensor->set_datatype(std::string(dtypeName(spec.dtype)));
    for (const std::int64_t dim : spec.shape) {
      tensor->add_shape(dim);
    }
  }
}

Status convertToDeclared(TensorMap& inputs, const std::vector<TensorSpec>& specs) {
  for (auto& [name, tensor] : inputs) {
    const auto spec = std::find_if(specs.begin(), specs.end(),
                                   [&](const TensorSpec& s) { return s.name == name; });
    if (spec == specs.end() || tensor.dtype() == spec->dtype || !isNumeric(tensor.dtype()) ||
        !isNumeric(spec->dtype)) {
      continue;
    }
    AIMASS_ASSIGN_OR_RETURN(Tensor converted, convertExactly(tensor, spec->dtype, name));
    tensor = std::move(converted);
  }
  return okStatus();
}

}  // namespace aimass::plugins::frontend
