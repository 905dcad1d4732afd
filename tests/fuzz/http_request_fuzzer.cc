// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as an inference request body for frontend.http. The first
// byte picks the parser (its two low bits): an OIP v2 JSON request, an OIP v2 request with
// binary tensor data (the next two bytes give the Inference-Header-Content-Length), an MLflow
// JSON request or an MLflow CSV request; and the model (bit 2): one with variable batches, or
// one of fixed shapes, whose requests the decoders bound by what its inputs can take. Decoding must never crash, leak, hang or throw; whatever decodes must match the
// model's schema and encode back (as JSON and as binary outputs) without failing. Built with
// clang++ -fsanitize=fuzzer,address,undefined by tests/fuzz/CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "infer_codec.h"
#include "mlflow_codec.h"

namespace {

using aimass::DType;
using aimass::ModelSchema;
using aimass::Tensor;
using aimass::TensorMap;

/// Inputs of every kind of element: numbers in a matrix, integers, text, booleans, halves.
ModelSchema makeSchema() {
  ModelSchema schema;
  // "x" names its columns, as a model with preprocessing does: MLflow tables map "a" and "b".
  schema.inputs = {{"x", DType::kFloat32, {-1, 2}, false, false, {"a", "b"}},
                   {"ids", DType::kInt64, {-1}, true},
                   {"text", DType::kBytes, {-1}, true},
                   {"flag", DType::kBool, {-1, 1}, true},
                   {"half", DType::kFloat16, {-1}, true},
                   {"small", DType::kUInt8, {3}, true}};
  schema.outputs = {{"x", DType::kFloat32, {-1, 2}}, {"ids", DType::kInt64, {-1}},
                    {"text", DType::kBytes, {-1}},   {"flag", DType::kBool, {-1, 1}},
                    {"half", DType::kFloat16, {-1}}, {"small", DType::kUInt8, {3}}};
  return schema;
}

/// Fixed shapes only: the decoders stop reading at the values these inputs can take.
ModelSchema makeFixedSchema() {
  ModelSchema schema;
  schema.inputs = {{"x", DType::kFloat32, {2, 2}},
                   {"text", DType::kBytes, {2}, true},
                   {"flag", DType::kBool, {1}, true},
                   {"small", DType::kUInt8, {3}, true}};
  schema.outputs = {{"x", DType::kFloat32, {2, 2}}};
  return schema;
}

/// Every decoded tensor has the model's datatype, a shape that fits, and storage for it.
void checkInputs(const TensorMap& inputs, const ModelSchema& schema) {
  for (const auto& [name, tensor] : inputs) {
    const aimass::TensorSpec* spec = nullptr;
    for (const auto& s : schema.inputs) {
      spec = s.name == name ? &s : spec;
    }
    if (!spec || tensor.dtype() != spec->dtype || tensor.rank() != spec->shape.size() ||
        tensor.numel() < 0) {
      __builtin_trap();
    }
    if (tensor.dtype() == DType::kBytes
            ? tensor.strings().size() != static_cast<std::size_t>(tensor.numel())
            : (tensor.numel() > 0 && tensor.raw() == nullptr)) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ModelSchema variable_schema = makeSchema();
  static const ModelSchema fixed_schema = makeFixedSchema();
  if (size == 0) {
    return 0;
  }
  const ModelSchema& schema = (data[0] & 4) != 0 ? fixed_schema : variable_schema;
  const std::uint8_t mode = data[0] % 4;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  using namespace aimass::plugins::frontend;

  if (mode == 0 || mode == 1) {
    InferDecodeOptions options;
    options.max_json_depth = 16;
    std::string header;
    if (mode == 1) {
      if (body.size() < 2) {
        return 0;
      }
      header = std::to_string(static_cast<unsigned char>(body[0]) |
                              (static_cast<unsigned char>(body[1]) << 8));
      body.remove_prefix(2);
      options.header_length = header;
    }
    auto decoded = decodeInferRequest(body, schema, options);
    if (!decoded.ok()) {
      if (decoded.status().message().empty()) {
        __builtin_trap();  // a refusal always says why
      }
      return 0;
    }
    checkInputs(decoded->inputs, schema);
    // Echo the inputs as outputs, in the encodings the request asked for.
    auto encoded = encodeInferResponse("m", "1", *decoded, decoded->inputs);
    if (decoded->outputs.empty() && !encoded.ok()) {
      __builtin_trap();
    }
    if (encoded.ok() && encoded->header_length && *encoded->header_length > encoded->body.size()) {
      __builtin_trap();
    }
    return 0;
  }

  aimass::PredictOptions options;  // MLflow's "params" are read too
  auto decoded = decodeMlflowRequest(mode == 2 ? MlflowFormat::kJson : MlflowFormat::kCsv, body,
                                     schema, 16, &options);
  if (!decoded.ok()) {
    if (decoded.status().message().empty()) {
      __builtin_trap();
    }
    return 0;
  }
  checkInputs(*decoded, schema);
  if (!encodeMlflowPredictions(*decoded).ok()) {
    __builtin_trap();
  }
  (void)mlflowFormat(body.substr(0, 64));
  return 0;
}
