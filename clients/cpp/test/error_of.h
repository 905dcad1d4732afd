// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <gtest/gtest.h>

#include "aimass/client/types.hpp"

namespace aimass::client::testing {

/// The Error `call()` throws; a test failure (and a kInternal Error) when it throws none.
template <typename F>
Error errorOf(F&& call) {
  try {
    call();
  } catch (const Error& error) {
    return error;
  }
  ADD_FAILURE() << "no Error was thrown";
  return Error(ErrorCode::kInternal, 0, "none");
}

}  // namespace aimass::client::testing
