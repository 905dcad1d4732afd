// SPDX-License-Identifier: Apache-2.0
// The edge of the C ABI: every exported function runs its body through guarded(), which
// turns a ClientFailure (or any other exception) into a code and an aimass_client_error, so no
// exception crosses into C.
#pragma once

#include <new>
#include <string>
#include <utility>

#include "aimass_client.h"
#include "client_failure.h"

struct aimass_client_error {
  aimass_client_code code = AIMASS_CLIENT_OK;
  int status = 0;
  std::string message;
  std::string body;
};

namespace aimass::client::detail {

/// Stores a new error in *error (when error is not NULL); never throws (out of memory leaves
/// *error NULL, the code still says what happened).
inline void setError(aimass_client_error** error, aimass_client_code code, int status,
                     const char* message, const std::string* body = nullptr) noexcept {
  if (!error) {
    return;
  }
  try {
    auto* e = new aimass_client_error;
    e->code = code;
    e->status = status;
    e->message = message;
    if (body) {
      e->body = *body;
    }
    *error = e;
  } catch (...) {
    *error = nullptr;
  }
}

template <typename F>
aimass_client_code guarded(aimass_client_error** error, F&& body) noexcept {
  if (error) {
    *error = nullptr;
  }
  try {
    std::forward<F>(body)();
    return AIMASS_CLIENT_OK;
  } catch (const ClientFailure& failure) {
    setError(error, failure.code, failure.status, failure.message.c_str(), &failure.body);
    return failure.code;
  } catch (const std::bad_alloc&) {
    setError(error, AIMASS_CLIENT_OUT_OF_MEMORY, 0, "out of memory");
    return AIMASS_CLIENT_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    setError(error, AIMASS_CLIENT_INTERNAL, 0, e.what());
    return AIMASS_CLIENT_INTERNAL;
  } catch (...) {
    setError(error, AIMASS_CLIENT_INTERNAL, 0, "an unknown exception");
    return AIMASS_CLIENT_INTERNAL;
  }
}

/// Throws ClientFailure(kInvalidArgument) naming `what` when `p` is NULL.
template <typename T>
void require(const T* p, const char* what) {
  if (!p) {
    invalidArgument(std::string(what) + " is NULL");
  }
}

}  // namespace aimass::client::detail
