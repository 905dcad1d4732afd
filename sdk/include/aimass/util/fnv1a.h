// SPDX-License-Identifier: Apache-2.0
// 64-bit FNV-1a: the fingerprints dataset readers give their content (Dataset::fingerprint()),
// fed piece by piece. Not for anything an attacker chooses the input of: it is no cryptographic
// hash (aimass::core::Sha256 is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace aimass {

class Fnv1a {
 public:
  void add(const void* data, std::size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      hash_ ^= bytes[i];
      hash_ *= 1099511628211ull;
    }
  }
  void add(std::string_view bytes) { add(bytes.data(), bytes.size()); }
  std::uint64_t value() const { return hash_; }
  /// 16 lowercase hex digits.
  std::string hex() const {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(16, '0');
    std::uint64_t h = hash_;
    for (int i = 15; i >= 0; --i) {
      out[static_cast<std::size_t>(i)] = kHex[h & 15];
      h >>= 4;
    }
    return out;
  }

 private:
  std::uint64_t hash_ = 14695981039346656037ull;
};

/// The FNV-1a hash of `bytes` as 16 lowercase hex digits.
inline std::string fnv1aHex(std::string_view bytes) {
  Fnv1a hash;
  hash.add(bytes);
  return hash.hex();
}

}  // namespace aimass
