// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace aimass::plugins::frontend {

/// The four hex digits at the start of `s` as a UTF-16 code unit (a JSON `\uXXXX` escape
/// without its `\u`), or -1 when `s` is shorter or one of them is not a hex digit.
int jsonHex4(std::string_view s) noexcept;

/// The byte at `p` of `text` as an error message names it: "'x'", "byte 0x0a" for a control
/// or non-ASCII byte, "the end of the text" past its end.
std::string describeJsonByte(std::string_view text, std::size_t p);

/// The characters of a JSON string token (without its quotes) whose escapes a scanner has
/// already checked (each complete, surrogate pairs paired): escapes resolved, `\u` written as
/// UTF-8. What JsonDocument and JsonReader hand their callers.
std::string decodeCheckedJsonString(std::string_view token);

}  // namespace aimass::plugins::frontend
