// SPDX-License-Identifier: Apache-2.0
// The job.train checkpoint record: round trip, corruption and truncation caught by the
// envelope, foreign records refused, and the storage round trip.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

#include "map_storage.h"
#include "aimass/core/model_artifact.h"
#include "train_checkpoint.h"

namespace aimass::core {
namespace {

using ::testing::HasSubstr;

TrainCheckpoint sample() {
  TrainCheckpoint c;
  c.fingerprint = std::string(64, 'a');
  c.epoch = 3;
  c.step = 17;
  c.total_steps = 317;
  c.epoch_loss_sum = 12.5;
  c.epoch_samples = 544;
  c.best = 0.25;
  c.best_epoch = 2;
  c.stale_epochs = 1;
  c.metrics = {{"loss", 0.5}, {"val_accuracy", 0.875}};
  c.model_type = "model.mlp";
  c.model_format_version = 2;
  c.model_payload = std::string("\0\1\2payload", 10);
  c.optimizer_state = "adam-state";
  c.callback_states = {{"prune", std::string("\0\7history", 9)}, {"freeze", ""}};
  return c;
}

TEST(TrainCheckpoint, RoundTripsEveryField) {
  const TrainCheckpoint c = sample();
  auto decoded = decodeTrainCheckpoint(encodeTrainCheckpoint(c));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->fingerprint, c.fingerprint);
  EXPECT_EQ(decoded->epoch, 3u);
  EXPECT_EQ(decoded->step, 17u);
  EXPECT_EQ(decoded->total_steps, 317u);
  EXPECT_EQ(decoded->epoch_loss_sum, 12.5);
  EXPECT_EQ(decoded->epoch_samples, 544u);
  EXPECT_EQ(decoded->best, 0.25);
  EXPECT_EQ(decoded->best_epoch, 2u);
  EXPECT_EQ(decoded->stale_epochs, 1u);
  EXPECT_EQ(decoded->metrics, c.metrics);
  EXPECT_EQ(decoded->model_type, "model.mlp");
  EXPECT_EQ(decoded->model_format_version, 2u);
  EXPECT_EQ(decoded->model_payload, c.model_payload);
  EXPECT_EQ(decoded->optimizer_state, "adam-state");
  EXPECT_EQ(decoded->callback_states, c.callback_states);
}

TEST(TrainCheckpoint, AFormatOneBodyWithoutCallbackStatesIsStillRead) {
  TrainCheckpoint c = sample();
  c.callback_states.clear();
  std::string_view body;
  const std::string bytes = encodeTrainCheckpoint(c);
  ASSERT_TRUE(decodeModelArtifact(bytes, body).ok());
  // Format 1 ended after the optimizer state: drop the (zero) callback count.
  const std::string v1 = encodeArtifactEnvelope("job.train checkpoint", 1,
                                                body.substr(0, body.size() - 8));
  auto decoded = decodeTrainCheckpoint(v1);
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->optimizer_state, "adam-state");
  EXPECT_TRUE(decoded->callback_states.empty());
  // The same bytes labelled format 2 lack the count: cut off.
  auto v2 = decodeTrainCheckpoint(
      encodeArtifactEnvelope("job.train checkpoint", 2, body.substr(0, body.size() - 8)));
  EXPECT_EQ(v2.status().code(), StatusCode::kDataLoss);
}

TEST(TrainCheckpoint, EveryFlippedBitAndEveryCutIsDataLoss) {
  const std::string bytes = encodeTrainCheckpoint(sample());
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    auto decoded = decodeTrainCheckpoint(flipped);
    ASSERT_FALSE(decoded.ok()) << "byte " << i << " flipped was accepted";
    auto cut = decodeTrainCheckpoint(std::string_view(bytes).substr(0, i));
    ASSERT_FALSE(cut.ok()) << "a checkpoint cut to " << i << " bytes was accepted";
  }
  auto cut = decodeTrainCheckpoint(std::string_view(bytes).substr(0, bytes.size() - 5));
  EXPECT_EQ(cut.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(cut.status().message(), HasSubstr("not a readable checkpoint"));
  std::string corrupt = bytes;
  corrupt[bytes.size() / 2] ^= 1;
  EXPECT_THAT(decodeTrainCheckpoint(corrupt).status().message(), HasSubstr("checksum mismatch"));
}

TEST(TrainCheckpoint, RefusesAModelArtifactAndANewerFormat) {
  auto artifact = decodeTrainCheckpoint(encodeArtifactEnvelope("model.mlp", 2, "weights"));
  EXPECT_EQ(artifact.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(artifact.status().message(), HasSubstr("not a checkpoint: the record holds a "
                                                     "model.mlp"));
  auto newer = decodeTrainCheckpoint(encodeArtifactEnvelope("job.train checkpoint", 9, ""));
  EXPECT_THAT(newer.status().message(),
              HasSubstr("checkpoint format 9 is unknown (this host reads formats 1 to 2)"));
  // A valid envelope around a body that is too short.
  auto empty = decodeTrainCheckpoint(encodeArtifactEnvelope("job.train checkpoint", 1, "ab"));
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);
}

using aimass::testing::MapStorage;

TEST(TrainCheckpoint, WritesOneRecordAndReadsItBack) {
  MapStorage storage;
  EXPECT_EQ(checkpointKey("train"), "checkpoints/train");
  auto missing = readTrainCheckpoint(storage, "checkpoints/train");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(writeTrainCheckpoint(storage, "checkpoints/train", sample()).ok());
  EXPECT_EQ(storage.puts, 1) << "a checkpoint is one atomic write";
  auto read = readTrainCheckpoint(storage, "checkpoints/train");
  ASSERT_TRUE(read.ok()) << read.status().toString();
  EXPECT_EQ(read->step, 17u);
  storage.values["checkpoints/train"].back() ^= 1;
  auto corrupt = readTrainCheckpoint(storage, "checkpoints/train");
  EXPECT_EQ(corrupt.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.status().message(),
              HasSubstr("reading checkpoint 'checkpoints/train' in map:test"));
}

}  // namespace
}  // namespace aimass::core
