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
#include <vector>

#include "allocation_counter.h"
#include "infer_codec.h"
#include "json_document.h"
#include "mlflow_codec.h"

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
  std::string parameters;  // 1500 of the client's own: 3000 JSON values
  for (int p = 0; p < 1500; ++p) {
    parameters += std::string(p ? "," : "") + "\"p" + std::to_string(p) + "\":1";
  }
  const std::string body =
      R"({"id":"1","parameters":{)" + parameters +
      R"(},"inputs":[{"name":"x","datatype":"FP32","shape":[1,28,28],"data":[[)" + rows +
      R"(]],"parameters":{"note":"n"}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  auto decoded = decodeInferRequest(body, oneInput(DType::kFloat32, {1, 28, 28}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->inputs.find("x")->numel(), 784);
  EXPECT_EQ(decoded->options.parameters.size(), 1500u);
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

// Variable (-1) dimensions: the body is indexed only as far as the shapes it declares reach,
// once they are checked against the model. Measured before (each indexed in full): 480 MiB
// for the empty lists, 960 MiB for the zeros and the huge shape, 480 MiB for the strings.
TEST(DecoderMemory, VariableBatchJsonIsBoundedByTheDeclaredShape) {
  const std::string head = R"({"inputs":[{"name":"x","datatype":"FP32","shape":)";
  struct Case {
    std::string body;
    ModelSchema schema;
    std::string error;
  };
  const Case cases[] = {
      {head + R"([2,4],"data":[)" + repeated("[]", kHostileBody / 3) + "]}]}",
       oneInput(DType::kFloat32, {-1, 4}),
       "JSON values, more than the model's inputs can take (x FP32 [-1, 4]) at the shapes it "
       "declares (x [2, 4])"},
      {head + R"([2,4],"data":[)" + repeated("0", kHostileBody / 2) + "]}]}",
       oneInput(DType::kFloat32, {-1, 4}), "at the shapes it declares (x [2, 4])"},
      // The shape after the data, as a client may write it.
      {R"({"inputs":[{"name":"x","datatype":"FP32","data":[)" + repeated("0", kHostileBody / 2) +
           R"(],"shape":[2,4]}]})",
       oneInput(DType::kFloat32, {-1, 4}), "at the shapes it declares (x [2, 4])"},
      {head + R"([1000000000,4],"data":[)" + repeated("0", kHostileBody / 2) + "]}]}",
       oneInput(DType::kFloat32, {-1, 4}),
       "input 'x' has shape [1000000000, 4] of 4000000000 elements but the request's"},
      {head + R"([4611686018427387904,4],"data":[)" + repeated("0", kHostileBody / 2) + "]}]}",
       oneInput(DType::kFloat32, {-1, 4}), "of too many elements"},
      {head + R"([1,5],"data":[)" + repeated("0", kHostileBody / 2) + "]}]}",
       oneInput(DType::kFloat32, {-1, 4}),
       "input 'x' has shape [1, 5] but the model expects [-1, 4]"},
      {R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":[)" +
           repeated("\"\"", kHostileBody / 3) + "]}]}",
       oneInput(DType::kBytes, {-1}), "at the shapes it declares (x [2])"},
  };
  for (const Case& c : cases) {
    std::optional<Expected<InferRequest>> decoded;
    const long peak = peakOf([&] { decoded = decodeInferRequest(c.body, c.schema); });
    ASSERT_FALSE(decoded->ok()) << c.error;
    EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded->status().message(), HasSubstr(c.error));
    // The parse stops at inferRequestValueLimit() (4,139 values here) plus the declared
    // shape's: node storage of 8,192 nodes once it grows past 4,096.
    EXPECT_LT(peak, 1 << 20) << c.error << " peak " << peak;
    RecordProperty("peak_bytes_" + std::to_string(&c - cases), std::to_string(peak));
  }
}

// A batch larger than the base limit decodes, flat or nested, whatever the order of its
// members, with a peak in proportion to the tensor (nodes of its values and rows).
TEST(DecoderMemory, AVariableBatchDecodesWithinItsDeclaredShape) {
  std::string rows;
  for (int r = 0; r < 4000; ++r) {
    rows += std::string(r ? "," : "") + "[1.5,2,3,4]";
  }
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 4});
  const std::string nested =
      R"({"inputs":[{"data":[)" + rows + R"(],"name":"x","shape":[4000,4],"datatype":"FP32"}]})";
  std::optional<Expected<InferRequest>> decoded;
  const long peak = peakOf([&] { decoded = decodeInferRequest(nested, schema); });
  ASSERT_TRUE(decoded->ok()) << decoded->status().toString();
  EXPECT_EQ((*decoded)->inputs.find("x")->numel(), 16000);
  EXPECT_EQ((*decoded)->inputs.find("x")->data<float>()[4], 1.5f);
  // 20,000 values and lists of at most 40 bytes, the node vector's growth, the 64 KiB tensor.
  EXPECT_LT(peak, 2 << 20) << "peak " << peak;
  RecordProperty("peak_bytes", std::to_string(peak));

  const std::string flat =
      R"({"inputs":[{"name":"x","datatype":"INT32","shape":[3000,4],"data":[)" +
      repeated("7", 12000) + "]}]}";
  auto decoded_flat = decodeInferRequest(flat, schema);
  ASSERT_TRUE(decoded_flat.ok()) << decoded_flat.status().toString();
  EXPECT_EQ(decoded_flat->inputs.find("x")->numel(), 12000);
  // Two inputs, one of them named twice: the second naming is refused by the decoder.
  ModelSchema two = oneInput(DType::kFloat32, {-1, 4});
  two.inputs.push_back({"m", DType::kBool, {-1}});
  const std::string twice =
      R"({"inputs":[{"name":"x","datatype":"FP32","shape":[3000,4],"data":[)" +
      repeated("1", 12000) +
      R"(]},{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]})";
  EXPECT_THAT(decodeInferRequest(twice, two).status().message(), HasSubstr("given twice"));
  const std::string unknown =
      R"({"inputs":[{"name":"z","datatype":"FP32","shape":[3000,4],"data":[)" +
      repeated("1", 12000) + "]}]}";
  EXPECT_THAT(decodeInferRequest(unknown, two).status().message(),
              HasSubstr("unknown input 'z'; the model takes: x, m"));
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

// Measured before: 1.45 GiB and 17 s (every field became a string, then a value object, before
// the header was compared with the model). Now under 1 KiB.
TEST(DecoderMemory, ACsvHeaderWiderThanTheModelIsRefusedAtItsLimit) {
  std::string body = repeated("c", 10'000'000) + "\n" + repeated("1", 10'000'000) + "\n";
  std::optional<Expected<TensorMap>> decoded;
  const long peak =
      peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kCsv, body, fourInputs(), 64); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(decoded->status().message(),
              HasSubstr("the CSV header has more than 4 columns but the model takes at most 4 (a "
                        "FP32 [1], b FP32 [1], c FP32 [1], d FP32 [1])"));
  EXPECT_LT(peak, 64 << 10) << "peak " << peak;
  RecordProperty("peak_bytes", std::to_string(peak));
}

// A CSV of many rows for a model that takes one: refused at the first cell past its inputs.
// Measured before: 856 MiB. Now under 2 KiB.
TEST(DecoderMemory, CsvRowsPastTheModelsInputsAreRefusedEarly) {
  std::string body = "a,b,c,d\n";
  for (std::size_t r = 0; body.size() < kHostileBody; ++r) {
    body += "1,2,3,4\n";
  }
  std::optional<Expected<TensorMap>> decoded;
  const long peak =
      peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kCsv, body, fourInputs(), 64); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_THAT(decoded->status().message(), HasSubstr("the CSV has more than 4 values"));
  EXPECT_LT(peak, 64 << 10) << "peak " << peak;
  RecordProperty("peak_bytes", std::to_string(peak));
}

// A CSV whose header fits a wide variable-batch matrix still decodes; one past its width does
// not, whatever follows.
TEST(DecoderMemory, CsvHeaderMatchesASingleInputsWidth) {
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 3});
  auto fits = decodeMlflowRequest(MlflowFormat::kCsv, "p,q,r\n1,2,3\n4,5,6\n", schema, 64);
  ASSERT_TRUE(fits.ok()) << fits.status().toString();
  EXPECT_EQ(fits->find("x")->numel(), 6);
  auto wide = decodeMlflowRequest(MlflowFormat::kCsv, "p,q,r,s\n1,2,3,4\n", schema, 64);
  ASSERT_FALSE(wide.ok());
  EXPECT_THAT(wide.status().message(), HasSubstr("more than 3 columns"));
  auto long_row = decodeMlflowRequest(MlflowFormat::kCsv, "p,q,r\n1,2,3,4\n", schema, 64);
  ASSERT_FALSE(long_row.ok());
  EXPECT_THAT(long_row.status().message(), HasSubstr("CSV row 1 has more fields than the header"));
}

// Measured before: 304 MiB (inputs), 744 MiB (dataframe_split), 895 MiB (dataframe_records):
// Poco made a value object of every element. Now the body is counted first.
TEST(DecoderMemory, MlflowJsonPastTheModelsInputsIsRefusedBeforeParsing) {
  for (const std::string& body :
       {R"({"inputs":[)" + repeated("0", kHostileBody / 2) + "]}",
        R"({"dataframe_split":{"columns":["a","b","c","d"],"data":[)" +
            repeated("[1,2,3,4]", kHostileBody / 10) + "]}}",
        R"({"dataframe_records":[)" + repeated(R"({"a":1,"b":2,"c":3,"d":4})", kHostileBody / 26) +
            "]}"}) {
    std::optional<Expected<TensorMap>> decoded;
    const long peak =
        peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kJson, body, fourInputs(), 64); });
    ASSERT_FALSE(decoded->ok()) << body.substr(0, 40);
    EXPECT_THAT(decoded->status().message(),
                HasSubstr("JSON values, more than the model's inputs"));
    EXPECT_LT(peak, 64 << 10) << body.substr(0, 40) << " peak " << peak;
  }
  // The same formats within the model's shape still decode.
  auto records =
      decodeMlflowRequest(MlflowFormat::kJson,
                          R"({"dataframe_records":[{"a":1,"b":2,"c":3,"d":4}]})", fourInputs(), 64);
  ASSERT_TRUE(records.ok()) << records.status().toString();
  EXPECT_EQ(records->find("d")->data<float>()[0], 4.0f);
}

// With a variable dimension the body bounds the values, but their structure may not outgrow
// the scalars that can become elements: lists and objects with nothing in them are refused
// before Poco makes a value object of each. Measured before: 635 MiB (inputs), 635 MiB
// (dataframe_split), 4.4 GiB (dataframe_records of empty objects). Now under 64 KiB.
TEST(DecoderMemory, MlflowJsonStructureWithoutValuesIsRefusedBeforeParsing) {
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 4});
  for (const std::string& body :
       {R"({"inputs":[)" + repeated("[]", kHostileBody / 3) + "]}",
        R"({"dataframe_split":{"columns":["a","b","c","d"],"data":[)" +
            repeated("[]", kHostileBody / 3) + "]}}",
        R"({"dataframe_records":[)" + repeated("{}", kHostileBody / 3) + "]}",
        R"({"inputs":[[1,2,3,4]],"params":{"p":[)" + repeated("[[]]", kHostileBody / 5) + "]}}"}) {
    std::optional<Expected<TensorMap>> decoded;
    const long peak =
        peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kJson, body, schema, 64); });
    ASSERT_FALSE(decoded->ok()) << body.substr(0, 40);
    EXPECT_THAT(decoded->status().message(),
                HasSubstr("of them can be tensor elements; the model's inputs (x FP32 [-1, 4]) "
                          "need at most 4 per element"));
    EXPECT_LT(peak, 64 << 10) << body.substr(0, 40) << " peak " << peak;
  }
  // Rows of a [-1, 4] input in every format stay within four values per element.
  for (const std::string& body :
       {R"({"inputs":[)" + repeated("[1,2,3,4]", 3000) + "]}",
        R"({"dataframe_split":{"columns":["a","b","c","d"],"data":[)" +
            repeated("[1,2,3,4]", 3000) + "]}}",
        R"({"dataframe_records":[)" + repeated(R"({"a":1,"b":2,"c":3,"d":4})", 3000) + "]}",
        R"({"instances":[)" + repeated(R"({"x":[1,2,3,4]})", 3000) + "]}"}) {
    auto decoded = decodeMlflowRequest(MlflowFormat::kJson, body, schema, 64);
    ASSERT_TRUE(decoded.ok()) << body.substr(0, 40) << decoded.status().toString();
    EXPECT_EQ(decoded->find("x")->numel(), 12000);
  }
  // [-1, 1] rows as one-value lists, or records of one column: four values per element.
  const ModelSchema column = oneInput(DType::kFloat32, {-1, 1});
  for (const std::string& body :
       {R"({"dataframe_records":[)" + repeated(R"({"x":[1]})", 3000) + "]}",
        R"({"inputs":[)" + repeated("[1]", 3000) + "]}"}) {
    auto decoded = decodeMlflowRequest(MlflowFormat::kJson, body, column, 64);
    ASSERT_TRUE(decoded.ok()) << body.substr(0, 40) << decoded.status().toString();
  }
}

// Variable (-1) dimensions: MLflow JSON streams into the tensors (JsonReader, TensorBuilder), so
// a body the model cannot take costs next to nothing however long, and one it can take costs
// about its tensor. Before, Poco made a value object of every value first: some 300 MiB for 8M
// zeros (the inputs case here, measured in MlflowJsonPastTheModelsInputsIsRefusedBeforeParsing
// for the same body), and each of these several hundred MiB.
TEST(DecoderMemory, MlflowJsonForAVariableBatchIsRefusedWithoutHoldingIt) {
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 4});
  struct Case {
    std::string body;
    std::string error;
  };
  const Case cases[] = {
      {R"({"inputs":[)" + repeated("0", kHostileBody / 2) + "]}",
       "inputs has shape [8388608] but the model's input 'x' is FP32 [-1, 4]"},
      {R"({"instances":[)" + repeated("[0,0,0,0,0]", kHostileBody / 12) + "]}",
       "instances has shape [1398101, 5] but the model's input 'x' is FP32 [-1, 4]"},
      {R"({"dataframe_split":{"columns":["a","b","c","d"],"data":[[)" +
           repeated("0", kHostileBody / 2) + "]]}}",
       "dataframe_split row 0 has 8388608 values but there are 4 columns"},
      {R"({"dataframe_split":{"data":[[)" + repeated("0", kHostileBody / 2) + "]]}}",
       "dataframe_split has shape [1, 8388608] but the model's input 'x' is FP32 [-1, 4]"},
      {R"({"dataframe_records":[{"a":1,"b":2,"c":3,"d":4,)" +
           repeated(R"("e":1)", kHostileBody / 6) + "}]}",
       "dataframe_records record 0 has more than 4 columns but the model takes at most 4"},
      {R"({"dataframe_records":[)" + repeated(R"({"a":"x","b":2,"c":3,"d":4})", kHostileBody / 28) +
           "]}",
       "input 'x': element 0 is \"x\", not a valid FP32 value"},
  };
  for (const Case& c : cases) {
    std::optional<Expected<TensorMap>> decoded;
    const long peak =
        peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kJson, c.body, schema, 64); });
    ASSERT_FALSE(decoded->ok()) << c.error;
    EXPECT_EQ(decoded->status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded->status().message(), HasSubstr(c.error));
    EXPECT_LT(peak, 64 << 10) << c.error << " peak " << peak;
    RecordProperty("peak_bytes_" + std::to_string(&c - cases), std::to_string(peak));
  }
}

struct MlflowBody {
  MlflowFormat format;
  std::string body;
};

constexpr std::int64_t kBatchRows = 200'000;

/// Each body decodes into "x" FP32 [kBatchRows, 4] whose rows are 1.5, 2, 3, 4, at a peak heap
/// under three times the tensor's bytes (its doubling buffer and the final copy) plus 64 KiB;
/// the peaks are recorded as `property`_<case>.
void expectBatchAtTensorCost(const ModelSchema& schema, const std::vector<MlflowBody>& cases,
                             const std::string& property) {
  const long tensor_bytes = kBatchRows * 4 * sizeof(float);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const MlflowBody& c = cases[i];
    std::optional<Expected<TensorMap>> decoded;
    const long peak = peakOf([&] { decoded = decodeMlflowRequest(c.format, c.body, schema, 64); });
    ASSERT_TRUE(decoded->ok()) << c.body.substr(0, 30) << decoded->status().toString();
    const Tensor* x = (*decoded)->find("x");
    ASSERT_EQ(x->shape(), (Shape{kBatchRows, 4})) << c.body.substr(0, 30);
    EXPECT_EQ(x->data<float>()[4], 1.5f);
    EXPECT_EQ(x->data<float>()[7], 4.0f);
    EXPECT_LT(peak, 3 * tensor_bytes + (64 << 10)) << c.body.substr(0, 30) << " peak " << peak;
    ::testing::Test::RecordProperty(property + "_" + std::to_string(i), std::to_string(peak));
  }
}

// A large batch the model takes costs its tensor (grown by doubling) and a row, in every
// format. Before: Poco's value objects, some 40 bytes per value and more per list and record.
TEST(DecoderMemory, AVariableBatchOfMlflowJsonOrCsvCostsAboutItsTensor) {
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 4});
  constexpr std::size_t kRows = kBatchRows;
  std::string csv = "a,b,c,d\n";
  for (std::size_t r = 0; r < kRows; ++r) {
    csv += "1.5,2,3,4\n";
  }
  expectBatchAtTensorCost(
      schema,
      {
          {MlflowFormat::kJson, R"({"inputs":[)" + repeated("[1.5,2,3,4]", kRows) + "]}"},
          {MlflowFormat::kJson,
           R"({"instances":[)" + repeated(R"({"x":[1.5,2,3,4]})", kRows) + "]}"},
          {MlflowFormat::kJson, R"({"dataframe_split":{"data":[)" + repeated("[1.5,2,3,4]", kRows) +
                                    "],\"columns\":[\"a\",\"b\",\"c\",\"d\"]}}"},
          {MlflowFormat::kJson,
           R"({"dataframe_records":[)" + repeated(R"({"a":1.5,"b":2,"c":3,"d":4})", kRows) + "]}"},
          {MlflowFormat::kCsv, csv},
      },
      "peak_bytes");
}

// Columns by name onto a block input (TensorSpec::columns, issue 17) cost what positional data
// costs: each row's cells are held as views until the row ends. A header wider than the
// model's inputs and named columns is refused at its limit.
TEST(DecoderMemory, ColumnsByNameCostAboutTheTensor) {
  ModelSchema schema;
  schema.inputs = {{"x", DType::kFloat32, {-1, 4}, false, false, {"a", "b", "c", "d"}}};
  schema.outputs = {{"y", DType::kFloat32, {-1}}};
  constexpr std::size_t kRows = kBatchRows;
  std::string csv = "d,c,b,a\n";
  for (std::size_t r = 0; r < kRows; ++r) {
    csv += "4,3,2,1.5\n";
  }
  expectBatchAtTensorCost(
      schema,
      {
          {MlflowFormat::kJson, R"({"dataframe_split":{"data":[)" + repeated("[4,3,2,1.5]", kRows) +
                                    "],\"columns\":[\"d\",\"c\",\"b\",\"a\"]}}"},
          {MlflowFormat::kJson,
           R"({"dataframe_records":[)" + repeated(R"({"d":4,"c":3,"b":2,"a":1.5})", kRows) + "]}"},
          {MlflowFormat::kCsv, csv},
      },
      "peak_bytes_columns");
  std::string wide = repeated("a", 10'000'000) + "\n1\n";
  std::optional<Expected<TensorMap>> decoded;
  const long peak =
      peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kCsv, wide, schema, 64); });
  ASSERT_FALSE(decoded->ok());
  EXPECT_THAT(decoded->status().message(), HasSubstr("the CSV header has more than 5 columns"));
  EXPECT_LT(peak, 64 << 10) << "peak " << peak;
}

// CSV for a variable batch that the model cannot take is refused at the first row or cell at
// fault, holding no more than the rows before it.
TEST(DecoderMemory, JunkCsvForAVariableBatchIsRefusedEarly) {
  const ModelSchema schema = oneInput(DType::kFloat32, {-1, 4});
  struct Case {
    std::string body;
    std::string error;
  };
  std::string text = "a,b,c,d\n";
  std::string wide = "a,b,c,d\n1,2,3,4," + repeated("0", kHostileBody / 2) + "\n";
  while (text.size() < kHostileBody) {
    text += "w,x,y,z\n";
  }
  const Case cases[] = {
      {text, "input 'x': element 0 is \"w\", not a valid FP32 value"},
      {wide, "CSV row 1 has more fields than the header's 4"},
  };
  for (const Case& c : cases) {
    std::optional<Expected<TensorMap>> decoded;
    const long peak =
        peakOf([&] { decoded = decodeMlflowRequest(MlflowFormat::kCsv, c.body, schema, 64); });
    ASSERT_FALSE(decoded->ok()) << c.error;
    EXPECT_THAT(decoded->status().message(), HasSubstr(c.error));
    EXPECT_LT(peak, 64 << 10) << c.error << " peak " << peak;
  }
}

}  // namespace
}  // namespace aimass::plugins::frontend
