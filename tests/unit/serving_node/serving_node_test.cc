// SPDX-License-Identifier: Apache-2.0
// The built-in serving.runtime node: its parameters read from YAML as `aimass validate` and
// `aimass run` read them (the `models` map of records, each mistake at its FILE:LINE:COL),
// what it hands the serving runtime, and the runtime's refusal of a second one.
#include "serving_node.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/runtime.h"
#include "aimass/core/type_registry.h"
#include "aimass/frontend.h"
#include "map_storage.h"

namespace aimass::core {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;

/// A frontend that notes, when it starts, the batching every model gets from the host's
/// runtime: what a real frontend would serve with.
class ProbeFrontend final : public Frontend {
 public:
  explicit ProbeFrontend(std::int64_t* seen) : seen_(seen) {}
  Status start(Host& host) override {
    *seen_ = host.serving()->batching("any").max_batch_size;
    host.log(LogLevel::kInfo, "probe", "started");
    return Status();
  }
  void stop() noexcept override {}
  std::string endpoint() const override { return "probe:"; }

 private:
  std::int64_t* seen_;
};

/// A storage node over one MapStorage that outlives the graphs, so runs share what they wrote.
class SharedStorage final : public Storage {
 public:
  explicit SharedStorage(std::shared_ptr<testing::MapStorage> map) : map_(std::move(map)) {}
  std::string describe() const override { return "shared:test"; }
  Status put(std::string_view key, std::string_view value) override {
    return map_->put(key, value);
  }
  Expected<std::string> get(std::string_view key) const override { return map_->get(key); }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    return map_->list(prefix);
  }
  Status remove(std::string_view key) override { return map_->remove(key); }
  Expected<bool> compareAndSet(std::string_view key, std::optional<std::string_view> expected,
                               std::string_view desired) override {
    return map_->compareAndSet(key, expected, desired);
  }

 private:
  std::shared_ptr<testing::MapStorage> map_;
};

/// A model that learns online: "count" answers how many observations it learned.
class Learner final : public Model, public OnlineLearning {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRecommendation;
    s.inputs = {{"user", DType::kBytes, {-1}}};
    s.outputs = {{"count", DType::kInt64, {-1}}};
    return s;
  }
  bool ready() const override { return true; }
  OnlineLearning* onlineLearning() const override { return const_cast<Learner*>(this); }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const std::int64_t n = inputs.find("user")->dim(0);
    outputs.set("count", Tensor::fromVector<std::int64_t>(
                             std::vector<std::int64_t>(static_cast<std::size_t>(n), learned), {n}));
    return Status();
  }
  std::vector<TensorSpec> observationInputs() const override {
    return {{"user", DType::kBytes, {-1}}};
  }
  Status learn(const TensorMap& observations) override {
    learned += observations.find("user")->dim(0);
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "learner";
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }

  std::atomic<std::int64_t> learned{0};
};

class ServingNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registerBuiltinTypes(registry_);
    NodeType probe;
    probe.type = "frontend.probe";
    probe.kind = NodeKind::kFrontend;
    probe.summary = "Notes the batching it would serve with";
    probe.factory = [this](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
      return std::unique_ptr<Node>(std::make_unique<ProbeFrontend>(&seen_batch_));
    };
    ASSERT_TRUE(registry_.add(std::move(probe), nullptr, nullptr).ok());
    NodeType store;
    store.type = "storage.map";
    store.kind = NodeKind::kStorage;
    store.summary = "Records in memory";
    store.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
      return std::unique_ptr<Node>(std::make_unique<testing::MapStorage>());
    };
    ASSERT_TRUE(registry_.add(std::move(store), nullptr, nullptr).ok());
    NodeType shared;
    shared.type = "storage.shared";
    shared.kind = NodeKind::kStorage;
    shared.summary = "Records every run shares";
    shared.factory = [this](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
      return std::unique_ptr<Node>(std::make_unique<SharedStorage>(shared_));
    };
    ASSERT_TRUE(registry_.add(std::move(shared), nullptr, nullptr).ok());
    NodeType learner;
    learner.type = "model.learner";
    learner.kind = NodeKind::kModel;
    learner.summary = "Counts what it learned";
    learner.factory = [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
      return std::unique_ptr<Node>(std::make_unique<Learner>());
    };
    ASSERT_TRUE(registry_.add(std::move(learner), nullptr, nullptr).ok());
  }

  /// The graph of `params` (the text after "nodes:\n  serving:\n    type: serving.runtime\n"),
  /// validated; null with diagnostics_ filled on a mistake.
  std::unique_ptr<Graph> validate(const std::string& params, const std::string& more = "") {
    diagnostics_.clear();
    const std::string text = "nodes:\n  serving:\n    type: serving.runtime\n" + params + more;
    auto document = loadConfigFromString(text, "serve.yaml", ".", diagnostics_);
    if (!document) {
      return nullptr;
    }
    return Graph::validate(*document, registry_, diagnostics_);
  }

  /// The one diagnostic of `params`, formatted.
  std::string error(const std::string& params) {
    EXPECT_EQ(validate(params), nullptr);
    EXPECT_EQ(diagnostics_.size(), 1u) << formatDiagnostics(diagnostics_);
    return diagnostics_.empty() ? std::string() : diagnostics_.front().format();
  }

  /// The node of `params`, made; its status when the factory refuses it.
  Expected<std::shared_ptr<const ServingNode>> make(const std::string& params) {
    graph_ = validate(params);
    if (!graph_) {
      return invalidArgument(formatDiagnostics(diagnostics_));
    }
    AIMASS_RETURN_IF_ERROR(graph_->instantiate(host_));
    return std::static_pointer_cast<const ServingNode>(graph_->node("serving"));
  }

  TypeRegistry registry_;
  std::shared_ptr<testing::MapStorage> shared_ = std::make_shared<testing::MapStorage>();
  std::int64_t seen_batch_ = -1;  ///< what frontend.probe saw when it started
  HostServices host_{".", 1};
  Diagnostics diagnostics_;
  std::unique_ptr<Graph> graph_;
};

TEST_F(ServingNodeTest, ModelsIsAMapOfRecordsOverTheNodesOwnSettings) {
  auto node = make(
      "    max_batch_size: 4\n"
      "    max_queue_size: 9\n"
      "    version_policy: all\n"
      "    models:\n"
      "      iris: {max_batch_size: 32, preferred_batch_sizes: [8, 16], max_queue_delay_us: 200,\n"
      "             queue_timeout_ms: 1000, version_policy: \"latest:2\"}\n"
      "      fashion: {}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  const ServingConfig& config = (*node)->config();
  EXPECT_EQ(config.batching.max_batch_size, 4);
  EXPECT_EQ(config.version_policy.kind, VersionPolicy::Kind::kAll);
  ASSERT_EQ(config.models.size(), 2u);
  const ModelSettings& fashion = config.models[0];  // by name
  const ModelSettings& iris = config.models[1];
  EXPECT_EQ(iris.model, "iris");
  EXPECT_EQ(iris.batching.max_batch_size, 32);
  EXPECT_EQ(iris.batching.preferred_batch_sizes, (std::vector<std::int64_t>{8, 16}));
  EXPECT_EQ(iris.batching.max_queue_delay_us, 200);
  EXPECT_EQ(iris.batching.max_queue_size, 9) << "a field left out takes the node's value";
  EXPECT_EQ(iris.batching.timeout_ms, 1000);
  ASSERT_TRUE(iris.version_policy);
  EXPECT_EQ(iris.version_policy->latest, 2);
  EXPECT_EQ(fashion.batching.max_batch_size, 4);
  EXPECT_FALSE(fashion.version_policy);
  EXPECT_EQ(config.repository, nullptr);

  // What every frontend then reads from the host's serving runtime.
  ServingRuntime& runtime = host_.servingRuntime();
  ASSERT_TRUE((*node)->apply(runtime, host_).ok());
  EXPECT_EQ(runtime.batching("iris").max_batch_size, 32);
  EXPECT_EQ(runtime.batching("fashion").max_batch_size, 4);
  EXPECT_EQ(runtime.batching("other").max_queue_size, 9);
  EXPECT_EQ(runtime.batching("other").max_batch_size, 4);
}

TEST_F(ServingNodeTest, InputValidationIsOffByDefaultANodeSettingAndAPerModelOne) {
  auto defaults = make("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_EQ((*defaults)->config().input_validation.policy, InputPolicy::kOff);
  EXPECT_DOUBLE_EQ((*defaults)->config().input_validation.margin, 0.1);
  auto node = make(
      "    input_validation: warn\n"
      "    input_margin: 0.25\n"
      "    models:\n"
      "      fashion: {input_validation: reject}\n"
      "      iris: {input_margin: 2}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ((*node)->config().input_validation.policy, InputPolicy::kWarn);
  EXPECT_DOUBLE_EQ((*node)->config().input_validation.margin, 0.25);
  ASSERT_EQ((*node)->config().models.size(), 2u);
  EXPECT_EQ((*node)->config().models[0].input_validation, InputPolicy::kReject);
  EXPECT_FALSE((*node)->config().models[0].input_margin) << "left out: the node's";
  EXPECT_FALSE((*node)->config().models[1].input_validation);
  EXPECT_EQ((*node)->config().models[1].input_margin, 2.0);
  EXPECT_THAT(error("    models:\n      iris: {input_validation: strict}\n"),
              HasSubstr("models.iris.input_validation"));
  EXPECT_THAT(error("    input_margin: -1\n"), HasSubstr("input_margin"));
}

TEST_F(ServingNodeTest, OutlierScoresAreOffByDefaultANodeSettingAndAPerModelOne) {
  auto defaults = make("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_FALSE((*defaults)->config().outlier_scores);
  auto node = make(
      "    outlier_scores: on\n"
      "    models:\n"
      "      fashion: {outlier_scores: off}\n"
      "      iris: {max_batch_size: 4}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_TRUE((*node)->config().outlier_scores);
  ASSERT_EQ((*node)->config().models.size(), 2u);
  EXPECT_EQ((*node)->config().models[0].outlier_scores, false);
  EXPECT_FALSE((*node)->config().models[1].outlier_scores) << "left out: the node's";
  EXPECT_THAT(error("    models:\n      iris: {outlier_scores: yes}\n"),
              HasSubstr("models.iris.outlier_scores"));
  EXPECT_THAT(error("    outlier_scores: maybe\n"), HasSubstr("outlier_scores"));
}

TEST_F(ServingNodeTest, PayloadLoggingIsOffByDefaultANodeSettingAndAPerModelOne) {
  auto defaults = make("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  const PayloadLogging& off = (*defaults)->config().payload;
  EXPECT_EQ(off.sample, 0.0);
  EXPECT_TRUE(off.exclude.empty());
  EXPECT_EQ(off.max_rows, 100000);
  EXPECT_EQ(off.max_age_s, 7 * 86400);
  EXPECT_EQ((*defaults)->config().payload_storage, nullptr);

  const std::string stores = "  registry: {type: storage.map}\n  logs: {type: storage.map}\n";
  auto node = make(
      "    repository: registry\n"
      "    payload_sample: 0.1\n"
      "    payload_exclude: [customer]\n"
      "    payload_max_rows: 500\n"
      "    models:\n"
      "      fashion: {payload_sample: 1, payload_exclude: [ssn], payload_max_age_s: 60}\n"
      "      iris: {}\n" + stores);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  const ServingConfig& config = (*node)->config();
  EXPECT_EQ(config.payload.sample, 0.1);
  EXPECT_EQ(config.payload.exclude, (std::vector<std::string>{"customer"}));
  EXPECT_EQ(config.payload.max_rows, 500);
  EXPECT_EQ(config.payload_storage, config.repository) << "the repository by default";
  ASSERT_EQ(config.models.size(), 2u);
  EXPECT_EQ(config.models[0].payload_sample, 1.0);
  EXPECT_EQ(config.models[0].payload_exclude, (std::vector<std::string>{"ssn"}));
  EXPECT_EQ(config.models[0].payload_max_age_s, 60);
  EXPECT_FALSE(config.models[0].payload_max_rows) << "left out: the node's";
  EXPECT_FALSE(config.models[1].payload_sample);

  auto named = make("    repository: registry\n    payload_storage: logs\n" + stores);
  ASSERT_TRUE(named.ok()) << named.status().toString();
  EXPECT_EQ((*named)->config().payload_storage_name, "logs");
  EXPECT_NE((*named)->config().payload_storage, (*named)->config().repository);

  EXPECT_EQ(error("    payload_sample: 1.5\n"),
            "serve.yaml:4:21: error: parameter 'payload_sample' of node 'serving' must be in "
            "[0, 1], but is 1.5");
  EXPECT_THAT(error("    models:\n      iris: {payload_max_rows: 0}\n"),
              HasSubstr("models.iris.payload_max_rows"));
  auto nowhere = make("    payload_sample: 0.1\n");
  EXPECT_THAT(nowhere.status().message(),
              HasSubstr("serving.runtime 'serving': payload_sample asks for payload logging, but "
                        "there is nowhere to write it: set 'payload_storage' (or 'repository')"));
  auto model_nowhere = make("    models:\n      iris: {payload_sample: 0.5}\n");
  EXPECT_THAT(model_nowhere.status().message(),
              HasSubstr("serve.yaml:5:30: models.iris.payload_sample asks for payload logging"));
  auto empty = make("    models:\n      iris: {payload_exclude: [ssn, \"\"]}\n");
  EXPECT_THAT(empty.status().message(),
              HasSubstr("models.iris.payload_exclude[1]: a name to leave out of the payload log "
                        "must not be empty"));
}

TEST_F(ServingNodeTest, PrecisionIsANodeDefaultAndAPerModelSetting) {
  auto node = make(
      "    precision: auto\n"
      "    models:\n"
      "      fashion: {precision: bf16}\n"
      "      iris: {}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_EQ((*node)->config().precision, "auto");
  ASSERT_EQ((*node)->config().models.size(), 2u);
  EXPECT_EQ((*node)->config().models[0].precision, "bf16");
  EXPECT_FALSE((*node)->config().models[1].precision) << "left out: the node's";
  auto defaults = make("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_EQ((*defaults)->config().precision, "fp32");
  EXPECT_THAT(error("    models:\n      iris: {precision: fp16}\n"),
              HasSubstr("models.iris.precision"));
}

TEST_F(ServingNodeTest, WithoutSettingsNothingIsBatched) {
  auto node = make("");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE((*node)->apply(host_.servingRuntime(), host_).ok());
  EXPECT_EQ(host_.servingRuntime().batching("any").max_batch_size, 0);
  EXPECT_EQ(host_.servingRuntime().batching("any").max_queue_delay_us, 500);
}

TEST_F(ServingNodeTest, SequenceBoundsReachTheRuntime) {
  auto defaults = make("");
  ASSERT_TRUE(defaults.ok()) << defaults.status().toString();
  EXPECT_EQ((*defaults)->config().sequences.max_sequences, 10000);
  EXPECT_EQ((*defaults)->config().sequences.idle_ms, 600000);
  EXPECT_EQ((*defaults)->config().sequences.max_bytes, std::int64_t{256} << 20);
  auto node = make(
      "    max_sequences: 3\n"
      "    sequence_idle_s: 5\n"
      "    max_sequence_bytes: 4096\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_TRUE((*node)->apply(host_.servingRuntime(), host_).ok());
  const SequenceLimits limits = host_.servingRuntime().sequences().limits();
  EXPECT_EQ(limits.max_sequences, 3);
  EXPECT_EQ(limits.idle_ms, 5000);
  EXPECT_EQ(limits.max_bytes, 4096);
  EXPECT_THAT(error("    max_sequences: 0\n"), HasSubstr("max_sequences"));
}

TEST_F(ServingNodeTest, MistakesAreNamedAtTheirPlace) {
  EXPECT_EQ(error("    models:\n      iris: {colour: red}\n"),
            "serve.yaml:5:14: error: parameter 'models.iris' of node 'serving' has no field "
            "'colour'\n"
            "  hint: the fields are: max_batch_size, preferred_batch_sizes, max_queue_delay_us, "
            "max_queue_size, queue_timeout_ms, version_policy, precision, input_validation, "
            "input_margin, outlier_scores, payload_sample, payload_exclude, payload_max_rows, "
            "payload_max_age_s");
  EXPECT_EQ(error("    models:\n      iris: {max_batch_size: -1}\n"),
            "serve.yaml:5:30: error: parameter 'models.iris.max_batch_size' of node 'serving' "
            "must be in [0, 1048576], but is -1");
  EXPECT_EQ(error("    models:\n      iris: {}\n      iris: {max_batch_size: 2}\n"),
            "serve.yaml:6:7: error: parameter 'models' of node 'serving' names 'iris' twice; "
            "it was first given at serve.yaml:5:7");
  EXPECT_EQ(error("    repository: nowhere\n"),
            "serve.yaml:4:17: error: parameter 'repository' of node 'serving' refers to an "
            "unknown node 'nowhere'");

  auto above = make("    models:\n      iris: {max_batch_size: 4, preferred_batch_sizes: [8]}\n");
  EXPECT_THAT(above.status().message(),
              EndsWith("serve.yaml:5:13: models.iris: preferred batch size 8 must lie between 1 "
                       "and max_batch_size (4)"));
  auto policy = make("    models:\n      iris: {version_policy: \"specific:x\"}\n");
  EXPECT_THAT(policy.status().message(),
              HasSubstr("serve.yaml:5:30: models.iris.version_policy: "));
  auto load = make("    load: [iris]\n");
  EXPECT_THAT(load.status().message(),
              HasSubstr("serving.runtime 'serving': 'load' names registry models, so "
                        "'repository' must name the storage node that holds the registry"));
}

TEST_F(ServingNodeTest, TheRepositoryKeepsTheFeedbackUnlessAnotherStorageOrNoneIsNamed) {
  const std::string stores = "  registry: {type: storage.map}\n  learned: {type: storage.map}\n";
  auto by_default = make("    repository: registry\n" + stores);
  ASSERT_TRUE(by_default.ok()) << by_default.status().toString();
  EXPECT_NE((*by_default)->config().repository, nullptr);
  EXPECT_EQ((*by_default)->config().feedback_storage, (*by_default)->config().repository);

  auto named = make("    repository: registry\n    feedback_storage: learned\n" + stores);
  ASSERT_TRUE(named.ok()) << named.status().toString();
  EXPECT_EQ((*named)->config().feedback_storage_name, "learned");
  EXPECT_NE((*named)->config().feedback_storage, (*named)->config().repository);

  auto off = make("    repository: registry\n    persist_feedback: false\n" + stores);
  ASSERT_TRUE(off.ok()) << off.status().toString();
  EXPECT_EQ((*off)->config().feedback_storage, nullptr);
  auto none = make("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->config().feedback_storage, nullptr);

  auto both = make("    feedback_storage: learned\n    persist_feedback: false\n" + stores);
  EXPECT_THAT(both.status().message(),
              HasSubstr("'feedback_storage' is set but 'persist_feedback' is false"));
}

TEST_F(ServingNodeTest, FeedbackLearnedInOneRunIsReplayedInTheNext) {
  const std::string more =
      "  store: {type: storage.shared}\n  rec: {type: model.learner}\n"
      "  web: {type: frontend.probe}\n";
  // One run: the graph's model learns two observations while served.
  auto serve = [&](const std::function<void(ServingRuntime&)>& while_serving) {
    auto graph = validate("    repository: store\n", more);
    EXPECT_NE(graph, nullptr) << formatDiagnostics(diagnostics_);
    HostServices host(".", 1);
    Runtime::Hooks hooks;
    hooks.wait_for_stop = [&] { while_serving(host.servingRuntime()); };
    return Runtime(*graph, host, std::move(hooks)).run();
  };
  auto count = [](ServingRuntime& runtime) {
    auto pinned = runtime.pin("rec", "");
    EXPECT_TRUE(pinned.ok());
    TensorMap inputs, outputs;
    inputs.set("user", Tensor::fromStrings({"u"}));
    EXPECT_TRUE((*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr).ok());
    return outputs.find("count")->data<std::int64_t>()[0];
  };
  ASSERT_TRUE(serve([&](ServingRuntime& runtime) {
                EXPECT_EQ(count(runtime), 0);
                TensorMap observations;
                observations.set("user", Tensor::fromStrings({"u1", "u2"}));
                auto learned = runtime.learn("rec", "", observations);
                ASSERT_TRUE(learned.ok()) << learned.status().toString();
                EXPECT_TRUE(learned->persisted);
              }).ok());
  auto keys = shared_->list("feedback/rec/");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);

  // The next run replays them before it serves.
  ASSERT_TRUE(serve([&](ServingRuntime& runtime) { EXPECT_EQ(count(runtime), 2); }).ok());

  // A corrupt record stops the run, naming the serving node and the key.
  shared_->values[keys->front()] = "torn";
  bool served = false;
  Status status = serve([&](ServingRuntime&) { served = true; });
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("serving.runtime 'serving'"));
  EXPECT_THAT(status.message(), HasSubstr("'" + keys->front() + "'"));
  EXPECT_FALSE(served);
}

TEST_F(ServingNodeTest, ASecondServingNodeIsAConfigurationErrorAtItsType) {
  EXPECT_EQ(validate("", "  second:\n    type: serving.runtime\n  third: {type: serving.runtime}\n"),
            nullptr);
  ASSERT_EQ(diagnostics_.size(), 2u) << formatDiagnostics(diagnostics_);
  EXPECT_EQ(diagnostics_[0].format(),
            "serve.yaml:5:11: error: node 'second' is a second serving node; the host has one "
            "serving runtime, already configured by node 'serving' at serve.yaml:2:3\n"
            "  hint: keep one serving.runtime node; per-model settings go in its `models`");
  EXPECT_THAT(diagnostics_[1].format(), HasSubstr("node 'third' is a second serving node"));
}

TEST_F(ServingNodeTest, TheRuntimeAppliesTheNodeOnlyWhenItServes) {
  // `aimass eval` runs the jobs without serving: the settings are not applied.
  auto graph = validate("    max_batch_size: 8\n");
  ASSERT_NE(graph, nullptr) << formatDiagnostics(diagnostics_);
  Runtime::Options options;
  options.serve = false;
  ASSERT_TRUE(Runtime(*graph, host_, {}, options).run().ok());
  EXPECT_EQ(host_.servingRuntime().batching("any").max_batch_size, 0);

  // `aimass run` applies them after the jobs, before the frontends start.
  auto served = validate("    max_batch_size: 8\n", "  web: {type: frontend.probe}\n");
  ASSERT_NE(served, nullptr) << formatDiagnostics(diagnostics_);
  HostServices host(".", 1);
  Runtime::Hooks hooks;
  hooks.wait_for_stop = [] {};
  ASSERT_TRUE(Runtime(*served, host, std::move(hooks)).run().ok());
  EXPECT_EQ(seen_batch_, 8);
}

TEST_F(ServingNodeTest, GraphsAreNestedYamlCheckedAgainstTheServedModels) {
  auto node = make(
      "    graphs:\n"
      "      counted:\n"
      "        steps:\n"
      "          - name: pick\n"
      "            inputs: {user: request.user}\n"
      "            switch:\n"
      "              on: request.user\n"
      "              cases:\n"
      "                - when: {equals: alice}\n"
      "                  model: learner\n"
      "                  version: 1\n"
      "              default: learner\n"
      "        outputs: {n: pick.count}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_EQ((*node)->config().graphs.size(), 1u);
  const GraphSpec& graph = (*node)->config().graphs.front();
  EXPECT_EQ(graph.name, "counted");
  ASSERT_EQ(graph.steps.size(), 1u);
  ASSERT_TRUE(graph.steps[0].is_switch);
  EXPECT_EQ(graph.steps[0].cases[0].when.text, "alice");
  EXPECT_EQ(graph.steps[0].cases[0].target.version, "1") << "a YAML number names a version";

  ServingRuntime& runtime = host_.servingRuntime();
  Status missing = (*node)->apply(runtime, host_);
  EXPECT_EQ(missing.message(), "serving.runtime 'serving': graph 'counted', step 'pick': "
                               "unknown model 'learner' version '1'");
  runtime.add("learner", "1", std::make_shared<Learner>());
  ASSERT_TRUE((*node)->apply(runtime, host_).ok());
  auto pinned = runtime.pin("counted", "");
  ASSERT_TRUE(pinned.ok());
  TensorMap inputs;
  inputs.set("user", Tensor::fromStrings({"alice", "bob"}));
  TensorMap outputs;
  ASSERT_TRUE((*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr).ok());
  ASSERT_NE(outputs.find("n"), nullptr);
  EXPECT_EQ(outputs.find("n")->dim(0), 2);
}

TEST_F(ServingNodeTest, GraphAndTrafficMistakesNameTheirPlace) {
  auto bad_graph = make("    graphs: {g: {steps: [{name: a, model: m}], outputs: {o: nowhere}}}\n");
  ASSERT_FALSE(bad_graph.ok());
  EXPECT_THAT(bad_graph.status().message(),
              HasSubstr("serving.runtime 'serving': graphs.g.outputs.o: 'nowhere' must be "
                        "'request.INPUT' or 'STEP.OUTPUT'"));
  auto bad_weight = make("    traffic:\n      iris: {versions: [\"3:90\", \"4-10\"]}\n");
  ASSERT_FALSE(bad_weight.ok());
  EXPECT_THAT(bad_weight.status().message(),
              HasSubstr("serve.yaml:5:24: traffic.iris.versions: '4-10' must be "
                        "VERSION:WEIGHT"));
  auto twice = make("    traffic:\n      iris: {versions: [\"3:1\"], shadow: \"3\"}\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), HasSubstr(".shadow: version '3' is also in the split"));
  EXPECT_THAT(error("    traffic:\n      iris: {versions: [\"3:1\"], shadow_queue: 0}\n"),
              HasSubstr("traffic.iris.shadow_queue"));
}

TEST_F(ServingNodeTest, TrafficReachesTheRuntimeAndAShadowAddsItsRoute) {
  auto node = make("    traffic:\n      learner: {versions: [\"1:3\", \"2:1\"], shadow: \"3\", "
                   "seed: 5, keep: 7}\n");
  ASSERT_TRUE(node.ok()) << node.status().toString();
  ASSERT_EQ((*node)->config().traffic.size(), 1u);
  const TrafficSpec& spec = (*node)->config().traffic.front();
  EXPECT_EQ(spec.weights,
            (std::vector<std::pair<std::string, std::int64_t>>{{"1", 3}, {"2", 1}}));
  EXPECT_EQ(spec.shadow, "3");
  EXPECT_EQ(spec.seed, 5u);
  EXPECT_EQ(spec.keep, 7);
  EXPECT_EQ(spec.shadow_queue, 64);
  bool routed = false;
  for (const auto& route : host_.routes().routes()) {
    routed = routed || (route.method == "GET" && route.pattern == "/v2/shadow/{model}");
  }
  EXPECT_TRUE(routed);
  ServingRuntime& runtime = host_.servingRuntime();
  for (const char* version : {"1", "2", "3"}) {
    runtime.add("learner", version, std::make_shared<Learner>());
  }
  ASSERT_TRUE((*node)->apply(runtime, host_).ok());
  auto pinned = runtime.pin("learner", "");
  ASSERT_TRUE(pinned.ok());
  EXPECT_NE((*pinned)->served().version, "3") << "the shadow is never drawn";
  EXPECT_TRUE(runtime.shadowComparisons("learner").ok());
}

TEST_F(ServingNodeTest, ItIsABuiltInTypeOfTheServingKind) {
  const RegisteredType* type = registry_.find("serving.runtime");
  ASSERT_NE(type, nullptr);
  EXPECT_EQ(type->type.kind, NodeKind::kServing);
  EXPECT_EQ(nodeKindName(NodeKind::kServing), "serving");
}

}  // namespace
}  // namespace aimass::core
