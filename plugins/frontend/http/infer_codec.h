// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"
#include "json_document.h"
#include "json_numbers.h"
#include "json_outline.h"

namespace aimass::plugins::frontend {

/// An inference request of the Open Inference Protocol v2, decoded and checked against the
/// model's schema, ready for Model::predict().
struct InferRequest {
  std::optional<std::string> id;     ///< echoed in the response when given
  TensorMap inputs;                  ///< in request order, in the model's datatypes
  std::vector<std::string> outputs;  ///< outputs the client asked for; empty: all of them
  /// The request-level "binary_data_output" parameter: answer every output in binary unless
  /// the output's own "binary_data" parameter says otherwise.
  bool binary_data_output = false;
  /// Outputs whose "binary_data" parameter was given, with its value.
  std::vector<std::pair<std::string, bool>> output_binary;
  /// The request's other top-level "parameters" (top_k, exclude_seen, the rest as text), for
  /// PinnedModel::infer(); see readPredictOptions() (predict_parameters.h).
  PredictOptions options;

  /// Whether `output` is answered as binary data (binary tensor data extension).
  bool wantsBinary(std::string_view output) const;
};

/// How decodeInferRequest() reads a body.
struct InferDecodeOptions {
  /// The value of the request's Inference-Header-Content-Length header, when it has one: the
  /// body is then that many bytes of JSON followed by the inputs' binary data.
  std::optional<std::string_view> header_length;
  /// Deepest nesting of JSON lists and objects accepted (the `max_json_depth` parameter).
  std::size_t max_json_depth = 64;
};

/// Parses an OIP v2 inference request and validates it against `schema`:
///
///     {"id": "42", "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
///                              "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}],
///      "outputs": [{"name": "class"}], "parameters": {...}}
///
/// `data` is flat (row-major) or nested; nested data must match `shape` level by level. With
/// the binary tensor data extension an input has `"parameters": {"binary_data_size": N}` and
/// no `data`; its N bytes (little-endian, row-major; BOOL one byte 0/1; BYTES a 4-byte length
/// before each element) follow the JSON header in the order of the inputs.
///
/// A JSON `null` element is a missing value: NaN in a floating datatype (FP16, BF16, FP32,
/// FP64; a model with preprocessing imputes it), the empty string in BYTES; for an integer or
/// BOOL datatype it is refused like any other value that is not of the datatype.
///
/// Every datatype is accepted. When the request's datatype differs from the model's, the values
/// are converted if every element converts exactly (INT32 3 to FP32 3.0; not FP64 0.1 to FP32,
/// nor 300 to UINT8); BOOL and BYTES convert to nothing else.
///
/// Every problem is kInvalidArgument with a message fit for the client that names the input,
/// output or header at fault: malformed JSON, nesting deeper than max_json_depth, an unknown,
/// duplicate or missing input, an unknown datatype or one that does not convert, a shape whose
/// rank or fixed dimensions differ from the model's, an element count other than the shape's
/// product, values that are not of the datatype, an unknown output name, more JSON values than
/// the model's inputs can take at the shapes the request declares (inferRequestValueLimit():
/// the body is not read past them), a declared shape of more elements than the body can hold
/// (each value takes two bytes at least) or than its values or binary bytes carry (refused
/// before the tensor is allocated or the values indexed), and for binary data a
/// bad Inference-Header-Content-Length (not a number, zero, past the end of the body), a
/// binary_data_size that does not match the shape or runs past the body, binary inputs
/// without the header, and bytes left over after the last binary input. The request's
/// top-level `parameters` become InferRequest::options (readPredictOptions(): a bad top_k or
/// exclude_seen, or a list or object value, is refused naming the parameter); the inputs' and
/// outputs' parameters other than the binary ones are accepted and ignored. Allocation
/// failure is kResourceExhausted.
///
/// The JSON is read by JsonDocument (json_document.h): strict RFC 8259; numbers go straight into
/// the input tensors, as the value the scan worked out where that is exact (Node::value) and
/// with std::from_chars otherwise, a flat `data` list in one pass; a number outside the
/// datatype's range (1e39 as FP32, 1e400 as FP64, 2^31 as INT32) is refused naming the input
/// and element.
///
/// Thread-safe: each thread parses into node storage of its own, reused by its next request;
/// never throws.
Expected<InferRequest> decodeInferRequest(std::string_view body, const ModelSchema& schema,
                                          const InferDecodeOptions& options = {});

/// An encoded inference response.
struct InferResponseBody {
  std::string body;
  /// Set when outputs are sent as binary data: the length of the JSON header at the start of
  /// `body`, for the Inference-Header-Content-Length header.
  std::optional<std::size_t> header_length;
};

/// The OIP v2 response body:
///
///     {"model_name": "iris", "model_version": "1", "id": "42",
///      "outputs": [{"name": "class", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]}
///
/// Writes the outputs `request` selected, in that order (every tensor of `outputs` when it
/// selected none). JSON numbers are written in their shortest exact form, INT64 as integers,
/// BOOL as true/false, BYTES as strings, FP16 and BF16 as their exact values; NaN and
/// infinities, which JSON cannot hold, become null. Outputs the request wants in binary get
/// `"parameters": {"binary_data_size": N}` instead of `data` and their bytes follow the JSON.
/// kInternal when a selected output is missing from `outputs` (the model broke its schema).
/// Never throws.
Expected<InferResponseBody> encodeInferResponse(std::string_view model_name,
                                                std::string_view model_version,
                                                const InferRequest& request,
                                                const TensorMap& outputs);

/// The JSON-only form of the above: `selected` outputs (all when empty), no binary data.
Expected<std::string> encodeInferResponse(std::string_view model_name,
                                          std::string_view model_version,
                                          const std::optional<std::string>& id,
                                          const TensorMap& outputs,
                                          const std::vector<std::string>& selected);

/// What a request may carry for one input of a model: the elements a tensor of the input's
/// shape holds, and the JSON lists its `data` may be nested in (one for the whole, one per row
/// of a [rows, columns] input, ...).
struct InputCapacity {
  std::uint64_t elements = 0;
  std::uint64_t lists = 0;
};

/// The capacity of an input whose dimensions are all fixed; nullopt when one is variable (-1),
/// so that only the body's size bounds what a request carries for it, or when the product
/// overflows.
std::optional<InputCapacity> inputCapacity(const TensorSpec& spec);

/// The most JSON values (JsonDocument nodes: every value and member name) an OIP request to a
/// model of `schema` can hold before the shapes it declares are known: each input's elements
/// and lists with every variable (-1) dimension taken as 0, a few values per input and output
/// for their names, datatypes, shapes and parameters, and 4096 for the rest of the request
/// (id, parameters, outputs; small requests to a variable-batch model fit in these).
/// decodeInferRequest() indexes a body up to this many values; when it holds more and an input
/// has a variable dimension, it reads the shapes the body declares for those inputs (without
/// indexing it), checks them against the model and the body's size, and indexes again up to
/// this limit plus the declared shapes' elements and lists.
std::size_t inferRequestValueLimit(const ModelSchema& schema);

/// Every input as "name DTYPE [dims]" (e.g. "x FP32 [-1, 4], mask BOOL [-1]"), for messages.
std::string describeInputs(const std::vector<TensorSpec>& specs);


/// Appends element `index` (row-major) of `tensor` as a JSON value, written as in responses.
/// `index` must be below numel(). Never throws except std::bad_alloc.
void appendTensorElement(std::string& out, const Tensor& tensor, std::int64_t index);

/// The OIP v2 model metadata body: name, every version served under the name, platform
/// ("aimass_<task>"), and the inputs and outputs with their datatypes and shapes (-1 for a
/// variable dimension); an optional input has `"optional": true`, and an input whose last
/// dimension is a row of named columns (TensorSpec::columns) has `"columns": [names]`.
std::string encodeModelMetadata(std::string_view name, const std::vector<std::string>& versions,
                                const ModelSchema& schema);

/// Appends `text` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view text);

}  // namespace aimass::plugins::frontend
