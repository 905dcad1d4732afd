// SPDX-License-Identifier: Apache-2.0
// The C ABI's client handle: one transport (one connection). Not thread-safe.
#pragma once

#include <string_view>
#include <utility>

#include "http_transport.h"

struct aimass_client {
  aimass_client(std::string_view url, aimass::client::detail::TransportOptions options)
      : transport(url, std::move(options)) {}
  aimass::client::detail::HttpTransport transport;
};
