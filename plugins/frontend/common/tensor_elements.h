// SPDX-License-Identifier: Apache-2.0
#pragma once

// Elements and shapes for the inference codecs of frontend.http (infer_codec.h, mlflow_codec.h)
// and frontend.grpc (grpc_tensors.h): 16-bit floats to and from float, exact conversion of a
// tensor to the datatype a model takes, shape checks.

#include <cstdint>
#include <string>

#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::plugins::frontend {

/// IEEE half precision (FP16) to float, exactly.
float halfToFloat(std::uint16_t h);
/// float to IEEE half precision, rounding to nearest even; overflow becomes infinity.
std::uint16_t floatToHalf(float f);
/// bfloat16 (BF16) to float, exactly.
float bfloatToFloat(std::uint16_t b);
/// float to bfloat16, rounding to nearest even.
std::uint16_t floatToBfloat(float f);

/// Whether `actual` has `expected`'s rank and its fixed dimensions (-1 in `expected`: any).
bool shapeFits(const Shape& actual, const Shape& expected);

/// Every datatype but BOOL and BYTES.
bool isNumeric(DType t);

/// `source` in the model's `target` datatype, when every element converts exactly (an integer
/// within the target's range, a float that the target holds without rounding);
/// kInvalidArgument naming `input` and the first element that does not. Both datatypes are
/// numeric. Never throws except std::bad_alloc.
Expected<Tensor> convertExactly(const Tensor& source, DType target, const std::string& input);

}  // namespace aimass::plugins::frontend
