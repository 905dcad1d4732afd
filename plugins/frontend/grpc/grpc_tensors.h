// SPDX-License-Identifier: Apache-2.0
#pragma once

// Tensors of the OIP v2 gRPC messages (grpc_service.proto) to and from aimass Tensors: typed
// `contents` and `raw_input_contents` / `raw_output_contents`, and a request's parameters.

#include <string>
#include <vector>

#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"
#include "grpc_service.pb.h"

namespace aimass::plugins::frontend {

/// A ModelInferRequest decoded for PinnedModel::infer.
struct GrpcInferRequest {
  TensorMap inputs;
  PredictOptions options;
  /// The outputs asked for, in the request's order; empty: every output the model writes.
  std::vector<std::string> outputs;
  /// Whether the inputs came as raw_input_contents (the response then answers raw too).
  bool raw = false;
};

/// Decodes `request`'s inputs, requested outputs and parameters. Each input's datatype must be
/// an OIP name ("FP32", "INT64", "BYTES", ...), its shape non-negative, and its elements exactly
/// as many as the shape holds: either all inputs in raw_input_contents (one entry per input, in
/// order; little-endian, row-major; BOOL one byte 0 or 1; BYTES a 4-byte little-endian length
/// before each element) or each in the `contents` field of its datatype (int_contents for
/// INT8/16/32, uint_contents for UINT8/16/32, within the datatype's range; FP16 and BF16 only
/// raw). Parameters go through PredictOptionsBuilder (a bool as true/false, an int64 or uint64
/// as its digits, a double as the shortest text that reads back the same, a string as is).
/// kInvalidArgument naming the input (or parameter, or output) and what is wrong. Memory is bounded
/// by the request's own size: no element count is allocated before the bytes or contents holding it
/// are checked. Never throws except std::bad_alloc.
Expected<GrpcInferRequest> decodeGrpcInferRequest(const inference::ModelInferRequest& request);

/// Each numeric input of `inputs` whose datatype differs from the one its spec in `specs`
/// declares (also numeric), converted in place to the declared datatype when every element
/// converts exactly (convertExactly, tensor_elements.h: INT32 3 into FP32 is 3.0; FP64 0.1 into
/// FP32 is refused). Inputs without a spec, with the declared datatype, or with BOOL or BYTES
/// on either side are left as they are for the model's own checks. kInvalidArgument naming the
/// input, the first element that does not convert and both datatypes. Never throws except
/// std::bad_alloc.
Status convertToDeclared(TensorMap& inputs, const std::vector<TensorSpec>& specs);

/// Fills `response`'s outputs from `outputs`: those of `selected` in its order, or every one in
/// the model's order when `selected` is empty. Raw (raw_output_contents) when `raw`, or when an
/// output is FP16 or BF16 (which have no typed field); else in each datatype's `contents`
/// field. kInternal when a selected output is missing (callers check the selection first).
Status encodeGrpcOutputs(const TensorMap& outputs, const std::vector<std::string>& selected,
                         bool raw, inference::ModelInferResponse& response);

/// The gRPC message of a model's tensor specs (ModelMetadata's inputs and outputs).
void fillTensorMetadata(
    const std::vector<TensorSpec>& specs,
    google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>& out);

}  // namespace aimass::plugins::frontend
