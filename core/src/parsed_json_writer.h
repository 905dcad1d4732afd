// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/Dynamic/Var.h>

#include "aimass/util/json_writer.h"

namespace aimass::core {

/// Writes a value Poco's JSON parser made (an object, array, string, number, boolean or null)
/// through `json` as the JSON value it is: for records read back and answered again. Integers
/// stay integers; objects keep Poco's key order. Thread-safe (no shared state).
void writeParsedJson(JsonWriter& json, const Poco::Dynamic::Var& value);

}  // namespace aimass::core
