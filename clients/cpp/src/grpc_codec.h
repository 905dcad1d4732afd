// SPDX-License-Identifier: Apache-2.0
// The GrpcClient's tensor codec: InferOptions and Tensors into a ModelInferRequest (raw or typed
// contents), a ModelInferResponse into an InferResult. Pure functions, no I/O; thread-safe.
#pragma once

#include <span>
#include <string_view>

#include "aimass/client/types.hpp"
#include "grpc_service.pb.h"

namespace aimass::client::grpc_codec {

/// The request infer() sends. Throws Error(kInvalidArgument) naming the input that cannot be
/// encoded (FP16 or BF16 without options.binary, an unnamed input).
inference::ModelInferRequest encodeRequest(std::string_view model, std::span<const Tensor> inputs,
                                           const InferOptions& options);

/// The InferResult of `response`. Throws Error(kProtocol) naming the output that cannot be
/// decoded (an unknown datatype, contents that do not match the shape).
InferResult decodeResponse(const inference::ModelInferResponse& response);

}  // namespace aimass::client::grpc_codec
