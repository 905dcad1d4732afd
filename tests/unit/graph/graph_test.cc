// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/graph.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "aimass/core/host_services.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/storage.h"
#include "scoped_env.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;

using Log = std::vector<std::string>;

/// What a factory saw, copied out of its NodeConfig.
struct Seen {
  std::map<std::string, ParamValue> values;
  std::map<std::string, std::vector<std::string>> ref_names;
  std::map<std::string, std::vector<std::string>> ref_types;
  std::map<std::string, std::vector<Node*>> ref_nodes;
};

/// Records its destruction, so tests can check the order nodes die in.
class Tracked {
 public:
  Tracked(std::string name, Log& log) : name_(std::move(name)), log_(log) {}
  ~Tracked() { log_.push_back("destroy " + name_); }

 private:
  std::string name_;
  Log& log_;
};

class FakeStorage final : public Storage {
 public:
  FakeStorage(std::string name, Log& log) : tracked_(std::move(name), log) {}
  std::string describe() const override { return "fake"; }
  Status put(std::string_view, std::string_view) override { return unimplemented("fake"); }
  Expected<std::string> get(std::string_view) const override { return notFound("fake"); }
  Expected<std::vector<std::string>> list(std::string_view) const override {
    return std::vector<std::string>{};
  }
  Status remove(std::string_view) override { return notFound("fake"); }
  Expected<bool> compareAndSet(std::string_view, std::optional<std::string_view>,
                               std::string_view) override {
    return false;
  }

 private:
  Tracked tracked_;
};

class FakeModel final : public Model {
 public:
  FakeModel(std::string name, Log& log, std::shared_ptr<Storage> store)
      : tracked_(std::move(name), log), store_(std::move(store)) {}
  ModelSchema schema() const override { return {}; }
  bool ready() const override { return false; }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return failedPrecondition("fake");
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return unimplemented("fake"); }
  Status load(std::string_view, std::uint32_t) override { return unimplemented("fake"); }

 private:
  Tracked tracked_;
  std::shared_ptr<Storage> store_;  // kept like a real model would keep its storage
};

class FakeOptimizer final : public GradientOptimizer {
 public:
  FakeOptimizer(std::string name, Log& log) : tracked_(std::move(name), log) {}
  Status begin(std::span<Parameter>) override { return okStatus(); }
  Status step(std::span<Parameter>) override { return okStatus(); }
  double learningRate() const override { return rate_; }
  void setLearningRate(double rate) override { rate_ = rate; }
  Status saveState(std::string&) const override { return okStatus(); }
  Status loadState(std::string_view) override { return okStatus(); }

 private:
  Tracked tracked_;
  double rate_ = 0.1;
};

class FakeJob final : public Job {
 public:
  FakeJob(std::string name, Log& log, std::vector<std::shared_ptr<Node>> deps)
      : tracked_(std::move(name), log), deps_(std::move(deps)) {}
  Status run(Host&, JobProgress&) override { return okStatus(); }

 private:
  Tracked tracked_;
  std::vector<std::shared_ptr<Node>> deps_;
};

/// A registry of fake types whose factories log what they create and what they were given.
class GraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_shared<PluginInfo>();
    plugin_->name = "fake.plugin";
    plugin_->library = "/fake/libaimass_fake.so";
    Log* log = &log_;
    library_ = std::shared_ptr<void>(new int(0), [log](void* p) {
      delete static_cast<int*>(p);
      log->push_back("library released");
    });
    registry_ = std::make_unique<TypeRegistry>();

    add({"storage.mem",
         NodeKind::kStorage,
         "in memory",
         {ParamSpec::path("path", "Where.").withDefault(std::string("data")),
          ParamSpec::integer("capacity", "Slots.").withDefault(std::int64_t{10}).range(1, 1000)},
         [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
           record(c);
           return std::unique_ptr<Node>(std::make_unique<FakeStorage>(c.nodeName(), log_));
         }});
    auto model = [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
      record(c);
      std::shared_ptr<Storage> store = c.has("store") ? c.getRef<Storage>("store") : nullptr;
      return std::unique_ptr<Node>(std::make_unique<FakeModel>(c.nodeName(), log_, store));
    };
    add({"model.softmax",
         NodeKind::kModel,
         "classifier",
         {ParamSpec::integer("classes", "Number of classes.").atLeast(2),
          ParamSpec::number("learning_rate", "Step size.").withDefault(0.1).range(0, 1),
          ParamSpec::string("activation", "Nonlinearity.")
              .withDefault(std::string("relu"))
              .oneOf({"relu", "tanh", "sigmoid"}),
          ParamSpec::list("layers", ParamType::kIntList, "Hidden sizes.")
              .withDefault(std::vector<std::int64_t>{})
              .atLeast(1),
          ParamSpec::ref("store", NodeKind::kStorage, "Where to save.").optional(),
          ParamSpec::boolean("verbose", "Chatty.").withDefault(false),
          ParamSpec::list("tags", ParamType::kStringList, "Labels.").optional(),
          ParamSpec::list("weights", ParamType::kFloatList, "Class weights.").optional(),
          ParamSpec::path("checkpoint", "Checkpoint file.").optional()},
         model});
    add({"model.linear", NodeKind::kModel, "linear", {}, model});
    add({"optimizer.sgd",
         NodeKind::kOptimizer,
         "sgd",
         {ParamSpec::number("lr", "Rate.").withDefault(0.01).atLeast(0)},
         [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
           record(c);
           return std::unique_ptr<Node>(std::make_unique<FakeOptimizer>(c.nodeName(), log_));
         }});
    add({"job.train",
         NodeKind::kJob,
         "train",
         {ParamSpec::ref("model", NodeKind::kModel, "What to train."),
          ParamSpec::ref("optimizer", NodeKind::kOptimizer, "How.").optional(),
          ParamSpec::refList("after", NodeKind::kJob, "Jobs to run first.").optional(),
          ParamSpec::integer("epochs", "Passes.").withDefault(std::int64_t{1}).atLeast(1)},
         [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
           record(c);
           std::vector<std::shared_ptr<Node>> deps = {c.getRef<Node>("model")};
           if (c.has("after")) {
             for (auto& n : c.getRefs<Node>("after")) {
               deps.push_back(n);
             }
           }
           return std::unique_ptr<Node>(std::make_unique<FakeJob>(c.nodeName(), log_, deps));
         }});
    add({"model.failing",
         NodeKind::kModel,
         "fails",
         {},
         [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
           return invalidArgument("classes must divide the batch");
         }});
    add({"model.throwing",
         NodeKind::kModel,
         "throws",
         {},
         [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
           throw std::runtime_error("boom");
         }});
    add({"model.null",
         NodeKind::kModel,
         "null",
         {},
         [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
           return std::unique_ptr<Node>();
         }});
    add({"model.wrongkind",
         NodeKind::kModel,
         "makes storage",
         {},
         [this](const NodeConfig& c) -> Expected<std::unique_ptr<Node>> {
           return std::unique_ptr<Node>(std::make_unique<FakeStorage>(c.nodeName(), log_));
         }});
  }

  void add(NodeType type) {
    Status status = registry_->add(std::move(type), plugin_, library_);
    ASSERT_TRUE(status.ok()) << status.toString();
  }

  void record(const NodeConfig& c) {
    log_.push_back("create " + c.nodeName());
    Seen& s = seen_[c.nodeName()];
    s.values = c.values();
    for (const char* name : {"store", "model", "optimizer", "after"}) {
      if (c.has(name) && c.values().count(name) == 0) {
        s.ref_names[name] = c.refNames(name);
        s.ref_types[name] = c.refTypes(name);
        for (const auto& n : c.getRefs<Node>(name)) {
          s.ref_nodes[name].push_back(n.get());
        }
      }
    }
  }

  /// Loads `text` as /cfg/main.yaml and validates it.
  std::unique_ptr<Graph> validate(const std::string& text, const fs::path& base = "/cfg") {
    diagnostics_.clear();
    auto doc = loadConfigFromString(text, "main.yaml", base, diagnostics_);
    EXPECT_TRUE(doc) << formatDiagnostics(diagnostics_);
    if (!doc) {
      return nullptr;
    }
    return Graph::validate(*doc, *registry_, diagnostics_);
  }

  ::testing::AssertionResult has(int line, int column, const std::string& message,
                                 const std::string& hint = "*") const {
    for (const auto& d : diagnostics_) {
      if (d.where.file == "main.yaml" && d.where.line == line && d.where.column == column &&
          d.message == message && (hint == "*" || d.hint == hint)) {
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure()
           << "no diagnostic main.yaml:" << line << ":" << column << ": " << message
           << (hint == "*" ? "" : "\n  hint: " + hint) << "\namong:\n"
           << formatDiagnostics(diagnostics_);
  }

  std::vector<std::string> order(const Graph& graph) const {
    std::vector<std::string> names;
    for (const auto& n : graph.nodes()) {
      names.push_back(n.decl.name);
    }
    return names;
  }

  Log log_;
  std::map<std::string, Seen> seen_;
  std::shared_ptr<PluginInfo> plugin_;
  std::shared_ptr<void> library_;
  std::unique_ptr<TypeRegistry> registry_;
  Diagnostics diagnostics_;
  HostServices host_{"/cfg", 1};
};

const char* const kValidConfig =
    "nodes:\n"
    "  train:\n"
    "    type: job.train\n"
    "    model: clf\n"
    "    optimizer: opt\n"
    "  clf:\n"
    "    type: model.softmax\n"
    "    classes: 3\n"
    "    store: store\n"
    "    layers: [4, 0x10]\n"
    "    tags: single\n"
    "    weights: [0.5, 1, -2e-1]\n"
    "    verbose: true\n"
    "    checkpoint: ../ckpt/./model.bin\n"
    "    learning_rate: 1\n"
    "  opt: {type: optimizer.sgd}\n"
    "  store: {type: storage.mem}\n";

const ParamValue* valueOf(const GraphNode& node, const std::string& name) {
  for (const auto& [n, v] : node.values) {
    if (n == name) {
      return &v;
    }
  }
  return nullptr;
}

TEST_F(GraphTest, ConvertsValuesFillsDefaultsAndOrdersDependenciesFirst) {
  auto graph = validate(kValidConfig);
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  // opt and store depend on nothing and come in declaration order; clf needs store; train
  // needs clf and opt.
  EXPECT_EQ(order(*graph), (std::vector<std::string>{"opt", "store", "clf", "train"}));

  const GraphNode& clf = graph->nodes()[2];
  EXPECT_EQ(clf.type->type.type, "model.softmax");
  EXPECT_EQ(std::get<std::int64_t>(*valueOf(clf, "classes")), 3);
  EXPECT_EQ(std::get<double>(*valueOf(clf, "learning_rate")), 1.0);
  EXPECT_EQ(std::get<std::string>(*valueOf(clf, "activation")), "relu");
  EXPECT_EQ(std::get<std::vector<std::int64_t>>(*valueOf(clf, "layers")),
            (std::vector<std::int64_t>{4, 16}));
  EXPECT_EQ(std::get<bool>(*valueOf(clf, "verbose")), true);
  // A single scalar is accepted for a list parameter.
  EXPECT_EQ(std::get<std::vector<std::string>>(*valueOf(clf, "tags")),
            (std::vector<std::string>{"single"}));
  EXPECT_EQ(std::get<std::vector<double>>(*valueOf(clf, "weights")),
            (std::vector<double>{0.5, 1.0, -0.2}));
  EXPECT_EQ(std::get<std::string>(*valueOf(clf, "checkpoint")), "/ckpt/model.bin");
  EXPECT_EQ(valueOf(clf, "store"), nullptr);  // references are in refs, not values
  ASSERT_EQ(clf.refs.size(), 1u);
  EXPECT_EQ(clf.refs[0].first, "store");
  EXPECT_EQ(clf.refs[0].second, (std::vector<std::string>{"store"}));

  const GraphNode& store = graph->nodes()[1];
  // Defaults are filled in and a default path resolves against the config's folder.
  EXPECT_EQ(std::get<std::string>(*valueOf(store, "path")), "/cfg/data");
  EXPECT_EQ(std::get<std::int64_t>(*valueOf(store, "capacity")), 10);

  const GraphNode& train = graph->nodes()[3];
  EXPECT_EQ(std::get<std::int64_t>(*valueOf(train, "epochs")), 1);
  ASSERT_EQ(train.refs.size(), 2u);  // model and optimizer; `after` was not given
}

TEST_F(GraphTest, PathsResolveAgainstTheFileThatDeclaresThem) {
  fs::path dir = fs::temp_directory_path() / ("aimass_graph_test_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "sub/store.yaml") << "nodes:\n  s: {type: storage.mem, path: ./blobs}\n"
                                           "  d: {type: storage.mem}\n";
  auto graph = validate("include: sub/store.yaml\nnodes: {}\n", dir);
  fs::remove_all(dir);
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(std::get<std::string>(*valueOf(graph->nodes()[0], "path")),
            (dir / "sub/blobs").string());
  EXPECT_EQ(std::get<std::string>(*valueOf(graph->nodes()[1], "path")),
            (dir / "sub/data").string());
}

TEST_F(GraphTest, ReportsEveryProblemAtItsPlaceInFileOrder) {
  auto graph = validate(
      "nodes:\n"                                                        // 1
      "  clf:\n"                                                        // 2
      "    type: model.sofmax\n"                                        // 3
      "    bogus: 1\n"                                                  // 4
      "  m:\n"                                                          // 5
      "    type: model.softmax\n"                                       // 6
      "    learning_rat: 0.5\n"                                         // 7
      "    classes: 3.5\n"                                              // 8
      "    verbose: yes\n"                                              // 9
      "    activation: relux\n"                                         // 10
      "    layers: [4, x, 0]\n"                                         // 11
      "    store: stor\n"                                               // 12
      "  n:\n"                                                          // 13
      "    type: model.softmax\n"                                       // 14
      "    learning_rate: 1.5\n"                                        // 15
      "    store: opt\n"                                                // 16
      "    weights: {a: 1}\n"                                           // 17
      "    tags: [[a]]\n"                                               // 18
      "  opt: {type: optimizer.sgd, lr: fast}\n"                        // 19
      "  store: {type: storage.mem, capacity: 99999999999999999999}\n"  // 20
      "  t:\n"                                                          // 21
      "    type: job.train\n"                                           // 22
      "    model: opt\n"                                                // 23
      "    epochs: ~\n"                                                 // 24
      "    zzz: 1\n"                                                    // 25
      "  q: {type: qqq.zzz}\n");                                        // 26
  EXPECT_FALSE(graph);
  EXPECT_TRUE(
      has(3, 11, "node 'clf' has unknown type 'model.sofmax'", "did you mean 'model.softmax'?"));
  EXPECT_TRUE(has(7, 5, "node 'm' (model.softmax) has no parameter 'learning_rat'",
                  "did you mean 'learning_rate'?"));
  EXPECT_TRUE(has(8, 14, "parameter 'classes' of node 'm' must be an integer, but is '3.5'"));
  EXPECT_TRUE(has(9, 14, "parameter 'verbose' of node 'm' must be true or false, but is 'yes'"));
  EXPECT_TRUE(has(10, 17,
                  "parameter 'activation' of node 'm' must be one of: relu, tanh, sigmoid, but "
                  "is 'relux'",
                  "did you mean 'relu'?"));
  EXPECT_TRUE(
      has(11, 17, "element 2 of parameter 'layers' of node 'm' must be an integer, but is 'x'"));
  EXPECT_TRUE(
      has(11, 20, "element 3 of parameter 'layers' of node 'm' must be at least 1, but is 0"));
  EXPECT_TRUE(has(12, 12, "parameter 'store' of node 'm' refers to an unknown node 'stor'",
                  "did you mean 'store'?"));
  EXPECT_TRUE(has(13, 3, "node 'n' (model.softmax) is missing the required parameter 'classes'",
                  "classes (int): Number of classes."));
  EXPECT_TRUE(has(15, 20, "parameter 'learning_rate' of node 'n' must be in [0, 1], but is 1.5"));
  EXPECT_TRUE(has(16, 12,
                  "parameter 'store' of node 'n' must name a storage node, but 'opt' is an "
                  "optimizer node (optimizer.sgd)"));
  EXPECT_TRUE(has(17, 14, "parameter 'weights' of node 'n' must be a list, not a map"));
  EXPECT_TRUE(
      has(18, 12, "element 1 of parameter 'tags' of node 'n' must be a string, not a list"));
  EXPECT_TRUE(has(19, 34, "parameter 'lr' of node 'opt' must be a number, but is 'fast'"));
  EXPECT_TRUE(has(20, 40,
                  "parameter 'capacity' of node 'store' is outside the 64-bit integer range: "
                  "'99999999999999999999'"));
  EXPECT_TRUE(has(23, 12,
                  "parameter 'model' of node 't' must name a model node, but 'opt' is an "
                  "optimizer node (optimizer.sgd)"));
  EXPECT_TRUE(has(24, 5, "parameter 'epochs' of node 't' has no value"));
  EXPECT_TRUE(has(25, 5, "node 't' (job.train) has no parameter 'zzz'",
                  "the parameters of job.train are: model, optimizer, after, epochs"));
  EXPECT_TRUE(has(26, 13, "node 'q' has unknown type 'qqq.zzz'",
                  "no loaded plugin provides it; 'aimass plugins list' shows the known types"));
  // Nothing else: in particular 'bogus' on the node of unknown type is not reported.
  EXPECT_EQ(diagnostics_.size(), 19u) << formatDiagnostics(diagnostics_);
  for (std::size_t i = 1; i < diagnostics_.size(); ++i) {
    const auto& a = diagnostics_[i - 1].where;
    const auto& b = diagnostics_[i].where;
    EXPECT_TRUE(a.line < b.line || (a.line == b.line && a.column <= b.column))
        << formatDiagnostics(diagnostics_);
  }
}

TEST_F(GraphTest, IntegersFloatsAndBooleansFollowYamlRules) {
  auto graph = validate(
      "nodes:\n"
      "  a: {type: model.softmax, classes: -0x7fffffffffffffff, learning_rate: 5e-1,"
      " verbose: FALSE, weights: [.inf, -1, 2.]}\n");
  ASSERT_FALSE(graph);  // classes must be at least 2
  EXPECT_TRUE(has(2, 37,
                  "parameter 'classes' of node 'a' must be at least 2, but is "
                  "-9223372036854775807"));
  EXPECT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);

  graph = validate("nodes:\n  a: {type: model.softmax, classes: 9223372036854775807}\n");
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(std::get<std::int64_t>(*valueOf(graph->nodes()[0], "classes")), INT64_MAX);

  for (const char* bad : {"1e3", "3.0", "+", "0x", "12abc", "nan"}) {
    graph = validate(std::string("nodes:\n  a: {type: model.softmax, classes: '") + bad + "'}\n");
    EXPECT_FALSE(graph) << bad;
    EXPECT_TRUE(has(
        2, 37,
        std::string("parameter 'classes' of node 'a' must be an integer, but is '") + bad + "'"));
  }
  for (const char* bad : {"nan", ".nan", "inf", "1e", "0x10", "1,5"}) {
    graph = validate(std::string("nodes:\n  a: {type: optimizer.sgd, lr: '") + bad + "'}\n");
    EXPECT_TRUE(has(
        2, 32, std::string("parameter 'lr' of node 'a' must be a number, but is '") + bad + "'"));
  }
}

// A value from the environment may be a secret: errors about it name the variable instead.
TEST_F(GraphTest, ErrorsAboutASubstitutedValueNameTheVariableAndNeverPrintTheValue) {
  aimass::testing::ScopedEnv secret("AIMASS_TEST_SECRET", "sekrit-value-123");
  aimass::testing::ScopedEnv big("AIMASS_TEST_BIG", "99999999999999999999");
  aimass::testing::ScopedEnv unset("AIMASS_TEST_MODEL", nullptr);
  auto graph = validate(
      "nodes:\n"                                                                    // 1
      "  m:\n"                                                                      // 2
      "    type: model.softmax\n"                                                   // 3
      "    classes: \"${AIMASS_TEST_SECRET}\"\n"                                    // 4
      "    learning_rate: ${AIMASS_TEST_SECRET:-0.5}\n"                             // 5
      "    activation: ${AIMASS_TEST_SECRET}\n"                                     // 6
      "    verbose: x${AIMASS_TEST_SECRET}\n"                                       // 7
      "    layers: [4, \"${AIMASS_TEST_SECRET}\", \"${AIMASS_TEST_BIG}\"]\n"        // 8
      "    store: ${AIMASS_TEST_SECRET}\n"                                          // 9
      "  t: {type: job.train, model: m, optimizer: \"${AIMASS_TEST_MODEL:-m}\"}\n"  // 10
      "  u: {type: \"${AIMASS_TEST_SECRET}\"}\n"                                    // 11
      "  v: {type: optimizer.sgd, lr: '${AIMASS_TEST_SECRET}'}\n");                 // 12
  EXPECT_FALSE(graph);
  EXPECT_TRUE(has(4, 14,
                  "parameter 'classes' of node 'm' must be an integer, but the value of "
                  "${AIMASS_TEST_SECRET} is not"));
  EXPECT_TRUE(has(5, 20,
                  "parameter 'learning_rate' of node 'm' must be a number, but the value of "
                  "${AIMASS_TEST_SECRET} is not"));
  EXPECT_TRUE(has(6, 17,
                  "parameter 'activation' of node 'm' must be one of: relu, tanh, sigmoid, but "
                  "the value of ${AIMASS_TEST_SECRET} is not"));
  EXPECT_TRUE(has(7, 14,
                  "parameter 'verbose' of node 'm' must be true or false, but the expansion of "
                  "'x${AIMASS_TEST_SECRET}' is not"));
  EXPECT_TRUE(has(8, 17,
                  "element 2 of parameter 'layers' of node 'm' must be an integer, but the value "
                  "of ${AIMASS_TEST_SECRET} is not"));
  EXPECT_TRUE(has(8, 42,
                  "element 3 of parameter 'layers' of node 'm' is outside the 64-bit integer "
                  "range: the value of ${AIMASS_TEST_BIG}"));
  EXPECT_TRUE(has(9, 12,
                  "parameter 'store' of node 'm' refers to an unknown node: the value of "
                  "${AIMASS_TEST_SECRET} names none"));
  // A default written in the file is the file's own text, and is still quoted.
  EXPECT_TRUE(has(10, 45,
                  "parameter 'optimizer' of node 't' must name an optimizer node, but 'm' is a "
                  "model node (model.softmax)"));
  EXPECT_TRUE(has(11, 13, "node 'u' has unknown type (the value of ${AIMASS_TEST_SECRET})"));
  EXPECT_TRUE(has(12, 32,
                  "parameter 'lr' of node 'v' must be a number, but the value of "
                  "${AIMASS_TEST_SECRET} is not"));
  EXPECT_EQ(diagnostics_.size(), 10u) << formatDiagnostics(diagnostics_);
  for (const auto& d : diagnostics_) {
    EXPECT_EQ(d.format().find("sekrit"), std::string::npos) << d.format();
    EXPECT_EQ(d.format().find("99999"), std::string::npos) << d.format();
  }

  aimass::testing::ScopedEnv optimizer("AIMASS_TEST_OPTIMIZER", "m");
  aimass::testing::ScopedEnv range("AIMASS_TEST_RANGE", "5000");
  validate(
      "nodes:\n"
      "  m: {type: model.softmax, classes: 2}\n"
      "  s: {type: storage.mem, capacity: \"${AIMASS_TEST_RANGE}\"}\n"
      "  t: {type: job.train, model: m, optimizer: \"${AIMASS_TEST_OPTIMIZER}\"}\n");
  EXPECT_TRUE(has(3, 36,
                  "parameter 'capacity' of node 's' must be in [1, 1000], but the value of "
                  "${AIMASS_TEST_RANGE} is not"));
  EXPECT_TRUE(has(4, 45,
                  "parameter 'optimizer' of node 't' must name an optimizer node, but the value "
                  "of ${AIMASS_TEST_OPTIMIZER} names a model node (model.softmax)"));
  EXPECT_EQ(diagnostics_.size(), 2u) << formatDiagnostics(diagnostics_);
}

TEST_F(GraphTest, ReportsEachCycleOnceAtTheReferenceThatClosesIt) {
  auto graph = validate(
      "nodes:\n"
      "  a: {type: job.train, model: m, after: [b]}\n"
      "  b: {type: job.train, model: m, after: c}\n"
      "  c: {type: job.train, model: m, after: [a]}\n"
      "  m: {type: model.linear}\n"
      "  s: {type: job.train, model: m, after: [s]}\n");
  EXPECT_FALSE(graph);
  EXPECT_TRUE(has(4, 42, "dependency cycle: a -> b -> c -> a"));
  EXPECT_TRUE(has(6, 42, "dependency cycle: s -> s"));
  EXPECT_EQ(diagnostics_.size(), 2u) << formatDiagnostics(diagnostics_);
}

TEST_F(GraphTest, AHandBuiltDocumentWithoutATypeIsReported) {
  ConfigDocument doc;
  doc.file = "built";
  NodeDecl decl;
  decl.name = "loose";
  decl.where = {"built", 1, 1};
  doc.nodes.push_back(decl);
  diagnostics_.clear();
  EXPECT_FALSE(Graph::validate(doc, *registry_, diagnostics_));
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].format(),
            "built:1:1: error: node 'loose' has no 'type'\n  hint: every node names its type, "
            "for example 'type: model.softmax'");
}

TEST_F(GraphTest, AVeryLongChainOfReferencesIsOrderedWithoutRecursion) {
  constexpr int kLength = 20000;
  ConfigDocument doc;
  doc.file = "built";
  auto declare = [&](std::string name, std::string type, std::vector<ParamDecl> params) {
    NodeDecl decl;
    decl.name = std::move(name);
    decl.type = std::move(type);
    decl.where = {"built", static_cast<int>(doc.nodes.size()) + 1, 1};
    decl.params = std::move(params);
    doc.nodes.push_back(std::move(decl));
  };
  // j0 runs after j1, which runs after j2, ...: declared in the opposite order to the one
  // they must be created in.
  for (int i = 0; i < kLength; ++i) {
    std::vector<ParamDecl> params = {{"model", {}, YAML::Node("m"), {"built", i + 1, 2}}};
    if (i + 1 < kLength) {
      params.push_back({"after", {}, YAML::Node("j" + std::to_string(i + 1)), {"built", i + 1, 3}});
    }
    declare("j" + std::to_string(i), "job.train", std::move(params));
  }
  declare("m", "model.linear", {});
  diagnostics_.clear();
  auto graph = Graph::validate(doc, *registry_, diagnostics_);
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  const auto& nodes = graph->nodes();
  ASSERT_EQ(nodes.size(), static_cast<std::size_t>(kLength) + 1);
  EXPECT_EQ(nodes[0].decl.name, "m");
  EXPECT_EQ(nodes[1].decl.name, "j" + std::to_string(kLength - 1));
  EXPECT_EQ(nodes.back().decl.name, "j0");

  // Closing the chain into a loop is one cycle, reported once.
  doc.nodes.back().params.clear();
  doc.nodes[kLength - 1].params.push_back({"after", {}, YAML::Node("j0"), {"built", kLength, 3}});
  diagnostics_.clear();
  EXPECT_FALSE(Graph::validate(doc, *registry_, diagnostics_));
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_EQ(diagnostics_[0].where.line, kLength);
  EXPECT_EQ(diagnostics_[0].message.rfind("dependency cycle: j0 -> j1 -> j2 -> ", 0), 0u);
}

TEST_F(GraphTest, LoadErrorsMakeValidateFailToo) {
  diagnostics_.clear();
  auto doc = loadConfigFromString("extra: 1\nnodes:\n  m: {type: model.linear}\n", "main.yaml",
                                  "/cfg", diagnostics_);
  ASSERT_TRUE(doc);
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_FALSE(Graph::validate(*doc, *registry_, diagnostics_));
  EXPECT_EQ(diagnostics_.size(), 1u);
}

TEST_F(GraphTest, InstantiatesInOrderWithResolvedReferencesAndDestroysInReverse) {
  auto graph = validate(kValidConfig);
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  ASSERT_TRUE(graph->instantiate(host_).ok());
  EXPECT_EQ(log_, (Log{"create opt", "create store", "create clf", "create train"}));

  // References reach the factory as the instances the graph created, with names and types.
  EXPECT_EQ(seen_["clf"].ref_nodes["store"], (std::vector<Node*>{graph->node("store").get()}));
  EXPECT_EQ(seen_["clf"].ref_types["store"], (std::vector<std::string>{"storage.mem"}));
  EXPECT_EQ(seen_["train"].ref_nodes["model"], (std::vector<Node*>{graph->node("clf").get()}));
  EXPECT_EQ(seen_["train"].ref_names["optimizer"], (std::vector<std::string>{"opt"}));
  EXPECT_EQ(seen_["train"].ref_nodes["optimizer"], (std::vector<Node*>{graph->node("opt").get()}));
  EXPECT_EQ(std::get<std::int64_t>(seen_["clf"].values.at("classes")), 3);
  EXPECT_EQ(std::get<std::string>(seen_["store"].values.at("path")), "/cfg/data");

  EXPECT_EQ(graph->node("clf")->kind(), NodeKind::kModel);
  EXPECT_EQ(graph->node("nope"), nullptr);
  {
    auto models = graph->nodesOfKind(NodeKind::kModel);
    ASSERT_EQ(models.size(), 1u);
    EXPECT_EQ(models[0].first, "clf");
    EXPECT_EQ(models[0].second, graph->node("clf"));
    EXPECT_EQ(graph->nodesOfKind(NodeKind::kFrontend).size(), 0u);
  }

  Status again = graph->instantiate(host_);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);

  log_.clear();
  graph.reset();
  EXPECT_EQ(log_, (Log{"destroy train", "destroy clf", "destroy store", "destroy opt"}));
}

TEST_F(GraphTest, FactoryFailureNamesTheNodeAndUndoesWhatWasCreated) {
  auto graph = validate(
      "nodes:\n"
      "  store: {type: storage.mem}\n"
      "  opt: {type: optimizer.sgd}\n"
      "  bad: {type: model.failing}\n"
      "  late: {type: model.linear}\n");
  ASSERT_TRUE(graph) << formatDiagnostics(diagnostics_);
  Status status = graph->instantiate(host_);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "node 'bad' (model.failing) at main.yaml:4:3: classes must divide the batch");
  EXPECT_EQ(log_, (Log{"create store", "create opt", "destroy opt", "destroy store"}));
  EXPECT_EQ(graph->node("store"), nullptr);
  EXPECT_EQ(graph->node("late"), nullptr);
}

TEST_F(GraphTest, ThrowingFactoryIsCaughtAndNamed) {
  auto graph = validate("nodes:\n  s: {type: storage.mem}\n  boom: {type: model.throwing}\n");
  ASSERT_TRUE(graph);
  Status status = graph->instantiate(host_);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "node 'boom' (model.throwing) at main.yaml:3:3: the factory of plugin 'fake.plugin' "
            "threw an exception: boom");
  EXPECT_EQ(log_, (Log{"create s", "destroy s"}));
}

TEST_F(GraphTest, NullNodeAndWrongKindAreRefused) {
  auto graph = validate("nodes:\n  n: {type: model.null}\n");
  ASSERT_TRUE(graph);
  Status status = graph->instantiate(host_);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "node 'n' (model.null) at main.yaml:2:3: the factory of plugin 'fake.plugin' returned "
            "no node");

  graph = validate("nodes:\n  w: {type: model.wrongkind}\n");
  ASSERT_TRUE(graph);
  status = graph->instantiate(host_);
  EXPECT_EQ(status.code(), StatusCode::kInternal);
  EXPECT_EQ(status.message(),
            "node 'w' (model.wrongkind) at main.yaml:2:3: plugin 'fake.plugin' made a storage "
            "node, but model.wrongkind is registered as a model type");
  EXPECT_EQ(log_, (Log{"destroy w"}));  // the stray node is not leaked
}

TEST_F(GraphTest, ANodeKeepsItsPluginLibraryUntilItIsDestroyed) {
  auto graph = validate("nodes:\n  s: {type: storage.mem}\n");
  ASSERT_TRUE(graph);
  ASSERT_TRUE(graph->instantiate(host_).ok());
  std::shared_ptr<Node> kept = graph->node("s");
  graph.reset();
  registry_.reset();
  library_.reset();
  EXPECT_EQ(log_, (Log{"create s"}));  // the node still holds the library
  kept.reset();
  EXPECT_EQ(log_, (Log{"create s", "destroy s", "library released"}));
}

}  // namespace
}  // namespace aimass::core
