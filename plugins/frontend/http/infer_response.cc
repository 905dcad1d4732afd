// SPDX-License-Identifier: Apache-2.0
// The response side of the Open Inference Protocol v2 codec (infer_codec.h): infer responses
// in JSON or with binary tensor data, model metadata, and JSON renderings of tensor elements.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "infer_codec.h"
#include "tensor_elements.h"

namespace aimass::plugins::frontend {
namespace {

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
    if (!specs[i].columns.empty()) {
      out += ",\"columns\":[";
      for (std::size_t c = 0; c < specs[i].columns.size(); ++c) {
        out += c ? "," : "";
        appendJsonString(out, specs[i].columns[c]);
      }
      out += ']';
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

