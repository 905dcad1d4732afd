// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <string_view>

namespace aimass::plugins::frontend {

/// The four hex digits at the start of `s` as a UTF-16 code unit (a JSON `\uXXXX` escape
/// without its `\u`), or -1 when `s` is shorter or one of them is not a hex digit.
int jsonHex4(std::string_view s) noexcept;

/// The characters of a JSON string token (without its quotes) whose escapes a scanner has
/// already checked (each complete, surrogate pairs paired): escapes resolved, `\u` written as
/// UTF-8. What JsonDocument and JsonReader hand their callers.
std::string decodeCheckedJsonString(std::string_view token);

}  // namespace aimass::plugins::frontend
