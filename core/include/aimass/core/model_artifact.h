// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// The envelope around a model's payload, so a saved model names what it is and corruption is
/// caught before a model ever parses it.
///
/// Layout (little-endian):
///   8 bytes  magic "AIMASSM\0"
///   u32      envelope version (1)
///   u32      model format version (Model::formatVersion())
///   u32      type name length, then the type name ("model.softmax")
///   u64      payload length, then the payload
///   u32      CRC-32 (IEEE) of everything before it
struct ModelArtifactHeader {
  std::uint32_t envelope_version = 1;
  std::uint32_t format_version = 0;
  std::string type;
};

/// CRC-32 (IEEE 802.3, as zlib computes it).
std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0);

/// Wraps `model`'s saved payload for storage.
Expected<std::string> encodeModelArtifact(const Model& model, std::string_view type);
/// Wraps any payload in the same envelope, naming `type` and `format_version`; for other
/// records that need the same corruption checks (job.train checkpoints). Never fails except by
/// running out of memory (std::bad_alloc propagates).
std::string encodeArtifactEnvelope(std::string_view type, std::uint32_t format_version,
                                   std::string_view payload);
/// The same envelope written into `out` (cleared first; its capacity is kept, so a writer that
/// reuses one buffer does not map fresh memory for every record), the payload appended to
/// `out` in place by `write_payload`, which must only append.
void encodeArtifactEnvelopeInto(std::string& out, std::string_view type,
                                std::uint32_t format_version,
                                const std::function<void(std::string&)>& write_payload);
/// Reads the header and verifies the checksum; kDataLoss for truncated or corrupt bytes,
/// kInvalidArgument for bytes that are not a model artifact. `payload` views into `bytes`.
Expected<ModelArtifactHeader> decodeModelArtifact(std::string_view bytes,
                                                  std::string_view& payload);

/// Writes `bytes` under `key` through one BlobWriter, in chunks, and commits it: a reader sees
/// the previous blob or this one, never a mix. Errors carry `storage`'s status, unprefixed.
Status writeBlob(Storage& storage, std::string_view key, std::string_view bytes);
/// The whole blob under `key`, read in chunks. kNotFound when there is none; other errors as
/// the storage gives them, unprefixed. An escaped exception (std::bad_alloc for a blob larger
/// than memory) becomes an error; never throws.
Expected<std::string> readBlob(const Storage& storage, std::string_view key);

/// encodeModelArtifact + storage.openWrite/commit under `key`.
Status saveModel(const Model& model, std::string_view type, Storage& storage, std::string_view key);
/// Reads `key`, verifies it, checks that it holds a `type` model, and loads it into `model`.
Status loadModel(Model& model, std::string_view type, const Storage& storage, std::string_view key);

}  // namespace aimass::core
