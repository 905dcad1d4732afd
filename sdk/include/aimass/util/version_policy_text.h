// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Reading a version policy from its text form (aimass/serving.h includes it).
/// Inline code compiled into each plugin that includes it: not part of the plugin ABI (the
/// headers' hash in sdk/abi-history.txt leaves util/ out), so it may change without a version.

#include <string>
#include <string_view>

#include "aimass/serving.h"

namespace aimass {

/// Parses "latest" (the highest version), "latest:N", "all" or "specific:1,3". kInvalidArgument
/// naming the text and the accepted forms otherwise.
inline Expected<VersionPolicy> parseVersionPolicy(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return invalidArgument("version policy '" + std::string(text) + "': " + std::string(why) +
                           " (use latest, latest:N, all or specific:V1,V2,...)");
  };
  auto number = [](std::string_view digits, std::int64_t& out) {
    if (digits.empty() || digits.size() > 15) {
      return false;
    }
    out = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return false;
      }
      out = out * 10 + (c - '0');
    }
    return out >= 1;
  };
  VersionPolicy policy;
  if (text == "all") {
    policy.kind = VersionPolicy::Kind::kAll;
    return policy;
  }
  if (text == "latest") {
    return policy;
  }
  if (text.substr(0, 7) == "latest:") {
    if (!number(text.substr(7), policy.latest)) {
      return bad("N must be a whole number from 1");
    }
    return policy;
  }
  if (text.substr(0, 9) == "specific:") {
    policy.kind = VersionPolicy::Kind::kSpecific;
    std::string_view rest = text.substr(9);
    while (true) {
      auto comma = rest.find(',');
      std::int64_t v = 0;
      if (!number(rest.substr(0, comma), v)) {
        return bad("each version must be a whole number from 1");
      }
      policy.versions.push_back(v);
      if (comma == std::string_view::npos) {
        break;
      }
      rest = rest.substr(comma + 1);
    }
    return policy;
  }
  return bad("unknown form");
}

}  // namespace aimass
