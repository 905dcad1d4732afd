// SPDX-License-Identifier: Apache-2.0
// Leases in storage: a key that names the process holding it until a wall-clock expiry, taken
// and renewed by compareAndSet. job.tune's shared studies lease trials with them; the job service
// leases its scheduler with them, so that of several services on one store one runs jobs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "process_identity.h"

namespace aimass::core {

/// Seconds since the Unix epoch, by the wall clock (leases are compared across hosts).
double wallSeconds();

/// A lease's stored value, "HOST PID EXPIRY": its holder ("HOST PID") and expiry (Unix seconds).
struct LeaseValue {
  std::string token;
  double expiry = 0;
  /// A value that does not parse has no holder and has expired.
  static LeaseValue parse(const std::string& text);
  std::string text() const;
};

/// True when the holder `token` ("HOST PID") is known to be gone: a process on this host
/// (`host`) that no longer exists or has ended (readProcStat()). A holder on another host is
/// never known gone: its lease must expire.
bool holderGone(const std::string& token, const std::string& host);

/// One lease, `key` in `storage`, as this process ("HOST PID") sees it.
///
/// acquire() takes the lease when it is free, expired, or held by a process gone from this
/// host; renew() extends it while this process still holds it; release() frees it. Every change
/// is one compareAndSet, so two processes never both believe they took it. The holder's clock
/// decides expiry: hosts sharing a lease need clocks within a small part of `seconds`.
///
/// Threading: one thread at a time. Lifetime: holds the storage; the destructor does not
/// release (a lease outlives a crash until it expires; call release() on a clean stop).
class StoreLease {
 public:
  /// `token`: the holder this lease is taken as, "HOST PID" (its HOST is the host whose gone
  /// processes lose their leases at once); empty: this process.
  StoreLease(std::shared_ptr<Storage> storage, std::string key, double seconds,
             std::string token = {});

  /// Takes the lease if it can (true), or leaves it to its live holder (false). Holding it
  /// already: renews it. Errors of the storage.
  Expected<bool> acquire();
  /// Extends the lease this process holds: false when it no longer holds it (it expired and
  /// another process took it, or it was never taken). Errors of the storage.
  Expected<bool> renew();
  /// Frees the lease if this process holds it; errors are ignored (it will expire).
  void release();
  /// Whether the last acquire() or renew() left this process holding it, and not expired since.
  bool held() const;
  /// The holder as last read ("HOST PID"), empty when none was read.
  const std::string& lastHolder() const { return last_holder_; }
  const std::string& token() const { return token_; }
  double seconds() const { return seconds_; }

 private:
  std::shared_ptr<Storage> storage_;
  std::string key_;
  double seconds_;
  std::string host_;
  std::string token_;
  std::optional<std::string> value_;  ///< what this process last wrote, while it holds it
  double expiry_ = 0;
  std::string last_holder_;
};

}  // namespace aimass::core
