// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::plugins::frontend {

/// An inference request of the Open Inference Protocol v2, decoded and checked against the
/// model's schema, ready for Model::predict().
struct InferRequest {
  std::optional<std::string> id;     ///< echoed in the response when given
  TensorMap inputs;                  ///< in request order
  std::vector<std::string> outputs;  ///< outputs the client asked for; empty: all of them
};

/// Parses an OIP v2 JSON inference request and validates it against `schema`:
///
///     {"id": "42", "inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
///                              "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}],
///      "outputs": [{"name": "class"}], "parameters": {...}}
///
/// `data` is flat (row-major) or nested; nested data must match `shape` level by level.
/// Every problem is kInvalidArgument with a message fit for the client: malformed JSON, an
/// unknown, duplicate or missing input, a datatype other than the model's, a shape whose rank
/// or fixed dimensions differ from the model's, an element count other than the shape's
/// product, values that are not of the datatype (text for a number, 1.5 or 300 for a UINT8,
/// a number for BOOL or BYTES), an unknown output name. `parameters` are accepted and ignored.
///
/// Thread-safe (no shared state); never throws.
Expected<InferRequest> decodeInferRequest(std::string_view body, const ModelSchema& schema);

/// The OIP v2 response body:
///
///     {"model_name": "iris", "model_version": "1", "id": "42",
///      "outputs": [{"name": "class", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]}]}
///
/// Writes `selected` outputs in that order (every tensor of `outputs` when empty). Numbers are
/// written in their shortest exact form, INT64 as integers, BOOL as true/false, BYTES as
/// strings; NaN and infinities, which JSON cannot hold, become null. kInternal when a selected
/// output is missing from `outputs` (the model broke its schema). Never throws.
Expected<std::string> encodeInferResponse(std::string_view model_name,
                                          std::string_view model_version,
                                          const std::optional<std::string>& id,
                                          const TensorMap& outputs,
                                          const std::vector<std::string>& selected);

/// The OIP v2 model metadata body: name, every version served under the name, platform
/// ("aimass_<task>"), and the inputs and outputs with their datatypes and shapes (-1 for a
/// variable dimension).
std::string encodeModelMetadata(std::string_view name, const std::vector<std::string>& versions,
                                const ModelSchema& schema);

/// Appends `text` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view text);

}  // namespace aimass::plugins::frontend
