// SPDX-License-Identifier: Apache-2.0
// The library's internal error: thrown inside, turned into an aimass_client_error at the C
// ABI (c_boundary.h), so no exception ever leaves the library.
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "aimass_client.h"

namespace aimass::client::detail {

struct ClientFailure : std::exception {
  ClientFailure(aimass_client_code c, std::string m, int s = 0, std::string b = {})
      : code(c), status(s), message(std::move(m)), body(std::move(b)) {}
  const char* what() const noexcept override { return message.c_str(); }

  aimass_client_code code;
  int status;  // the HTTP status of an answer, 0 when none came
  std::string message;
  std::string body;  // the answer's body for an HTTP error
};

[[noreturn]] inline void invalidArgument(std::string message) {
  throw ClientFailure(AIMASS_CLIENT_INVALID_ARGUMENT, std::move(message));
}
[[noreturn]] inline void protocolError(std::string message) {
  throw ClientFailure(AIMASS_CLIENT_PROTOCOL, std::move(message));
}

}  // namespace aimass::client::detail
