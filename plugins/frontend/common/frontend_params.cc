// SPDX-License-Identifier: Apache-2.0
#include "frontend_params.h"

#include <string>
#include <utility>

namespace aimass::plugins::frontend {

std::vector<ParamSpec> authParamSpecs(std::string_view needs_credentials) {
  return {
      ParamSpec::string("auth",
                        "Authentication: on, off, or auto (on unless host is a loopback address "
                        "such as 127.0.0.1, ::1 or localhost). When on, " +
                            std::string(needs_credentials) +
                            " needs an API key or JWT; see docs/security.md.")
          .withDefault(std::string("auto"))
          .oneOf({"auto", "on", "off"}),
      ParamSpec::records("api_keys", apiKeyFields(),
                         "API keys: who holds each, its role and the SHA-256 of the key.")
          .withDefault(std::vector<ParamRecord>{})
          .withExample("[{name: ci, role: reader, sha256: "
                       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}]"),
      ParamSpec::path("api_keys_file",
                      "A file of further API keys, one 'NAME ROLE SHA256HEX' a line ('#' "
                      "starts a comment line); read when the frontend starts.")
          .optional(),
      ParamSpec::string("jwt_secret_env",
                        "Name of the environment variable holding the HS256 secret that signs "
                        "accepted JWTs (claims: sub, role, exp); the secret never goes in YAML. "
                        "Unset, empty or shorter than 32 bytes at start is an error.")
          .optional(),
  };
}

Status readAuthParams(const NodeConfig& config, AuthOptions& auth) {
  auto mode = parseAuthMode(config.getString("auth"));
  if (!mode.ok()) {
    return mode.status();
  }
  auth.mode = *mode;
  for (const auto& record : config.getRecords("api_keys")) {
    auto key = apiKeyFromRecord(record);
    if (!key.ok()) {
      return key.status();
    }
    auth.api_keys.push_back(std::move(key).value());
  }
  if (config.has("api_keys_file")) {
    auth.api_keys_file = config.getString("api_keys_file");
  }
  if (config.has("jwt_secret_env")) {
    auth.jwt_secret_env = config.getString("jwt_secret_env");
  }
  return okStatus();
}

Expected<std::optional<TlsOptions>> readTlsFileParams(const NodeConfig& config) {
  TlsOptions tls;
  if (config.has("tls_certificate")) {
    tls.certificate = config.getString("tls_certificate");
  }
  if (config.has("tls_private_key")) {
    tls.private_key = config.getString("tls_private_key");
  }
  if (config.has("tls_client_ca")) {
    tls.client_ca = config.getString("tls_client_ca");
  }
  if (tls.certificate.empty() && tls.private_key.empty()) {
    if (!tls.client_ca.empty()) {
      return invalidArgument(
          "tls_client_ca is set but tls_certificate and tls_private_key are not: client "
          "certificates need TLS");
    }
    return std::optional<TlsOptions>();
  }
  return std::optional<TlsOptions>(std::move(tls));
}

}  // namespace aimass::plugins::frontend
