// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

#include "aimass/byte_io.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

/// The binary form of named tensors inside the records serving writes (online-learning
/// feedback, serving_feedback.h; logged payloads, monitoring/payload_record.h): a count, then
/// per tensor its name, datatype name, rank, dimensions and either its little-endian data
/// (u64 byte count first) or its strings (each u64-length-prefixed). Callers wrap it in the
/// artifact envelope of model_artifact.h, whose CRC catches torn writes.
namespace aimass::core {

/// Appends a u64 length and the bytes of `text`.
void writeLengthPrefixed(ByteWriter& out, std::string_view text);
/// Reads what writeLengthPrefixed() wrote; "" and in.ok() false when fewer bytes remain
/// (nothing larger than the record is allocated).
std::string readLengthPrefixed(ByteReader& in);

/// Appends `tensors` (CPU tensors; every dtype, kBytes included). std::bad_alloc propagates.
void writeTensorMap(ByteWriter& out, const TensorMap& tensors);
/// One of writeTensorMap()'s entries: the name, dtype, shape and data of one tensor (its data
/// last: a numeric tensor's nbytes() bytes end what this writes).
void writeNamedTensor(ByteWriter& out, std::string_view name, const Tensor& tensor);
/// Reads what writeTensorMap() wrote, checking every declared size against the bytes left
/// before allocating. kDataLoss "<record> is corrupt: ..." (`record` names the kind of record:
/// "feedback record") for a truncated or malformed map or a name that appears twice. Never
/// throws except std::bad_alloc.
Expected<TensorMap> readTensorMap(ByteReader& in, std::string_view record);

}  // namespace aimass::core
