// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <Poco/JSON/Object.h>

#include <string>
#include <string_view>

#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// How a request body that is empty (or only white space) reads.
enum class EmptyBody {
  kRefused,      ///< an error: the request needs a body
  kEmptyObject,  ///< {}: every member is optional (the repository routes)
};

/// A request body that must be one JSON object (the repository and /api/v1 routes), parsed.
/// kInvalidArgument naming the request (`what`, e.g. "promote"): an empty body (unless
/// `empty` allows it), malformed JSON (with the parser's message), a value other than an
/// object. Never throws except std::bad_alloc.
Expected<Poco::JSON::Object::Ptr> jsonObjectBody(const std::string& body, std::string_view what,
                                                 EmptyBody empty);

}  // namespace aimass::plugins::frontend
