// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "scoped_env.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("aimass_config_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& relative, const std::string& text) {
    fs::path path = dir_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  /// Loads `text` as "main.yaml" in the test's folder.
  std::optional<ConfigDocument> load(const std::string& text) {
    diagnostics_.clear();
    return loadConfigFromString(text, "main.yaml", dir_, diagnostics_);
  }

  /// Succeeds when a diagnostic at file:line:col has exactly `message`.
  ::testing::AssertionResult has(const std::string& file, int line, int column,
                                 const std::string& message) const {
    for (const auto& d : diagnostics_) {
      if (d.where.file == file && d.where.line == line && d.where.column == column &&
          d.message == message) {
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure() << "no diagnostic " << file << ":" << line << ":" << column
                                         << ": " << message << "\namong:\n"
                                         << formatDiagnostics(diagnostics_);
  }

  const Diagnostic* find(const std::string& fragment) const {
    for (const auto& d : diagnostics_) {
      if (d.message.find(fragment) != std::string::npos) {
        return &d;
      }
    }
    return nullptr;
  }

  std::string dirFile(const std::string& relative) const {
    return (dir_ / relative).lexically_normal().string();
  }

  fs::path dir_;
  Diagnostics diagnostics_;
};

using ::aimass::testing::ScopedEnv;

const ParamDecl* param(const NodeDecl& node, const std::string& name) {
  for (const auto& p : node.params) {
    if (p.name == name) {
      return &p;
    }
  }
  return nullptr;
}

TEST_F(ConfigTest, LoadsNodesTypesParametersAndLocations) {
  auto doc = load(
      "threads: 3\n"
      "plugins: [lib, /opt/p]\n"
      "nodes:\n"
      "  store: {type: storage.fs, path: ./var/store}\n"
      "  clf:\n"
      "    type: model.softmax\n"
      "    classes: 3\n"
      "    layers: [4, 8]\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(doc->file, "main.yaml");
  EXPECT_EQ(doc->base_dir, dir_);
  EXPECT_EQ(doc->threads, 3);
  ASSERT_EQ(doc->plugin_paths.size(), 2u);
  EXPECT_EQ(doc->plugin_paths[0], dir_ / "lib");
  EXPECT_EQ(doc->plugin_paths[1], fs::path("/opt/p"));

  ASSERT_EQ(doc->nodes.size(), 2u);
  const NodeDecl& store = doc->nodes[0];
  EXPECT_EQ(store.name, "store");
  EXPECT_EQ(store.type, "storage.fs");
  EXPECT_EQ(store.where.file, "main.yaml");
  EXPECT_EQ(store.where.line, 4);
  EXPECT_EQ(store.where.column, 3);
  EXPECT_EQ(store.type_where.line, 4);
  EXPECT_EQ(store.type_where.column, 17);
  EXPECT_EQ(store.base_dir, dir_);
  ASSERT_EQ(store.params.size(), 1u);
  EXPECT_EQ(store.params[0].name, "path");
  EXPECT_EQ(store.params[0].value.Scalar(), "./var/store");
  EXPECT_EQ(store.params[0].where.column, 29);
  EXPECT_EQ(store.params[0].value_where.line, 4);
  EXPECT_EQ(store.params[0].value_where.column, 35);

  const NodeDecl& clf = doc->nodes[1];
  EXPECT_EQ(clf.name, "clf");
  EXPECT_EQ(clf.where.line, 5);
  EXPECT_EQ(clf.type_where.line, 6);
  EXPECT_EQ(clf.type_where.column, 11);
  ASSERT_EQ(clf.params.size(), 2u);
  EXPECT_EQ(clf.params[0].name, "classes");
  EXPECT_EQ(clf.params[0].value_where.line, 7);
  EXPECT_EQ(clf.params[0].value_where.column, 14);
  EXPECT_EQ(clf.params[1].name, "layers");
  ASSERT_TRUE(clf.params[1].value.IsSequence());
  EXPECT_EQ(clf.params[1].value.size(), 2u);
  EXPECT_EQ(clf.params[1].value_where.column, 13);
}

TEST_F(ConfigTest, AcceptsJson) {
  auto doc = load(
      "{\"threads\": 2,\n"
      " \"nodes\": {\"store\": {\"type\": \"storage.fs\", \"path\": \"x\"},\n"
      "           \"clf\": {\"type\": \"model.softmax\", \"layers\": [1, 2]}}}\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(doc->threads, 2);
  ASSERT_EQ(doc->nodes.size(), 2u);
  EXPECT_EQ(doc->nodes[0].name, "store");
  EXPECT_EQ(doc->nodes[0].where.line, 2);
  EXPECT_EQ(doc->nodes[0].where.column, 12);
  EXPECT_EQ(doc->nodes[0].type, "storage.fs");
  EXPECT_EQ(doc->nodes[0].type_where.column, 30);
  EXPECT_EQ(doc->nodes[1].type, "model.softmax");
  EXPECT_EQ(doc->nodes[1].where.line, 3);
  EXPECT_TRUE(param(doc->nodes[1], "layers")->value.IsSequence());
}

TEST_F(ConfigTest, JsonErrorsHaveLocationsToo) {
  load("{\"nodes\": {\"a\": {\"type\": \"x\"}, \"a\": {\"type\": \"y\"}}}");
  EXPECT_TRUE(
      has("main.yaml", 1, 32, "node 'a' is defined twice; it was first defined at main.yaml:1:12"));
}

TEST_F(ConfigTest, SyntaxErrorIsReportedAtItsOneBasedPosition) {
  auto doc = load("nodes:\n  a: b: c\n");
  EXPECT_FALSE(doc);
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].format(), "main.yaml:2:7: error: illegal map value");
}

// Found by the fuzzer: yaml-cpp 0.7's LoadAll() never returns on these.
TEST_F(ConfigTest, AStrayCommaWhereADocumentStartsIsASyntaxError) {
  EXPECT_FALSE(load(",ju"));
  ASSERT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(diagnostics_[0].format(),
            "main.yaml:1:1: error: unexpected ',' where a value should start");
  load("nodes: {}\n---\n,\n");  // the first document is still read
  EXPECT_TRUE(has("main.yaml", 2, 1,
                  "a configuration file holds one YAML document, but a second one starts here"));
}

TEST_F(ConfigTest, TopLevelMustBeAMap) {
  EXPECT_FALSE(load("- a\n- b\n"));
  EXPECT_TRUE(has("main.yaml", 1, 1,
                  "the configuration must be a map with the keys nodes, include, plugins and "
                  "threads, but is a list"));
}

TEST_F(ConfigTest, EmptyFileIsAnError) {
  load("# nothing here\n");
  EXPECT_TRUE(has("main.yaml", 1, 1, "the configuration is empty"));
}

TEST_F(ConfigTest, MoreThanOneDocumentIsAnError) {
  load("nodes: {}\n---\nnodes: {}\n");
  EXPECT_TRUE(has("main.yaml", 2, 1,
                  "a configuration file holds one YAML document, but a second one starts here"));
}

TEST_F(ConfigTest, UnknownTopLevelKeySuggestsTheClosest) {
  load("nodes: {}\npluginz: [a]\nfrobnicate: 1\n");
  ASSERT_TRUE(has("main.yaml", 2, 1, "unknown top-level key 'pluginz'"));
  EXPECT_EQ(find("'pluginz'")->hint, "did you mean 'plugins'?");
  ASSERT_TRUE(has("main.yaml", 3, 1, "unknown top-level key 'frobnicate'"));
  EXPECT_EQ(find("'frobnicate'")->hint, "the top-level keys are: nodes, include, plugins, threads");
}

TEST_F(ConfigTest, MisspeltNodesIsOneErrorNotTwo) {
  load("node:\n  a: {type: x.y}\n");
  ASSERT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(diagnostics_[0].format(),
            "main.yaml:1:1: error: unknown top-level key 'node'\n  hint: did you mean 'nodes'?");
}

TEST_F(ConfigTest, NodesIsRequired) {
  load("threads: 2\n");
  EXPECT_TRUE(has("main.yaml", 1, 1, "the configuration has no 'nodes' map"));
}

TEST_F(ConfigTest, MalformedNodesAreReported) {
  auto doc = load(
      "nodes:\n"
      "  9lives: {type: model.softmax}\n"  // 2: bad name
      "  notype: {classes: 3}\n"           // 3: no type
      "  scalar: 42\n"                     // 4: not a map
      "  listtype: {type: [a, b]}\n"       // 5: type not a string
      "  emptytype: {type: ''}\n"          // 6: empty type
      "  good: {type: model.softmax}\n");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(has("main.yaml", 2, 3, "invalid node name '9lives'"));
  EXPECT_TRUE(has("main.yaml", 3, 3, "node 'notype' has no 'type'"));
  EXPECT_TRUE(
      has("main.yaml", 4, 11, "node 'scalar' must be a map with a 'type' key, but is a scalar"));
  EXPECT_TRUE(
      has("main.yaml", 5, 20, "the type of node 'listtype' must be a string, but is a list"));
  EXPECT_TRUE(has("main.yaml", 6, 21, "the type of node 'emptytype' is empty"));
  EXPECT_EQ(diagnostics_.size(), 5u) << formatDiagnostics(diagnostics_);
  // Every node is still declared, so references to it do not cause more errors later.
  EXPECT_EQ(doc->nodes.size(), 6u);
}

TEST_F(ConfigTest, DuplicateKeysAreErrors) {
  load(
      "nodes:\n"
      "  a:\n"
      "    type: model.softmax\n"
      "    classes: 3\n"
      "    classes: 4\n"
      "  a: {type: model.linear}\n"
      "threads: 1\n"
      "threads: 2\n");
  EXPECT_TRUE(has("main.yaml", 5, 5,
                  "duplicate key 'classes' in node 'a'; it was first given at main.yaml:4:5"));
  EXPECT_TRUE(
      has("main.yaml", 6, 3, "node 'a' is defined twice; it was first defined at main.yaml:2:3"));
  EXPECT_TRUE(has("main.yaml", 8, 1,
                  "duplicate top-level key 'threads'; it was first given at main.yaml:7:1"));
  EXPECT_EQ(diagnostics_.size(), 3u) << formatDiagnostics(diagnostics_);
}

TEST_F(ConfigTest, ThreadsMustBeAPositiveInteger) {
  for (const char* bad : {"0", "-1", "2.5", "many", "[1]", "99999999999"}) {
    load(std::string("threads: ") + bad + "\nnodes: {}\n");
    ASSERT_EQ(diagnostics_.size(), 1u) << bad;
    EXPECT_EQ(diagnostics_[0].where.line, 1);
    EXPECT_EQ(diagnostics_[0].where.column, 10);
    EXPECT_NE(diagnostics_[0].message.find("'threads' must be an integer of at least 1"),
              std::string::npos)
        << diagnostics_[0].message;
  }
}

TEST_F(ConfigTest, IncludesAreMergedAtTheIncludePointAndNested) {
  write("common/storage.yaml",
        "include: ../shared/base.yaml\n"
        "plugins: plugins\n"
        "nodes:\n"
        "  store: {type: storage.fs, path: data}\n");
  write("shared/base.yaml", "threads: 7\nnodes:\n  base: {type: collective.local}\n");
  auto doc = load(
      "nodes:\n"
      "  first: {type: model.softmax}\n"
      "include: [common/storage.yaml]\n"
      "plugins: [mine]\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << formatDiagnostics(diagnostics_);
  ASSERT_EQ(doc->nodes.size(), 3u);
  EXPECT_EQ(doc->nodes[0].name, "first");
  EXPECT_EQ(doc->nodes[1].name, "base");
  EXPECT_EQ(doc->nodes[1].where.file, dirFile("shared/base.yaml"));
  EXPECT_EQ(doc->nodes[1].where.line, 3);
  EXPECT_EQ(doc->nodes[1].base_dir, dir_ / "shared");
  EXPECT_EQ(doc->nodes[2].name, "store");
  EXPECT_EQ(doc->nodes[2].where.file, dirFile("common/storage.yaml"));
  EXPECT_EQ(doc->nodes[2].base_dir, dir_ / "common");
  EXPECT_EQ(param(doc->nodes[2], "path")->value_where.file, dirFile("common/storage.yaml"));
  // Plugins resolve against the file that names them.
  ASSERT_EQ(doc->plugin_paths.size(), 2u);
  EXPECT_EQ(doc->plugin_paths[0], dir_ / "common/plugins");
  EXPECT_EQ(doc->plugin_paths[1], dir_ / "mine");
  // No top-level threads: the included one applies.
  EXPECT_EQ(doc->threads, 7);
}

TEST_F(ConfigTest, TopLevelThreadsWinsOverIncludes) {
  write("a.yaml", "threads: 7\nnodes: {}\n");
  auto doc = load("threads: 2\ninclude: a.yaml\nnodes: {}\n");
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->threads, 2);
}

TEST_F(ConfigTest, MissingIncludeIsAnErrorAtTheEntry) {
  auto doc = load("include:\n  - there.yaml\n  - missing.yaml\nnodes: {}\n");
  write("there.yaml", "nodes: {}\n");
  doc = load("include:\n  - there.yaml\n  - missing.yaml\nnodes: {}\n");
  EXPECT_FALSE(doc);
  ASSERT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(has("main.yaml", 3, 5,
                  "cannot read included file '" + dirFile("missing.yaml") + "': no such file"));
}

TEST_F(ConfigTest, IncludeCyclesAreReportedAtTheClosingInclude) {
  write("a.yaml", "include: b.yaml\nnodes:\n  a: {type: x.a}\n");
  write("b.yaml", "nodes:\n  b: {type: x.b}\ninclude: [a.yaml]\n");
  diagnostics_.clear();
  auto doc = loadConfig(dir_ / "a.yaml", diagnostics_);
  ASSERT_TRUE(doc);
  ASSERT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
  std::string a = (dir_ / "a.yaml").string(), b = (dir_ / "b.yaml").string();
  EXPECT_TRUE(has(b, 3, 11, "include cycle: " + a + " -> " + b + " -> " + a));
  ASSERT_EQ(doc->nodes.size(), 2u);
}

TEST_F(ConfigTest, SelfIncludeIsACycle) {
  write("self.yaml", "include: self.yaml\nnodes: {}\n");
  diagnostics_.clear();
  auto doc = loadConfig(dir_ / "self.yaml", diagnostics_);
  std::string self = (dir_ / "self.yaml").string();
  EXPECT_TRUE(has(self, 1, 10, "include cycle: " + self + " -> " + self));
}

TEST_F(ConfigTest, ADiamondOfIncludesMergesTheSharedFileOnce) {
  write("shared.yaml", "nodes:\n  store: {type: storage.fs}\n");
  write("left.yaml", "include: shared.yaml\nnodes:\n  left: {type: x.l}\n");
  write("right.yaml", "include: shared.yaml\nnodes:\n  right: {type: x.r}\n");
  auto doc = load("include: [left.yaml, right.yaml]\nnodes: {}\n");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(diagnostics_.empty()) << formatDiagnostics(diagnostics_);
  ASSERT_EQ(doc->nodes.size(), 3u);
  EXPECT_EQ(doc->nodes[0].name, "store");
  EXPECT_EQ(doc->nodes[1].name, "left");
  EXPECT_EQ(doc->nodes[2].name, "right");
}

TEST_F(ConfigTest, NodeDefinedInTwoFilesNamesBothPlaces) {
  write("common.yaml", "nodes:\n  # the shared store\n  store: {type: storage.fs}\n");
  auto doc = load("include: common.yaml\nnodes:\n  store: {type: storage.sqlite}\n");
  ASSERT_TRUE(doc);
  ASSERT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(has(
      "main.yaml", 3, 3,
      "node 'store' is defined twice; it was first defined at " + dirFile("common.yaml") + ":3:3"));
  ASSERT_EQ(doc->nodes.size(), 1u);
  EXPECT_EQ(doc->nodes[0].type, "storage.fs");
}

TEST_F(ConfigTest, ErrorsInsideAnIncludedFileNameThatFile) {
  write("sub/bad.yaml", "nodes:\n  x: {type: model.softmax, lr: \"${AIMASS_TEST_UNSET_VAR}\"}\n");
  write("sub/broken.yaml", "nodes:\n  y: [1, 2\n");
  ScopedEnv unset("AIMASS_TEST_UNSET_VAR", nullptr);
  auto doc = load("include: [sub/bad.yaml, sub/broken.yaml]\nnodes: {}\n");
  EXPECT_FALSE(doc);  // broken.yaml cannot be parsed
  EXPECT_TRUE(has(dirFile("sub/bad.yaml"), 2, 32,
                  "environment variable 'AIMASS_TEST_UNSET_VAR' is not set (use "
                  "${AIMASS_TEST_UNSET_VAR:-default} to give a default)"));
  ASSERT_EQ(diagnostics_.size(), 2u) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(diagnostics_[1].where.file, dirFile("sub/broken.yaml"));
  EXPECT_EQ(diagnostics_[1].where.line, 3);
}

TEST_F(ConfigTest, LoadConfigReadsAFileAndNamesIncludesRelativeToIt) {
  write("configs/main.yaml", "include: parts/store.yaml\nnodes:\n  a: {type: x.a, p: ./rel}\n");
  write("configs/parts/store.yaml", "nodes:\n  store: {type: storage.fs, zz: \"${}\"}\n");
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  diagnostics_.clear();
  auto doc = loadConfig("configs/main.yaml", diagnostics_);
  fs::current_path(cwd);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->file, fs::path("configs/main.yaml"));
  EXPECT_EQ(doc->base_dir, dir_ / "configs");
  EXPECT_TRUE(has("configs/parts/store.yaml", 2, 33, "malformed variable reference '${}'"));
  ASSERT_EQ(doc->nodes.size(), 2u);
  EXPECT_EQ(doc->nodes[1].where.file, "configs/main.yaml");
  EXPECT_EQ(doc->nodes[0].base_dir, dir_ / "configs/parts");
}

TEST_F(ConfigTest, UnreadableTopLevelFile) {
  diagnostics_.clear();
  auto missing = (dir_ / "nope.yaml").string();
  EXPECT_FALSE(loadConfig(missing, diagnostics_));
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].format(),
            missing + ": error: cannot read configuration file: no such file");
  diagnostics_.clear();
  EXPECT_FALSE(loadConfig(dir_, diagnostics_));
  EXPECT_NE(diagnostics_.at(0).message.find("not a regular file"), std::string::npos);
}

TEST_F(ConfigTest, EnvironmentVariablesAreSubstitutedInValues) {
  ScopedEnv set("AIMASS_TEST_SET", "from-env");
  ScopedEnv empty("AIMASS_TEST_EMPTY", "");
  ScopedEnv unset("AIMASS_TEST_UNSET", nullptr);
  ScopedEnv type("AIMASS_TEST_TYPE", "model.softmax");
  ScopedEnv threads("AIMASS_TEST_THREADS", "4");
  auto doc = load(
      "threads: ${AIMASS_TEST_THREADS}\n"
      "nodes:\n"
      "  n:\n"
      "    type: ${AIMASS_TEST_TYPE}\n"
      "    a: ${AIMASS_TEST_SET}\n"
      "    b: x-${AIMASS_TEST_UNSET:-fallback}-y\n"
      "    c: ${AIMASS_TEST_EMPTY:-used-when-empty}\n"
      "    d: ${AIMASS_TEST_SET:-ignored}\n"
      "    e: price $$5 and $$${AIMASS_TEST_SET}\n"
      "    f: [\"${AIMASS_TEST_SET}\", plain, \"${AIMASS_TEST_EMPTY}\"]\n"
      "    g: a lone $ stays\n"
      "    ${AIMASS_TEST_SET}: keys are not substituted\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_TRUE(diagnostics_.empty()) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(doc->threads, 4);
  const NodeDecl& n = doc->nodes.at(0);
  EXPECT_EQ(n.type, "model.softmax");
  EXPECT_EQ(n.type_where.column, 11);
  EXPECT_EQ(param(n, "a")->value.Scalar(), "from-env");
  EXPECT_EQ(param(n, "a")->value_where.line, 5);
  EXPECT_EQ(param(n, "a")->value_where.column, 8);
  EXPECT_EQ(param(n, "b")->value.Scalar(), "x-fallback-y");
  EXPECT_EQ(param(n, "c")->value.Scalar(), "used-when-empty");
  EXPECT_EQ(param(n, "d")->value.Scalar(), "from-env");
  EXPECT_EQ(param(n, "e")->value.Scalar(), "price $5 and $from-env");
  const YAML::Node& f = param(n, "f")->value;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].Scalar(), "from-env");
  EXPECT_EQ(f[0].Mark().column, 8);  // element marks keep pointing at the original text
  EXPECT_EQ(f[1].Scalar(), "plain");
  EXPECT_EQ(f[2].Scalar(), "");
  EXPECT_EQ(param(n, "g")->value.Scalar(), "a lone $ stays");
  EXPECT_NE(param(n, "${AIMASS_TEST_SET}"), nullptr);
}

TEST_F(ConfigTest, AnErrorAboutASubstitutedValueNamesTheVariableNotTheValue) {
  ScopedEnv secret("AIMASS_TEST_SECRET", "sekrit-value-123");
  load("threads: ${AIMASS_TEST_SECRET}\nnodes: {}\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].format(),
            "main.yaml:1:10: error: 'threads' must be an integer of at least 1, but the value of "
            "${AIMASS_TEST_SECRET} is not");
  EXPECT_EQ(diagnostics_[0].format().find("sekrit"), std::string::npos);

  // Text written in the file, a default included, is still quoted.
  ScopedEnv unset("AIMASS_TEST_UNSET", nullptr);
  load("threads: ${AIMASS_TEST_UNSET:-many}\nnodes: {}\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].message, "'threads' must be an integer of at least 1, but is 'many'");
}

TEST_F(ConfigTest, ANodeKnowsWhichOfItsScalarsCameFromTheEnvironment) {
  ScopedEnv secret("AIMASS_TEST_SECRET", "sekrit-value-123");
  ScopedEnv unset("AIMASS_TEST_UNSET", nullptr);
  auto doc = load(
      "nodes:\n"
      "  n:\n"
      "    type: x.y\n"
      "    a: ${AIMASS_TEST_SECRET}\n"
      "    b: ${AIMASS_TEST_SECRET:-unused}\n"
      "    c: id-${AIMASS_TEST_SECRET}\n"
      "    d: ${AIMASS_TEST_UNSET:-from-the-file}\n"
      "    e: [plain, \"${AIMASS_TEST_SECRET}\"]\n"
      "    f: $${AIMASS_TEST_SECRET}\n"
      "  m: {type: x.y, p: &shared \"${AIMASS_TEST_SECRET}\"}\n"
      "  o: {type: x.y, p: *shared}\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  const NodeDecl& n = doc->nodes.at(0);
  auto words = [&](const NodeDecl& node, int line, int column) {
    const std::string* w = node.fromEnvironment({"main.yaml", line, column});
    return w != nullptr ? *w : std::string("(from the file)");
  };
  EXPECT_EQ(words(n, 4, 8), "the value of ${AIMASS_TEST_SECRET}");
  EXPECT_EQ(words(n, 5, 8), "the value of ${AIMASS_TEST_SECRET}");
  EXPECT_EQ(words(n, 6, 8), "the expansion of 'id-${AIMASS_TEST_SECRET}'");
  EXPECT_EQ(words(n, 7, 8), "(from the file)");
  EXPECT_EQ(words(n, 8, 9), "(from the file)");
  EXPECT_EQ(words(n, 8, 16), "the value of ${AIMASS_TEST_SECRET}");
  EXPECT_EQ(words(n, 9, 8), "(from the file)");
  EXPECT_EQ(n.from_environment.size(), 4u);
  // An alias in another node shares the scalar, and its words.
  for (std::size_t i : {1u, 2u}) {
    const NodeDecl& node = doc->nodes.at(i);
    const std::string* w = node.fromEnvironment(param(node, "p")->value_where);
    ASSERT_NE(w, nullptr) << node.name;
    EXPECT_EQ(*w, "the value of ${AIMASS_TEST_SECRET}") << node.name;
  }
}

TEST_F(ConfigTest, UnquotedVariableInAFlowCollectionGetsAHint) {
  load("nodes:\n  a: {type: x.y, p: ${HOME}}\n");
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].message, "end of map flow not found");
  EXPECT_EQ(diagnostics_[0].hint,
            "inside {...} and [...] braces end the collection: quote values that use "
            "variables, as in p: \"${VAR}\"");
}

TEST_F(ConfigTest, SubstitutionInIncludeAndPluginPaths) {
  ScopedEnv part("AIMASS_TEST_PART", "parts");
  write("parts/x.yaml", "nodes:\n  x: {type: a.b}\n");
  auto doc =
      load("include: ${AIMASS_TEST_PART}/x.yaml\nplugins: ${AIMASS_TEST_PART}/lib\nnodes: {}\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(doc->nodes.at(0).name, "x");
  EXPECT_EQ(doc->plugin_paths.at(0), dir_ / "parts/lib");
}

TEST_F(ConfigTest, AnAliasedValueIsSubstitutedOnce) {
  ScopedEnv set("AIMASS_TEST_SET", "v");
  auto doc = load(
      "nodes:\n"
      "  a: {type: x.a, p: &shared '$${AIMASS_TEST_SET}'}\n"
      "  b: {type: x.b, p: *shared}\n");
  ASSERT_TRUE(doc) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(param(doc->nodes[0], "p")->value.Scalar(), "${AIMASS_TEST_SET}");
  EXPECT_EQ(param(doc->nodes[1], "p")->value.Scalar(), "${AIMASS_TEST_SET}");
}

TEST_F(ConfigTest, BadVariableReferencesAreErrorsAtTheValue) {
  ScopedEnv unset("AIMASS_TEST_UNSET", nullptr);
  auto doc = load(
      "nodes:\n"
      "  n:\n"
      "    type: x.y\n"
      "    a: ${AIMASS_TEST_UNSET}\n"
      "    b: ${AIMASS_TEST_UNSET\n"
      "    c: ${1ABC}\n"
      "    d: ${AIMASS_TEST_UNSET:default}\n"
      "    e: [ok, '${AIMASS_TEST_UNSET}']\n"
      "    f: ${AIMASS_TEST_UNSET:-${OTHER}}\n");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(has("main.yaml", 4, 8,
                  "environment variable 'AIMASS_TEST_UNSET' is not set (use "
                  "${AIMASS_TEST_UNSET:-default} to give a default)"));
  EXPECT_TRUE(has("main.yaml", 5, 8, "unterminated '${' in '${AIMASS_TEST_UNSET'"));
  EXPECT_TRUE(has("main.yaml", 6, 8, "malformed variable reference '${1ABC}'"));
  EXPECT_TRUE(
      has("main.yaml", 7, 8, "malformed variable reference '${AIMASS_TEST_UNSET:default}'"));
  EXPECT_TRUE(has("main.yaml", 8, 13,
                  "environment variable 'AIMASS_TEST_UNSET' is not set (use "
                  "${AIMASS_TEST_UNSET:-default} to give a default)"));
  EXPECT_TRUE(has("main.yaml", 9, 8,
                  "nested variable reference in the default of '${AIMASS_TEST_UNSET:-${OTHER}'"));
  EXPECT_EQ(diagnostics_.size(), 6u) << formatDiagnostics(diagnostics_);
}

TEST_F(ConfigTest, ReportsEveryErrorInOneRunInFileOrder) {
  write("inc.yaml", "nodes:\n  dup: {type: a.b}\nbogus: 1\n");
  ScopedEnv unset("AIMASS_TEST_UNSET", nullptr);
  load(
      "threads: zero\n"
      "include: inc.yaml\n"
      "nodes:\n"
      "  dup: {type: a.b}\n"
      "  bad name: {type: a.b}\n"
      "  v: {type: a.b, p: '${AIMASS_TEST_UNSET}'}\n"
      "extra: 1\n");
  ASSERT_EQ(diagnostics_.size(), 6u) << formatDiagnostics(diagnostics_);
  // Sorted by file, then line and column.
  EXPECT_EQ(diagnostics_[0].where.file, dirFile("inc.yaml"));
  EXPECT_EQ(diagnostics_[0].message, "unknown top-level key 'bogus'");
  EXPECT_EQ(diagnostics_[1].where.line, 1);
  EXPECT_EQ(diagnostics_[2].where.line, 4);
  EXPECT_EQ(diagnostics_[2].message,
            "node 'dup' is defined twice; it was first defined at " + dirFile("inc.yaml") + ":2:3");
  EXPECT_EQ(diagnostics_[3].message, "invalid node name 'bad name'");
  EXPECT_EQ(diagnostics_[4].where.line, 6);
  EXPECT_EQ(diagnostics_[5].message, "unknown top-level key 'extra'");
}

TEST_F(ConfigTest, SelfReferencingAliasesDoNotHang) {
  auto doc = load("nodes: &n\n  a: {type: x.y, p: &l [*l]}\n  b: *n\n");
  ASSERT_TRUE(doc);
  // b is the nodes map itself: a map without a type, so one error; nothing recurses forever.
  EXPECT_TRUE(has("main.yaml", 3, 3, "node 'b' has no 'type'"));
}

}  // namespace
}  // namespace aimass::core
