// SPDX-License-Identifier: Apache-2.0
// Credentials for the C++ client's live suites against `auth: on`: a reader's API key and
// HS256 JWTs, and the LiveSuite serving that configures them.
#pragma once

#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace aimass::client::testing {

constexpr const char* kReaderKey = "reader-key-for-the-client-tests";
constexpr const char* kJwtSecret = "a-secret-of-more-than-32-bytes-for-hs256-tests";

inline std::string hex(const unsigned char* bytes, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 0xf];
  }
  return out;
}

inline std::string base64url(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : data) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      out += kAlphabet[(bits >> (count - 6)) & 0x3f];
      count -= 6;
    }
  }
  if (count > 0) {
    out += kAlphabet[(bits << (6 - count)) & 0x3f];
  }
  return out;
}

/// An HS256 JWT for `role`, valid for an hour.
inline std::string jwtFor(const std::string& role) {
  auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count() +
             3600;
  std::string signing_input =
      base64url(R"({"alg":"HS256","typ":"JWT"})") + "." +
      base64url(R"({"sub":"ann","role":")" + role + R"(","exp":)" + std::to_string(exp) + "}");
  unsigned char mac[32];
  unsigned int length = sizeof mac;
  HMAC(EVP_sha256(), kJwtSecret, static_cast<int>(std::strlen(kJwtSecret)),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
       &length);
  return signing_input + "." +
         base64url(std::string_view(reinterpret_cast<const char*>(mac), length));
}

/// frontend.http (and frontend.grpc beside it when `Grpc`) with `auth: on`: a reader's API key,
/// and JWTs signed with kJwtSecret.
template <bool Grpc>
struct WithAuth {
  static constexpr bool kTls = false;
  static constexpr bool kGrpc = Grpc;
  static std::string webExtra() {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(kReaderKey), std::strlen(kReaderKey), digest);
    setenv("AIMASS_CLIENT_TEST_JWT_SECRET", kJwtSecret, 1);  // the server inherits it
    return "    auth: on\n"
           "    jwt_secret_env: AIMASS_CLIENT_TEST_JWT_SECRET\n"
           "    api_keys:\n"
           "      - {name: dashboard, role: reader, sha256: " +
           hex(digest, sizeof digest) + "}\n";
  }
};

}  // namespace aimass::client::testing
