// SPDX-License-Identifier: Apache-2.0
// MLflow tables for a model with preprocessing: columns mapped by name onto a block input's
// TensorSpec::columns (in any order) or onto inputs of their name, missing values, and the
// errors that name the column at fault.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mlflow_codec.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kColumns = {"sepal", "petal", "width"};

/// A served model with preprocessing: the numeric columns as one FP32 [-1, 3] block named by
/// TensorSpec::columns, and a text column as its own BYTES [-1] input.
ModelSchema pipelineSchema(bool block_optional = false) {
  ModelSchema schema;
  schema.inputs = {{"input", DType::kFloat32, {-1, 3}, block_optional, false, kColumns},
                   {"city", DType::kBytes, {-1}}};
  schema.outputs = {{"label", DType::kInt64, {-1}}};
  return schema;
}

/// The block input alone.
ModelSchema blockSchema() {
  ModelSchema schema;
  schema.inputs = {{"input", DType::kFloat32, {-1, 3}, false, false, kColumns}};
  schema.outputs = {{"label", DType::kInt64, {-1}}};
  return schema;
}

Expected<TensorMap> json(const std::string& body, const ModelSchema& schema) {
  return decodeMlflowRequest(MlflowFormat::kJson, body, schema, 64);
}

Expected<TensorMap> csv(const std::string& body, const ModelSchema& schema) {
  return decodeMlflowRequest(MlflowFormat::kCsv, body, schema, 64);
}

/// `values` row-major in "input" [rows, 3]; NaN expected where `values` has NaN.
void expectBlock(const Expected<TensorMap>& decoded, const std::vector<float>& values) {
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const Tensor* t = decoded->find("input");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->dtype(), DType::kFloat32);
  ASSERT_EQ(t->shape(), (Shape{static_cast<std::int64_t>(values.size() / 3), 3}));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      EXPECT_TRUE(std::isnan(t->data<float>()[i])) << i;
    } else {
      EXPECT_EQ(t->data<float>()[i], values[i]) << i;
    }
  }
}

void expectCities(const Expected<TensorMap>& decoded, const std::vector<std::string>& cities) {
  ASSERT_TRUE(decoded.ok()) << decoded.status().toString();
  const Tensor* t = decoded->find("city");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape(), (Shape{static_cast<std::int64_t>(cities.size())}));
  EXPECT_EQ(t->strings(), cities);
}

TEST(MlflowColumns, EveryTableFormatTakesColumnsByNameInAnyOrder) {
  const ModelSchema schema = pipelineSchema();
  const std::vector<float> block = {1, 2, 3, 4, 5, 6};
  const std::vector<std::string> cities = {"Oslo", "Rome"};
  auto split = json(R"({"dataframe_split":{"columns":["city","width","sepal","petal"],)"
                    R"("data":[["Oslo",3,1,2],["Rome",6,4,5]]}})",
                    schema);
  expectBlock(split, block);
  expectCities(split, cities);
  // Each record in its own order.
  auto records = json(R"({"dataframe_records":[{"petal":2,"city":"Oslo","sepal":1,"width":3},)"
                      R"({"width":6,"sepal":4,"petal":5,"city":"Rome"}]})",
                      schema);
  expectBlock(records, block);
  expectCities(records, cities);
  auto table = csv("width,city,sepal,petal\n3,Oslo,1,2\n6,\"Rome\",4,5\n", schema);
  expectBlock(table, block);
  expectCities(table, cities);
  // The data may come before the columns.
  auto late = json(R"({"dataframe_split":{"data":[[2,"Oslo",1,3]],)"
                   R"("columns":["petal","city","sepal","width"]}})",
                   schema);
  expectBlock(late, {1, 2, 3});
}

TEST(MlflowColumns, TheBlockInputStillTakesWholeAndPositionalData) {
  // Named after the input itself, as before columns had names.
  auto whole = json(R"({"dataframe_split":{"columns":["input","city"],)"
                    R"("data":[[[1,2,3],"Oslo"]]}})",
                    pipelineSchema());
  expectBlock(whole, {1, 2, 3});
  expectCities(whole, {"Oslo"});
  // Nameless rows in the block's order, for a model whose only input is the block.
  expectBlock(json(R"({"dataframe_split":{"data":[[1,2,3],[4,5,6]]}})", blockSchema()),
              {1, 2, 3, 4, 5, 6});
  expectBlock(json(R"({"instances":[[1,2,3]]})", blockSchema()), {1, 2, 3});
  expectBlock(json(R"({"inputs":{"input":[[1,2,3]],"city":["a"]}})", pipelineSchema()), {1, 2, 3});
  // By name, in another order.
  expectBlock(csv("width,petal,sepal\n3,2,1\n", blockSchema()), {1, 2, 3});
}

TEST(MlflowColumns, NullAndEmptyFieldsAreMissingValues) {
  const float nan = std::nanf("");
  auto split = json(R"({"dataframe_split":{"columns":["sepal","petal","width","city"],)"
                    R"("data":[[null,2,3,null],[4,null,6,"Rome"]]}})",
                    pipelineSchema());
  expectBlock(split, {nan, 2, 3, 4, nan, 6});
  expectCities(split, {"", "Rome"});
  auto records = json(R"({"dataframe_records":[{"sepal":1,"petal":2,"width":null,"city":null}]})",
                      pipelineSchema());
  expectBlock(records, {1, 2, nan});
  expectCities(records, {""});
  auto table = csv("sepal,petal,width,city\n, 2,3,\n4,5,,Rome\n", pipelineSchema());
  expectBlock(table, {nan, 2, 3, 4, 5, nan});
  expectCities(table, {"", "Rome"});
  // Positional rows and the tensor formats too.
  expectBlock(json(R"({"instances":[[1,null,3]]})", blockSchema()), {1, nan, 3});
  expectBlock(csv("sepal,petal,width\n1,,3\n", blockSchema()), {1, nan, 3});
  // A line of "" is one empty field, a blank line is skipped.
  ModelSchema text;
  text.inputs = {{"city", DType::kBytes, {-1}}};
  expectCities(csv("city\nOslo\n\"\"\n\nRome\n", text), {"Oslo", "", "Rome"});
}

TEST(MlflowColumns, MissingValuesOfIntegerOrBoolColumnsAreRefused) {
  ModelSchema schema;
  schema.inputs = {{"age", DType::kInt32, {-1}}, {"member", DType::kBool, {-1}}};
  auto null_age =
      json(R"({"dataframe_split":{"columns":["age","member"],"data":[[null,true]]}})", schema);
  ASSERT_FALSE(null_age.ok());
  EXPECT_THAT(null_age.status().message(),
              HasSubstr("input 'age': element 0 is null, not a valid INT32 value"));
  auto empty_member = csv("age,member\n3,true\n4,\n", schema);
  ASSERT_FALSE(empty_member.ok());
  EXPECT_THAT(empty_member.status().message(),
              HasSubstr("input 'member': element 1 is an empty field, not a valid BOOL value"));
  // A string is no float, whatever the format.
  auto text = json(R"({"dataframe_records":[{"sepal":1,"petal":"two","width":3,"city":"a"}]})",
                   pipelineSchema());
  ASSERT_FALSE(text.ok());
  EXPECT_THAT(text.status().message(),
              HasSubstr("dataframe_records column 'petal', row 0: input 'input': element 1 is "
                        "\"two\", not a valid FP32 value"));
  auto object = json(R"({"dataframe_split":{"columns":["sepal","petal","width","city"],)"
                     R"("data":[[1,2,3,"a"],[4,5,{},"b"]]}})",
                     pipelineSchema());
  ASSERT_FALSE(object.ok());
  EXPECT_THAT(object.status().message(),
              HasSubstr("column 'width', row 1: input 'input': element 5 is an object"));
}

TEST(MlflowColumns, ColumnsThatDoNotFitAreNamed) {
  struct Case {
    std::string body;
    std::string reason;
    bool csv = false;
  };
  const std::vector<Case> cases = {
      {"sepal,petal,colour,city\n1,2,3,a\n",
       "CSV: column 'colour' is neither an input of the model nor a column of one; the model "
       "takes 'input' (FP32 [-1, 3]) or by column: 'sepal', 'petal', 'width'; 'city' (BYTES "
       "[-1])",
       true},
      {R"({"dataframe_split":{"columns":["city","sepal","petal"],"data":[["a",1,2]]}})",
       "dataframe_split lacks the column 'width' (position 2 of the model's input 'input', "
       "which takes 3 named columns)"},
      {R"({"dataframe_records":[{"city":"a"}]})",
       "dataframe_records lacks the column 'sepal' (position 0"},
      {"sepal,petal,width,sepal\n1,2,3,4\n", "CSV: column 'sepal' is given twice", true},
      {R"({"dataframe_split":{"columns":["input","sepal","city"],"data":[[[1,2,3],1,"a"]]}})",
       "column 'input' gives the whole input 'input' but other columns fill it by column name"},
      {R"({"dataframe_split":{"columns":["sepal","petal","width"],"data":[[1,2,3]]}})",
       "missing input 'city'"},
      {R"({"dataframe_split":{"columns":["sepal","petal","width","city"],"data":[[1,2,3]]}})",
       "dataframe_split row 0 has 3 values but there are 4 columns"},
      // One input and three named columns, two of them the most a table can have: 5.
      {"a,b,c,d,e,f\n", "the CSV header has more than 5 columns", true},
      {R"({"dataframe_split":{"columns":["a","b","c","d","e","f"],"data":[]}})",
       "dataframe_split has more than 5 columns"},
  };
  for (const auto& c : cases) {
    auto decoded = c.csv ? csv(c.body, pipelineSchema()) : json(c.body, pipelineSchema());
    ASSERT_FALSE(decoded.ok()) << c.body;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(decoded.status().message(), HasSubstr(c.reason)) << c.body;
  }
  // An optional block may be left out entirely, not in part.
  auto without = json(R"({"dataframe_split":{"columns":["city"],"data":[["a"]]}})",
                      pipelineSchema(/*block_optional=*/true));
  ASSERT_TRUE(without.ok()) << without.status().toString();
  EXPECT_EQ(without->find("input"), nullptr);
  expectCities(without, {"a"});
  auto part = json(R"({"dataframe_split":{"columns":["city","petal"],"data":[["a",1]]}})",
                   pipelineSchema(/*block_optional=*/true));
  ASSERT_FALSE(part.ok());
  EXPECT_THAT(part.status().message(), HasSubstr("lacks the column 'sepal'"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
