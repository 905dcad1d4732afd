// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/sha256.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

namespace aimass::core {

Sha256::Sha256() : engine_(std::make_unique<Poco::SHA2Engine>(Poco::SHA2Engine::SHA_256)) {}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view data) { engine_->update(data.data(), data.size()); }

std::string Sha256::hexDigest() { return Poco::DigestEngine::digestToHex(engine_->digest()); }

std::string Sha256::of(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hexDigest();
}

}  // namespace aimass::core
