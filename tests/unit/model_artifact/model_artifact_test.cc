// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/model_artifact.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

namespace aimass::core {
namespace {

/// A model whose learned state is one string; enough to see what the envelope carries.
class StringModel final : public Model {
 public:
  explicit StringModel(std::string state = {}, std::uint32_t format = 3)
      : state_(std::move(state)), format_(format) {}

  ModelSchema schema() const override { return {}; }
  bool ready() const override { return !state_.empty(); }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return unimplemented("not needed");
  }
  std::uint32_t formatVersion() const override { return format_; }
  Status save(std::string& payload) const override {
    if (fail_save_) {
      return internalError("disk of the mind is full");
    }
    payload = state_;
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t format_version) override {
    state_ = std::string(payload);
    loaded_format_ = format_version;
    return Status();
  }

  std::string state_;
  std::uint32_t format_;
  std::uint32_t loaded_format_ = 0;
  bool fail_save_ = false;
};

/// Records in a map; counts the chunks written through openWrite so streaming is visible.
class MapStorage final : public Storage {
 public:
  std::string describe() const override { return "map:"; }
  Status put(std::string_view key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    values_[std::string(key)] = std::string(value);
    return Status();
  }
  Expected<std::string> get(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    auto it = values_.find(std::string(key));
    if (it == values_.end()) {
      return notFound("no key '" + std::string(key) + "'");
    }
    return it->second;
  }
  Expected<std::vector<std::string>> list(std::string_view) const override {
    return std::vector<std::string>{};
  }
  Status remove(std::string_view key) override {
    std::lock_guard lock(mutex_);
    return values_.erase(std::string(key)) ? Status() : notFound(std::string(key));
  }
  Expected<bool> compareAndSet(std::string_view, std::optional<std::string_view>,
                               std::string_view) override {
    return unimplemented("not needed");
  }

  mutable std::mutex mutex_;
  std::map<std::string, std::string> values_;
};

std::string encoded(const std::string& state, std::string_view type = "model.string") {
  StringModel model(state);
  auto bytes = encodeModelArtifact(model, type);
  EXPECT_TRUE(bytes.ok()) << bytes.status().toString();
  return bytes.ok() ? *bytes : std::string();
}

void setU32(std::string& bytes, std::size_t offset, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    bytes[offset + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  }
}

void refreshCrc(std::string& bytes) {
  std::size_t body = bytes.size() - 4;
  setU32(bytes, body, crc32(std::string_view(bytes).substr(0, body)));
}

TEST(Crc32, MatchesTheZlibCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414FA339u);
}

TEST(Crc32, CanBeComputedIncrementally) { EXPECT_EQ(crc32("56789", crc32("1234")), 0xCBF43926u); }

// On x86-64 with PCLMULQDQ, 64 bytes and more are folded by carry-less multiplication and the
// tail (under 16 bytes) goes by table: the lengths cover both, alone and together, and the
// starts every alignment.
TEST(Crc32, MatchesTheBytewiseDefinitionAtEveryLengthAndOffset) {
  auto bytewise = [](std::string_view data) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char b : data) {
      crc ^= b;
      for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (0xEDB88320u ^ (crc >> 1)) : (crc >> 1);
    }
    return ~crc;
  };
  std::string data;
  std::uint32_t state = 7;
  for (int i = 0; i < 4096; ++i) {
    state = state * 1664525u + 1013904223u;
    data.push_back(static_cast<char>(state >> 24));
  }
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t length : {0,   1,   7,   8,   9,   15,  16,  17,  63,  64,   65,   79,  80,
                               127, 128, 129, 143, 191, 192, 255, 256, 257, 1000, 4000, 4087}) {
      const std::string_view piece = std::string_view(data).substr(start, length);
      EXPECT_EQ(crc32(piece), bytewise(piece)) << start << " " << length;
      // Continued from a running CRC, as the envelope's reader does across chunks.
      const std::size_t cut = length / 3;
      EXPECT_EQ(crc32(piece.substr(cut), crc32(piece.substr(0, cut))), bytewise(piece))
          << start << " " << length << " cut at " << cut;
    }
  }
}

TEST(ModelArtifact, RoundTripsTypeVersionAndPayload) {
  std::string state("weights\0with\xffzero", 17);
  StringModel model(state, 7);
  auto bytes = encodeModelArtifact(model, "model.softmax");
  ASSERT_TRUE(bytes.ok()) << bytes.status().toString();
  EXPECT_EQ(bytes->substr(0, 8), std::string("AIMASSM\0", 8));
  EXPECT_EQ(bytes->size(), 8 + 4 + 4 + 4 + 13 + 8 + state.size() + 4);

  std::string_view payload;
  auto header = decodeModelArtifact(*bytes, payload);
  ASSERT_TRUE(header.ok()) << header.status().toString();
  EXPECT_EQ(header->envelope_version, 1u);
  EXPECT_EQ(header->format_version, 7u);
  EXPECT_EQ(header->type, "model.softmax");
  EXPECT_EQ(payload, state);
}

TEST(ModelArtifact, EmptyPayloadIsValid) {
  std::string bytes = encoded("");
  std::string_view payload = "untouched";
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_TRUE(header.ok()) << header.status().toString();
  EXPECT_TRUE(payload.empty());
}

TEST(ModelArtifact, EveryTruncationIsDataLoss) {
  std::string bytes = encoded("some learned numbers");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string_view payload;
    auto header = decodeModelArtifact(std::string_view(bytes).substr(0, n), payload);
    ASSERT_FALSE(header.ok()) << "prefix of " << n << " bytes was accepted";
    EXPECT_EQ(header.status().code(), StatusCode::kDataLoss)
        << n << ": " << header.status().toString();
  }
}

TEST(ModelArtifact, AnyFlippedBitIsCaught) {
  std::string bytes = encoded("some learned numbers");
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string corrupt = bytes;
    corrupt[i] = static_cast<char>(corrupt[i] ^ 0x10);
    std::string_view payload;
    auto header = decodeModelArtifact(corrupt, payload);
    EXPECT_FALSE(header.ok()) << "flip at byte " << i << " went unnoticed";
  }
}

TEST(ModelArtifact, FlippedPayloadByteIsChecksumMismatch) {
  std::string bytes = encoded("some learned numbers");
  bytes[bytes.size() - 6] ^= 1;
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(header.status().message().find("checksum"), std::string::npos);
}

TEST(ModelArtifact, OtherFilesAreNotArtifacts) {
  std::string_view payload;
  auto header = decodeModelArtifact("sepal_length,sepal_width\n5.1,3.5\n", payload);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(header.status().message().find("not a model artifact"), std::string::npos);
}

TEST(ModelArtifact, NewerEnvelopeVersionIsRefused) {
  std::string bytes = encoded("state");
  setU32(bytes, 8, 2);
  refreshCrc(bytes);
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(header.status().message().find("envelope version 2"), std::string::npos);
}

TEST(ModelArtifact, TrailingBytesAreDataLoss) {
  std::string bytes = encoded("state") + "x";
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), StatusCode::kDataLoss);
}

TEST(ModelArtifact, HugeLengthFieldIsTruncationNotACrash) {
  std::string bytes = encoded("state");
  setU32(bytes, 16, 0xFFFFFFF0u);  // the type name length
  std::string_view payload;
  auto header = decodeModelArtifact(bytes, payload);
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), StatusCode::kDataLoss);
}

TEST(ModelArtifact, SaveFailureIsReported) {
  StringModel model("state");
  model.fail_save_ = true;
  MapStorage storage;
  Status status = saveModel(model, "model.string", storage, "models/m/model.aimass");
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_NE(status.message().find("disk of the mind is full"), std::string::npos);
  EXPECT_TRUE(storage.values_.empty());
}

TEST(ModelArtifact, SaveThenLoadThroughStorage) {
  StringModel trained(std::string(3 << 20, 'w'), 5);  // spans several write chunks
  MapStorage storage;
  ASSERT_TRUE(saveModel(trained, "model.string", storage, "models/m/model.aimass").ok());
  ASSERT_EQ(storage.values_.count("models/m/model.aimass"), 1u);

  StringModel fresh;
  Status status = loadModel(fresh, "model.string", storage, "models/m/model.aimass");
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_EQ(fresh.state_, trained.state_);
  EXPECT_EQ(fresh.loaded_format_, 5u);
}

TEST(ModelArtifact, LoadChecksTheStoredType) {
  StringModel trained("state");
  MapStorage storage;
  ASSERT_TRUE(saveModel(trained, "model.kmeans", storage, "k").ok());
  StringModel fresh;
  Status status = loadModel(fresh, "model.softmax", storage, "k");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "artifact 'k' holds a model.kmeans, not a model.softmax");
  EXPECT_TRUE(fresh.state_.empty());
}

TEST(ModelArtifact, LoadOfCorruptBytesLeavesModelUntouched) {
  StringModel trained("state");
  MapStorage storage;
  ASSERT_TRUE(saveModel(trained, "model.string", storage, "k").ok());
  storage.values_["k"][30] ^= 0x55;
  StringModel fresh("before");
  Status status = loadModel(fresh, "model.string", storage, "k");
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.toString();
  EXPECT_EQ(fresh.state_, "before");
}

TEST(ModelArtifact, LoadOfMissingKeyIsNotFound) {
  MapStorage storage;
  StringModel fresh;
  Status status = loadModel(fresh, "model.string", storage, "models/none");
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("models/none"), std::string::npos);
}

}  // namespace
}  // namespace aimass::core
