// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

#include "aimass/host.h"
#include "aimass/node.h"
#include "aimass/status.h"

namespace aimass {

/// Serves the host's models and contributed routes over a protocol (HTTP, gRPC, a pipe).
///
/// Lifecycle: created with the graph; start() after every job has run; stop() on shutdown
/// (SIGINT/SIGTERM) before any node is destroyed. start() must not block: it binds, spawns its
/// worker threads and returns. stop() stops accepting, lets in-flight requests finish, joins
/// every thread it started, and is idempotent.
///
/// Threading: start() and stop() are called from the host's main thread. Requests reach models
/// through host.serving() and routes through host.routes(), both thread-safe.
class Frontend : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kFrontend; }

  /// Begins serving. kUnavailable when the address cannot be bound, naming it.
  virtual Status start(Host& host) = 0;
  /// Stops serving. Safe to call when not started.
  virtual void stop() noexcept = 0;
  /// Where clients reach it once started ("http://127.0.0.1:8080"), with the real port when
  /// the config asked for port 0.
  virtual std::string endpoint() const = 0;
};

}  // namespace aimass
