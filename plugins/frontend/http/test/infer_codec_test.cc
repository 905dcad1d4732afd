// SPDX-License-Identifier: Apache-2.0
#include "infer_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

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
                                         {DType::kFloat32, "FP32", "[null]"},
                                         {DType::kFloat32, "FP32", "[{}]"}}) {
    auto decoded = decodeInferRequest(request(c.datatype, "[1]", c.data), schemaWith(c.dtype, {1}));
    ASSERT_FALSE(decoded.ok()) << c.datatype << " " << c.data;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(decoded.status().message(), HasSubstr("element 0")) << c.data;
  }
}

TEST(DecodeInferRequest, HalfPrecisionIsRefusedClearly) {
  auto decoded =
      decodeInferRequest(request("FP16", "[1]", "[1]"), schemaWith(DType::kFloat16, {1}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_THAT(decoded.status().message(), HasSubstr("not supported"));
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
