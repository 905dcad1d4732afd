// SPDX-License-Identifier: Apache-2.0
// Documentation rendered from schemas: the values, constraints, tables and the Markdown
// reference users read, and the JSON tools parse.
#include "aimass/core/type_docs.h"
#include "aimass/version.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace aimass::core {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Dummy final : public Node {
 public:
  NodeKind kind() const noexcept override { return NodeKind::kModel; }
};

NodeType makeType(std::string name, NodeKind kind, std::vector<ParamSpec> params) {
  NodeType type;
  type.type = std::move(name);
  type.kind = kind;
  type.summary = "Summary of " + type.type;
  type.params = std::move(params);
  type.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(std::make_unique<Dummy>());
  };
  return type;
}

TypeRegistry sampleRegistry() {
  TypeRegistry registry;
  auto plugin = std::make_shared<PluginInfo>();
  plugin->name = "vendor.models";
  plugin->version = "2.1.0";
  plugin->library = "/opt/vendor/lib/libaimass_model_x.so";
  auto store = std::make_shared<PluginInfo>();
  store->name = "vendor.store";
  store->version = "1.0.0";
  store->library = "/opt/vendor/lib/libaimass_storage_kv.so";
  EXPECT_TRUE(registry
                  .add(makeType("model.mlp", NodeKind::kModel,
                                {ParamSpec::list("hidden", ParamType::kIntList, "Layer sizes.")
                                     .withDefault(std::vector<std::int64_t>{64, 32})
                                     .atLeast(1),
                                 ParamSpec::number("dropout", "Drop rate | per layer.")
                                     .withDefault(0.0)
                                     .range(0, 0.9),
                                 ParamSpec::string("activation", "Non-linearity.")
                                     .withDefault(std::string("relu"))
                                     .oneOf({"relu", "tanh"}),
                                 ParamSpec::ref("init_from", NodeKind::kStorage,
                                                "Warm start from <store>/`<key>`.")
                                     .optional()}),
                       plugin, nullptr)
                  .ok());
  EXPECT_TRUE(registry
                  .add(makeType("storage.kv", NodeKind::kStorage,
                                {ParamSpec::path("path", "Folder.").withExample("{tmp}/kv")}),
                       store, nullptr)
                  .ok());
  return registry;
}

TEST(FormatParamValue, WritesValuesAsAConfigWould) {
  EXPECT_EQ(formatParamValue(true, ParamType::kBool), "true");
  EXPECT_EQ(formatParamValue(std::int64_t{10}, ParamType::kInt), "10");
  EXPECT_EQ(formatParamValue(1.0, ParamType::kFloat), "1.0");
  EXPECT_EQ(formatParamValue(0.1, ParamType::kFloat), "0.1");
  EXPECT_EQ(formatParamValue(1e-5, ParamType::kFloat), "1e-05");
  EXPECT_EQ(formatParamValue(std::string("relu"), ParamType::kString), "relu");
  EXPECT_EQ(formatParamValue(std::string(""), ParamType::kString), "\"\"");
  EXPECT_EQ(formatParamValue(std::string("a: b"), ParamType::kString), "\"a: b\"");
  EXPECT_EQ(formatParamValue(std::string("true"), ParamType::kString), "\"true\"");
  EXPECT_EQ(formatParamValue(std::vector<std::int64_t>{64, 32}, ParamType::kIntList), "[64, 32]");
  EXPECT_EQ(formatParamValue(std::vector<double>{1, 0.5}, ParamType::kFloatList), "[1.0, 0.5]");
  EXPECT_EQ(formatParamValue(std::vector<std::string>{"a", "b"}, ParamType::kStringList), "[a, b]");
  EXPECT_EQ(formatParamValue(ParamValue(), ParamType::kInt), "");
}

TEST(DescribeConstraints, SaysRangesChoicesAndReferences) {
  EXPECT_EQ(describeConstraints(ParamSpec::integer("n", "").range(1, 100)), "[1, 100]");
  EXPECT_EQ(describeConstraints(ParamSpec::number("x", "").atLeast(0)), ">= 0");
  EXPECT_EQ(describeConstraints(ParamSpec::number("x", "").atMost(0.5)), "<= 0.5");
  EXPECT_EQ(describeConstraints(ParamSpec::list("h", ParamType::kIntList, "").atLeast(1)),
            "each >= 1");
  EXPECT_EQ(describeConstraints(ParamSpec::string("a", "").oneOf({"x", "y"})), "one of: x, y");
  EXPECT_EQ(describeConstraints(ParamSpec::refList("m", NodeKind::kModel, "")), "model nodes");
  EXPECT_EQ(describeConstraints(ParamSpec::string("s", "")), "");
}

TEST(TypeTable, AlignsOneRowPerTypeUnderAHeader) {
  auto registry = sampleRegistry();
  EXPECT_EQ(typeTable(registry),
            "TYPE        KIND     PLUGIN         VERSION  LIBRARY\n"
            "model.mlp   model    vendor.models  2.1.0    /opt/vendor/lib/libaimass_model_x.so\n"
            "storage.kv  storage  vendor.store   1.0.0    "
            "/opt/vendor/lib/libaimass_storage_kv.so\n");
}

TEST(TypesJson, ListsEveryTypeWithItsPlugin) {
  auto registry = sampleRegistry();
  const std::string json = typesJson(registry);
  EXPECT_THAT(json, ::testing::StartsWith("[\n  {\n    \"type\": \"model.mlp\",\n"));
  EXPECT_THAT(json, HasSubstr("\"kind\": \"storage\""));
  EXPECT_THAT(json, HasSubstr("\"library\": \"/opt/vendor/lib/libaimass_storage_kv.so\""));
  EXPECT_THAT(json, ::testing::EndsWith("}\n]\n"));
}

TEST(DescribeType, ShowsEveryParameterDetail) {
  auto registry = sampleRegistry();
  const std::string text = describeType(*registry.find("model.mlp"));
  EXPECT_THAT(text, ::testing::StartsWith("model.mlp (model)\n  Summary of model.mlp\n"));
  EXPECT_THAT(text, HasSubstr("plugin:   vendor.models 2.1.0 (plugin ABI " AIMASS_STRINGIFY(
                                  AIMASS_ABI_MAJOR) "." AIMASS_STRINGIFY(AIMASS_ABI_MINOR) ")"));
  EXPECT_THAT(text, HasSubstr("  hidden      list<int>, default [64, 32], each >= 1\n"
                              "              Layer sizes.\n"));
  EXPECT_THAT(text, HasSubstr("  dropout     float, default 0.0, [0, 0.9]\n"));
  EXPECT_THAT(text, HasSubstr("  activation  string, default relu, one of: relu, tanh\n"));
  EXPECT_THAT(text, HasSubstr("  init_from   ref, optional, storage node\n"));
}

TEST(DescribeTypeJson, GivesValuesTheirJsonTypes) {
  auto registry = sampleRegistry();
  const std::string json = describeTypeJson(*registry.find("model.mlp"));
  EXPECT_THAT(json, HasSubstr("\"name\": \"hidden\",\n      \"type\": \"list<int>\",\n"
                              "      \"required\": false,\n      \"default\": [\n"
                              "        64,\n        32\n      ],\n      \"min\": 1,\n"
                              "      \"max\": null,"));
  EXPECT_THAT(json, HasSubstr("\"default\": 0,\n      \"min\": 0,\n      \"max\": 0.9,"));
  EXPECT_THAT(json, HasSubstr("\"ref_kind\": \"storage\""));
  EXPECT_THAT(json, HasSubstr("\"doc\": \"Drop rate | per layer.\""));
}

TEST(ConfigReference, GroupsByKindWithTablesAndNoMachinePaths) {
  auto registry = sampleRegistry();
  const std::string md = configReference(registry);
  EXPECT_THAT(md, ::testing::StartsWith("# Configuration reference\n"));
  // Kinds in their fixed order: storage before model.
  EXPECT_LT(md.find("\n## storage\n"), md.find("\n## model\n"));
  EXPECT_THAT(md, Not(HasSubstr("## dataset")));
  EXPECT_THAT(md, HasSubstr("- **model**: [`model.mlp`](#modelmlp)\n"));
  EXPECT_THAT(md, HasSubstr("### model.mlp\n\nSummary of model.mlp\n\nPlugin: `vendor.models` "
                            "2.1.0\n\n| Parameter | Type | Required / default | Constraints | "
                            "Description |\n|---|---|---|---|---|\n"
                            "| `hidden` | `list<int>` | default `[64, 32]` | each >= 1 | Layer "
                            "sizes. |\n"));
  EXPECT_THAT(md, HasSubstr("| `dropout` | `float` | default `0.0` | [0, 0.9] | Drop rate \\| per "
                            "layer. |\n"));
  EXPECT_THAT(
      md,
      HasSubstr(
          "| `init_from` | `ref` | optional | storage node | Warm start from &lt;store>/`<key>`. "
          "|\n"));
  EXPECT_THAT(md, Not(HasSubstr("/opt/vendor")));
  EXPECT_THAT(md, Not(HasSubstr("{tmp}")));
}

NodeType recordsType() {
  return makeType(
      "frontend.web", NodeKind::kFrontend,
      {ParamSpec::records("api_keys",
                          {ParamSpec::string("name", "Who holds it."),
                           ParamSpec::string("role", "What it may do.").oneOf({"reader", "admin"})},
                          "API keys.")
           .withDefault(std::vector<ParamRecord>{})
           .withExample("[{name: ci, role: reader}]"),
       ParamSpec::map("models",
                      {ParamSpec::integer("max_batch_size", "Rows.").range(0, 64).optional(),
                       ParamSpec::boolean("pinned", "Keep it.").withDefault(false)},
                      "Per model.")
           .optional()});
}

TEST(RecordDocs, DescribeListsEachRecordParametersFields) {
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(recordsType(), nullptr, nullptr).ok());
  const std::string text = describeType(*registry.find("frontend.web"));
  EXPECT_THAT(text, HasSubstr("  api_keys  list<record>, default []\n"
                              "            API keys.\n"
                              "            example: [{name: ci, role: reader}]\n"
                              "            fields of each record:\n"
                              "              name  string, required\n"
                              "                    Who holds it.\n"
                              "              role  string, required, one of: reader, admin\n"
                              "                    What it may do.\n"
                              "  models    map<string, record>, optional\n"
                              "            Per model.\n"
                              "            fields of each record:\n"
                              "              max_batch_size  int, optional, [0, 64]\n"
                              "                              Rows.\n"
                              "              pinned          bool, default false\n"));
  const std::string json = describeTypeJson(*registry.find("frontend.web"));
  EXPECT_THAT(json, HasSubstr("\"type\": \"map<string, record>\""));
  EXPECT_THAT(json, HasSubstr("\"default\": [],"));
  EXPECT_THAT(json, HasSubstr("\"fields\": [\n        {\n          \"name\": \"name\",\n"));
  EXPECT_EQ(formatParamValue(ParamRecordMap{}, ParamType::kRecordMap), "{}");
}

TEST(RecordDocs, TheReferenceTablesEachRecordParametersFields) {
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(recordsType(), nullptr, nullptr).ok());
  const std::string md = configReference(registry);
  EXPECT_THAT(md, HasSubstr("| `api_keys` | `list<record>` | default `[]` |  | API keys. "
                            "Example: `[{name: ci, role: reader}]`. Fields below. |\n"
                            "| `models` | `map<string, record>` | optional |  | Per model. Fields "
                            "below. |\n"
                            "\nFields of each `api_keys` record:\n\n"
                            "| Field | Type | Required / default | Constraints | Description |\n"
                            "|---|---|---|---|---|\n"
                            "| `name` | `string` | required |  | Who holds it. |\n"
                            "| `role` | `string` | required | one of: reader, admin | What it may "
                            "do. |\n"
                            "\nFields of each `models` record:\n\n"
                            "| Field | Type | Required / default | Constraints | Description |\n"
                            "|---|---|---|---|---|\n"
                            "| `max_batch_size` | `int` | optional | [0, 64] | Rows. |\n"
                            "| `pinned` | `bool` | default `false` |  | Keep it. |\n"));
}

}  // namespace
}  // namespace aimass::core
