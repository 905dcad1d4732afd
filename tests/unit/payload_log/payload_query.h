// SPDX-License-Identifier: Apache-2.0
// The payload tests' reads: a PayloadQuery from its fields, without designated initializers
// (-Wmissing-field-initializers).
#pragma once

#include <cstdint>
#include <string>

#include "monitoring/payload_record.h"

namespace aimass::core {

/// The query of `model`'s entries (every version when `version` is empty) from `from_ns`, at
/// most `limit`.
inline PayloadQuery query(const std::string& model, const std::string& version = "",
                          std::int64_t from_ns = 0, std::size_t limit = 1000) {
  PayloadQuery q;
  q.model = model;
  q.version = version;
  q.from_ns = from_ns;
  q.limit = limit;
  return q;
}

}  // namespace aimass::core
