// SPDX-License-Identifier: Apache-2.0
// job.train's transfer learning (init_from, reinit_head, freeze) and the lineage it registers,
// on fakes: a two-layer model whose loss is 0.5 * sum((w - 1)^2), a momentum optimizer that
// records what it was given, and a map storage holding the registry.
#include "train_job_transfer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aimass/byte_io.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "map_storage.h"
#include "train_job.h"

namespace aimass::core {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using aimass::testing::MapStorage;

class NoRoutes final : public RouteTable {
 public:
  Status add(Route) override { return unimplemented("no routes"); }
  std::vector<Route> routes() const override { return {}; }
};

class QuietHost final : public Host {
 public:
  void log(LogLevel, std::string_view, std::string_view message) override {
    lines.push_back(std::string(message));
  }
  int threads() const override { return 1; }
  std::filesystem::path baseDir() const override { return "."; }
  RouteTable& routes() override { return routes_; }
  std::string_view version() const override { return "test"; }
  /// True from the `stop_after`-th poll on (never when 0).
  bool stopRequested() const override { return stop_after > 0 && ++polls_ >= stop_after; }
  std::vector<std::string> lines;
  std::uint64_t stop_after = 0;
  mutable std::uint64_t polls_ = 0;

 private:
  NoRoutes routes_;
};

class NullProgress final : public JobProgress {
 public:
  void begin(std::string_view, std::uint64_t) override {}
  void update(std::uint64_t, const std::vector<std::pair<std::string, double>>&) override {}
  void end(std::string_view) override {}
};

/// `classes` classes, two features; row i has label i % classes.
class ClassData final : public Dataset {
 public:
  ClassData(std::size_t rows, std::size_t classes) : rows_(rows) {
    schema_.feature_names = {"x", "y"};
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kClass;
    schema_.num_targets = 1;
    for (std::size_t c = 0; c < classes; ++c) {
      schema_.class_names.push_back("c" + std::to_string(c));
    }
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return rows_; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 2});
    out.labels.resize(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      out.features.data<float>()[2 * i] = static_cast<float>(rows[i]);
      out.features.data<float>()[2 * i + 1] = 1.0f;
      out.labels.data<std::int64_t>()[i] =
          static_cast<std::int64_t>(rows[i] % schema_.class_names.size());
    }
    return Status();
  }

 private:
  std::size_t rows_;
  DatasetSchema schema_;
};

/// fc1.weight [2, hidden], fc1.bias [hidden], fc2.weight [hidden, K], fc2.bias [K]; prepare()
/// fills parameter p's element i with seed + 0.01 * (10 * p + i); the loss pulls every value
/// towards 1 whatever the batch, so every trained parameter moves.
class TwoLayer final : public Model, public GradientTraining {
 public:
  explicit TwoLayer(std::int64_t hidden = 3) : hidden_(hidden) {}

  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    return s;
  }
  bool ready() const override { return !values_.empty(); }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return unimplemented("predict");
  }
  GradientTraining* gradientTraining() override { return this; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    ByteWriter out(payload);
    out.i64(hidden_);
    out.i64(classes_);
    for (const Tensor& t : values_) {
      out.bytes(std::string_view(static_cast<const char*>(t.raw()), t.nbytes()));
    }
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    if (payload.size() < 16) {
      return invalidArgument("short payload");
    }
    std::int64_t hidden = 0, classes = 0;
    std::memcpy(&hidden, payload.data(), 8);
    std::memcpy(&classes, payload.data() + 8, 8);
    TwoLayer loaded(hidden);
    loaded.shape(classes);
    std::size_t at = 16;
    for (Tensor& t : loaded.values_) {
      if (payload.size() < at + t.nbytes()) {
        return invalidArgument("short payload");
      }
      std::memcpy(t.raw(), payload.data() + at, t.nbytes());
      at += t.nbytes();
    }
    hidden_ = hidden;
    classes_ = classes;
    values_ = std::move(loaded.values_);
    grads_ = std::move(loaded.grads_);
    return Status();
  }

  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override {
    shape(static_cast<std::int64_t>(schema.class_names.size()));
    for (std::size_t p = 0; p < values_.size(); ++p) {
      auto v = values_[p].span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] = static_cast<float>(seed) + 0.01f * static_cast<float>(10 * p + i);
      }
    }
    return Status();
  }
  std::vector<Parameter> parameters() override {
    static const char* kNames[] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    std::vector<Parameter> out;
    for (std::size_t p = 0; p < values_.size(); ++p) {
      out.push_back({kNames[p], values_[p], grads_[p]});
    }
    return out;
  }
  Expected<double> forwardBackward(const Batch&, bool) override {
    double loss = 0;
    for (std::size_t p = 0; p < values_.size(); ++p) {
      auto v = values_[p].span<float>();
      auto g = grads_[p].span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        g[i] = v[i] - 1.0f;
        loss += 0.5 * double(g[i]) * g[i];
      }
    }
    return loss;
  }
  Expected<double> evaluateLoss(const Batch&) const override { return 0.0; }

  /// A copy of every parameter's values, by name.
  std::map<std::string, std::vector<float>> snapshot() {
    std::map<std::string, std::vector<float>> out;
    for (const Parameter& p : parameters()) {
      auto v = p.value.span<float>();
      out[p.name].assign(v.begin(), v.end());
    }
    return out;
  }

 private:
  void shape(std::int64_t classes) {
    classes_ = classes;
    const std::vector<Shape> shapes = {{2, hidden_}, {hidden_}, {hidden_, classes}, {classes}};
    values_.clear();
    grads_.clear();
    for (const Shape& s : shapes) {
      values_.push_back(Tensor::zeros(DType::kFloat32, s));
      grads_.push_back(Tensor::zeros(DType::kFloat32, s));
    }
  }

  std::int64_t hidden_;
  std::int64_t classes_ = 0;
  std::vector<Tensor> values_;
  std::vector<Tensor> grads_;
};

/// A model that fits itself.
class SelfFit final : public Model, public SelfTraining {
 public:
  ModelSchema schema() const override { return {}; }
  bool ready() const override { return true; }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return Status();
  }
  SelfTraining* selfTraining() override { return this; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "fit";
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
  Status fit(const Dataset&, std::uint64_t, FitObserver&) override { return Status(); }
};

/// Heavy-ball momentum (v = 0.9 v + g; w -= rate * v): a stateful optimizer, so a parameter it
/// were given would keep moving even after its gradient became 0. Records what begin() got.
class Momentum final : public GradientOptimizer {
 public:
  Status begin(std::span<Parameter> parameters) override {
    names.clear();
    velocity.clear();
    for (const Parameter& p : parameters) {
      names.push_back(p.name);
      velocity.emplace_back(static_cast<std::size_t>(p.value.numel()), 0.0f);
    }
    return Status();
  }
  Status step(std::span<Parameter> parameters) override {
    for (std::size_t p = 0; p < parameters.size(); ++p) {
      auto v = parameters[p].value.span<float>();
      auto g = parameters[p].grad.span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        velocity[p][i] = 0.9f * velocity[p][i] + g[i];
        v[i] -= static_cast<float>(rate) * velocity[p][i];
      }
    }
    return Status();
  }
  double learningRate() const override { return rate; }
  void setLearningRate(double r) override { rate = r; }
  Status saveState(std::string& out) const override {
    out.clear();
    for (const auto& v : velocity) {
      out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    }
    return Status();
  }
  Status loadState(std::string_view state) override {
    std::size_t at = 0;
    for (auto& v : velocity) {
      const std::size_t bytes = v.size() * sizeof(float);
      if (state.size() < at + bytes) {
        return invalidArgument("short momentum state");
      }
      std::memcpy(v.data(), state.data() + at, bytes);
      at += bytes;
    }
    return at == state.size() ? Status() : invalidArgument("momentum state of another size");
  }

  double rate = 0.1;
  std::vector<std::string> names;
  std::vector<std::vector<float>> velocity;
};

constexpr const char* kType = "fake.two_layer";

/// A registry on a map storage with "base" version 1 (hidden 3, 2 classes, prepared with seed
/// 5) and the factory init_from makes fresh TwoLayers with.
struct Rig {
  QuietHost host;
  NullProgress progress;
  std::shared_ptr<MapStorage> storage = std::make_shared<MapStorage>();
  std::shared_ptr<Momentum> optimizer = std::make_shared<Momentum>();
  std::int64_t factory_hidden = 3;
  ModelFactory factory = [this](const std::string& type) -> Expected<std::shared_ptr<Model>> {
    if (type != kType) {
      return notFound("no type " + type);
    }
    return std::shared_ptr<Model>(std::make_shared<TwoLayer>(factory_hidden));
  };

  /// Registers a TwoLayer of `hidden` prepared for `classes` classes with `seed`.
  ModelVersion registerBase(const std::string& name, std::int64_t hidden, std::size_t classes,
                            std::uint64_t seed, const std::string& type = kType) {
    TwoLayer model(hidden);
    EXPECT_TRUE(model.prepare(ClassData(4, classes).schema(), seed).ok());
    const std::string key = "models/" + name + "/artifacts/" + std::to_string(seed);
    EXPECT_TRUE(saveModel(model, type, *storage, key).ok());
    NewModelVersion info;
    info.artifact_key = key;
    info.node = name;
    info.node_type = type;
    auto version = ModelRegistry(*storage).registerVersion(name, info);
    EXPECT_TRUE(version.ok()) << version.status().toString();
    return *version;
  }

  Expected<std::unique_ptr<TrainJob>> job(std::shared_ptr<Model> model, std::size_t classes,
                                          TrainOptions options, bool with_storage = true) {
    TrainTargets t;
    t.model = std::move(model);
    t.model_name = "tuned";
    t.model_type = kType;
    t.dataset = std::make_shared<ClassData>(8, classes);
    t.dataset_name = "rows";
    t.optimizer = optimizer;
    t.optimizer_type = "fake.momentum";
    if (with_storage) {
      t.storage = storage;
    }
    auto made = TrainJob::create("train", std::move(t), std::move(options));
    if (made.ok()) {
      (*made)->setModelFactory(factory);
    }
    return made;
  }
};

/// The values registerBase() registers for a TwoLayer of `hidden` prepared for `classes` classes
/// with `seed`, by parameter name.
std::map<std::string, std::vector<float>> preparedValues(std::int64_t hidden, std::size_t classes,
                                                         std::uint64_t seed) {
  TwoLayer model(hidden);
  EXPECT_TRUE(model.prepare(ClassData(4, classes).schema(), seed).ok());
  return model.snapshot();
}

TrainOptions fineTune(std::string init_from) {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 4;
  o.seed = 9;
  o.register_version = true;
  o.init_from = std::move(init_from);
  return o;
}

std::vector<Parameter> shaped(const std::vector<std::pair<std::string, Shape>>& specs,
                              float first) {
  std::vector<Parameter> out;
  for (const auto& [name, shape] : specs) {
    Tensor value = Tensor::zeros(DType::kFloat32, shape);
    for (float& v : value.span<float>()) {
      v = first;
      first += 1;
    }
    out.push_back({name, value, Tensor::zeros(DType::kFloat32, shape)});
  }
  return out;
}

std::vector<float> values(const Parameter& p) {
  auto v = p.value.span<float>();
  return {v.begin(), v.end()};
}

// --- parameters, layers, copy ----------------------------------------------------------------

TEST(TransferLayers, GroupParametersByTheTextBeforeTheFirstDot) {
  auto params = shaped({{"embedding.weight", {2}}, {"rnn.l0.w", {1}}, {"rnn.l0.b", {1}},
                        {"head.weight", {1}}, {"head.bias", {1}}, {"scale", {1}}},
                       0);
  EXPECT_THAT(parameterLayers(params), ElementsAre("embedding", "rnn", "head", "scale"));
}

TEST(TransferCopy, CopiesByNameWhateverTheOrder) {
  auto saved = shaped({{"fc2.bias", {2}}, {"fc1.weight", {2, 3}}, {"fc1.bias", {3}},
                       {"fc2.weight", {3, 2}}},
                      100);
  auto target = shaped({{"fc1.weight", {2, 3}}, {"fc1.bias", {3}}, {"fc2.weight", {3, 2}},
                        {"fc2.bias", {2}}},
                       0);
  auto report = copyParameters(saved, target, false, "base/1", "tuned");
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_EQ(report->copied, 4u);
  EXPECT_TRUE(report->reinited.empty());
  EXPECT_EQ(values(target[0]), values(saved[1]));  // fc1.weight: 102..107
  EXPECT_THAT(values(target[0]), ElementsAre(102, 103, 104, 105, 106, 107));
  EXPECT_THAT(values(target[3]), ElementsAre(100, 101));  // fc2.bias
}

TEST(TransferCopy, AHeadOfAnotherShapeNeedsReinitHeadAndNamesBothShapes) {
  auto saved = shaped({{"fc1.weight", {2, 3}}, {"fc2.weight", {3, 2}}}, 100);
  auto target = shaped({{"fc1.weight", {2, 3}}, {"fc2.weight", {3, 5}}}, 0);
  auto refused = copyParameters(saved, target, false, "base/1", "tuned");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("parameter 'fc2.weight' has shape [3, 2] in base/1 but [3, 5] in model "
                        "'tuned'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("reinit_head: true"));
  EXPECT_THAT(values(target[0]), ElementsAre(0, 1, 2, 3, 4, 5)) << "nothing copied";

  auto report = copyParameters(saved, target, true, "base/1", "tuned");
  ASSERT_TRUE(report.ok()) << report.status().toString();
  EXPECT_EQ(report->copied, 1u);
  EXPECT_THAT(report->reinited, ElementsAre("fc2.weight"));
  EXPECT_THAT(values(target[0]), ElementsAre(100, 101, 102, 103, 104, 105));
  EXPECT_EQ(values(target[1])[0], 6) << "the head keeps its fresh values";
}

TEST(TransferCopy, ReinitHeadStillRefusesAMismatchOutsideTheHead) {
  auto saved = shaped({{"fc1.weight", {2, 3}}, {"fc2.weight", {3, 2}}}, 100);
  auto target = shaped({{"fc1.weight", {2, 4}}, {"fc2.weight", {4, 5}}}, 0);
  auto refused = copyParameters(saved, target, true, "base/1", "tuned");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(),
              HasSubstr("parameter 'fc1.weight' has shape [2, 3] in base/1 but [2, 4] in model "
                        "'tuned'"));
  EXPECT_THAT(refused.status().message(), HasSubstr("only the output layer 'fc2'"));
  EXPECT_THAT(values(target[0]), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
}

TEST(TransferCopy, AParameterOnOneSideOnlyIsRefused) {
  auto saved = shaped({{"fc1.weight", {2}}, {"fc2.weight", {2}}}, 100);
  auto more = shaped({{"fc1.weight", {2}}, {"extra.weight", {2}}, {"fc2.weight", {2}}}, 0);
  auto missing = copyParameters(saved, more, false, "base/1", "tuned");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(),
              HasSubstr("parameter 'extra.weight' in model 'tuned' has no counterpart in base/1 "
                        "(its parameters: fc1.weight, fc2.weight)"));
  auto fewer = shaped({{"fc2.weight", {2}}}, 0);
  auto extra = copyParameters(saved, fewer, false, "base/1", "tuned");
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.status().message(),
              HasSubstr("parameter 'fc1.weight' in base/1 has no counterpart in model 'tuned'"));
}

// --- freeze ----------------------------------------------------------------------------------

TEST(TransferFreeze, ANameIsAPrefixEndingBeforeADotAndAnIndexIsALayer) {
  auto params = shaped({{"fc1.weight", {1}}, {"fc1.bias", {1}}, {"fc10.weight", {1}},
                        {"fc2.weight", {1}}, {"fc2.bias", {1}}},
                       0);
  auto by_name = frozenParameters(params, {"fc1"}, "m");
  ASSERT_TRUE(by_name.ok()) << by_name.status().toString();
  EXPECT_THAT(*by_name, ElementsAre(true, true, false, false, false));
  auto by_index = frozenParameters(params, {"2", "fc1.bias"}, "m");
  ASSERT_TRUE(by_index.ok()) << by_index.status().toString();
  EXPECT_THAT(*by_index, ElementsAre(false, true, false, true, true));
  auto kept = trainableParameters(params, *by_index);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].name, "fc1.weight");
  EXPECT_EQ(kept[1].name, "fc10.weight");
}

TEST(TransferFreeze, UnknownNamesAndIndicesListTheLayers) {
  auto params = shaped({{"fc1.weight", {1}}, {"fc2.weight", {1}}}, 0);
  auto name = frozenParameters(params, {"fc"}, "m");
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(name.status().message(),
              HasSubstr("freeze: 'fc' names no layer or parameter of model 'm'; its layers are "
                        "0 fc1, 1 fc2"));
  auto index = frozenParameters(params, {"2"}, "m");
  ASSERT_FALSE(index.ok());
  EXPECT_THAT(index.status().message(),
              HasSubstr("freeze: layer index 2 is out of range: model 'm' has 2 layers (0 fc1, "
                        "1 fc2)"));
  auto huge = frozenParameters(params, {"99999999999999999999"}, "m");
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(huge.status().message(), HasSubstr("out of range"));
  auto all = frozenParameters(params, {"0", "fc2"}, "m");
  ASSERT_FALSE(all.ok());
  EXPECT_THAT(all.status().message(), HasSubstr("leaving nothing to train"));
}

// --- the job ---------------------------------------------------------------------------------

TEST(TransferJob, FineTunesFromTheRegisteredWeightsAndRecordsTheParent) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  auto expected = preparedValues(3, 2, 5);

  auto model = std::make_shared<TwoLayer>(3);
  TrainOptions options = fineTune("base");
  options.epochs = 1;
  auto job = rig.job(model, 2, options);
  ASSERT_TRUE(job.ok()) << job.status().toString();
  // A zero learning rate: the trained model holds exactly what init_from copied.
  rig.optimizer->rate = 0;
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(model->snapshot(), expected);
  EXPECT_THAT(rig.optimizer->names,
              ElementsAre("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"));
  auto tuned = ModelRegistry(*rig.storage).resolve("tuned");
  ASSERT_TRUE(tuned.ok()) << tuned.status().toString();
  EXPECT_EQ(tuned->parent, "base/1");
}

TEST(TransferJob, FrozenLayersStayBitIdenticalWhileTheOthersTrain) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  auto before = preparedValues(3, 2, 5);

  for (const std::vector<std::string>& freeze : {std::vector<std::string>{"fc1"},
                                                 std::vector<std::string>{"0"}}) {
    auto model = std::make_shared<TwoLayer>(3);
    TrainOptions options = fineTune("base");
    options.freeze = freeze;
    auto job = rig.job(model, 2, options);
    ASSERT_TRUE(job.ok()) << job.status().toString();
    ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
    auto after = model->snapshot();
    EXPECT_EQ(after["fc1.weight"], before["fc1.weight"]) << "bit-identical";
    EXPECT_EQ(after["fc1.bias"], before["fc1.bias"]);
    EXPECT_NE(after["fc2.weight"], before["fc2.weight"]);
    EXPECT_NE(after["fc2.bias"], before["fc2.bias"]);
    EXPECT_THAT(rig.optimizer->names, ElementsAre("fc2.weight", "fc2.bias"))
        << "frozen parameters never reach the optimizer";
  }
}

TEST(TransferJob, ReinitHeadTakesTheNewClassListAndKeepsTheBody) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  auto parent = preparedValues(3, 2, 5);
  auto fresh = preparedValues(3, 3, 9);

  auto refused = rig.job(std::make_shared<TwoLayer>(3), 3, fineTune("base"));
  ASSERT_TRUE(refused.ok());
  Status status = (*refused)->run(rig.host, rig.progress);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("init_from 'base'"));
  EXPECT_THAT(status.message(),
              HasSubstr("parameter 'fc2.weight' has shape [3, 2] in base/1 but [3, 3]"));

  auto model = std::make_shared<TwoLayer>(3);
  TrainOptions options = fineTune("base");
  options.reinit_head = true;
  rig.optimizer->rate = 0;
  auto job = rig.job(model, 3, options);
  ASSERT_TRUE(job.ok()) << job.status().toString();
  ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok());
  auto after = model->snapshot();
  EXPECT_EQ(after["fc1.weight"], parent["fc1.weight"]);
  EXPECT_EQ(after["fc2.weight"], fresh["fc2.weight"]) << "fresh, seed 9, 3 classes";
  EXPECT_EQ(after["fc2.bias"].size(), 3u);
}

TEST(TransferJob, ResolvesVersionsAndAliases) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  rig.registerBase("base", 3, 2, 7);
  ASSERT_TRUE(ModelRegistry(*rig.storage).promote("base", "prod", 1).ok());
  rig.optimizer->rate = 0;
  for (const auto& [reference, seed, parent] :
       std::vector<std::tuple<std::string, float, std::string>>{
           {"base", 7, "base/2"}, {"base/1", 5, "base/1"}, {"base@prod", 5, "base/1"}}) {
    auto model = std::make_shared<TwoLayer>(3);
    auto job = rig.job(model, 2, fineTune(reference));
    ASSERT_TRUE(job.ok());
    ASSERT_TRUE((*job)->run(rig.host, rig.progress).ok()) << reference;
    EXPECT_EQ(model->snapshot()["fc1.weight"][0], seed) << reference;
    EXPECT_EQ(ModelRegistry(*rig.storage).resolve("tuned")->parent, parent);
  }
}

TEST(TransferJob, AStoppedRunResumesWithItsFrozenLayersAndOnlyWithThem) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  auto before = preparedValues(3, 2, 5);
  TrainOptions options = fineTune("base");
  options.epochs = 3;
  options.freeze = {"fc1"};
  auto uninterrupted = std::make_shared<TwoLayer>(3);
  auto whole = rig.job(uninterrupted, 2, options);
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE((*whole)->run(rig.host, rig.progress).ok());

  // Stopped mid-run: a checkpoint is written; another freeze list does not match it.
  rig.host.stop_after = 4;
  auto stopped = rig.job(std::make_shared<TwoLayer>(3), 2, options);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ((*stopped)->run(rig.host, rig.progress).code(), StatusCode::kCancelled);
  rig.host.stop_after = 0;
  TrainOptions other = options;
  other.freeze = {"fc2"};
  other.resume = ResumeMode::kRequire;
  auto mismatch = rig.job(std::make_shared<TwoLayer>(3), 2, other);
  ASSERT_TRUE(mismatch.ok());
  Status refused = (*mismatch)->run(rig.host, rig.progress);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("another configuration"));

  // The same options resume and end where the uninterrupted run ended, fc1 untouched.
  options.resume = ResumeMode::kRequire;
  auto resumed = std::make_shared<TwoLayer>(3);
  auto rest = rig.job(resumed, 2, options);
  ASSERT_TRUE(rest.ok());
  ASSERT_TRUE((*rest)->run(rig.host, rig.progress).ok());
  EXPECT_EQ(resumed->snapshot(), uninterrupted->snapshot());
  EXPECT_EQ(resumed->snapshot()["fc1.weight"], before["fc1.weight"]);
  EXPECT_THAT(rig.optimizer->names, ElementsAre("fc2.weight", "fc2.bias"));
}

TEST(TransferJob, ErrorsNameWhatIsWrong) {
  Rig rig;
  rig.registerBase("base", 3, 2, 5);
  rig.registerBase("other", 3, 2, 5, "fake.other");
  auto runError = [&](TrainOptions options, std::int64_t hidden = 3) {
    auto job = rig.job(std::make_shared<TwoLayer>(hidden), 2, std::move(options));
    EXPECT_TRUE(job.ok()) << job.status().toString();
    return job.ok() ? (*job)->run(rig.host, rig.progress) : job.status();
  };

  Status unknown = runError(fineTune("nope"));
  EXPECT_EQ(unknown.code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("init_from 'nope'"));
  EXPECT_THAT(unknown.message(), HasSubstr("model registry of map:test"));
  EXPECT_EQ(runError(fineTune("base/4")).code(), StatusCode::kNotFound);
  EXPECT_EQ(runError(fineTune("base@prod")).code(), StatusCode::kNotFound);

  Status type = runError(fineTune("other"));
  EXPECT_EQ(type.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(type.message(), HasSubstr("other/1, a fake.other, but model 'tuned' is a "
                                        "fake.two_layer"));

  rig.factory_hidden = 3;
  Status shapes = runError(fineTune("base"), 4);
  EXPECT_THAT(shapes.message(),
              HasSubstr("parameter 'fc1.weight' has shape [2, 3] in base/1 but [2, 4]"));

  TrainOptions bad_freeze = fineTune("base");
  bad_freeze.freeze = {"conv"};
  EXPECT_THAT(runError(bad_freeze).message(), HasSubstr("its layers are 0 fc1, 1 fc2"));

  // A corrupt artifact: one payload byte flipped, so the checksum fails.
  auto base = ModelRegistry(*rig.storage).resolve("base");
  ASSERT_TRUE(base.ok());
  auto bytes = rig.storage->get(base->artifact_key);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0x20;
  ASSERT_TRUE(rig.storage->put(base->artifact_key, *bytes).ok());
  Status corrupt = runError(fineTune("base"));
  EXPECT_EQ(corrupt.code(), StatusCode::kDataLoss);
  EXPECT_THAT(corrupt.message(), HasSubstr("loading base/1 from '" + base->artifact_key + "'"));

  rig.registerBase("plain", 3, 2, 5);
  TrainOptions plain = fineTune("plain");
  auto job = rig.job(std::make_shared<TwoLayer>(3), 2, plain);
  ASSERT_TRUE(job.ok());
  (*job)->setModelFactory(nullptr);
  Status factory = (*job)->run(rig.host, rig.progress);
  EXPECT_EQ(factory.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(factory.message(), HasSubstr("no model factory"));
}

TEST(TransferJob, OptionsThatCannotApplyAreRefusedWhenTheJobIsMade) {
  Rig rig;
  TrainTargets self;
  self.model = std::make_shared<SelfFit>();
  self.model_name = "km";
  self.model_type = "fake.fit";
  self.dataset = std::make_shared<ClassData>(8, 2);
  self.dataset_name = "rows";
  self.storage = rig.storage;
  auto fits = TrainJob::create("train", self, fineTune("base"));
  ASSERT_FALSE(fits.ok());
  EXPECT_THAT(fits.status().message(),
              HasSubstr("model 'km' (fake.fit) fits itself (no gradient training), so "
                        "init_from 'base' cannot apply"));
  TrainOptions freeze_only;
  freeze_only.freeze = {"0"};
  EXPECT_THAT(TrainJob::create("train", self, freeze_only).status().message(),
              HasSubstr("so freeze cannot apply"));

  auto no_storage = rig.job(std::make_shared<TwoLayer>(3), 2, fineTune("base"), false);
  ASSERT_FALSE(no_storage.ok());
  EXPECT_THAT(no_storage.status().message(), HasSubstr("set `storage:`"));
  TrainOptions head_only;
  head_only.reinit_head = true;
  auto head = rig.job(std::make_shared<TwoLayer>(3), 2, head_only);
  ASSERT_FALSE(head.ok());
  EXPECT_THAT(head.status().message(), HasSubstr("reinit_head needs init_from"));
}

// --- the lineage record ----------------------------------------------------------------------

TEST(TransferLineage, TheParentIsRecordedAndOldRecordsStillRead) {
  ModelVersion v;
  v.model = "tuned";
  v.version = 2;
  v.parent = "base/1";
  const std::string text = encodeModelVersion(v);
  EXPECT_THAT(text, HasSubstr("\nparent base/1\n"));
  auto decoded = decodeModelVersion(text);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->parent, "base/1");

  v.parent.clear();
  const std::string old = encodeModelVersion(v);
  EXPECT_EQ(old.find("parent"), std::string::npos) << "written only when set";
  auto plain = decodeModelVersion(old);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->parent, "");
}

}  // namespace
}  // namespace aimass::core
