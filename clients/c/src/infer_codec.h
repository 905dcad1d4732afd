// SPDX-License-Identifier: Apache-2.0
// The infer request and answer, and their OIP v2 encodings: JSON, and the binary tensor data
// extension (a JSON header followed by the tensors' bytes, its length in the
// Inference-Header-Content-Length header). The C ABI's request and result handles are these
// structs. Pure data and functions, no I/O; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aimass_client.h"

namespace aimass::client::detail {

struct InputTensor {
  std::string name;
  aimass_client_datatype type = AIMASS_CLIENT_INVALID_TYPE;
  std::vector<std::int64_t> shape;
  std::size_t count = 0;  // elements
  // Numeric: the little-endian elements. BYTES: the binary layout (each element a 4-byte
  // little-endian length, then its bytes).
  std::string data;
};

using ParameterValue = std::variant<bool, std::int64_t, double, std::string>;

struct OutputTensor {
  std::string name;
  aimass_client_datatype type = AIMASS_CLIENT_INVALID_TYPE;
  std::vector<std::int64_t> shape;
  std::size_t count = 0;
  std::vector<std::byte> data;        // numeric elements (heap memory: aligned for any type)
  std::vector<std::string> elements;  // BYTES
  bool binary = false;
};

/// The element count `shape` holds; throws ClientFailure(kInvalidArgument) naming `where` for
/// a negative dimension or a count that overflows.
std::size_t shapeCount(const std::int64_t* shape, std::size_t rank, std::string_view where);

}  // namespace aimass::client::detail

struct aimass_client_request {
  std::vector<aimass::client::detail::InputTensor> inputs;
  std::vector<std::string> outputs;
  std::string id;
  bool has_id = false;
  bool binary = true;
  long timeout_ms = 0;
  std::vector<std::pair<std::string, aimass::client::detail::ParameterValue>> parameters;
  // The last encoding (encode() fills them).
  std::string body;
  std::size_t header_length = 0;
  bool has_binary = false;  // whether body carries binary data after its JSON header

  /// Encodes the request into body/header_length/has_binary. Throws ClientFailure.
  void encode();
};

struct aimass_client_output : aimass::client::detail::OutputTensor {};

struct aimass_client_result {
  std::string model_name;
  std::string model_version;
  std::string id;
  bool has_id = false;
  std::vector<aimass_client_output> outputs;

  /// Decodes an answer whose first `header_length` bytes are its JSON header. Throws
  /// ClientFailure(kProtocol) naming what was wrong.
  static aimass_client_result decode(std::string_view body, std::size_t header_length);
};
