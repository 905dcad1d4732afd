// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "aimass/params.h"
#include "aimass/status.h"
#include "authenticator.h"
#include "tls.h"

namespace aimass::plugins::frontend {

/// The authentication parameters every serving frontend takes: `auth` (auto, on, off),
/// `api_keys`, `api_keys_file` and `jwt_secret_env`. `needs_credentials` completes the sentence
/// "When on, ... needs an API key or JWT" for the frontend ("every route but health and
/// readiness").
std::vector<ParamSpec> authParamSpecs(std::string_view needs_credentials);

/// Reads the parameters of authParamSpecs() from `config` into `auth`; each API key's hash is
/// checked here, so an error names its record's place in the config.
Status readAuthParams(const NodeConfig& config, AuthOptions& auth);

/// The files of the `tls_certificate`, `tls_private_key` and `tls_client_ca` parameters (each
/// frontend documents its own); nullopt when neither the certificate nor the key is set (no
/// TLS). kInvalidArgument when tls_client_ca is set without them. The files are not read here:
/// TlsContext::load() checks them.
Expected<std::optional<TlsOptions>> readTlsFileParams(const NodeConfig& config);

}  // namespace aimass::plugins::frontend
