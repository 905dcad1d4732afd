// SPDX-License-Identifier: Apache-2.0
// Decoding a request costs memory in proportion to what the model accepts, not to what the
// client sends (issue 12): hostile bodies are refused, and the most heap they made the decoders
// hold at once (allocation_counter.h) stays under a stated bound. Each case names the bound and
// the peak it measured before the bounds were added.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "allocation_counter.h"
#include "infer_codec.h"
#include "json_document.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using testing::heapBytesInUse;
using testing::heapPeakBytes;
using testing::resetHeapPeak;

constexpr std::size_t kHostileBody = 16 << 20;

/// The most heap `decode` holds at once beyond what was in use before it.
template <typename Decode>
long peakOf(Decode decode) {
  resetHeapPeak();
  const long base = heapBytesInUse();
  decode();
  return heapPeakBytes() - base;
}

/// Four scalar FP32 inputs, like a tabular model served one row at a time.
ModelSchema fourInputs() {
  ModelSchema schema;
  for (const char* name : {"a", "b", "c", "d"}) {
    schema.inputs.push_back({name, DType::kFloat32, {1}});
  }
  schema.outputs = {{"y", DType::kFloat32, {1}}};
  return schema;
}

ModelSchema oneInput(DType dtype, Shape shape) {
  ModelSchema schema;
  schema.inputs = {{"x", dtype, std::move(shape)}};
  schema.outputs = {{"y", DType::kFloat32, {-1}}};
  return schema;
}

/// `count` copies of `item` separated by commas.
std::string repeated(std::string_view item, std::size_t count) {
  std::string out;
  out.reserve(count * (item.size() + 1));
  for (std::size_t i = 0; i < count; ++i) {
    out += i ? "," : "";
    out += item;
  }
  return out;
}

// Measured before the bounds: 960 MiB at peak (8M nodes of 40 bytes, the node vector's last
// growth holding old and new storage). Now the scan stops at inferRequestValueLimit() (4,244
// values here): 0.5 MiB.
TEST(DecoderMemory, FlatJsonFarPastTheModelsInputsIsRefusedEarly) {
  const std::string body = R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[)" +
                           repeated("0", kHostileBody / 2) + "]}]}";
  std::optional<Expected<InferRequest>> decoded;
  const long peak = peakOf([&] { decoded = decodeInferRequest(body, fourInputs()); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded->status().message(),
              HasSubstr("more than 4244 JSON values, more than the model's inputs can take (a "
                        "FP32 [1], b FP32 [1], c FP32 [1], d FP32 [1])"));
  EXPECT_LT(peak, 1 << 20) << "peak " << peak;
  RecordProperty("peak_bytes", std::to_string(peak));
}

// Measured before: 480 MiB (5.6M nodes; an empty list and its comma are three bytes).
TEST(DecoderMemory, NestedEmptyListsAreRefusedEarly) {
  const std::string body = R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[)" +
                           repeated("[]", kHostileBody / 3) + "]}]}";
  std::optional<Expected<InferRequest>> decoded;
  const long peak = peakOf([&] { decoded = decodeInferRequest(body, fourInputs()); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_THAT(decoded->status().message(), HasSubstr("JSON values, more than the model's inputs"));
  EXPECT_LT(peak, 1 << 20) << "peak " << peak;
  RecordProperty("peak_bytes", std::to_string(peak));
}

TEST(DecoderMemory, DeepNestingStopsAtMaxJsonDepth) {
  const std::string body = R"({"inputs":[{"name":"a","datatype":"FP32","shape":[1],"data":)" +
                           std::string(kHostileBody, '[');
  std::optional<Expected<InferRequest>> decoded;
  const long peak = peakOf([&] { decoded = decodeInferRequest(body, fourInputs()); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_THAT(decoded->status().message(), HasSubstr("nested deeper than 64 levels"));
  EXPECT_LT(peak, 64 << 10) << "peak " << peak;
}

// A request the model can take in full still decodes: the bound leaves room for every element,
// every list of nested data and parameters of the client's own.
TEST(DecoderMemory, ARequestOfTheLargestAcceptedShapeStillDecodes) {
  std::string rows;
  for (int r = 0; r < 28; ++r) {
    rows += std::string(r ? "," : "") + "[" + repeated("0.5", 28) + "]";
  }
  const std::string body =
      R"({"id":"1","parameters":{"trace":[)" + repeated("1", 3000) +
      R"(]},"inputs":[{"name":"x","datatype":"FP32","shape":[1,28,28],"data":[[)" + rows +
      R"(]],"parameters":{"note":"n"}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  auto decoded = decodeInferRequest(body, oneInput(DType::kFloat32, {1, 28, 28}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->inputs.find("x")->numel(), 784);
}

// The declared shape is checked against the values present before a tensor is allocated (this
// held before as well: the element count was compared first, after gathering the values).
// Nested data names the values it holds.
TEST(DecoderMemory, ADeclaredShapeBeyondTheDataIsRefusedWithoutAllocatingIt) {
  for (const char* shape : {"[100000000,4]", "[1000000000000,4]", "[4611686018427387904,4]"}) {
    const std::string body = std::string(R"({"inputs":[{"name":"x","datatype":"FP32","shape":)") +
                             shape + R"(,"data":[1,2,3,4]}]})";
    std::optional<Expected<InferRequest>> decoded;
    const long peak = peakOf([&] {
      decoded = decodeInferRequest(body, oneInput(DType::kFloat32, {-1, 4}));
    });
    ASSERT_FALSE(decoded->ok()) << shape;
    EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded->status().message(),
                HasSubstr(std::string("input 'x' has 4 elements but its shape ")));
    EXPECT_LT(peak, 64 << 10) << shape << " peak " << peak;
  }
  auto nested = decodeInferRequest(
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[100000000,4],"data":[[1,2,3,4]]}]})",
      oneInput(DType::kFloat32, {-1, 4}));
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(nested.status().message(),
              HasSubstr("input 'x' has shape [100000000, 4] of 400000000 elements but its "
                        "\"data\" holds only 5 values"));
}

/// A binary request for input `x` of `datatype` and `shape` with `binary` after the header.
std::pair<std::string, std::string> binaryRequest(const std::string& datatype,
                                                  const std::string& shape,
                                                  const std::string& binary) {
  std::string header = R"({"inputs":[{"name":"x","datatype":")" + datatype + R"(","shape":)" +
                       shape + R"(,"parameters":{"binary_data_size":)" +
                       std::to_string(binary.size()) + "}}]}";
  std::string length = std::to_string(header.size());
  return {header + binary, length};
}

// Measured before: 192 MiB (4M strings of 32 bytes made before the count was compared with
// the shape). Now under 1 KiB.
TEST(DecoderMemory, BinaryBytesAreCountedBeforeAnyStringIsMade) {
  const std::string empties(kHostileBody, '\0');  // 4M elements of length 0
  for (const char* shape : {"[100000000]", "[4]"}) {
    auto [body, length] = binaryRequest("BYTES", shape, empties);
    InferDecodeOptions options;
    options.header_length = length;
    std::optional<Expected<InferRequest>> decoded;
    const long peak =
        peakOf([&] { decoded = decodeInferRequest(body, oneInput(DType::kBytes, {-1}), options); });
    ASSERT_FALSE(decoded->ok()) << shape;
    EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded->status().message(), HasSubstr("input 'x'"));
    EXPECT_LT(peak, 64 << 10) << shape << " peak " << peak;
    RecordProperty(std::string("peak_bytes_") + shape, std::to_string(peak));
  }
  auto [body, length] = binaryRequest("BYTES", "[100000000]", empties);
  InferDecodeOptions options;
  options.header_length = length;
  EXPECT_THAT(decodeInferRequest(body, oneInput(DType::kBytes, {-1}), options).status().message(),
              HasSubstr("BYTES [100000000] has 100000000 elements but binary_data_size 16777216 "
                        "holds at most 4194304"));
}

// BYTES as JSON strings: a fixed-size input bounds the element count through the value limit.
// Measured before: 480 MiB.
TEST(DecoderMemory, JsonBytesPastTheShapeAreRefusedEarly) {
  const std::string body = R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":[)" +
                           repeated("\"\"", kHostileBody / 3) + "]}]}";
  std::optional<Expected<InferRequest>> decoded;
  const long peak =
      peakOf([&] { decoded = decodeInferRequest(body, oneInput(DType::kBytes, {2})); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_THAT(decoded->status().message(), HasSubstr("x BYTES [2]"));
  EXPECT_LT(peak, 1 << 20) << "peak " << peak;
}

}  // namespace
}  // namespace aimass::plugins::frontend
