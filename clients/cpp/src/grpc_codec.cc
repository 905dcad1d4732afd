// SPDX-License-Identifier: Apache-2.0
#include "grpc_codec.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace aimass::client::grpc_codec {
namespace {

using Contents = inference::InferTensorContents;

[[noreturn]] void refuse(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, 0, message);
}

[[noreturn]] void malformed(const std::string& message) {
  throw Error(ErrorCode::kProtocol, 0, message);
}

/// BYTES elements in the raw form: each a 4-byte little-endian length, then its bytes.
std::string rawStrings(const std::vector<std::string>& elements) {
  std::string out;
  for (const auto& e : elements) {
    const auto length = static_cast<std::uint32_t>(e.size());
    for (int b = 0; b < 4; ++b) {
      out.push_back(static_cast<char>((length >> (8 * b)) & 0xff));
    }
    out += e;
  }
  return out;
}

std::vector<std::string> parseRawStrings(std::string_view raw, std::size_t count,
                                         const std::string& name) {
  std::vector<std::string> elements;
  std::size_t pos = 0;
  for (std::size_t i = 0; i < count; ++i) {
    if (raw.size() - pos < 4) {
      malformed("output '" + name + "': raw BYTES end before element " + std::to_string(i));
    }
    std::uint32_t length = 0;
    for (int b = 3; b >= 0; --b) {
      length = (length << 8) | static_cast<unsigned char>(raw[pos + static_cast<std::size_t>(b)]);
    }
    pos += 4;
    if (raw.size() - pos < length) {
      malformed("output '" + name + "': raw BYTES element " + std::to_string(i) + " is cut short");
    }
    elements.emplace_back(raw.substr(pos, length));
    pos += length;
  }
  if (pos != raw.size()) {
    malformed("output '" + name + "': bytes follow its last raw BYTES element");
  }
  return elements;
}

/// Appends a tensor's elements as T to a repeated field of the typed contents.
template <typename T, typename Field>
void addAll(const Tensor& tensor, Field* field) {
  for (T v : tensor.data<T>()) {
    field->Add(v);
  }
}

void typedContents(const Tensor& t, Contents& c) {
  switch (t.dataType()) {
    case DataType::kBool:
      addAll<bool>(t, c.mutable_bool_contents());
      break;
    case DataType::kInt8:
      addAll<std::int8_t>(t, c.mutable_int_contents());
      break;
    case DataType::kInt16:
      addAll<std::int16_t>(t, c.mutable_int_contents());
      break;
    case DataType::kInt32:
      addAll<std::int32_t>(t, c.mutable_int_contents());
      break;
    case DataType::kInt64:
      addAll<std::int64_t>(t, c.mutable_int64_contents());
      break;
    case DataType::kUint8:
      addAll<std::uint8_t>(t, c.mutable_uint_contents());
      break;
    case DataType::kUint16:
      addAll<std::uint16_t>(t, c.mutable_uint_contents());
      break;
    case DataType::kUint32:
      addAll<std::uint32_t>(t, c.mutable_uint_contents());
      break;
    case DataType::kUint64:
      addAll<std::uint64_t>(t, c.mutable_uint64_contents());
      break;
    case DataType::kFp32:
      addAll<float>(t, c.mutable_fp32_contents());
      break;
    case DataType::kFp64:
      addAll<double>(t, c.mutable_fp64_contents());
      break;
    case DataType::kBytes:
      for (const auto& e : t.elements()) {
        c.add_bytes_contents(e);
      }
      break;
    case DataType::kFp16:
    case DataType::kBf16:
      refuse("input '" + t.name() + "': " + std::string(dataTypeName(t.dataType())) +
             " has no typed gRPC contents; send it with InferOptions::binary");
  }
}

/// A repeated field's values as T, little-endian bytes (the host's order, as Tensor keeps).
template <typename T, typename Field>
std::vector<std::byte> packed(const Field& field) {
  std::vector<std::byte> bytes(static_cast<std::size_t>(field.size()) * sizeof(T));
  std::size_t at = 0;
  for (auto v : field) {
    const T narrowed = static_cast<T>(v);
    std::memcpy(bytes.data() + at, &narrowed, sizeof(T));
    at += sizeof(T);
  }
  return bytes;
}

std::vector<std::byte> typedBytes(DataType type, const Contents& c, const std::string& name) {
  switch (type) {
    case DataType::kBool:
      return packed<bool>(c.bool_contents());
    case DataType::kInt8:
      return packed<std::int8_t>(c.int_contents());
    case DataType::kInt16:
      return packed<std::int16_t>(c.int_contents());
    case DataType::kInt32:
      return packed<std::int32_t>(c.int_contents());
    case DataType::kInt64:
      return packed<std::int64_t>(c.int64_contents());
    case DataType::kUint8:
      return packed<std::uint8_t>(c.uint_contents());
    case DataType::kUint16:
      return packed<std::uint16_t>(c.uint_contents());
    case DataType::kUint32:
      return packed<std::uint32_t>(c.uint_contents());
    case DataType::kUint64:
      return packed<std::uint64_t>(c.uint64_contents());
    case DataType::kFp32:
      return packed<float>(c.fp32_contents());
    case DataType::kFp64:
      return packed<double>(c.fp64_contents());
    case DataType::kFp16:
    case DataType::kBf16:
    case DataType::kBytes:
      break;
  }
  malformed("output '" + name + "': " + std::string(dataTypeName(type)) +
            " came without raw contents");
}

inference::InferParameter parameterOf(const Parameter& value) {
  inference::InferParameter p;
  if (const bool* b = std::get_if<bool>(&value)) {
    p.set_bool_param(*b);
  } else if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) {
    p.set_int64_param(*i);
  } else if (const double* d = std::get_if<double>(&value)) {
    p.set_double_param(*d);
  } else {
    p.set_string_param(std::get<std::string>(value));
  }
  return p;
}

Tensor decodeOutput(const inference::ModelInferResponse& response, int index, bool raw) {
  const auto& out = response.outputs(index);
  const auto type = parseDataType(out.datatype());
  if (!type) {
    malformed("output '" + out.name() + "' has an unknown datatype '" + out.datatype() + "'");
  }
  Tensor::Shape shape(out.shape().begin(), out.shape().end());
  try {
    if (*type == DataType::kBytes) {
      std::size_t count = 1;
      for (auto d : shape) {
        count *= static_cast<std::size_t>(d < 0 ? 0 : d);
      }
      std::vector<std::string> elements =
          raw ? parseRawStrings(response.raw_output_contents(index), count, out.name())
              : std::vector<std::string>(out.contents().bytes_contents().begin(),
                                         out.contents().bytes_contents().end());
      return Tensor::strings(out.name(), std::move(shape), std::move(elements));
    }
    if (raw) {
      const std::string& bytes = response.raw_output_contents(index);
      return Tensor::fromBytes(out.name(), *type, std::move(shape),
                               std::as_bytes(std::span(bytes.data(), bytes.size())));
    }
    std::vector<std::byte> bytes = typedBytes(*type, out.contents(), out.name());
    return Tensor::fromBytes(out.name(), *type, std::move(shape), bytes);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalidArgument) {
      malformed("the answer's " + e.message());  // contents that do not fit the shape
    }
    throw;
  }
}

}  // namespace

inference::ModelInferRequest encodeRequest(std::string_view model, std::span<const Tensor> inputs,
                                           const InferOptions& options) {
  if (model.empty()) {
    refuse("the model name is empty");
  }
  inference::ModelInferRequest request;
  request.set_model_name(std::string(model));
  request.set_model_version(options.version);
  request.set_id(options.request_id);
  for (const auto& [name, value] : options.parameters) {
    (*request.mutable_parameters())[name] = parameterOf(value);
  }
  for (const Tensor& t : inputs) {
    if (t.name().empty()) {
      refuse("an input has no name");
    }
    auto* input = request.add_inputs();
    input->set_name(t.name());
    input->set_datatype(std::string(dataTypeName(t.dataType())));
    for (auto d : t.shape()) {
      input->add_shape(d);
    }
    if (!options.binary) {
      typedContents(t, *input->mutable_contents());
    } else if (t.dataType() == DataType::kBytes) {
      request.add_raw_input_contents(rawStrings(t.elements()));
    } else {
      const auto bytes = t.bytes();
      request.add_raw_input_contents(
          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
  }
  for (const auto& name : options.outputs) {
    request.add_outputs()->set_name(name);
  }
  return request;
}

InferResult decodeResponse(const inference::ModelInferResponse& response) {
  InferResult result;
  result.model_name = response.model_name();
  result.model_version = response.model_version();
  result.id = response.id();
  const bool raw = response.raw_output_contents_size() > 0;
  if (raw && response.raw_output_contents_size() != response.outputs_size()) {
    malformed("the answer has " + std::to_string(response.outputs_size()) + " outputs but " +
              std::to_string(response.raw_output_contents_size()) + " raw contents");
  }
  for (int i = 0; i < response.outputs_size(); ++i) {
    result.outputs.push_back(decodeOutput(response, i, raw));
    result.binary.push_back(raw);
  }
  return result;
}

}  // namespace aimass::client::grpc_codec
