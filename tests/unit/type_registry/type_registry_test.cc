// SPDX-License-Identifier: Apache-2.0
// The type registry: what it accepts as a node type, what it refuses and why, and the
// "did you mean" suggestions users see for a mistyped type.
#include "aimass/core/type_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ConstantStorage final : public Node {
 public:
  NodeKind kind() const noexcept override { return NodeKind::kStorage; }
};

NodeType makeType(std::string name, NodeKind kind = NodeKind::kModel) {
  NodeType type;
  type.type = std::move(name);
  type.kind = kind;
  type.summary = "a test type";
  type.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(std::make_unique<ConstantStorage>());
  };
  return type;
}

std::shared_ptr<const PluginInfo> plugin(std::string name, std::string library = "") {
  auto info = std::make_shared<PluginInfo>();
  info->name = std::move(name);
  info->version = "1.0.0";
  info->library = std::move(library);
  return info;
}

std::string refusal(const NodeType& type) { return TypeRegistry::validateType(type).message(); }

TEST(TypeRegistry, AcceptsAWellFormedType) {
  auto type = makeType("model.soft_max2");
  type.params = {
      ParamSpec::integer("epochs", "Passes.").withDefault(std::int64_t{10}).range(1, 100),
      ParamSpec::number("lr", "Step.").withDefault(0.1).atLeast(0),
      ParamSpec::string("mode", "Mode.").withDefault(std::string("fast")).oneOf({"fast", "slow"}),
      ParamSpec::ref("data", NodeKind::kDataset, "Training data."),
      ParamSpec::refList("more", NodeKind::kDataset, "More data.").optional(),
      ParamSpec::list("sizes", ParamType::kIntList, "Layer sizes.")
          .withDefault(std::vector<std::int64_t>{16, 8})
          .atLeast(1),
  };
  EXPECT_TRUE(TypeRegistry::validateType(type).ok()) << refusal(type);
}

TEST(TypeRegistry, RefusesMalformedTypeNames) {
  EXPECT_EQ(refusal(makeType("softmax")), "type 'softmax' is malformed: expected 'model.<name>'");
  EXPECT_EQ(refusal(makeType("storage.fs")),
            "type 'storage.fs' is declared as kind 'model' but its name starts with 'storage.'; "
            "expected 'model.fs'");
  EXPECT_THAT(refusal(makeType("model.Soft-Max")), HasSubstr("must be non-empty and use only"));
  EXPECT_THAT(refusal(makeType("model.")), HasSubstr("must be non-empty"));
  EXPECT_THAT(refusal(makeType("model.a.b")), HasSubstr("[a-z0-9_]"));
}

TEST(TypeRegistry, RefusesATypeWithoutFactory) {
  auto type = makeType("model.x");
  type.factory = nullptr;
  EXPECT_EQ(refusal(type), "type 'model.x' has no factory");
}

TEST(TypeRegistry, RefusesBadParameters) {
  auto with = [](ParamSpec spec) {
    auto type = makeType("model.x");
    type.params.push_back(std::move(spec));
    return refusal(type);
  };
  EXPECT_EQ(with(ParamSpec::integer("epochs", "").withDefault(std::int64_t{0}).range(1, 10)),
            "type 'model.x': parameter 'epochs' has default 0 outside its range [1, 10]");
  EXPECT_EQ(with(ParamSpec::number("lr", "").withDefault(-0.5).atLeast(0)),
            "type 'model.x': parameter 'lr' has default -0.5 outside its range [0, inf]");
  EXPECT_EQ(with(ParamSpec::list("sizes", ParamType::kIntList, "")
                     .withDefault(std::vector<std::int64_t>{4, 0})
                     .atLeast(1)),
            "type 'model.x': parameter 'sizes' has default 0 outside its range [1, inf]");
  EXPECT_EQ(with(ParamSpec::integer("epochs", "").withDefault(std::string("ten"))),
            "type 'model.x': parameter 'epochs' of type int has a default of type string");
  EXPECT_EQ(with(ParamSpec::string("mode", "").withDefault(std::string("x")).oneOf({"a", "b"})),
            "type 'model.x': parameter 'mode' has default 'x', which is not one of its choices");
  EXPECT_EQ(with(ParamSpec::integer("n", "").range(5, 1)),
            "type 'model.x': parameter 'n' has an empty range [5, 1]");
  EXPECT_EQ(with(ParamSpec::string("s", "").atLeast(1)),
            "type 'model.x': parameter 's' of type string has a range; ranges apply to int and "
            "float parameters only");
  EXPECT_EQ(with(ParamSpec::integer("n", "").oneOf({"1"})),
            "type 'model.x': parameter 'n' of type int has choices; choices apply to string "
            "parameters only");
  ParamSpec ref_without_kind = ParamSpec::string("data", "");
  ref_without_kind.type = ParamType::kRef;
  EXPECT_EQ(with(ref_without_kind),
            "type 'model.x': parameter 'data' is a reference but names no ref_kind");
  ParamSpec required_with_default = ParamSpec::integer("n", "").withDefault(std::int64_t{1});
  required_with_default.required = true;
  EXPECT_EQ(with(required_with_default),
            "type 'model.x': parameter 'n' is required but has a default; a default makes it "
            "optional");
  EXPECT_EQ(with(ParamSpec::string("type", "")),
            "type 'model.x': parameter 'type' uses the reserved name 'type' (it names the node's "
            "type in configs)");
  EXPECT_EQ(with(ParamSpec::string("Bad-Name", "")),
            "type 'model.x': parameter 'Bad-Name' has a malformed name: use only [a-z0-9_]");

  auto twice = makeType("model.x");
  twice.params = {ParamSpec::integer("n", ""), ParamSpec::string("n", "")};
  EXPECT_EQ(refusal(twice), "type 'model.x' declares parameter 'n' twice");
}

TEST(TypeRegistry, AddsFindsAndListsTypesSortedByName) {
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(makeType("model.zeta"), plugin("p"), nullptr).ok());
  ASSERT_TRUE(
      registry.add(makeType("storage.alpha", NodeKind::kStorage), plugin("p"), nullptr).ok());
  ASSERT_TRUE(registry.add(makeType("model.beta"), plugin("p"), nullptr).ok());
  std::vector<std::string> names;
  for (const auto* type : registry.all()) {
    names.push_back(type->type.type);
  }
  EXPECT_THAT(names, ElementsAre("model.beta", "model.zeta", "storage.alpha"));
  ASSERT_NE(registry.find("model.beta"), nullptr);
  EXPECT_EQ(registry.find("model.beta")->plugin->name, "p");
  EXPECT_EQ(registry.find("model.gamma"), nullptr);
}

TEST(TypeRegistry, RefusesATakenNameNamingTheOwner) {
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(makeType("model.x"), plugin("first", "/lib/first.so"), nullptr).ok());
  Status again = registry.add(makeType("model.x"), plugin("second"), nullptr);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(),
            "type 'model.x' is already registered by plugin 'first' (/lib/first.so)");
  ASSERT_TRUE(registry.add(makeType("job.y", NodeKind::kJob), plugin("builtin"), nullptr).ok());
  EXPECT_EQ(registry.add(makeType("job.y", NodeKind::kJob), plugin("p"), nullptr).message(),
            "type 'job.y' is already registered by plugin 'builtin' (built in)");
  EXPECT_EQ(registry.find("model.x")->plugin->name, "first");
}

TEST(TypeRegistry, StoresIntegerDefaultsOfFloatParametersAsDoubles) {
  // withDefault(1) on a number() holds an int64; the factory reads it with getFloat().
  auto type = makeType("model.x");
  type.params = {ParamSpec::number("lr", "").withDefault(1),
                 ParamSpec::list("weights", ParamType::kFloatList, "")
                     .withDefault(std::vector<std::int64_t>{1, 2})};
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(std::move(type), plugin("p"), nullptr).ok());
  const auto& params = registry.find("model.x")->type.params;
  EXPECT_EQ(std::get<double>(params[0].default_value), 1.0);
  EXPECT_EQ(std::get<std::vector<double>>(params[1].default_value), (std::vector<double>{1, 2}));
}

TEST(TypeRegistry, KeepsTheLibraryAliveThroughTheFactory) {
  auto library = std::make_shared<int>(7);
  std::weak_ptr<int> watch = library;
  TypeRegistry registry;
  ASSERT_TRUE(registry.add(makeType("model.x"), plugin("p"), library).ok());
  EXPECT_EQ(registry.find("model.x")->library, library);
  auto factory = std::make_unique<NodeFactory>(registry.find("model.x")->type.factory);
  library.reset();
  registry = TypeRegistry();
  // A copy of the factory still holds the library, so the plugin's code stays mapped while
  // anything can call into it.
  EXPECT_FALSE(watch.expired());
  NodeConfig config("n", "model.x", nullptr);
  auto node = (*factory)(config);
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node.value()->kind(), NodeKind::kStorage);
  factory.reset();
  EXPECT_TRUE(watch.expired());
}

TEST(TypeRegistryInstantiate, MakesANodeThatKeepsItsLibraryUntilItIsGone) {
  auto library = std::make_shared<int>(7);
  std::weak_ptr<int> watch = library;
  TypeRegistry registry;
  ASSERT_TRUE(
      registry.add(makeType("storage.kept", NodeKind::kStorage), plugin("p"), library).ok());
  library.reset();
  auto node =
      registry.instantiate(NodeConfig("store", "storage.kept", nullptr), NodeKind::kStorage);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ(node.value()->kind(), NodeKind::kStorage);
  registry = TypeRegistry();
  EXPECT_FALSE(watch.expired());  // the node's deleter holds the library
  node = internalError("gone");
  EXPECT_TRUE(watch.expired());
}

TEST(TypeRegistryInstantiate, NamesThePluginOrTypeInEachRefusal) {
  TypeRegistry registry;
  auto throwing = makeType("model.throws");
  throwing.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    throw std::runtime_error("boom");
  };
  auto failing = makeType("model.fails");
  failing.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    return invalidArgument("classes must divide the batch");
  };
  ASSERT_TRUE(registry.add(std::move(throwing), plugin("vendor.p"), nullptr).ok());
  ASSERT_TRUE(registry.add(std::move(failing), plugin("vendor.p"), nullptr).ok());
  ASSERT_TRUE(registry.add(makeType("model.wrong"), plugin("vendor.p"), nullptr).ok());
  auto made = [&](const std::string& type, std::optional<NodeKind> kind = std::nullopt) {
    return registry.instantiate(NodeConfig("n", type, nullptr), kind).status();
  };
  EXPECT_EQ(made("model.nope").code(), StatusCode::kNotFound);
  EXPECT_THAT(made("model.nope").message(), HasSubstr("'model.nope'"));
  EXPECT_EQ(made("model.throws").code(), StatusCode::kInternal);
  EXPECT_EQ(made("model.throws").message(),
            "the factory of plugin 'vendor.p' threw an exception: boom");
  EXPECT_EQ(made("model.fails").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(made("model.fails").message(), "classes must divide the batch");
  EXPECT_EQ(made("model.wrong").message(),
            "plugin 'vendor.p' made a storage node, but model.wrong is registered as a model type");
  EXPECT_EQ(made("model.fails", NodeKind::kStorage).message(),
            "'model.fails' is a model type, not a storage type");
}

StorageUriScheme pathScheme(std::vector<std::string> schemes, std::string type) {
  StorageUriScheme scheme;
  scheme.schemes = std::move(schemes);
  scheme.type = std::move(type);
  scheme.form = "x:relative/path";
  scheme.path_param = "path";
  return scheme;
}

NodeType storageWithPath(std::string name) {
  auto type = makeType(std::move(name), NodeKind::kStorage);
  type.params = {ParamSpec::path("path", "Where.").withExample("{tmp}/x")};
  return type;
}

TEST(TypeRegistryUriSchemes, RefusesMalformedDeclarations) {
  const NodeType storage = storageWithPath("storage.kept");
  auto refusal = [&](StorageUriScheme scheme, const NodeType* type) {
    return TypeRegistry::validateUriScheme(scheme, type).message();
  };
  EXPECT_TRUE(
      TypeRegistry::validateUriScheme(pathScheme({"kept", "k+v"}, "storage.kept"), &storage).ok());
  EXPECT_THAT(refusal(pathScheme({}, "storage.kept"), &storage), HasSubstr("name no scheme"));
  EXPECT_THAT(refusal(pathScheme({"Kept"}, "storage.kept"), &storage),
              HasSubstr("scheme 'Kept' is malformed"));
  EXPECT_THAT(refusal(pathScheme({"kept", "kept"}, "storage.kept"), &storage),
              HasSubstr("name the scheme 'kept' twice"));
  auto both = pathScheme({"kept"}, "storage.kept");
  both.map =
      [](const StorageUriParts&) -> Expected<std::vector<std::pair<std::string, std::string>>> {
    return std::vector<std::pair<std::string, std::string>>{};
  };
  EXPECT_THAT(refusal(both, &storage), HasSubstr("exactly one of path_param and map"));
  auto model = makeType("model.x");
  EXPECT_THAT(refusal(pathScheme({"kept"}, "model.x"), &model),
              HasSubstr("name a model type; URI schemes name storage types"));
  auto no_path = pathScheme({"kept"}, "storage.kept");
  no_path.path_param = "where";
  EXPECT_THAT(refusal(no_path, &storage), HasSubstr("path_param 'where' is not a path"));
}

TEST(TypeRegistryUriSchemes, FindsSchemesInLoadOrderAndRefusesOnesTaken) {
  TypeRegistry registry;
  auto first = plugin("vendor.first");
  auto second = plugin("vendor.second");
  ASSERT_TRUE(registry.add(storageWithPath("storage.one"), first, nullptr).ok());
  ASSERT_TRUE(registry.add(storageWithPath("storage.two"), second, nullptr).ok());
  ASSERT_TRUE(
      registry.addUriScheme(pathScheme({"one", "uno"}, "storage.one"), first, nullptr).ok());
  // Another plugin's type, and a scheme another plugin took, are refused.
  Status foreign = registry.addUriScheme(pathScheme({"two"}, "storage.one"), second, nullptr);
  EXPECT_THAT(foreign.message(), HasSubstr("name a type the plugin does not register"));
  Status taken = registry.addUriScheme(pathScheme({"two", "uno"}, "storage.two"), second, nullptr);
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "URI scheme 'uno' is already declared by plugin 'vendor.first'");
  ASSERT_TRUE(registry.addUriScheme(pathScheme({"two"}, "storage.two"), second, nullptr).ok());
  ASSERT_NE(registry.findUriScheme("uno"), nullptr);
  EXPECT_EQ(registry.findUriScheme("uno")->scheme.type, "storage.one");
  EXPECT_EQ(registry.findUriScheme("three"), nullptr);
  auto all = registry.uriSchemes();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->plugin->name, "vendor.first");
  EXPECT_EQ(all[1]->scheme.schemes, std::vector<std::string>{"two"});
}

TEST(TypeRegistry, SuggestsCloseTypeNamesBestFirst) {
  TypeRegistry registry;
  for (const char* name : {"model.softmax", "model.softmin", "model.baseline", "model.mlp"}) {
    ASSERT_TRUE(registry.add(makeType(name), plugin("p"), nullptr).ok());
  }
  ASSERT_TRUE(registry.add(makeType("storage.fs", NodeKind::kStorage), plugin("p"), nullptr).ok());
  EXPECT_THAT(registry.suggest("model.sofmax"), ElementsAre("model.softmax", "model.softmin"));
  EXPECT_THAT(registry.suggest("softmax"), ElementsAre("model.softmax", "model.softmin"));
  EXPECT_THAT(registry.suggest("storage.fss"), ElementsAre("storage.fs"));
  EXPECT_TRUE(registry.suggest("dataset.csv").empty());
  EXPECT_LE(registry.suggest("model.m").size(), 3u);
}

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("epochs", "epoch"), 1u);
  EXPECT_EQ(editDistance("flaw", "lawn"), 2u);
}

TEST(ClosestMatch, PicksTheNearestWithinAThirdOfTheLength) {
  const std::vector<std::string> params = {"epochs", "learning_rate", "batch_size"};
  EXPECT_EQ(closestMatch("epoch", params), "epochs");
  EXPECT_EQ(closestMatch("learning_rat", params), "learning_rate");
  EXPECT_EQ(closestMatch("batchsize", params), "batch_size");
  EXPECT_EQ(closestMatch("seed", params), "");
  EXPECT_EQ(closestMatch("lr", params), "");
  EXPECT_EQ(closestMatch("epochs", {}), "");
}

}  // namespace
}  // namespace aimass::core

namespace aimass::core {
namespace {

CliCommand plainCommand(std::string name) {
  CliCommand command;
  command.name = std::move(name);
  command.usage = command.name + " FILE";
  command.summary = "Does a thing";
  command.handler = [](const std::vector<std::string>&, CommandStreams&) { return 0; };
  return command;
}

TEST(TypeRegistry, ValidatesCommandNamesUsageSummaryAndHandler) {
  EXPECT_TRUE(TypeRegistry::validateCommand(plainCommand("auth hash-key")).ok());
  EXPECT_TRUE(TypeRegistry::validateCommand(plainCommand("export2")).ok());
  for (const char* bad :
       {"", "Auth", "auth  key", "auth hash key", "2fa", "auth -x", "auth hash_key", " auth",
        "auth ", "a-very-long-command-word-beyond-32-chars"}) {
    Status status = TypeRegistry::validateCommand(plainCommand(bad));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
  CliCommand usage = plainCommand("auth hash-key");
  usage.usage = "auth hash-keys";
  EXPECT_THAT(TypeRegistry::validateCommand(usage).message(), HasSubstr("must start with"));
  CliCommand summary = plainCommand("tool");
  summary.summary.clear();
  EXPECT_THAT(TypeRegistry::validateCommand(summary).message(), HasSubstr("no summary"));
  CliCommand handler = plainCommand("tool");
  handler.handler = nullptr;
  EXPECT_THAT(TypeRegistry::validateCommand(handler).message(), HasSubstr("no handler"));
}

TEST(TypeRegistry, RefusesCommandsThatClashWithBuiltInOrAddedOnes) {
  for (const char* builtin : {"run", "models gc", "plugins frob", "help me"}) {
    Status status = TypeRegistry::validateCommand(plainCommand(builtin));
    EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << builtin;
    EXPECT_THAT(status.message(), HasSubstr("built-in command")) << builtin;
  }
  TypeRegistry registry;
  auto plugin = std::make_shared<PluginInfo>();
  plugin->name = "frontend.first";
  ASSERT_TRUE(registry.addCommand(plainCommand("auth hash-key"), plugin, nullptr).ok());
  Status again = registry.addCommand(plainCommand("auth hash-key"), nullptr, nullptr);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.message(), "command 'auth hash-key' is already added by plugin 'frontend.first'");
  // Another command of the same group is fine.
  EXPECT_TRUE(registry.addCommand(plainCommand("auth rotate"), nullptr, nullptr).ok());
  ASSERT_EQ(registry.commands().size(), 2u);
  EXPECT_EQ(registry.commands()[0]->command.name, "auth hash-key");
}

}  // namespace
}  // namespace aimass::core
