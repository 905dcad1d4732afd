// SPDX-License-Identifier: Apache-2.0
#include "mlflow_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;

/// One FP32 [-1, 2] input, like the feature models.
ModelSchema matrixSchema() {
  ModelSchema schema;
  schema.inputs = {{"input", DType::kFloat32, {-1, 2}}};
  schema.outputs = {{"label", DType::kInt64, {-1}}};
  return schema;
}

/// Two named inputs: a number column and a text column.
ModelSchema columnSchema() {
  ModelSchema schema;
  schema.inputs = {{"age", DType::kInt32, {-1}}, {"city", DType::kBytes, {-1, 1}}};
  schema.outputs = {{"score", DType::kFloat32, {-1}}};
  return schema;
}

Expected<TensorMap> json(const std::string& body, const ModelSchema& schema) {
  return decodeMlflowRequest(MlflowFormat::kJson, body, schema, 64);
}

void expectMatrix(const Expected<TensorMap>& decoded, const std::vector<float>& values) {
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const Tensor* t = decoded->find("input");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->shape(), (Shape{static_cast<std::int64_t>(values.size() / 2), 2}));
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(t->data<float>()[i], values[i]) << i;
  }
}

TEST(MlflowFormat, AcceptsJsonAndCsvWithUtf8Only) {
  EXPECT_EQ(*mlflowFormat("application/json"), MlflowFormat::kJson);
  EXPECT_EQ(*mlflowFormat("Application/JSON; charset=UTF-8"), MlflowFormat::kJson);
  EXPECT_EQ(*mlflowFormat("text/csv"), MlflowFormat::kCsv);
  EXPECT_THAT(mlflowFormat("").status().message(), HasSubstr("no Content-Type"));
  EXPECT_THAT(mlflowFormat("application/x-www-form-urlencoded").status().message(),
              HasSubstr("is not supported"));
  EXPECT_THAT(mlflowFormat("text/csv; charset=latin-1").status().message(),
              HasSubstr("only charset=utf-8"));
  EXPECT_THAT(mlflowFormat("application/json; format=pandas-split").status().message(),
              HasSubstr("format=pandas-split"));
}

TEST(DecodeMlflowRequest, EachJsonFormatFillsASingleInputModel) {
  const ModelSchema schema = matrixSchema();
  expectMatrix(json(R"({"dataframe_split":{"columns":["a","b"],"data":[[1,2],[3,4.5]]}})", schema),
               {1, 2, 3, 4.5f});
  expectMatrix(json(R"({"dataframe_split":{"data":[[1,2]]}})", schema), {1, 2});
  // Records keep the column order the client wrote, not alphabetical order.
  expectMatrix(json(R"({"dataframe_records":[{"z":1,"a":2},{"z":3,"a":4}]})", schema),
               {1, 2, 3, 4});
  expectMatrix(json(R"({"instances":[[1,2],[3,4]]})", schema), {1, 2, 3, 4});
  expectMatrix(json(R"({"inputs":[[5,6]],"params":{"temperature":1}})", schema), {5, 6});
  expectMatrix(json(R"({"inputs":{"input":[[5,6]]}})", schema), {5, 6});
  expectMatrix(json(R"({"instances":[{"input":[1,2]},{"input":[3,4]}]})", schema), {1, 2, 3, 4});
}

TEST(DecodeMlflowRequest, NamedColumnsFeedTheInputsOfTheSameName) {
  const ModelSchema schema = columnSchema();
  for (const std::string body :
       {R"({"dataframe_split":{"columns":["city","age"],"data":[["Oslo",31],["Rome",7]]}})",
        R"({"dataframe_records":[{"age":31,"city":"Oslo"},{"age":7,"city":"Rome"}]})",
        R"({"instances":[{"age":31,"city":"Oslo"},{"age":7,"city":"Rome"}]})",
        R"({"inputs":{"age":[31,7],"city":[["Oslo"],["Rome"]]}})"}) {
    auto decoded = json(body, schema);
    ASSERT_TRUE(decoded.ok()) << body << ": " << decoded.status().toString();
    const Tensor* age = decoded->find("age");
    const Tensor* city = decoded->find("city");
    ASSERT_TRUE(age && city) << body;
    EXPECT_EQ(age->shape(), (Shape{2}));
    EXPECT_EQ(age->data<std::int32_t>()[0], 31);
    EXPECT_EQ(age->data<std::int32_t>()[1], 7);
    EXPECT_EQ(city->shape(), (Shape{2, 1})) << body;
    EXPECT_EQ(city->strings(), (std::vector<std::string>{"Oslo", "Rome"}));
  }
}

TEST(DecodeMlflowRequest, CsvWithAHeaderRow) {
  expectMatrix(
      decodeMlflowRequest(MlflowFormat::kCsv, "a,b\r\n1,2\r\n\r\n3,\"4\"\n", matrixSchema(), 64),
      {1, 2, 3, 4});
  auto named = decodeMlflowRequest(
      MlflowFormat::kCsv, "age,city\n31,\"Oslo, \"\"old\"\" town\"\n7,42\n", columnSchema(), 64);
  ASSERT_TRUE(named.ok()) << named.status().toString();
  EXPECT_EQ(named->find("city")->strings(), (std::vector<std::string>{"Oslo, \"old\" town", "42"}));
  EXPECT_EQ(named->find("age")->data<std::int32_t>()[0], 31);
}

TEST(DecodeMlflowRequest, BadRequestsNameWhatIsWrong) {
  struct Case {
    std::string body;
    std::string reason;
    bool csv = false;
  };
  const std::vector<Case> cases = {
      {"{", "malformed JSON"},
      {"[1,2]",
       "exactly one of dataframe_split, dataframe_records, instances or inputs (found a "
       "list)"},
      {R"({"data":[[1,2]]})", "(found none)"},
      {R"({"instances":[[1,2]],"inputs":[[1,2]]})", "(found instances, inputs)"},
      {R"({"dataframe_split":{"columns":["a","b"],"data":[[1,2],[3]]}})",
       "dataframe_split row 1 has 1 values but there are 2 columns"},
      {R"({"dataframe_split":[1]})", "dataframe_split must be an object"},
      {R"({"dataframe_records":[{"a":1,"b":2},{"a":3}]})", "record 1 has 1 columns"},
      {R"({"dataframe_records":[{"a":1,"b":2},{"a":3,"c":4}]})", "lacks the column 'b'"},
      {R"({"instances":[[1,2],[3]]})", "a list at depth 1 has 1 entries but the first has 2"},
      {R"({"instances":[[1,2,3]]})", "has shape [1, 3] but the model's input 'input' is FP32"},
      {R"({"instances":[[1,"x"]]})", "element 1 is \"x\", not a valid FP32 value"},
      {R"({"inputs":{"pixels":[[1,2]]}})", "unknown input 'pixels'; the model takes: input"},
      {"a,b\n1\n", "CSV row 1 has 1 fields but the header has 2", true},
      {"a,b\n1,\"2\n", "quoted field is not closed", true},
      {"", "the CSV body is empty", true},
      {"a,b\n1,two\n", "element 1 is \"two\", not a valid FP32 value", true},
  };
  for (const auto& c : cases) {
    auto decoded = decodeMlflowRequest(c.csv ? MlflowFormat::kCsv : MlflowFormat::kJson, c.body,
                                       matrixSchema(), 64);
    ASSERT_FALSE(decoded.ok()) << c.body;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.reason)) << c.body;
  }
  auto unnamed =
      json(R"({"dataframe_split":{"columns":["x","y"],"data":[[1,"a"]]}})", columnSchema());
  ASSERT_FALSE(unnamed.ok());
  EXPECT_THAT(unnamed.status().message(),
              HasSubstr("the columns (x, y) must be named after the model's inputs (age, city)"));
  auto missing = json(R"({"inputs":{"age":[1]}})", columnSchema());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("missing input 'city'"));
  auto deep =
      decodeMlflowRequest(MlflowFormat::kJson, R"({"inputs":[[[[1]]]]})", matrixSchema(), 3);
  ASSERT_FALSE(deep.ok());
  EXPECT_THAT(deep.status().message(), HasSubstr("nested deeper than 3 levels"));
}

TEST(EncodeMlflowPredictions, OneOutputIsItsNestedLists) {
  TensorMap outputs;
  outputs.set("p", Tensor::fromVector<float>({0.5f, 1, 2, 3}, {2, 2}));
  EXPECT_EQ(*encodeMlflowPredictions(outputs), R"({"predictions":[[0.5,1],[2,3]]})");
}

TEST(EncodeMlflowPredictions, SeveralOutputsBecomeOneRecordPerRow) {
  TensorMap outputs;
  outputs.set("probabilities", Tensor::fromVector<float>({0.25f, 0.75f, 1, 0}, {2, 2}));
  outputs.set("label", Tensor::fromVector<std::int64_t>({1, 0}, {2}));
  outputs.set("class", Tensor::fromStrings({"high", "low"}));
  EXPECT_EQ(*encodeMlflowPredictions(outputs),
            R"({"predictions":[{"probabilities":[0.25,0.75],"label":1,"class":"high"},)"
            R"({"probabilities":[1,0],"label":0,"class":"low"}]})");
  TensorMap uneven;
  uneven.set("a", Tensor::fromVector<float>({1, 2}, {2}));
  uneven.set("b", Tensor::fromVector<float>({3}, {1}));
  EXPECT_EQ(*encodeMlflowPredictions(uneven), R"({"predictions":{"a":[1,2],"b":[3]}})");
}

TEST(MlflowError, CarriesErrorCodeMessageAndError) {
  HttpResponse response;
  mlflowError(response, 400, "bad \"x\"");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body,
            R"({"error_code":"BAD_REQUEST","message":"bad \"x\"","error":"bad \"x\""})");
}

}  // namespace
}  // namespace aimass::plugins::frontend
