// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace aimass::core {

/// SHA-256 (FIPS 180-4), fed in pieces so large artifacts are hashed as they stream.
/// Not thread-safe; one object per hash.
class Sha256 {
 public:
  Sha256();
  /// Adds bytes to the message.
  void update(std::string_view data);
  /// Finishes the hash and returns it as 64 lowercase hex digits. Call once.
  std::string hexDigest();
  /// The hex digest of `data` in one call.
  static std::string of(std::string_view data);

 private:
  void block(const unsigned char* p);

  std::array<std::uint32_t, 8> state_;
  std::array<unsigned char, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

}  // namespace aimass::core
