// SPDX-License-Identifier: Apache-2.0
#include "infer_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "json_document.h"
#include "number_tokens.h"
#include "tensor_elements.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;

ModelSchema schemaWith(DType dtype, Shape shape, bool optional_extra = false) {
  ModelSchema schema;
  schema.inputs = {{"x", dtype, std::move(shape)}};
  if (optional_extra) {
    schema.inputs.push_back({"state", DType::kFloat32, {-1, 3}, true});
  }
  schema.outputs = {{"y", DType::kFloat32, {-1}}};
  return schema;
}

std::string request(const std::string& datatype, const std::string& shape,
                    const std::string& data) {
  return R"({"inputs":[{"name":"x","datatype":")" + datatype + R"(","shape":)" + shape +
         R"(,"data":)" + data + "}]}";
}

TEST(DecodeInferRequest, ConvertsEachDatatype) {
  auto i64 = decodeInferRequest(request("INT64", "[3]", "[-9223372036854775808, 0, 3.0]"),
                                schemaWith(DType::kInt64, {-1}));
  ASSERT_TRUE(i64.ok()) << i64.status().toString();
  const Tensor* t = i64->inputs.find("x");
  EXPECT_EQ(t->data<std::int64_t>()[0], std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(t->data<std::int64_t>()[2], 3);

  auto u8 = decodeInferRequest(request("UINT8", "[2]", "[0, 255]"), schemaWith(DType::kUInt8, {2}));
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(u8->inputs.find("x")->data<std::uint8_t>()[1], 255);

  auto b =
      decodeInferRequest(request("BOOL", "[2]", "[true, false]"), schemaWith(DType::kBool, {2}));
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->inputs.find("x")->data<bool>()[0]);
  EXPECT_FALSE(b->inputs.find("x")->data<bool>()[1]);

  auto s = decodeInferRequest(request("BYTES", "[1,2]", R"([["a", "\u00e9\n"]])"),
                              schemaWith(DType::kBytes, {-1, 2}));
  ASSERT_TRUE(s.ok()) << s.status().toString();
  EXPECT_EQ(s->inputs.find("x")->strings()[1], "\xc3\xa9\n");
  EXPECT_EQ(s->inputs.find("x")->shape(), (Shape{1, 2}));

  auto f64 = decodeInferRequest(request("FP64", "[1]", "[0.1]"), schemaWith(DType::kFloat64, {-1}));
  ASSERT_TRUE(f64.ok());
  EXPECT_EQ(f64->inputs.find("x")->data<double>()[0], 0.1);
}

TEST(DecodeInferRequest, RejectsValuesOutsideTheDatatype) {
  struct Case {
    DType dtype;
    std::string datatype;
    std::string data;
  };
  for (const auto& c : std::vector<Case>{{DType::kUInt8, "UINT8", "[256]"},
                                         {DType::kUInt8, "UINT8", "[-1]"},
                                         {DType::kInt8, "INT8", "[-129]"},
                                         {DType::kInt64, "INT64", "[1.5]"},
                                         {DType::kInt64, "INT64", "[9223372036854775808]"},
                                         {DType::kInt64, "INT64", "[\"7\"]"},
                                         {DType::kBool, "BOOL", "[1]"},
                                         {DType::kBytes, "BYTES", "[1]"},
                                         {DType::kFloat32, "FP32", "[1e300]"},
                                         {DType::kInt64, "INT64", "[null]"},
                                         {DType::kBool, "BOOL", "[null]"},
                                         {DType::kFloat32, "FP32", "[{}]"}}) {
    auto decoded = decodeInferRequest(request(c.datatype, "[1]", c.data), schemaWith(c.dtype, {1}));
    ASSERT_FALSE(decoded.ok()) << c.datatype << " " << c.data;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("element 0")) << c.data;
  }
}

TEST(DecodeInferRequest, HalfPrecisionJsonRoundsToTheNearestValue) {
  auto half = decodeInferRequest(request("FP16", "[3]", "[1, -2.5, 0.1]"),
                                 schemaWith(DType::kFloat16, {3}));
  ASSERT_TRUE(half.ok()) << half.status().toString();
  const auto* h = half->inputs.find("x")->data<std::uint16_t>();
  EXPECT_EQ(h[0], 0x3C00);
  EXPECT_EQ(h[1], 0xC100);
  EXPECT_EQ(h[2], 0x2E66);  // 0.1 rounds to 0.0999755859375
  auto brain =
      decodeInferRequest(request("BF16", "[1]", "[1.5]"), schemaWith(DType::kBFloat16, {1}));
  ASSERT_TRUE(brain.ok()) << brain.status().toString();
  EXPECT_EQ(brain->inputs.find("x")->data<std::uint16_t>()[0], 0x3FC0);
  auto overflow =
      decodeInferRequest(request("FP16", "[1]", "[70000]"), schemaWith(DType::kFloat16, {1}));
  ASSERT_FALSE(overflow.ok());
  EXPECT_THAT(overflow.status().message(), HasSubstr("element 0 is 70000, not a valid FP16"));
}

TEST(DecodeInferRequest, ConvertsToTheModelsDatatypeOnlyWhenExact) {
  auto ints = decodeInferRequest(request("INT32", "[3]", "[1, -2, 16777216]"),
                                 schemaWith(DType::kFloat32, {3}));
  ASSERT_TRUE(ints.ok()) << ints.status().toString();
  EXPECT_EQ(ints->inputs.find("x")->dtype(), DType::kFloat32);
  EXPECT_EQ(ints->inputs.find("x")->data<float>()[2], 16777216.0f);

  auto doubles =
      decodeInferRequest(request("FP64", "[2]", "[5, 255]"), schemaWith(DType::kUInt8, {2}));
  ASSERT_TRUE(doubles.ok()) << doubles.status().toString();
  EXPECT_EQ(doubles->inputs.find("x")->data<std::uint8_t>()[1], 255);
  // 0.5 is exact in FP64 but not an integer: refused, naming input and element.
  auto fraction =
      decodeInferRequest(request("FP64", "[2]", "[2, 0.5]"), schemaWith(DType::kInt64, {2}));
  ASSERT_FALSE(fraction.ok());
  EXPECT_THAT(fraction.status().message(),
              HasSubstr("input 'x': element 1 (0.5) of datatype FP64 does not convert exactly to "
                        "the model's INT64"));

  struct Case {
    std::string datatype, data;
    DType model;
  };
  for (const auto& c : std::vector<Case>{{"FP64", "[0.1]", DType::kFloat32},
                                         {"INT64", "[16777217]", DType::kFloat32},
                                         {"INT32", "[300]", DType::kUInt8},
                                         {"INT8", "[-1]", DType::kUInt32},
                                         {"FP32", "[70000]", DType::kFloat16},
                                         {"UINT64", "[18446744073709551615]", DType::kInt64}}) {
    auto decoded = decodeInferRequest(request(c.datatype, "[1]", c.data), schemaWith(c.model, {1}));
    ASSERT_FALSE(decoded.ok()) << c.datatype << " " << c.data;
    EXPECT_THAT(decoded.status().message(), HasSubstr("does not convert exactly")) << c.data;
  }
  auto half =
      decodeInferRequest(request("FP32", "[1]", "[0.25]"), schemaWith(DType::kFloat16, {1}));
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->inputs.find("x")->data<std::uint16_t>()[0], 0x3400);

  for (const auto& [datatype, model] : std::vector<std::pair<std::string, DType>>{
           {"BOOL", DType::kUInt8}, {"INT32", DType::kBool}, {"BYTES", DType::kFloat32}}) {
    auto decoded = decodeInferRequest(request(datatype, "[1]",
                                              datatype == "BYTES"  ? "[\"1\"]"
                                              : datatype == "BOOL" ? "[true]"
                                                                   : "[1]"),
                                      schemaWith(model, {1}));
    ASSERT_FALSE(decoded.ok()) << datatype;
    EXPECT_THAT(decoded.status().message(),
                HasSubstr("input 'x' has datatype " + datatype + " but the model expects"));
  }
}

std::string le32(std::uint32_t v) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &v, 4);
  return out;
}

template <typename T>
std::string bytesOf(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) {
    out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  return out;
}

InferDecodeOptions withHeader(const std::string& json) {
  static thread_local std::string length;
  length = std::to_string(json.size());
  InferDecodeOptions options;
  options.header_length = length;
  return options;
}

TEST(DecodeInferRequest, BinaryInputsFollowTheJsonHeader) {
  ModelSchema schema;
  schema.inputs = {{"a", DType::kFloat32, {-1, 2}},
                   {"b", DType::kBytes, {-1}},
                   {"c", DType::kBool, {3}},
                   {"d", DType::kInt64, {2}}};
  schema.outputs = {{"y", DType::kFloat32, {-1}}};
  std::string json =
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[2,2],"parameters":{"binary_data_size":16}},)"
      R"({"name":"b","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":13}},)"
      R"({"name":"c","datatype":"BOOL","shape":[3],"parameters":{"binary_data_size":3}},)"
      R"({"name":"d","datatype":"INT64","shape":[2],"data":[7,8]}],)"
      R"("outputs":[{"name":"y","parameters":{"binary_data":true}}]})";
  std::string body = json + bytesOf<float>({1.5f, -2, 3, 4}) + le32(3) + "abc" + le32(2) + "de" +
                     std::string("\x01\x00\x01", 3);
  auto decoded = decodeInferRequest(body, schema, withHeader(json));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const Tensor* a = decoded->inputs.find("a");
  EXPECT_EQ(a->shape(), (Shape{2, 2}));
  EXPECT_EQ(a->data<float>()[0], 1.5f);
  EXPECT_EQ(a->data<float>()[3], 4.0f);
  EXPECT_EQ(decoded->inputs.find("b")->strings(), (std::vector<std::string>{"abc", "de"}));
  EXPECT_TRUE(decoded->inputs.find("c")->data<bool>()[2]);
  EXPECT_FALSE(decoded->inputs.find("c")->data<bool>()[1]);
  EXPECT_EQ(decoded->inputs.find("d")->data<std::int64_t>()[1], 8);
  EXPECT_TRUE(decoded->wantsBinary("y"));
  EXPECT_FALSE(decoded->binary_data_output);
}

TEST(DecodeInferRequest, MalformedBinaryRequestsAreRefusedClearly) {
  const ModelSchema schema = schemaWith(DType::kFloat32, {-1});
  auto json = [](const std::string& parameters, const std::string& extra = "") {
    return R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2],"parameters":)" + parameters +
           extra + "}]}";
  };
  const std::string eight = bytesOf<float>({1, 2});
  struct Case {
    std::string body;
    std::optional<std::string> header;
    std::string reason;
  };
  std::string ok_json = json(R"({"binary_data_size":8})");
  const std::vector<Case> cases = {
      {ok_json + eight, std::nullopt, "needs the Inference-Header-Content-Length header"},
      {ok_json, std::nullopt,
       "has \"binary_data_size\" but the request has no "
       "Inference-Header-Content-Length header"},
      {ok_json + eight, "abc", "must be a byte count, not 'abc'"},
      {ok_json + eight, "-5", "must be a byte count"},
      {ok_json + eight, "0", "raw binary body"},
      {ok_json + eight, std::to_string(ok_json.size() + 100), "but the body has only"},
      {ok_json + eight.substr(0, 6), std::to_string(ok_json.size()),
       "binary_data_size 8 runs past the end of the body (6 bytes of binary data left)"},
      {ok_json + eight + "xx", std::to_string(ok_json.size()), "2 bytes of binary data follow"},
      {json(R"({"binary_data_size":4})") + eight.substr(0, 4),
       std::to_string(json(R"({"binary_data_size":4})").size()),
       "binary_data_size is 4 bytes but FP32 [2] needs 8"},
      {json(R"({"binary_data_size":-1})") + eight,
       std::to_string(json(R"({"binary_data_size":-1})").size()), "non-negative integer"},
      {json(R"({"binary_data_size":8})", R"(,"data":[1,2])") + eight,
       std::to_string(json(R"({"binary_data_size":8})", R"(,"data":[1,2])").size()),
       "both \"data\" and \"binary_data_size\""},
      {json("{}") + eight, std::to_string(json("{}").size()), "needs a \"data\" list"},
      {json("7") + eight, std::to_string(json("7").size()), "\"parameters\" must be an object"},
  };
  for (const auto& c : cases) {
    InferDecodeOptions options;
    if (c.header) {
      options.header_length = *c.header;
    }
    auto decoded = decodeInferRequest(c.body, schema, options);
    ASSERT_FALSE(decoded.ok()) << c.reason;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.reason));
  }
  // BYTES and BOOL payloads are checked element by element.
  auto bytes_json = R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[2],)"
                    R"("parameters":{"binary_data_size":9}}]})";
  auto cut = decodeInferRequest(std::string(bytes_json) + le32(1) + "a" + le32(9),
                                schemaWith(DType::kBytes, {2}), withHeader(bytes_json));
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.status().message(), HasSubstr("BYTES element 1 says 9 bytes but only 0"));
  auto bool_json = R"({"inputs":[{"name":"x","datatype":"BOOL","shape":[2],)"
                   R"("parameters":{"binary_data_size":2}}]})";
  auto two = decodeInferRequest(std::string(bool_json) + std::string("\x01\x02", 2),
                                schemaWith(DType::kBool, {2}), withHeader(bool_json));
  ASSERT_FALSE(two.ok());
  EXPECT_THAT(two.status().message(), HasSubstr("BOOL element 1 is byte 2, not 0 or 1"));
}

TEST(DecodeInferRequest, NestingDeeperThanTheLimitIsRefused) {
  InferDecodeOptions options;
  options.max_json_depth = 5;  // the request object, inputs, an input, then data
  auto shallow = decodeInferRequest(request("FP32", "[1,1]", "[[1]]"),
                                    schemaWith(DType::kFloat32, {1, 1}), options);
  ASSERT_TRUE(shallow.ok()) << shallow.status().toString();
  auto deep = decodeInferRequest(request("FP32", "[1,1,1]", "[[[1]]]"),
                                 schemaWith(DType::kFloat32, {1, 1, 1}), options);
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(), HasSubstr("nested deeper than 5 levels (max_json_depth)"));
  EXPECT_EQ(jsonNestingDepth(R"({"a":"[[[[", "b":[{}]})", 10), 3u);
  EXPECT_EQ(jsonNestingDepth(R"(["\"[[["])", 10), 1u);
}

TEST(JsonOutline, CountsValuesAndNamesOutsideStrings) {
  // The object, "a", 1, "b", the list, 2, 3, "c", {}, "d" and its string: 11 values, three of
  // them lists or objects and four member names.
  const JsonOutline outline =
      jsonOutline(R"({"a": 1, "b": [2, 3], "c": { }, "d": ",:[{"})", 10, 100);
  EXPECT_EQ(outline.depth, 2u);
  EXPECT_EQ(outline.values, 11u);
  EXPECT_EQ(outline.containers, 3u);
  EXPECT_EQ(outline.names, 4u);
  EXPECT_EQ(outline.scalars(), 4u);
  EXPECT_EQ(jsonOutline("[[],[ ],{}]", 10, 100).scalars(), 0u);
  EXPECT_EQ(jsonOutline("[1,2,3,4,5]", 10, 3).values, 4u);
  EXPECT_EQ(jsonOutline("[[[[1]]]]", 2, 100).depth, 3u);
}

TEST(DecodeInferRequest, OptionalInputsMayBeLeftOut) {
  auto decoded = decodeInferRequest(request("FP32", "[2]", "[1, 2]"),
                                    schemaWith(DType::kFloat32, {-1}, /*optional_extra=*/true));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->inputs.size(), 1u);
}

TEST(DecodeInferRequest, EmptyBatchIsValid) {
  auto decoded =
      decodeInferRequest(request("FP32", "[0, 2]", "[]"), schemaWith(DType::kFloat32, {-1, 2}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->inputs.find("x")->shape(), (Shape{0, 2}));
}

TEST(DecodeInferRequest, ShapeOverflowIsACountMismatch) {
  auto decoded = decodeInferRequest(request("FP32", "[4294967296, 4294967296, 4294967296]", "[1]"),
                                    schemaWith(DType::kFloat32, {-1, -1, -1}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
}

TEST(DecodeInferRequest, DeepNestingIsRefusedNotACrash) {
  std::string deep(10000, '[');
  deep += std::string(10000, ']');
  auto decoded = decodeInferRequest(request("FP32", "[1]", deep), schemaWith(DType::kFloat32, {1}));
  EXPECT_FALSE(decoded.ok());
}

TEST(DecodeInferRequest, GarbageNeverThrows) {
  for (std::string body :
       {"", "null", "\"x\"", "{\"inputs\":{}}", "{\"inputs\":[1]}", "{\"inputs\":[{\"name\":1}]}",
        "\xff\xfe", "{\"inputs\":[{}]}", R"({"inputs":[{"name":"x","datatype":7}]})",
        R"({"inputs":[{"name":"x","datatype":"FP32","shape":"2"}]})",
        R"({"inputs":[],"outputs":{}})"}) {
    auto decoded = decodeInferRequest(body, schemaWith(DType::kFloat32, {-1}));
    EXPECT_FALSE(decoded.ok()) << body;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << body;
  }
}

TEST(DecodeInferRequest, ReadsNumbersInEveryJsonForm) {
  auto decoded =
      decodeInferRequest(request("FP32", "[6]", "[1e2, -0, 2.5E-1, -1.5e+1, 0.000001, 1e-400]"),
                         schemaWith(DType::kFloat32, {6}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const float* f = decoded->inputs.find("x")->data<float>();
  EXPECT_EQ(f[0], 100.0f);
  EXPECT_EQ(f[1], 0.0f);
  EXPECT_TRUE(std::signbit(f[1])) << "-0 keeps its sign";
  EXPECT_EQ(f[2], 0.25f);
  EXPECT_EQ(f[3], -15.0f);
  EXPECT_EQ(f[4], 0.000001f);
  EXPECT_EQ(f[5], 0.0f) << "a number below the smallest double reads as zero";

  // Integral numbers written with a fraction or exponent suit integer datatypes.
  auto ints = decodeInferRequest(request("INT8", "[4]", "[1e2, -1.0E1, -0, 127]"),
                                 schemaWith(DType::kInt8, {4}));
  ASSERT_TRUE(ints.ok()) << ints.status().toString();
  const std::int8_t* i = ints->inputs.find("x")->data<std::int8_t>();
  EXPECT_EQ(i[0], 100);
  EXPECT_EQ(i[1], -10);
  EXPECT_EQ(i[2], 0);

  auto u64 = decodeInferRequest(request("UINT64", "[1]", "[18446744073709551615]"),
                                schemaWith(DType::kUInt64, {1}));
  ASSERT_TRUE(u64.ok()) << u64.status().toString();
  EXPECT_EQ(u64->inputs.find("x")->data<std::uint64_t>()[0],
            std::numeric_limits<std::uint64_t>::max());
}

TEST(DecodeInferRequest, RefusesNumbersOutsideTheDatatypeNamingTheElement) {
  struct Case {
    DType dtype;
    std::string datatype;
    std::string data;
    std::string reason;
  };
  for (const auto& c : std::vector<Case>{
           {DType::kFloat32, "FP32", "[1, 1e39]", "element 1 is 1e39, not a valid FP32 value"},
           {DType::kFloat32, "FP32", "[-3.5e38, 0]", "element 0 is -3.5e38"},
           {DType::kFloat64, "FP64", "[0, 1e400]", "element 1 is 1e400, not a valid FP64"},
           {DType::kFloat64, "FP64", "[-1e400, 0]", "element 0 is -1e400"},
           {DType::kInt32, "INT32", "[2147483648, 0]", "element 0 is 2147483648"},
           {DType::kInt32, "INT32", "[0, -2147483649]", "element 1 is -2147483649"},
           {DType::kInt64, "INT64", "[-9223372036854775809, 0]", "element 0 is"},
           {DType::kUInt64, "UINT64", "[18446744073709551616, 0]", "element 0 is"},
           {DType::kUInt64, "UINT64", "[0, -1]", "element 1 is -1, not a valid UINT64"},
           {DType::kInt8, "INT8", "[1.5e2, 0]", "element 0 is 1.5e2"},
           {DType::kInt16, "INT16", "[0, 0.5]", "element 1 is 0.5"},
           {DType::kFloat32, "FP32", "[1, \"2\"]", "element 1 is \"2\", not a valid FP32"},
           {DType::kFloat32, "FP32", "[true, 1]", "element 0 is true"},
           {DType::kBool, "BOOL", "[true, 0]", "element 1 is 0, not a valid BOOL"},
           {DType::kBool, "BOOL", "[\"true\", false]", "element 0 is \"true\""},
           {DType::kInt32, "INT32", "[1, null]", "element 1 is null, not a valid INT32"},
           {DType::kBytes, "BYTES", "[\"a\", {\"b\": 1}]", "element 1 is an object"}}) {
    auto decoded = decodeInferRequest(request(c.datatype, "[2]", c.data), schemaWith(c.dtype, {2}));
    ASSERT_FALSE(decoded.ok()) << c.datatype << " " << c.data;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("input 'x': " + c.reason)) << c.data;
  }
}

TEST(DecodeInferRequest, NanAndInfinityAreNotJson) {
  for (std::string data : {"[NaN]", "[Infinity]", "[-Infinity]", "[nan]", "[1.0e]", "[01]", "[+1]",
                           "[.5]", "[0x10]"}) {
    auto decoded =
        decodeInferRequest(request("FP32", "[1]", data), schemaWith(DType::kFloat32, {1}));
    ASSERT_FALSE(decoded.ok()) << data;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("malformed JSON")) << data;
  }
}

TEST(DecodeInferRequest, BytesElementsResolveEscapes) {
  auto decoded = decodeInferRequest(
      request("BYTES", "[5]", R"(["a\"b", "\\", "\u00e9", "\ud83d\ude00", "tab\there\/"])"),
      schemaWith(DType::kBytes, {5}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->inputs.find("x")->strings(),
            (std::vector<std::string>{"a\"b", "\\", "\xc3\xa9", "\xf0\x9f\x98\x80", "tab\there/"}));
  auto control =
      decodeInferRequest(request("BYTES", "[1]", "[\"a\nb\"]"), schemaWith(DType::kBytes, {1}));
  ASSERT_FALSE(control.ok());
  EXPECT_THAT(control.status().message(), HasSubstr("control character"));
}

TEST(DecodeInferRequest, NestedDataMustMatchTheShapeLevelByLevel) {
  const ModelSchema schema = schemaWith(DType::kFloat32, {-1, 2, 1});
  auto nested = decodeInferRequest(request("FP32", "[2,2,1]", "[[[1],[2]],[[3],[4]]]"), schema);
  ASSERT_TRUE(nested.ok()) << nested.status().toString();
  const float* f = nested->inputs.find("x")->data<float>();
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[3], 4.0f);
  auto flat = decodeInferRequest(request("FP32", "[2,2,1]", "[1,2,3,4]"), schema);
  ASSERT_TRUE(flat.ok()) << flat.status().toString();
  EXPECT_EQ(flat->inputs.find("x")->data<float>()[3], 4.0f);

  struct Case {
    std::string data;
    std::string reason;
  };
  for (const auto& c : std::vector<Case>{
           {"[[[1],[2]]]", "nested data has 1 entries at depth 0 but the shape [2, 2, 1] says 2"},
           {"[[[1],[2]],[[3]]]", "nested data has 1 entries at depth 1"},
           {"[[[1],[2]],[3,[4]]]", "found 3 where a list of 1 was expected at depth 2"},
           {"[[[1],[2]],[[3],[[4]]]]", "nested data is deeper than the shape"},
           {"[[[1],[2]],[[3],[4,5]]]", "nested data has 2 entries at depth 2"},
           {"[1,2,3]", "has 3 elements but its shape [2, 2, 1] needs 4"}}) {
    auto decoded = decodeInferRequest(request("FP32", "[2,2,1]", c.data), schema);
    ASSERT_FALSE(decoded.ok()) << c.data;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.reason)) << c.data;
  }
}

TEST(DecodeInferRequest, WhitespaceIdAndParametersAnywhere) {
  const std::string body =
      " \n{ \"parameters\" : { \"priority\" : 3 , \"tags\" : \"a\" , \"k\" : null } ,\n"
      "\t\"id\" : \"r\\\"7\" ,\r\n \"inputs\" : [ { \"parameters\" : { \"content_type\" : \"np\" } "
      ","
      " \"data\" :\n[ [ 1 , 2 ] ,\t[ 3 , 4 ] ] , \"shape\" : [ 2 , 2 ] , \"datatype\" : \"FP32\" ,"
      " \"name\" : \"x\" } ] ,\n \"outputs\" : [ { \"name\" : \"y\" , \"parameters\" : { } } ] "
      "}\n ";
  auto decoded = decodeInferRequest(body, schemaWith(DType::kFloat32, {-1, 2}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  EXPECT_EQ(decoded->id, "r\"7");
  EXPECT_EQ(decoded->inputs.find("x")->data<float>()[3], 4.0f);
  EXPECT_EQ(decoded->outputs, (std::vector<std::string>{"y"}));
  // Request parameters reach the model as text (OIP: a string, number or boolean each).
  using Parameters = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(decoded->options.parameters, (Parameters{{"priority", "3"}, {"tags", "a"}}));
  auto nested = decodeInferRequest(
      R"({"parameters": {"tags": ["a", {"k": null}]}, "inputs": [{"name": "x", "shape": [1, 2],)"
      R"( "datatype": "FP32", "data": [1, 2]}]})",
      schemaWith(DType::kFloat32, {-1, 2}));
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(nested.status().message(),
              HasSubstr("parameter \"tags\" must be a string, number or boolean, not a list"));

  auto not_a_string =
      decodeInferRequest(R"({"id": 7, "inputs": []})", schemaWith(DType::kFloat32, {1}));
  ASSERT_FALSE(not_a_string.ok());
  EXPECT_THAT(not_a_string.status().message(), HasSubstr("\"id\" must be a string"));
  auto bad_flag = decodeInferRequest(R"({"parameters": {"binary_data_output": 1}, "inputs": []})",
                                     schemaWith(DType::kFloat32, {1}));
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_THAT(bad_flag.status().message(),
              HasSubstr("parameter \"binary_data_output\" must be true or false, not 1"));
}

using test_support::fromChars;

/// 784 numbers as a Python client writes FP32 features it holds as doubles: the shortest
/// decimal that reads back as the double (16 or 17 digits for most, "0.0" for zeros), some
/// negative, some scaled by powers of ten.
std::vector<std::string> pixelTokens() {
  std::mt19937 random(12);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::string> tokens;
  for (int i = 0; i < 784; ++i) {
    const int pixel = byte(random);
    double value = static_cast<double>(static_cast<float>(pixel) / 255.0f);
    if (i % 7 == 0) {
      value = 0.0;
    } else if (i % 11 == 0) {
      value = -value * 1e-3;
    } else if (i % 13 == 0) {
      value *= 12345.0;
    }
    char buffer[64];
    auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    EXPECT_EQ(error, std::errc());
    std::string token(buffer, end);
    if (token.find_first_of(".e") == std::string::npos) {
      token += ".0";  // as Python writes 0.0 and 1.0
    }
    tokens.push_back(token);
  }
  return tokens;
}

std::string listOf(const std::vector<std::string>& tokens) {
  std::string list = "[";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    list += (i ? ", " : "") + tokens[i];
  }
  return list + "]";
}

TEST(DecodeInferRequest, FlatFloatDataReadsEveryValueAsFromChars) {
  std::vector<std::string> tokens = pixelTokens();
  // Values the scan cannot work out (20 and more digits, exponents past 27) among the others.
  tokens[3] = "12345678901234567890";
  tokens[4] = "0.12345678901234567890123";
  tokens[5] = "-9.87654321e-30";
  tokens[6] = "1.5e30";
  const std::string data = listOf(tokens);
  // Both kinds are there: values the scan works out and values left to from_chars.
  JsonDocument doc;
  ASSERT_TRUE(doc.parse(data, 4).ok());
  std::size_t worked_out = 0;
  for (std::size_t i = 1; i < doc.nodeCount(); ++i) {
    worked_out += doc.node(i).has_value ? 1 : 0;
  }
  EXPECT_GT(worked_out, 100u);
  EXPECT_LE(worked_out, 780u);

  auto single =
      decodeInferRequest(request("FP32", "[1,784]", data), schemaWith(DType::kFloat32, {-1, 784}));
  ASSERT_TRUE(single.ok()) << single.status().toString();
  const Tensor* f = single->inputs.find("x");
  ASSERT_EQ(f->shape(), (Shape{1, 784}));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float expected = static_cast<float>(fromChars(tokens[i]));
    ASSERT_EQ(std::bit_cast<std::uint32_t>(f->data<float>()[i]),
              std::bit_cast<std::uint32_t>(expected))
        << "element " << i << " " << tokens[i];
  }

  auto twice =
      decodeInferRequest(request("FP64", "[784]", data), schemaWith(DType::kFloat64, {784}));
  ASSERT_TRUE(twice.ok()) << twice.status().toString();
  const Tensor* d = twice->inputs.find("x");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    ASSERT_EQ(std::bit_cast<std::uint64_t>(d->data<double>()[i]),
              std::bit_cast<std::uint64_t>(fromChars(tokens[i])))
        << "element " << i << " " << tokens[i];
  }

  // Nested the same numbers read the same (the general path).
  std::string nested = "[" + listOf({tokens.begin(), tokens.begin() + 392}) + ", " +
                       listOf({tokens.begin() + 392, tokens.end()}) + "]";
  auto rows = decodeInferRequest(request("FP32", "[2,392]", nested),
                                 schemaWith(DType::kFloat32, {-1, 392}));
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  EXPECT_EQ(
      std::memcmp(rows->inputs.find("x")->data<float>(), f->data<float>(), 784 * sizeof(float)), 0);
}

TEST(DecodeInferRequest, FlatDataFillsAMultiDimensionalShapeAndKeepsNegativeZero) {
  auto decoded = decodeInferRequest(request("FP32", "[2,3]", "[1, -2.5, 0.1, -0, 1e-3, 7]"),
                                    schemaWith(DType::kFloat32, {-1, 3}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const Tensor* t = decoded->inputs.find("x");
  EXPECT_EQ(t->shape(), (Shape{2, 3}));
  const float* f = t->data<float>();
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], -2.5f);
  EXPECT_EQ(f[2], 0.1f);
  EXPECT_EQ(f[3], 0.0f);
  EXPECT_TRUE(std::signbit(f[3]));
  EXPECT_EQ(f[4], 1e-3f);
  EXPECT_EQ(f[5], 7.0f);
  auto doubles = decodeInferRequest(request("FP64", "[3,2]", "[1, -2.5, 0.1, -0, 1e-3, 7]"),
                                    schemaWith(DType::kFloat64, {3, 2}));
  ASSERT_TRUE(doubles.ok()) << doubles.status().toString();
  EXPECT_EQ(doubles->inputs.find("x")->data<double>()[2], 0.1);
  EXPECT_EQ(doubles->inputs.find("x")->data<double>()[4], 1e-3);
}

TEST(DecodeInferRequest, ABadElementInALongFlatListIsNamed) {
  struct Case {
    DType dtype;
    std::string datatype;
    std::size_t index;
    std::string element;
    std::string reason;
  };
  for (const auto& c : std::vector<Case>{
           {DType::kFloat32, "FP32", 500, "\"0.5\"", "element 500 is \"0.5\", not a valid FP32"},
           {DType::kFloat32, "FP32", 783, "true", "element 783 is true, not a valid FP32"},
           {DType::kFloat32, "FP32", 0, "{}", "element 0 is an object, not a valid FP32"},
           {DType::kFloat32, "FP32", 700, "1e39", "element 700 is 1e39, not a valid FP32 value"},
           {DType::kFloat32, "FP32", 1, "-3.5e38", "element 1 is -3.5e38, not a valid FP32"},
           {DType::kFloat64, "FP64", 300, "1e400", "element 300 is 1e400, not a valid FP64"},
           {DType::kFloat64, "FP64", 301, "\"x\"", "element 301 is \"x\", not a valid FP64"},
           // An exponent too long for the scan to keep: read from the text, out of range.
           {DType::kFloat32, "FP32", 5, "0." + std::string(9999, '0') + "1e100000",
            "element 5 is 0." + std::string(38, '0') + "..., not a valid FP32"},
           {DType::kFloat64, "FP64", 6, "1e100000", "element 6 is 1e100000, not a valid FP64"}}) {
    std::vector<std::string> tokens = pixelTokens();
    tokens[c.index] = c.element;
    auto decoded = decodeInferRequest(request(c.datatype, "[784]", listOf(tokens)),
                                      schemaWith(c.dtype, {784}));
    ASSERT_FALSE(decoded.ok()) << c.element;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("input 'x': " + c.reason)) << c.element;
  }
  // A list where the flat shape expects a number, and a list one short.
  std::vector<std::string> tokens = pixelTokens();
  tokens[10] = "[1]";
  auto nested = decodeInferRequest(request("FP32", "[784]", listOf(tokens)),
                                   schemaWith(DType::kFloat32, {784}));
  ASSERT_FALSE(nested.ok());
  EXPECT_THAT(nested.status().message(),
              HasSubstr("input 'x': nested data is deeper than the shape [784]"));
  tokens.resize(783);
  auto short_list = decodeInferRequest(request("FP32", "[784]", listOf(tokens)),
                                       schemaWith(DType::kFloat32, {784}));
  ASSERT_FALSE(short_list.ok());
  EXPECT_THAT(short_list.status().message(),
              HasSubstr("nested data has 783 entries at depth 0 but the shape [784] says 784"));
}

TEST(EncodeInferResponse, WritesNumbersExactlyAndNonFiniteAsNull) {
  TensorMap outputs;
  outputs.set("f",
              Tensor::fromVector<float>(
                  {0.1f, 1e-30f, std::nanf(""), std::numeric_limits<float>::infinity()}, {2, 2}));
  outputs.set("i", Tensor::fromVector<std::int64_t>({-3, 9007199254740993}, {2}));
  outputs.set("s", Tensor::fromStrings({"a\"b", "\\"}));
  auto body = encodeInferResponse("m", "1", std::string("q\"1"), outputs, {});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, R"({"model_name":"m","model_version":"1","id":"q\"1","outputs":[)"
                   R"({"name":"f","datatype":"FP32","shape":[2,2],"data":[0.1,1e-30,null,null]},)"
                   R"({"name":"i","datatype":"INT64","shape":[2],"data":[-3,9007199254740993]},)"
                   R"({"name":"s","datatype":"BYTES","shape":[2],"data":["a\"b","\\"]}]})");
}

TEST(EncodeInferResponse, SelectsOutputsInRequestOrder) {
  TensorMap outputs;
  outputs.set("a", Tensor::fromVector<float>({1}, {1}));
  outputs.set("b", Tensor::fromVector<float>({2}, {1}));
  auto body = encodeInferResponse("m", "1", std::nullopt, outputs, {"b"});
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, R"({"model_name":"m","model_version":"1","outputs":[)"
                   R"({"name":"b","datatype":"FP32","shape":[1],"data":[2]}]})");
  auto missing = encodeInferResponse("m", "1", std::nullopt, outputs, {"c"});
  EXPECT_EQ(missing.status().code(), StatusCode::kInternal);
}

TEST(EncodeInferResponse, BinaryOutputsFollowTheJsonHeader) {
  TensorMap outputs;
  outputs.set("f", Tensor::fromVector<float>({1.5f, 2}, {2}));
  outputs.set("s", Tensor::fromStrings({"ab", ""}));
  outputs.set("i", Tensor::fromVector<std::int64_t>({4}, {1}));
  InferRequest request;
  request.id = "7";
  request.binary_data_output = true;
  request.output_binary = {{"i", false}};
  auto encoded = encodeInferResponse("m", "1", request, outputs);
  ASSERT_TRUE(encoded.ok());
  ASSERT_TRUE(encoded->header_length);
  std::string json = encoded->body.substr(0, *encoded->header_length);
  EXPECT_EQ(json,
            R"({"model_name":"m","model_version":"1","id":"7","outputs":[)"
            R"({"name":"f","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},)"
            R"({"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}},)"
            R"({"name":"i","datatype":"INT64","shape":[1],"data":[4]}]})");
  EXPECT_EQ(encoded->body.substr(json.size()),
            bytesOf<float>({1.5f, 2}) + le32(2) + "ab" + le32(0));

  InferRequest plain;
  auto json_only = encodeInferResponse("m", "1", plain, outputs);
  ASSERT_TRUE(json_only.ok());
  EXPECT_FALSE(json_only->header_length);
}

TEST(EncodeInferResponse, HalfPrecisionOutputsAreWrittenExactly) {
  TensorMap outputs;
  Tensor h(DType::kFloat16, {2});
  h.data<std::uint16_t>()[0] = 0x3C00;
  h.data<std::uint16_t>()[1] = 0x2E66;
  outputs.set("h", h);
  auto body = encodeInferResponse("m", "1", std::nullopt, outputs, {});
  ASSERT_TRUE(body.ok());
  EXPECT_THAT(*body, HasSubstr(R"("data":[1,0.099975586])"));
}

TEST(DecodeInferRequest, NullIsAMissingValueOfFloatsAndText) {
  // Flat FP32 (the direct path), nested FP64, FP16, and a conversion from FP32 to FP64.
  for (const auto& [datatype, dtype, shape, data] :
       std::vector<std::tuple<std::string, DType, std::string, std::string>>{
           {"FP32", DType::kFloat32, "[3]", "[1.5, null, -2]"},
           {"FP64", DType::kFloat64, "[1, 3]", "[[1.5, null, -2]]"},
           {"FP16", DType::kFloat16, "[3]", "[1.5, null, -2]"},
           {"FP32", DType::kFloat64, "[3]", "[1.5, null, -2]"}}) {
    auto decoded =
        decodeInferRequest(request(datatype, shape, data),
                           schemaWith(dtype, datatype == "FP64" ? Shape{-1, 3} : Shape{-1}));
    ASSERT_TRUE(decoded.ok()) << datatype << " " << decoded.status().toString();
    const Tensor* t = decoded->inputs.find("x");
    ASSERT_EQ(t->dtype(), dtype);
    ASSERT_EQ(t->numel(), 3);
    if (dtype == DType::kFloat16) {
      EXPECT_EQ(halfToFloat(t->data<std::uint16_t>()[0]), 1.5f);
      EXPECT_TRUE(std::isnan(halfToFloat(t->data<std::uint16_t>()[1])));
    } else if (dtype == DType::kFloat64) {
      EXPECT_EQ(t->data<double>()[2], -2.0) << datatype;
      EXPECT_TRUE(std::isnan(t->data<double>()[1])) << datatype;
    } else {
      EXPECT_EQ(t->data<float>()[0], 1.5f);
      EXPECT_TRUE(std::isnan(t->data<float>()[1]));
    }
  }
  auto text = decodeInferRequest(request("BYTES", "[3]", R"(["a", null, ""])"),
                                 schemaWith(DType::kBytes, {-1}));
  ASSERT_TRUE(text.ok()) << text.status().toString();
  EXPECT_EQ(text->inputs.find("x")->strings(), (std::vector<std::string>{"a", "", ""}));
  // A missing value does not convert to an integer datatype.
  auto integer =
      decodeInferRequest(request("FP32", "[2]", "[1, null]"), schemaWith(DType::kInt32, {-1}));
  ASSERT_FALSE(integer.ok());
  EXPECT_THAT(integer.status().message(),
              HasSubstr("element 1 (nan) of datatype FP32 does not convert exactly"));
}

TEST(EncodeModelMetadata, AnInputWithNamedColumnsListsThem) {
  ModelSchema schema;
  schema.task = Task::kClassification;
  schema.inputs = {{"input", DType::kFloat32, {-1, 2}, false, false, {"age", "h\"eight"}},
                   {"city", DType::kBytes, {-1}, true}};
  schema.outputs = {{"label", DType::kInt64, {-1}}};
  EXPECT_EQ(encodeModelMetadata("p", {"1"}, schema),
            R"({"name":"p","versions":["1"],"platform":"aimass_classification",)"
            R"("inputs":[{"name":"input","datatype":"FP32","shape":[-1,2],)"
            R"("columns":["age","h\"eight"]},)"
            R"({"name":"city","datatype":"BYTES","shape":[-1],"optional":true}],)"
            R"("outputs":[{"name":"label","datatype":"INT64","shape":[-1]}]})");
}

TEST(EncodeModelMetadata, DescribesTheSchema) {
  ModelSchema schema;
  schema.task = Task::kRegression;
  schema.inputs = {{"input", DType::kFloat32, {-1, 4}}};
  schema.outputs = {{"prediction", DType::kFloat32, {-1, 1}}};
  EXPECT_EQ(encodeModelMetadata("r", {"1", "2"}, schema),
            R"({"name":"r","versions":["1","2"],"platform":"aimass_regression",)"
            R"("inputs":[{"name":"input","datatype":"FP32","shape":[-1,4]}],)"
            R"("outputs":[{"name":"prediction","datatype":"FP32","shape":[-1,1]}]})");
}

}  // namespace
}  // namespace aimass::plugins::frontend
