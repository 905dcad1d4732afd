// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace Poco {
class SHA2Engine;
}

namespace aimass::core {

/// SHA-256 (FIPS 180-4) through Poco's SHA2Engine, fed in pieces so large artifacts are hashed
/// as they stream. Digests are 64 lowercase hex digits. Not thread-safe; one object per hash.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  /// Adds bytes to the message.
  void update(std::string_view data);
  /// Finishes the hash and returns it as 64 lowercase hex digits. Call once.
  std::string hexDigest();
  /// The hex digest of `data` in one call.
  static std::string of(std::string_view data);

 private:
  std::unique_ptr<Poco::SHA2Engine> engine_;
};

}  // namespace aimass::core
