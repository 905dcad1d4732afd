// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "aimass/frontend.h"
#include "aimass/host.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

/// Checks the Frontend lifecycle every host relies on: start() binds and returns, endpoint()
/// names where clients connect, stop() returns and may be called twice, and a stopped frontend
/// can be started again (the host restarts frontends when a graph is reloaded).
///
/// The frontend must be configured so that it can start in a test (HTTP frontends on port 0,
/// stream frontends on files that exist). Leaves the frontend stopped. Runs on the caller's
/// thread; never throws (a throwing frontend is reported as a failed check).
inline CheckResults checkFrontend(Frontend& frontend, Host& host) {
  CheckResults results;
  auto attempt = [&](const std::string& name, auto&& fn) {
    Status status = guard(name, [&] { return fn(); });
    expectOk(results, name, status);
    return status.ok();
  };

  if (!attempt("start() succeeds", [&] { return frontend.start(host); })) {
    frontend.stop();
    return results;
  }
  std::string first_endpoint;
  attempt("endpoint() after start() is not empty", [&]() -> Status {
    first_endpoint = frontend.endpoint();
    if (first_endpoint.empty()) {
      return failedPrecondition("endpoint() returned an empty string");
    }
    return Status();
  });
  attempt("stop() returns", [&] {
    frontend.stop();
    return Status();
  });
  attempt("a second stop() is harmless", [&] {
    frontend.stop();
    return Status();
  });
  if (!attempt("start() again after stop() succeeds", [&] { return frontend.start(host); })) {
    frontend.stop();
    return results;
  }
  attempt("endpoint() after a restart is not empty", [&]() -> Status {
    if (frontend.endpoint().empty()) {
      return failedPrecondition("endpoint() returned an empty string after a restart");
    }
    return Status();
  });
  attempt("stop() after a restart returns", [&] {
    frontend.stop();
    return Status();
  });
  return results;
}

}  // namespace aimass::testing
