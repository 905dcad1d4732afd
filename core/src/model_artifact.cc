// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/model_artifact.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace aimass::core {
namespace {

constexpr char kMagic[8] = {'A', 'I', 'M', 'A', 'S', 'S', 'M', '\0'};
constexpr std::uint32_t kEnvelopeVersion = 1;
// Streaming granularity for storage reads and writes: large enough to keep call overhead low,
// small enough not to double a big model's memory footprint in one chunk.
constexpr std::size_t kChunkBytes = 1 << 20;

void putU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

void putU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
}

/// Reads little-endian integers from a byte view, remembering whether it ran out.
class Cursor {
 public:
  explicit Cursor(std::string_view bytes) : bytes_(bytes) {}

  bool has(std::uint64_t n) const { return n <= bytes_.size() - offset_; }
  std::size_t offset() const { return offset_; }

  std::uint64_t readLittleEndian(int width) {
    std::uint64_t v = 0;
    for (int i = 0; i < width; ++i) {
      v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[offset_ + i])) << (8 * i);
    }
    offset_ += width;
    return v;
  }
  std::string_view take(std::size_t n) {
    auto view = bytes_.substr(offset_, n);
    offset_ += n;
    return view;
  }

 private:
  std::string_view bytes_;
  std::size_t offset_ = 0;
};

Status truncated(std::string_view what) {
  return dataLoss("model artifact is truncated (" + std::string(what) + " is cut off)");
}

}  // namespace

void encodeArtifactEnvelopeInto(std::string& out, std::string_view type,
                                std::uint32_t format_version,
                                const std::function<void(std::string&)>& write_payload) {
  out.clear();
  out.append(kMagic, sizeof(kMagic));
  putU32(out, kEnvelopeVersion);
  putU32(out, format_version);
  putU32(out, static_cast<std::uint32_t>(type.size()));
  out.append(type);
  const std::size_t size_at = out.size();
  putU64(out, 0);  // the payload's size, once it is written
  write_payload(out);
  std::uint64_t size = out.size() - size_at - 8;
  for (int i = 0; i < 8; ++i, size >>= 8) {
    out[size_at + static_cast<std::size_t>(i)] = static_cast<char>(size & 0xFF);
  }
  putU32(out, crc32(out));
}

std::string encodeArtifactEnvelope(std::string_view type, std::uint32_t format_version,
                                   std::string_view payload) {
  std::string out;
  out.reserve(sizeof(kMagic) + 4 + 4 + 4 + type.size() + 8 + payload.size() + 4);
  encodeArtifactEnvelopeInto(out, type, format_version,
                             [&](std::string& to) { to.append(payload); });
  return out;
}

Expected<std::string> encodeModelArtifact(const Model& model, std::string_view type) {
  std::string out;
  Status status = guard("encoding model artifact", [&]() -> Status {
    std::string payload;
    AIMASS_RETURN_IF_ERROR(model.save(payload).withContext("saving " + std::string(type)));
    out = encodeArtifactEnvelope(type, model.formatVersion(), payload);
    return Status();
  });
  if (!status.ok()) {
    return status;
  }
  return out;
}

Expected<ModelArtifactHeader> decodeModelArtifact(std::string_view bytes,
                                                  std::string_view& payload) {
  // A prefix of the magic is a truncated artifact; anything else is some other file.
  std::size_t magic_bytes = std::min(bytes.size(), sizeof(kMagic));
  if (std::memcmp(bytes.data(), kMagic, magic_bytes) != 0) {
    return invalidArgument("not a model artifact (wrong magic bytes)");
  }
  Cursor cursor(bytes);
  if (!cursor.has(sizeof(kMagic) + 4)) {
    return truncated("header");
  }
  cursor.take(sizeof(kMagic));
  ModelArtifactHeader header;
  header.envelope_version = static_cast<std::uint32_t>(cursor.readLittleEndian(4));
  if (header.envelope_version != kEnvelopeVersion) {
    return invalidArgument("unsupported model artifact envelope version " +
                           std::to_string(header.envelope_version) + " (this host reads " +
                           std::to_string(kEnvelopeVersion) + ")");
  }
  if (!cursor.has(8)) {
    return truncated("header");
  }
  header.format_version = static_cast<std::uint32_t>(cursor.readLittleEndian(4));
  std::uint64_t type_length = cursor.readLittleEndian(4);
  if (!cursor.has(type_length)) {
    return truncated("type name");
  }
  header.type = std::string(cursor.take(type_length));
  if (!cursor.has(8)) {
    return truncated("payload length");
  }
  std::uint64_t payload_length = cursor.readLittleEndian(8);
  if (!cursor.has(payload_length)) {
    return truncated("payload");
  }
  std::string_view body = cursor.take(payload_length);
  std::size_t checked_bytes = cursor.offset();
  if (!cursor.has(4)) {
    return truncated("checksum");
  }
  auto stored_crc = static_cast<std::uint32_t>(cursor.readLittleEndian(4));
  if (cursor.has(1)) {
    return dataLoss("model artifact has " + std::to_string(bytes.size() - cursor.offset()) +
                    " unexpected bytes after its checksum");
  }
  std::uint32_t actual_crc = crc32(bytes.substr(0, checked_bytes));
  if (stored_crc != actual_crc) {
    return dataLoss("model artifact checksum mismatch (stored " + std::to_string(stored_crc) +
                    ", computed " + std::to_string(actual_crc) + ")");
  }
  payload = body;
  return header;
}

Status saveModel(const Model& model, std::string_view type, Storage& storage,
                 std::string_view key) {
  auto context = "saving model to '" + std::string(key) + "' in " + storage.describe();
  auto bytes = encodeModelArtifact(model, type);
  if (!bytes.ok()) {
    return bytes.status().withContext(context);
  }
  return writeBlob(storage, key, *bytes).withContext(context);
}

Status writeBlob(Storage& storage, std::string_view key, std::string_view bytes) {
  auto writer = storage.openWrite(key);
  if (!writer.ok()) {
    return writer.status();
  }
  std::string_view rest = bytes;
  while (!rest.empty()) {
    auto chunk = rest.substr(0, kChunkBytes);
    AIMASS_RETURN_IF_ERROR((*writer)->write(chunk));
    rest.remove_prefix(chunk.size());
  }
  return (*writer)->commit();
}

Expected<std::string> readBlob(const Storage& storage, std::string_view key) {
  auto reader = storage.openRead(key);
  if (!reader.ok()) {
    return reader.status();
  }
  std::string bytes;
  Status status = guard("reading '" + std::string(key) + "'", [&]() -> Status {
    bytes.reserve((*reader)->size());
    std::unique_ptr<char[]> buffer(new char[kChunkBytes]);
    while (true) {
      auto n = (*reader)->read(buffer.get(), kChunkBytes);
      if (!n.ok()) {
        return n.status();
      }
      if (*n == 0) {
        return Status();
      }
      bytes.append(buffer.get(), *n);
    }
  });
  AIMASS_RETURN_IF_ERROR(status);
  return bytes;
}

Status loadModel(Model& model, std::string_view type, const Storage& storage,
                 std::string_view key) {
  auto context = "loading model from '" + std::string(key) + "' in " + storage.describe();
  auto read = readBlob(storage, key);
  if (!read.ok()) {
    return read.status().withContext(context);
  }
  const std::string& bytes = *read;
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  if (!header.ok()) {
    return header.status().withContext(context);
  }
  if (header->type != type) {
    return invalidArgument("artifact '" + std::string(key) + "' holds a " + header->type +
                           ", not a " + std::string(type));
  }
  Status loaded = guard(context, [&] { return model.load(payload, header->format_version); });
  return loaded.withContext(context);
}

}  // namespace aimass::core
