// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/params.h"
#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// The `auth` parameter: kAuto is on unless the frontend binds a loopback address.
enum class AuthMode { kAuto, kOn, kOff };

/// "auto", "on" or "off"; kInvalidArgument naming the value otherwise.
Expected<AuthMode> parseAuthMode(std::string_view text);

/// True for "localhost", IPv4 127.0.0.0/8 and IPv6 ::1 (also as "[::1]").
bool isLoopbackHost(std::string_view host);

/// Whether requests to a frontend bound to `host` must authenticate under `mode`.
bool authRequired(AuthMode mode, std::string_view host);

/// Compares two strings in time that depends only on their lengths, never on where they
/// first differ, so a caller timing answers learns nothing about a stored hash.
bool constantTimeEquals(std::string_view a, std::string_view b) noexcept;

/// SHA-256 of `data` as 64 lower-case hex digits (what `sha256sum` prints).
std::string sha256Hex(std::string_view data);

/// The HS256 signature of a JWT's `signed_part` ("base64url(header).base64url(payload)"):
/// HMAC-SHA256 under `secret`, base64url without padding (43 characters); empty if OpenSSL
/// fails.
std::string hs256Signature(std::string_view secret, std::string_view signed_part);

/// The shortest JWT secret accepted: 32 bytes, the size of an HS256 hash (RFC 7518 3.2).
inline constexpr std::size_t kMinJwtSecretBytes = 32;

/// "annotator", "reader", "operator" or "admin" ("public" is no role a credential can hold).
Expected<Role> parseCredentialRole(std::string_view text);

/// An API key as configured: who holds it, what it may do, and the SHA-256 of the key (the
/// key itself is never stored).
struct ApiKey {
  std::string name;
  Role role = Role::kReader;
  std::string sha256_hex;  ///< 64 lower-case hex digits
};

/// An API key from its three parts. kInvalidArgument naming `where` and the key, and what is
/// wrong: the role (see parseCredentialRole), or a hash that is not 64 hex digits (the message
/// never quotes it: a wrong "hash" may be the key itself).
Expected<ApiKey> makeApiKey(std::string name, std::string_view role, std::string_view sha256_hex,
                            std::string_view where);

/// Parses "NAME ROLE SHA256HEX" (spaces or tabs between), a line of an api_keys_file.
/// kInvalidArgument naming `where` and what is wrong (field count, or as makeApiKey).
Expected<ApiKey> parseApiKey(std::string_view entry, std::string_view where);

/// The fields of an `api_keys` record: name, role (annotator, reader, operator or admin) and
/// sha256.
std::vector<ParamSpec> apiKeyFields();

/// The key an `api_keys` record (of apiKeyFields()) holds; errors as makeApiKey, naming the
/// record's place in the config ("FILE:LINE:COL: api_keys[1]").
Expected<ApiKey> apiKeyFromRecord(const ParamRecord& record);

/// Reads a key file: one "NAME ROLE SHA256HEX" a line; blank lines and lines starting with
/// '#' are skipped. Errors name the file and line.
Expected<std::vector<ApiKey>> readApiKeyFile(const std::string& path);

/// The authentication settings of a frontend (`auth`, `api_keys`, `api_keys_file`,
/// `jwt_secret_env`).
struct AuthOptions {
  AuthMode mode = AuthMode::kAuto;
  std::vector<ApiKey> api_keys;
  std::string api_keys_file;   ///< empty: none
  std::string jwt_secret_env;  ///< name of the environment variable with the HS256 secret
};

/// Who made a request, once their credentials are verified.
struct Principal {
  std::string name;
  Role role = Role::kPublic;
};

/// The outcome of admitting a request to a route.
struct AuthDecision {
  int status = 200;     ///< 200 admitted, 401 no or bad credentials, 403 role too low
  Principal principal;  ///< set when the credentials were good (also on 403)
  std::string reason;   ///< for the error body and the log; never contains a secret
};

/// Verifies credentials and roles for a frontend: API keys (stored as SHA-256, compared in
/// constant time) sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`, and HS256 JWTs
/// sent as `Authorization: Bearer <jwt>` whose `sub` names the principal, `role` claim names
/// its role, and `exp` (required) and `nbf` (when present) are checked against the clock.
///
/// Threading: immutable after create(); admit() may be called from many threads at once.
class Authenticator {
 public:
  /// Reads the key file and the JWT secret from the environment. kInvalidArgument for a bad
  /// key file, an empty/unset secret variable or a secret shorter than kMinJwtSecretBytes
  /// (naming the variable and the rule, never the secret); kFailedPrecondition when there is no
  /// credential at all (no key and no secret), since then nobody could call a protected route.
  static Expected<std::unique_ptr<const Authenticator>> create(const AuthOptions& options);

  /// Decides whether `request` may call a route that needs `required`. kPublic routes are
  /// admitted without looking at credentials.
  AuthDecision admit(const HttpRequest& request, Role required) const;

  /// Number of API keys loaded (config and file together).
  std::size_t keyCount() const noexcept { return keys_.size(); }
  /// Whether JWTs are accepted.
  bool acceptsJwt() const noexcept { return !jwt_secret_.empty(); }

 private:
  Authenticator() = default;
  AuthDecision authenticate(const HttpRequest& request) const;
  AuthDecision verifyJwt(const std::string& token) const;
  const ApiKey* findKey(std::string_view key) const;

  std::vector<ApiKey> keys_;
  std::string jwt_secret_;
};

/// The authenticator of a frontend node that starts on `bind_host` (`where`: "HOST:PORT"): null
/// when `options.mode` turns authentication off there (then a warning is logged when the address
/// is not loopback, saying that anyone who reaches it may do `exposed`: "infer"); otherwise
/// Authenticator::create()'s, with its key count and whether it accepts JWTs logged at info
/// level. Errors are create()'s, their message after "frontend 'NODE' on WHERE: ".
Expected<std::shared_ptr<const Authenticator>> startAuthenticator(
    Host& host, const std::string& node, const std::string& where, const std::string& bind_host,
    const AuthOptions& options, std::string_view exposed);

}  // namespace aimass::plugins::frontend
