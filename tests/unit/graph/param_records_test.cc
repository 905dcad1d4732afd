// SPDX-License-Identifier: Apache-2.0
// Record parameters (ParamType::kRecordList, kRecordMap) read from YAML: their fields converted
// with the rules of scalar and list parameters, defaults filled in, ${VAR} substituted, and
// every mistake reported at the FILE:LINE:COL of the offending text with the record's path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/type_registry.h"

namespace aimass::core {
namespace {

class Dummy final : public Node {
 public:
  NodeKind kind() const noexcept override { return NodeKind::kFrontend; }
};

std::vector<ParamSpec> keyFields() {
  return {ParamSpec::string("name", "Who holds it."),
          ParamSpec::string("role", "What it may do.").oneOf({"reader", "admin"}),
          ParamSpec::integer("weight", "Share.").withDefault(std::int64_t{1}).range(1, 10),
          ParamSpec::path("file", "Key file.").withDefault(std::string("keys/default")),
          ParamSpec::number("rate", "Requests a second.").withDefault(std::int64_t{2})};
}

std::vector<ParamSpec> modelFields() {
  return {ParamSpec::integer("max_batch_size", "Rows.").range(0, 64).optional(),
          ParamSpec::list("sizes", ParamType::kIntList, "Preferred.").atLeast(1).optional(),
          ParamSpec::boolean("pinned", "Keep loaded.").withDefault(false)};
}

class ParamRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NodeType type;
    type.type = "frontend.fake";
    type.kind = NodeKind::kFrontend;
    type.summary = "fake";
    type.params = {
        ParamSpec::records("keys", keyFields(), "Keys.").withDefault(std::vector<ParamRecord>{}),
        ParamSpec::map("models", modelFields(), "Per model.").optional()};
    type.factory = [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
      keys_ = c.getRecords("keys");
      if (c.has("models")) {
        models_ = c.getMap("models");
      }
      return std::unique_ptr<Node>(std::make_unique<Dummy>());
    };
    ASSERT_TRUE(registry_.add(std::move(type), nullptr, nullptr).ok());
  }

  /// Validates "nodes: web: {type: frontend.fake, ...}" with `params` below the type line, and
  /// makes the node when it is valid.
  bool load(const std::string& params) {
    diagnostics_.clear();
    const std::string text = "nodes:\n  web:\n    type: frontend.fake\n" + params;
    auto document = loadConfigFromString(text, "main.yaml", "/cfg", diagnostics_);
    if (!document) {
      return false;
    }
    graph_ = Graph::validate(*document, registry_, diagnostics_);
    return graph_ != nullptr && graph_->instantiate(host_).ok();
  }

  /// Every diagnostic of `params`, formatted, in file order.
  std::string errors(const std::string& params) {
    EXPECT_FALSE(load(params));
    return formatDiagnostics(diagnostics_);
  }

  TypeRegistry registry_;
  HostServices host_{"/cfg", 1};
  Diagnostics diagnostics_;
  std::unique_ptr<Graph> graph_;
  std::vector<ParamRecord> keys_;
  ParamRecordMap models_;
};

TEST_F(ParamRecordsTest, ConvertsRecordsInOrderAndFillsTheirDefaults) {
  ASSERT_TRUE(
      load("    keys:\n"
           "      - name: ci\n"
           "        role: reader\n"
           "        weight: 0x3\n"
           "        file: ../ci.key\n"
           "      - {name: ops, role: admin, rate: 2.5}\n"))
      << formatDiagnostics(diagnostics_);
  ASSERT_EQ(keys_.size(), 2u);
  EXPECT_EQ(keys_[0].getString("name"), "ci");
  EXPECT_EQ(keys_[0].getString("role"), "reader");
  EXPECT_EQ(keys_[0].getInt("weight"), 3);
  EXPECT_EQ(keys_[0].getPath("file"), "/ci.key");
  EXPECT_EQ(keys_[0].getFloat("rate"), 2.0);  // an int default of a float field is a double
  EXPECT_EQ(keys_[0].path(), "keys[0]");
  EXPECT_EQ(keys_[0].location(), "main.yaml:5:9");
  EXPECT_EQ(keys_[0].location("weight"), "main.yaml:7:17");
  EXPECT_EQ(keys_[0].location("rate"), "main.yaml:5:9");  // a default: the record's place
  EXPECT_EQ(keys_[1].getString("name"), "ops");
  EXPECT_EQ(keys_[1].getInt("weight"), 1);
  EXPECT_EQ(keys_[1].getPath("file"), "/cfg/keys/default");
  EXPECT_EQ(keys_[1].getFloat("rate"), 2.5);
  EXPECT_EQ(keys_[1].path(), "keys[1]");
  EXPECT_FALSE(keys_[1].has("missing"));
}

TEST_F(ParamRecordsTest, ConvertsAMapOfRecordsByName) {
  ASSERT_TRUE(
      load("    models:\n"
           "      iris: {max_batch_size: 32, sizes: [8, 16]}\n"
           "      fashion: {sizes: 4}\n"
           "      empty: {}\n"))
      << formatDiagnostics(diagnostics_);
  ASSERT_EQ(models_.size(), 3u);
  EXPECT_EQ(models_.at("iris").getInt("max_batch_size"), 32);
  EXPECT_EQ(models_.at("iris").getIntList("sizes"), (std::vector<std::int64_t>{8, 16}));
  EXPECT_FALSE(models_.at("iris").getBool("pinned"));
  EXPECT_EQ(models_.at("fashion").getIntList("sizes"), (std::vector<std::int64_t>{4}));
  EXPECT_FALSE(models_.at("fashion").has("max_batch_size"));
  EXPECT_EQ(models_.at("fashion").path(), "models.fashion");
  EXPECT_TRUE(models_.at("empty").values().count("pinned"));
  EXPECT_TRUE(keys_.empty());  // the default: no record
}

TEST_F(ParamRecordsTest, NamesEachMistakeInARecordListAtItsPlace) {
  EXPECT_EQ(errors("    keys:\n"
                   "      - {name: ci, role: root}\n"
                   "      - {name: ops, rol: admin, weight: 11}\n"
                   "      - {role: reader, weight: many, name: x, name: y}\n"
                   "      - ci reader\n"),
            "main.yaml:5:26: error: parameter 'keys[0].role' of node 'web' must be one of: "
            "reader, admin, but is 'root'\n"
            "main.yaml:6:9: error: parameter 'keys[1]' of node 'web' is missing the required "
            "field 'role'\n"
            "  hint: role (string): What it may do.\n"
            "main.yaml:6:21: error: parameter 'keys[1]' of node 'web' has no field 'rol'\n"
            "  hint: did you mean 'role'?\n"
            "main.yaml:6:41: error: parameter 'keys[1].weight' of node 'web' must be in [1, 10], "
            "but is 11\n"
            "main.yaml:7:32: error: parameter 'keys[2].weight' of node 'web' must be an integer, "
            "but is 'many'\n"
            "main.yaml:7:47: error: parameter 'keys[2]' of node 'web' gives the field 'name' "
            "twice; it was first given at main.yaml:7:38\n"
            "main.yaml:8:9: error: parameter 'keys[3]' of node 'web' must be a record (a map of "
            "field names to values), not a scalar\n"
            "  hint: write it as {name: ..., role: ..., weight: ..., file: ..., rate: ...}");
  EXPECT_EQ(errors("    keys: {name: ci}\n"),
            "main.yaml:4:11: error: parameter 'keys' of node 'web' must be a list of records, "
            "not a map\n"
            "  hint: write one record a line as '- {name: ..., role: ..., weight: ..., file: ..., "
            "rate: ...}', or [] for none");
  EXPECT_EQ(errors("    keys:\n"),
            "main.yaml:4:5: error: parameter 'keys' of node 'web' must be a list of records, but "
            "has no value\n"
            "  hint: write one record a line as '- {name: ..., role: ..., weight: ..., file: ..., "
            "rate: ...}', or [] for none");
}

TEST_F(ParamRecordsTest, NamesEachMistakeInARecordMapAtItsPlace) {
  EXPECT_EQ(errors("    models:\n"
                   "      iris: {max_batch_size: 65, sizes: [8, 0]}\n"
                   "      iris: {}\n"
                   "      fashion: {pinned: maybe, colour: red}\n"
                   "      ? [a]\n"
                   "      : {}\n"
                   "      \"\": {}\n"
                   "      plain: 3\n"),
            "main.yaml:5:30: error: parameter 'models.iris.max_batch_size' of node 'web' must be "
            "in [0, 64], but is 65\n"
            "main.yaml:5:45: error: element 2 of parameter 'models.iris.sizes' of node 'web' must "
            "be at least 1, but is 0\n"
            "main.yaml:6:7: error: parameter 'models' of node 'web' names 'iris' twice; it was "
            "first given at main.yaml:5:7\n"
            "main.yaml:7:25: error: parameter 'models.fashion.pinned' of node 'web' must be true "
            "or false, but is 'maybe'\n"
            "main.yaml:7:32: error: parameter 'models.fashion' of node 'web' has no field "
            "'colour'\n"
            "  hint: the fields are: max_batch_size, sizes, pinned\n"
            "main.yaml:8:9: error: a name in parameter 'models' of node 'web' must be a non-empty "
            "string, but is a list\n"
            "main.yaml:10:7: error: a name in parameter 'models' of node 'web' must be a "
            "non-empty string, but is empty\n"
            "main.yaml:11:14: error: parameter 'models.plain' of node 'web' must be a record (a "
            "map of field names to values), not a scalar\n"
            "  hint: write it as {max_batch_size: ..., sizes: ..., pinned: ...}");
  EXPECT_EQ(errors("    models: [iris]\n"),
            "main.yaml:4:13: error: parameter 'models' of node 'web' must be a map of names to "
            "records, not a list\n"
            "  hint: write one entry a line as 'NAME: {max_batch_size: ..., sizes: ..., pinned: "
            "...}', or {} for none");
}

TEST_F(ParamRecordsTest, SubstitutesVariablesInFieldsAndNeverQuotesTheirValues) {
  ::setenv("AIMASS_RECORDS_TEST_NAME", "from-env", 1);
  ::setenv("AIMASS_RECORDS_TEST_SECRET", "s3cret", 1);
  ASSERT_TRUE(
      load("    keys:\n"
           "      - {name: \"${AIMASS_RECORDS_TEST_NAME}\", role: reader}\n"
           "    models:\n"
           "      iris: {sizes: [\"${AIMASS_RECORDS_TEST_SIZE:-8}\"]}\n"))
      << formatDiagnostics(diagnostics_);
  EXPECT_EQ(keys_.at(0).getString("name"), "from-env");
  EXPECT_EQ(models_.at("iris").getIntList("sizes"), (std::vector<std::int64_t>{8}));

  EXPECT_EQ(errors("    keys:\n"
                   "      - {name: a, role: \"${AIMASS_RECORDS_TEST_SECRET}\"}\n"
                   "    models:\n"
                   "      iris: {max_batch_size: \"${AIMASS_RECORDS_TEST_SECRET}\"}\n"
                   "      fashion: {sizes: [\"${AIMASS_RECORDS_TEST_UNSET}\"]}\n"),
            // The load reports the unset variable first; validation then sees the text as written.
            "main.yaml:8:25: error: environment variable 'AIMASS_RECORDS_TEST_UNSET' is not set "
            "(use ${AIMASS_RECORDS_TEST_UNSET:-default} to give a default)\n"
            "main.yaml:5:25: error: parameter 'keys[0].role' of node 'web' must be one of: "
            "reader, admin, but the value of ${AIMASS_RECORDS_TEST_SECRET} is not\n"
            "main.yaml:7:30: error: parameter 'models.iris.max_batch_size' of node 'web' must be "
            "an integer, but the value of ${AIMASS_RECORDS_TEST_SECRET} is not\n"
            "main.yaml:8:25: error: element 1 of parameter 'models.fashion.sizes' of node 'web' "
            "must be an integer, but is '${AIMASS_RECORDS_TEST_UNSET}'");
  ::unsetenv("AIMASS_RECORDS_TEST_NAME");
  ::unsetenv("AIMASS_RECORDS_TEST_SECRET");
}

NodeType typeWith(ParamSpec param) {
  NodeType type;
  type.type = "frontend.bad";
  type.kind = NodeKind::kFrontend;
  type.params = {std::move(param)};
  type.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(std::make_unique<Dummy>());
  };
  return type;
}

std::string refusal(ParamSpec param) {
  return TypeRegistry::validateType(typeWith(std::move(param))).message();
}

TEST(RecordSchema, RefusesRecordsTheHostCannotCheck) {
  EXPECT_EQ(refusal(ParamSpec::records("keys", {}, "Keys.")),
            "type 'frontend.bad': parameter 'keys' holds records but declares no field");
  EXPECT_EQ(refusal(ParamSpec::map("models", {ParamSpec::ref("store", NodeKind::kStorage, "S.")},
                                   "Models.")),
            "type 'frontend.bad': parameter 'models' field 'store' is of type ref; a record's "
            "fields are scalars and lists of scalars");
  EXPECT_EQ(
      refusal(ParamSpec::records(
          "keys", {ParamSpec::records("inner", {ParamSpec::string("a", "A.")}, "In.")}, "Keys.")),
      "type 'frontend.bad': parameter 'keys' field 'inner' is of type list<record>; a "
      "record's fields are scalars and lists of scalars");
  EXPECT_EQ(refusal(ParamSpec::records(
                "keys", {ParamSpec::string("a", "A."), ParamSpec::string("a", "B.")}, "Keys.")),
            "type 'frontend.bad': parameter 'keys' declares field 'a' twice");
  EXPECT_EQ(refusal(ParamSpec::records("keys", {ParamSpec::integer("n", "N.").range(5, 1)}, "K.")),
            "type 'frontend.bad': parameter 'keys' field 'n' has an empty range [5, 1]");
  ParamRecord one;
  one.setValue("a", std::string("x"));
  EXPECT_EQ(refusal(ParamSpec::records("keys", {ParamSpec::string("a", "A.")}, "Keys.")
                        .withDefault(std::vector<ParamRecord>{one})),
            "type 'frontend.bad': parameter 'keys' has records in its default; the default of a "
            "record parameter is empty");
  EXPECT_EQ(refusal(ParamSpec::map("models", {ParamSpec::string("a", "A.")}, "Models.")
                        .withDefault(std::vector<ParamRecord>{})),
            "type 'frontend.bad': parameter 'models' of type map<string, record> has a default of "
            "type list<record>");
  ParamSpec scalar = ParamSpec::string("name", "Name.");
  scalar.fields = {ParamSpec::string("a", "A.")};
  EXPECT_EQ(refusal(scalar),
            "type 'frontend.bad': parameter 'name' of type string has fields; fields apply to "
            "list<record> and map<string, record> parameters");
  EXPECT_TRUE(TypeRegistry::validateType(
                  typeWith(ParamSpec::records("keys", {ParamSpec::string("type", "A type.")},
                                              "A field may be called type.")))
                  .ok());
}

}  // namespace
}  // namespace aimass::core
