// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as an infer answer for the C client
// (aimass_client_result_decode) and as a JSON document (aimass_client_json_parse). The first two
// bytes give the JSON header's length within the rest (clamped to it). Decoding must never
// crash, leak or hang; what decodes must be self-consistent: each numeric output holds exactly
// its shape's elements, each BYTES output its shape's element count, and every JSON value is
// reachable through the accessors. Built with clang++ -fsanitize=fuzzer,address,undefined by
// tests/fuzz_client/CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "aimass_client.h"

namespace {

void check(bool condition) {
  if (!condition) {
    std::abort();
  }
}

/// Walks every value of a document through the accessors, `depth` bounding the recursion.
void walk(const aimass_client_value* value, int depth) {
  check(depth <= 130);
  std::size_t n = aimass_client_value_size(value);
  for (std::size_t i = 0; i < n; ++i) {
    walk(aimass_client_value_at(value, i), depth + 1);
    if (aimass_client_value_type(value) == AIMASS_CLIENT_JSON_OBJECT) {
      const char* key = aimass_client_value_key_at(value, i);
      check(key != nullptr);
      check(aimass_client_value_get(value, key) != nullptr);
    }
  }
  std::size_t length = 0;
  if (aimass_client_value_type(value) == AIMASS_CLIENT_JSON_STRING) {
    check(aimass_client_value_string(value, &length) != nullptr);
  }
}

void checkResult(const aimass_client_result* result) {
  for (std::size_t i = 0; i < aimass_client_result_output_count(result); ++i) {
    const aimass_client_output* output = aimass_client_result_output(result, i);
    std::size_t count = 1;
    for (std::size_t d = 0; d < aimass_client_output_rank(output); ++d) {
      count *= static_cast<std::size_t>(aimass_client_output_shape(output)[d]);
    }
    check(count == aimass_client_output_element_count(output));
    aimass_client_datatype type = aimass_client_output_datatype(output);
    if (type == AIMASS_CLIENT_BYTES) {
      for (std::size_t e = 0; e < count; ++e) {
        std::size_t length = 0;
        check(aimass_client_output_bytes_at(output, e, &length) != nullptr);
      }
      check(aimass_client_output_bytes_at(output, count, nullptr) == nullptr);
    } else {
      std::size_t size = 0;
      check(aimass_client_output_data(output, &size) != nullptr);
      check(size == count * aimass_client_datatype_size(type));
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  std::size_t header = static_cast<std::size_t>(data[0]) | (static_cast<std::size_t>(data[1]) << 8);
  const char* body = reinterpret_cast<const char*>(data + 2);
  std::size_t body_size = size - 2;
  if (header > body_size) {
    header = body_size;
  }
  aimass_client_result* result = nullptr;
  aimass_client_error* error = nullptr;
  if (aimass_client_result_decode(body, body_size, header, &result, &error) == AIMASS_CLIENT_OK) {
    check(error == nullptr);
    checkResult(result);
  } else {
    check(result == nullptr && error != nullptr);
    check(aimass_client_error_code(error) == AIMASS_CLIENT_PROTOCOL);
  }
  aimass_client_result_free(result);
  aimass_client_error_free(error);

  aimass_client_json* doc = nullptr;
  if (aimass_client_json_parse(body, body_size, &doc, nullptr) == AIMASS_CLIENT_OK) {
    walk(aimass_client_json_root(doc), 0);
  }
  aimass_client_json_free(doc);
  return 0;
}
