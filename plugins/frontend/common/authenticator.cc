// SPDX-License-Identifier: Apache-2.0
#include "authenticator.h"

#include <Poco/DigestEngine.h>
#include <Poco/Exception.h>
#include <Poco/JWT/Token.h>
#include <Poco/SHA2Engine.h>
#include <Poco/Timestamp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "http_field_text.h"

namespace aimass::plugins::frontend {
namespace {

std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r')) {
      ++i;
    }
    std::size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\r') {
      ++i;
    }
    if (i > start) {
      fields.push_back(text.substr(start, i - start));
    }
  }
  return fields;
}

std::string lowerHex(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

AuthDecision unauthorized(std::string reason) {
  AuthDecision decision;
  decision.status = 401;
  decision.reason = std::move(reason);
  return decision;
}

/// RFC 4648 base64url without padding, as JWTs carry their parts.
std::string base64Url(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::size_t left = size - i;
    const unsigned bits = (static_cast<unsigned>(data[i]) << 16) |
                          (left > 1 ? static_cast<unsigned>(data[i + 1]) << 8 : 0u) |
                          (left > 2 ? static_cast<unsigned>(data[i + 2]) : 0u);
    out += kDigits[(bits >> 18) & 63];
    out += kDigits[(bits >> 12) & 63];
    if (left > 1) {
      out += kDigits[(bits >> 6) & 63];
    }
    if (left > 2) {
      out += kDigits[bits & 63];
    }
  }
  return out;
}

}  // namespace

std::string hs256Signature(std::string_view secret, std::string_view signed_part) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
           &size) == nullptr) {
    return {};
  }
  return base64Url(mac, size);
}

Expected<AuthMode> parseAuthMode(std::string_view text) {
  if (text == "auto") {
    return AuthMode::kAuto;
  }
  if (text == "on") {
    return AuthMode::kOn;
  }
  if (text == "off") {
    return AuthMode::kOff;
  }
  return invalidArgument("auth: '" + std::string(text) + "' is not auto, on or off");
}

bool isLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") {
    return true;
  }
  // IPv4 127.0.0.0/8: four dotted decimal parts, the first 127.
  if (host.rfind("127.", 0) != 0) {
    return false;
  }
  int parts = 0;
  std::size_t i = 0;
  while (i <= host.size()) {
    std::size_t end = host.find('.', i);
    if (end == std::string_view::npos) {
      end = host.size();
    }
    std::string_view part = host.substr(i, end - i);
    if (part.empty() || part.size() > 3) {
      return false;
    }
    int value = 0;
    for (char c : part) {
      if (c < '0' || c > '9') {
        return false;
      }
      value = value * 10 + (c - '0');
    }
    if (value > 255) {
      return false;
    }
    ++parts;
    i = end + 1;
  }
  return parts == 4;
}

bool authRequired(AuthMode mode, std::string_view host) {
  switch (mode) {
    case AuthMode::kOn:
      return true;
    case AuthMode::kOff:
      return false;
    case AuthMode::kAuto:
      return !isLoopbackHost(host);
  }
  return true;
}

bool constantTimeEquals(std::string_view a, std::string_view b) noexcept {
  // Every byte of the longer string is visited whatever the contents; the lengths are public
  // (a SHA-256 hex digest is always 64 characters).
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    difference = static_cast<unsigned char>(difference | (x ^ y));
  }
  // Read through a volatile so the compiler cannot turn the loop into an early exit.
  volatile unsigned char result = difference;
  return result == 0;
}

std::string sha256Hex(std::string_view data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update(data.data(), static_cast<unsigned>(data.size()));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

Expected<Role> parseCredentialRole(std::string_view text) {
  if (text == "annotator") {
    return Role::kAnnotator;
  }
  if (text == "reader") {
    return Role::kReader;
  }
  if (text == "operator") {
    return Role::kOperator;
  }
  if (text == "admin") {
    return Role::kAdmin;
  }
  return invalidArgument("role '" + std::string(text) +
                         "' is not annotator, reader, operator or admin");
}

Expected<ApiKey> makeApiKey(std::string name, std::string_view role, std::string_view sha256_hex,
                            std::string_view where) {
  ApiKey key;
  key.name = std::move(name);
  const std::string at = std::string(where) + " (key '" + key.name + "'): ";
  auto parsed_role = parseCredentialRole(role);
  if (!parsed_role.ok()) {
    return invalidArgument(at + parsed_role.status().message());
  }
  key.role = *parsed_role;
  if (sha256_hex.size() != 64) {
    return invalidArgument(at + "the hash must be the 64 hex digits of the key's SHA-256, found " +
                           std::to_string(sha256_hex.size()) +
                           " characters (is this the key itself? store only its hash)");
  }
  for (char c : sha256_hex) {
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) {
      return invalidArgument(at + "the hash has a character that is not a hex digit");
    }
  }
  key.sha256_hex = lowerHex(sha256_hex);
  return key;
}

Expected<ApiKey> parseApiKey(std::string_view entry, std::string_view where) {
  auto fields = splitFields(entry);
  if (fields.size() != 3) {
    return invalidArgument(std::string(where) +
                           ": expected 'NAME ROLE SHA256HEX' (3 fields), found " +
                           std::to_string(fields.size()));
  }
  return makeApiKey(std::string(fields[0]), fields[1], fields[2], where);
}

std::vector<ParamSpec> apiKeyFields() {
  return {
      ParamSpec::string("name", "Who holds the key: the principal its requests act as."),
      ParamSpec::string("role", "What the key may do.")
          .oneOf({"annotator", "reader", "operator", "admin"}),
      ParamSpec::string("sha256",
                        "The SHA-256 of the key as 64 hex digits (`aimass auth hash-key`, or "
                        "`printf %s KEY | sha256sum`); the key itself is never configured."),
  };
}

Expected<ApiKey> apiKeyFromRecord(const ParamRecord& record) {
  const std::string at = record.location("sha256");
  return makeApiKey(record.getString("name"), record.getString("role"), record.getString("sha256"),
                    at.empty() ? record.path() : at + ": " + record.path());
}

Expected<std::vector<ApiKey>> readApiKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return invalidArgument("api_keys_file: cannot read '" + path + "'");
  }
  std::vector<ApiKey> keys;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view text = trimSpaces(line);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    }
    if (text.empty() || text.front() == '#') {
      continue;
    }
    auto key = parseApiKey(text, "api_keys_file " + path + ":" + std::to_string(number));
    if (!key.ok()) {
      return key.status();
    }
    keys.push_back(std::move(key).value());
  }
  return keys;
}

Expected<std::unique_ptr<const Authenticator>> Authenticator::create(const AuthOptions& options) {
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->keys_ = options.api_keys;
  if (!options.api_keys_file.empty()) {
    auto file_keys = readApiKeyFile(options.api_keys_file);
    if (!file_keys.ok()) {
      return file_keys.status();
    }
    for (auto& key : *file_keys) {
      auth->keys_.push_back(std::move(key));
    }
  }
  if (!options.jwt_secret_env.empty()) {
    const char* secret = std::getenv(options.jwt_secret_env.c_str());
    if (secret == nullptr || *secret == '\0') {
      return invalidArgument("jwt_secret_env: the environment variable '" + options.jwt_secret_env +
                             "' that should hold the JWT secret is " +
                             (secret == nullptr ? "not set" : "empty"));
    }
    // RFC 7518 3.2: an HS256 key must be at least as long as the hash (256 bits).
    if (const std::size_t length = std::strlen(secret); length < kMinJwtSecretBytes) {
      return invalidArgument("jwt_secret_env: the JWT secret in the environment variable '" +
                             options.jwt_secret_env + "' has " + std::to_string(length) +
                             " bytes; HS256 needs at least " + std::to_string(kMinJwtSecretBytes) +
                             " (e.g. head -c 32 /dev/urandom | base64)");
    }
    auth->jwt_secret_ = secret;
  }
  if (auth->keys_.empty() && auth->jwt_secret_.empty()) {
    return failedPrecondition(
        "authentication is on but no credential is configured: set api_keys, api_keys_file or "
        "jwt_secret_env (or auth: off to serve without authentication)");
  }
  return std::unique_ptr<const Authenticator>(std::move(auth));
}

const ApiKey* Authenticator::findKey(std::string_view key) const {
  const std::string hash = sha256Hex(key);
  const ApiKey* found = nullptr;
  // Every stored hash is compared, so the time does not tell which entry matched.
  for (const auto& candidate : keys_) {
    if (constantTimeEquals(hash, candidate.sha256_hex) && found == nullptr) {
      found = &candidate;
    }
  }
  return found;
}

AuthDecision Authenticator::verifyJwt(const std::string& token) const {
  // The signature is checked before anything in the token is parsed, and compared in constant
  // time, so neither the parser nor the timing is open to a forger.
  const std::string_view whole = token;
  const std::size_t last_dot = whole.rfind('.');
  if (last_dot == std::string_view::npos) {
    return unauthorized("the bearer token is not a JWT signed with this server's secret");
  }
  const std::string expected = hs256Signature(jwt_secret_, whole.substr(0, last_dot));
  if (expected.empty() || !constantTimeEquals(expected, whole.substr(last_dot + 1))) {
    return unauthorized("the bearer token is not a JWT signed with this server's secret");
  }
  Poco::JWT::Token jwt;
  try {
    jwt = Poco::JWT::Token(token);
  } catch (const std::exception&) {
    return unauthorized("the bearer token is not a JWT signed with this server's secret");
  }
  // Only HS256: a token whose header names another algorithm (or "none") is refused even when
  // its bytes happen to carry a valid HS256 signature.
  if (jwt.getAlgorithm() != "HS256") {
    return unauthorized("the bearer token is not a JWT signed with this server's secret");
  }
  AuthDecision decision;
  try {
    decision.principal.name = jwt.getSubject();
    const auto& payload = jwt.payload();
    if (decision.principal.name.empty()) {
      return unauthorized("the JWT has no 'sub' claim naming the caller");
    }
    const Poco::Timestamp now;
    if (!payload.has("exp")) {
      return unauthorized("the JWT of '" + decision.principal.name +
                          "' has no 'exp' claim; tokens must expire");
    }
    if (jwt.getExpiration() <= now) {
      return unauthorized("the JWT of '" + decision.principal.name + "' has expired");
    }
    if (payload.has("nbf") && jwt.getNotBefore() > now) {
      return unauthorized("the JWT of '" + decision.principal.name + "' is not valid yet (nbf)");
    }
    if (!payload.has("role") || !payload.get("role").isString()) {
      return unauthorized("the JWT of '" + decision.principal.name +
                          "' has no string 'role' claim (annotator, reader, operator or admin)");
    }
    auto role = parseCredentialRole(payload.getValue<std::string>("role"));
    if (!role.ok()) {
      return unauthorized("the JWT of '" + decision.principal.name +
                          "': " + role.status().message());
    }
    decision.principal.role = *role;
  } catch (const std::exception&) {
    return unauthorized("the JWT has a malformed claim (sub, exp, nbf or role)");
  }
  return decision;
}

AuthDecision Authenticator::authenticate(const HttpRequest& request) const {
  auto authorization = request.headers.find("authorization");
  auto api_key = request.headers.find("x-api-key");
  std::string credential;
  bool bearer = false;
  if (authorization != request.headers.end()) {
    std::string_view value = trimSpaces(authorization->second);
    const std::size_t space = value.find(' ');
    std::string scheme(value.substr(0, space));
    for (char& c : scheme) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (scheme != "bearer") {
      return unauthorized("the Authorization header uses the scheme '" +
                          std::string(value.substr(0, space)) + "'; use 'Bearer <token>'");
    }
    credential = std::string(
        trimSpaces(space == std::string_view::npos ? std::string_view() : value.substr(space + 1)));
    bearer = true;
  } else if (api_key != request.headers.end()) {
    credential = std::string(trimSpaces(api_key->second));
  } else {
    return unauthorized(
        "credentials required: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'");
  }
  if (credential.empty()) {
    return unauthorized(bearer ? "the Authorization header has an empty bearer token"
                               : "the X-API-Key header is empty");
  }
  if (const ApiKey* key = findKey(credential)) {
    AuthDecision decision;
    decision.principal.name = key->name;
    decision.principal.role = key->role;
    return decision;
  }
  // A JWT is three base64url parts separated by two dots.
  const bool looks_like_jwt = bearer && std::count(credential.begin(), credential.end(), '.') == 2;
  if (looks_like_jwt && acceptsJwt()) {
    return verifyJwt(credential);
  }
  if (looks_like_jwt) {
    return unauthorized(
        "the bearer token looks like a JWT but this server accepts no JWTs "
        "(jwt_secret_env is not set)");
  }
  return unauthorized(bearer ? "the bearer token is not a known API key"
                             : "the X-API-Key is not a known API key");
}

AuthDecision Authenticator::admit(const HttpRequest& request, Role required) const {
  if (required == Role::kPublic) {
    return {};
  }
  AuthDecision decision = authenticate(request);
  if (decision.status != 200) {
    return decision;
  }
  if (static_cast<int>(decision.principal.role) < static_cast<int>(required)) {
    decision.status = 403;
    decision.reason = "'" + decision.principal.name + "' has the role " +
                      std::string(roleName(decision.principal.role)) + "; this route needs " +
                      std::string(roleName(required)) + " or higher";
  }
  return decision;
}

Expected<std::shared_ptr<const Authenticator>> startAuthenticator(
    Host& host, const std::string& node, const std::string& where, const std::string& bind_host,
    const AuthOptions& options, std::string_view exposed) {
  if (!authRequired(options.mode, bind_host)) {
    if (!isLoopbackHost(bind_host)) {
      host.log(LogLevel::kWarning, node,
               "authentication is off (auth: off) on the non-loopback address " + bind_host +
                   ": anyone who reaches it may " + std::string(exposed));
    }
    return std::shared_ptr<const Authenticator>();
  }
  auto created = Authenticator::create(options);
  if (!created.ok()) {
    return Status(created.status().code(),
                  "frontend '" + node + "' on " + where + ": " + created.status().message());
  }
  std::shared_ptr<const Authenticator> authenticator = std::move(created).value();
  host.log(LogLevel::kInfo, node,
           "authentication on: " + std::to_string(authenticator->keyCount()) + " API key(s)" +
               (authenticator->acceptsJwt() ? ", HS256 JWTs" : ""));
  return authenticator;
}

}  // namespace aimass::plugins::frontend
