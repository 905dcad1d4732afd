// SPDX-License-Identifier: Apache-2.0
#include "train_checkpoint.h"

#include <memory>
#include <optional>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"

namespace aimass::core {
namespace {

constexpr std::string_view kCheckpointType = "job.train checkpoint";
/// Version of the body layout below; a reader refuses newer ones. Format 2 added the plugin
/// callbacks' states; format 1 bodies, which end before them, are still read.
constexpr std::uint32_t kCheckpointFormat = 2;
constexpr std::uint32_t kOldestCheckpointFormat = 1;

}  // namespace

std::string checkpointKey(std::string_view job) { return "checkpoints/" + std::string(job); }

// Body (format 2), little-endian: u32 fingerprint length + bytes, u64 epoch, u64 step,
// u64 total_steps, f64 epoch_loss_sum, u64 epoch_samples, f64 best, u64 best_epoch,
// u64 stale_epochs, u64 metric count + (u32 name length + name, f64 value) each,
// u32 model type length + type, u32 model format version, u64 payload length + payload,
// u64 optimizer state length + state (format 1 ends here), u64 callback count +
// (u32 name length + name, u64 state length + state) each.
std::string encodeTrainCheckpoint(const TrainCheckpoint& checkpoint) {
  std::string body;
  body.reserve(128 + checkpoint.model_payload.size() + checkpoint.optimizer_state.size());
  ByteWriter out(body);
  out.u32(static_cast<std::uint32_t>(checkpoint.fingerprint.size()));
  out.bytes(checkpoint.fingerprint);
  out.u64(checkpoint.epoch);
  out.u64(checkpoint.step);
  out.u64(checkpoint.total_steps);
  out.f64(checkpoint.epoch_loss_sum);
  out.u64(checkpoint.epoch_samples);
  out.f64(checkpoint.best);
  out.u64(checkpoint.best_epoch);
  out.u64(checkpoint.stale_epochs);
  out.u64(checkpoint.metrics.size());
  for (const auto& [name, value] : checkpoint.metrics) {
    out.u32(static_cast<std::uint32_t>(name.size()));
    out.bytes(name);
    out.f64(value);
  }
  out.u32(static_cast<std::uint32_t>(checkpoint.model_type.size()));
  out.bytes(checkpoint.model_type);
  out.u32(checkpoint.model_format_version);
  out.u64(checkpoint.model_payload.size());
  out.bytes(checkpoint.model_payload);
  out.u64(checkpoint.optimizer_state.size());
  out.bytes(checkpoint.optimizer_state);
  out.u64(checkpoint.callback_states.size());
  for (const auto& [name, state] : checkpoint.callback_states) {
    out.u32(static_cast<std::uint32_t>(name.size()));
    out.bytes(name);
    out.u64(state.size());
    out.bytes(state);
  }
  return encodeArtifactEnvelope(kCheckpointType, kCheckpointFormat, body);
}

Expected<TrainCheckpoint> decodeTrainCheckpoint(std::string_view bytes) {
  std::string_view body;
  auto header = decodeModelArtifact(bytes, body);
  if (!header.ok()) {
    // The envelope's messages speak of a "model artifact"; say what this is.
    return Status(header.status().code(),
                  "not a readable checkpoint: " + header.status().message());
  }
  if (header->type != kCheckpointType) {
    return invalidArgument("not a checkpoint: the record holds a " + header->type);
  }
  if (header->format_version < kOldestCheckpointFormat ||
      header->format_version > kCheckpointFormat) {
    return invalidArgument("checkpoint format " + std::to_string(header->format_version) +
                           " is unknown (this host reads formats " +
                           std::to_string(kOldestCheckpointFormat) + " to " +
                           std::to_string(kCheckpointFormat) + ")");
  }
  TrainCheckpoint checkpoint;
  ByteReader in(body);
  // ByteReader::bytes() checks a length against what is left before allocating for it.
  auto text = [&](std::uint64_t length) { return in.bytes(length); };
  checkpoint.fingerprint = text(in.u32());
  checkpoint.epoch = in.u64();
  checkpoint.step = in.u64();
  checkpoint.total_steps = in.u64();
  checkpoint.epoch_loss_sum = in.f64();
  checkpoint.epoch_samples = in.u64();
  checkpoint.best = in.f64();
  checkpoint.best_epoch = in.u64();
  checkpoint.stale_epochs = in.u64();
  const std::uint64_t metric_count = in.u64();
  if (!in.ok() || metric_count > in.remaining() / 12) {
    return dataLoss("checkpoint body is cut off or corrupt (in its counters)");
  }
  for (std::uint64_t i = 0; i < metric_count && in.ok(); ++i) {
    std::string name = text(in.u32());
    const double value = in.f64();
    checkpoint.metrics.emplace_back(std::move(name), value);
  }
  checkpoint.model_type = text(in.u32());
  checkpoint.model_format_version = in.u32();
  checkpoint.model_payload = text(in.u64());
  checkpoint.optimizer_state = text(in.u64());
  if (header->format_version >= 2) {
    const std::uint64_t callback_count = in.u64();
    // Each entry takes at least 12 bytes (two lengths), so a count beyond that is corrupt.
    if (!in.ok() || callback_count > in.remaining() / 12) {
      return dataLoss("checkpoint body is cut off or corrupt (in its callback states)");
    }
    for (std::uint64_t i = 0; i < callback_count && in.ok(); ++i) {
      std::string name = text(in.u32());
      std::string state = text(in.u64());
      checkpoint.callback_states.emplace_back(std::move(name), std::move(state));
    }
  }
  if (!in.ok()) {
    return dataLoss("checkpoint body is cut off or corrupt");
  }
  if (!in.atEnd()) {
    return dataLoss("checkpoint body has " + std::to_string(in.remaining()) +
                    " unexpected bytes at its end");
  }
  return checkpoint;
}

Status writeTrainCheckpoint(Storage& storage, std::string_view key,
                            const TrainCheckpoint& checkpoint) {
  const std::string context =
      "writing checkpoint '" + std::string(key) + "' in " + storage.describe();
  std::string bytes;
  AIMASS_RETURN_IF_ERROR(guard(context, [&] { bytes = encodeTrainCheckpoint(checkpoint); }));
  return writeBlob(storage, key, bytes).withContext(context);
}

Expected<TrainCheckpoint> readTrainCheckpoint(const Storage& storage, std::string_view key) {
  const std::string context =
      "reading checkpoint '" + std::string(key) + "' in " + storage.describe();
  auto read = readBlob(storage, key);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) {
      return read.status();
    }
    return read.status().withContext(context);
  }
  const std::string& bytes = *read;
  std::optional<Expected<TrainCheckpoint>> checkpoint;
  AIMASS_RETURN_IF_ERROR(guard(context, [&] { checkpoint.emplace(decodeTrainCheckpoint(bytes)); }));
  if (!checkpoint->ok()) {
    return checkpoint->status().withContext(context);
  }
  return std::move(*checkpoint);
}

}  // namespace aimass::core
