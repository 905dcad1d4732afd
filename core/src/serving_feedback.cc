// SPDX-License-Identifier: Apache-2.0
#include "serving_feedback.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/sha256.h"
#include "tensor_record.h"

namespace aimass::core {
namespace {

constexpr char kRecordType[] = "aimass.feedback";
constexpr std::uint32_t kRecordFormat = 1;
constexpr int kSequenceDigits = 20;

/// The batch number a record key ends in (20 digits, from 1); nullopt for anything else.
std::optional<std::uint64_t> sequenceOf(std::string_view key) {
  const std::string_view digits = key.substr(key.rfind('/') + 1);
  if (digits.size() != kSequenceDigits) {
    return std::nullopt;
  }
  std::uint64_t sequence = 0;
  for (char c : digits) {
    if (c < '0' || c > '9' || sequence > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) {
      return std::nullopt;
    }
    sequence = sequence * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return sequence == 0 ? std::nullopt : std::optional<std::uint64_t>(sequence);
}

/// Writes `record` as the version's next batch without ever replacing one: another process
/// serving the same trained state (a replica on the same storage) may have taken the number,
/// and then the batch goes after the last one there. Sets `key` to the key tried last.
Status writeNextRecord(Storage& storage, const std::string& model, const std::string& record,
                       FeedbackState& state, std::string& key) {
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    key = feedbackKey(model, state.identity, state.next_sequence);
    AIMASS_ASSIGN_OR_RETURN(bool written, storage.compareAndSet(key, std::nullopt, record));
    if (written) {
      return okStatus();
    }
    AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                            storage.list(feedbackPrefix(model, state.identity)));
    std::uint64_t last = 0;
    for (auto it = keys.rbegin(); it != keys.rend() && last == 0; ++it) {
      last = sequenceOf(*it).value_or(0);
    }
    state.next_sequence = std::max(state.next_sequence + 1, last + 1);
  }
  return aborted("batch numbers kept being taken by other writers (" +
                 std::to_string(kAttempts) + " attempts)");
}

}  // namespace

std::string feedbackPrefix(std::string_view model, std::string_view identity) {
  return "feedback/" + std::string(model) + "/" + std::string(identity) + "/";
}

std::string feedbackKey(std::string_view model, std::string_view identity,
                        std::uint64_t sequence) {
  char digits[kSequenceDigits + 1];
  std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(sequence));
  return feedbackPrefix(model, identity) + digits;
}

std::string encodeFeedbackRecord(const TensorMap& observations) {
  std::string payload;
  ByteWriter out(payload);
  writeTensorMap(out, observations);
  return encodeArtifactEnvelope(kRecordType, kRecordFormat, payload);
}

Expected<TensorMap> decodeFeedbackRecord(std::string_view bytes) {
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  if (!header.ok()) {
    return Status(header.status().code(),
                  "feedback record: " + std::string(header.status().message()));
  }
  if (header->type != kRecordType || header->format_version != kRecordFormat) {
    return invalidArgument("not a feedback record of format " + std::to_string(kRecordFormat) +
                           " (it holds a '" + header->type + "' of format " +
                           std::to_string(header->format_version) + ")");
  }
  ByteReader in(payload);
  AIMASS_ASSIGN_OR_RETURN(TensorMap observations, readTensorMap(in, "feedback record"));
  if (!in.atEnd()) {
    return dataLoss("feedback record is corrupt: " + std::to_string(in.remaining()) +
                    " bytes after the last tensor");
  }
  return observations;
}

Expected<std::string> savedStateIdentity(const Model& model, std::string_view type) {
  if (!type.empty()) {
    auto artifact = encodeModelArtifact(model, type);
    if (!artifact.ok()) {
      return artifact.status();
    }
    return Sha256::of(*artifact);
  }
  std::string payload;
  Status saved = guard("saving the model to name its trained state",
                       [&] { return model.save(payload); });
  if (!saved.ok()) {
    return saved;
  }
  return Sha256::of(payload);
}

Status replayFeedback(const std::string& model, OnlineLearning& learning,
                      const std::shared_ptr<Storage>& storage, FeedbackState& state) {
  const std::string prefix = feedbackPrefix(model, state.identity);
  auto keys = storage->list(prefix);
  if (!keys.ok()) {
    return Status(keys.status().code(), "model '" + model + "': cannot list its feedback under '" +
                                            prefix + "' in " + storage->describe() + ": " +
                                            keys.status().message());
  }
  std::uint64_t last = 0;
  for (const std::string& key : *keys) {
    auto refuse = [&](const Status& why) {
      return Status(why.code(),
                    "model '" + model + "': feedback record '" + key + "' in " +
                        storage->describe() + " cannot be replayed: " + why.message() +
                        "; the version is not served. Remove that key to serve it without "
                        "the observations the record held");
    };
    const std::optional<std::uint64_t> sequence =
        key.find('/', prefix.size()) == std::string::npos ? sequenceOf(key) : std::nullopt;
    if (!sequence) {
      return refuse(invalidArgument("the key does not end in a 20-digit batch number from 1"));
    }
    auto bytes = readBlob(*storage, key);
    if (!bytes.ok()) {
      return refuse(bytes.status());
    }
    auto observations = decodeFeedbackRecord(*bytes);
    if (!observations.ok()) {
      return refuse(observations.status());
    }
    Status learned = guard("learn", [&] { return learning.learn(*observations); });
    if (!learned.ok()) {
      return refuse(learned);
    }
    last = *sequence;
  }
  state.next_sequence = last + 1;
  state.replayed_from = storage;
  return okStatus();
}

Expected<LearnResult> learnAndPersist(const std::string& model, const std::string& version,
                                      OnlineLearning& learning, const TensorMap& observations,
                                      std::int64_t rows, Storage* storage, FeedbackState& state) {
  Status learned = guard("learn", [&] { return learning.learn(observations); });
  if (!learned.ok()) {
    return Status(learned.code(), "model '" + model + "' version '" + version +
                                      "' did not learn the observations: " + learned.message());
  }
  LearnResult result;
  result.version = version;
  result.rows = static_cast<std::uint64_t>(rows);
  if (storage == nullptr) {
    return result;
  }
  std::string key;
  Status written = guard("persisting feedback", [&] {
    return writeNextRecord(*storage, model, encodeFeedbackRecord(observations), state, key);
  });
  if (!written.ok()) {
    // kDataLoss (a 500, not a 503): resending would learn the batch twice.
    return dataLoss("model '" + model + "' version '" + version + "' learned the " +
                    std::to_string(rows) + " observations, but persisting them as '" + key +
                    "' in " + storage->describe() + " failed: " + written.message() +
                    "; they are live until the process ends and a restart will not replay "
                    "them (do not send them again: they would be learned twice)");
  }
  result.persisted = true;
  result.sequence = state.next_sequence++;
  return result;
}

}  // namespace aimass::core
