// SPDX-License-Identifier: Apache-2.0
// The fakes job.train's unit tests share: a host, a progress sink, a two-class dataset, a
// softmax classifier trained by gradients, a self-fitting model, plain gradient descent, a map
// storage, and a Rig that wires them into TrainTargets.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aimass/core/model_artifact.h"
#include "map_storage.h"
#include "train_job.h"

namespace aimass::core::train_fakes {

// ---------------------------------------------------------------------------------------------
// Fakes: a host, a progress sink, a two-class dataset, a softmax classifier trained by
// gradients, a self-fitting model, plain gradient descent, and a map storage.

class NoRoutes final : public RouteTable {
 public:
  Status add(Route) override { return unimplemented("no routes"); }
  std::vector<Route> routes() const override { return {}; }
};

class FakeHost final : public Host {
 public:
  void log(LogLevel level, std::string_view node, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines.push_back(std::string(node) + ": " + std::string(message));
    if (level == LogLevel::kWarning) {
      warnings.push_back(std::string(message));
    }
  }
  int threads() const override { return 1; }
  std::filesystem::path baseDir() const override { return "."; }
  RouteTable& routes() override { return routes_; }
  std::string_view version() const override { return "test"; }
  /// Turns true on the `stop_after`-th poll (never when 0).
  bool stopRequested() const override {
    auto n = ++polls_;
    return stop_after > 0 && n >= stop_after;
  }

  std::uint64_t stop_after = 0;
  std::vector<std::string> lines;
  std::vector<std::string> warnings;

 private:
  std::mutex mutex_;
  mutable std::atomic<std::uint64_t> polls_{0};
  NoRoutes routes_;
};

class RecordingProgress final : public JobProgress {
 public:
  void begin(std::string_view phase, std::uint64_t total) override {
    phases.push_back(std::string(phase));
    totals.push_back(total);
  }
  void update(std::uint64_t done,
              const std::vector<std::pair<std::string, double>>& figures) override {
    last_done = done;
    ++updates;
    for (const auto& [name, value] : figures) {
      last_figures[name] = value;
    }
  }
  void end(std::string_view summary) override { summaries.push_back(std::string(summary)); }

  std::vector<std::string> phases;
  std::vector<std::uint64_t> totals;
  std::vector<std::string> summaries;
  std::map<std::string, double> last_figures;
  std::uint64_t last_done = 0;
  std::uint64_t updates = 0;
};

/// Two Gaussian blobs in 2-D, labelled 0 and 1; far enough apart to be separable.
class BlobDataset final : public Dataset {
 public:
  explicit BlobDataset(std::size_t rows, std::uint64_t seed = 7) {
    schema_.feature_names = {"x", "y"};
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kClass;
    schema_.class_names = {"left", "right"};
    schema_.num_targets = 1;
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.5f);
    for (std::size_t i = 0; i < rows; ++i) {
      std::int64_t label = static_cast<std::int64_t>(i % 2);
      float center = label ? 2.0f : -2.0f;
      features_.push_back(center + noise(rng));
      features_.push_back(center + noise(rng));
      labels_.push_back(label);
    }
  }

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return labels_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    {
      std::lock_guard lock(mutex_);
      reads.emplace_back(rows.begin(), rows.end());
    }
    auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kFloat32, {n, 2});
    out.labels.resize(DType::kInt64, {n});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (rows[i] >= labels_.size()) {
        return outOfRange("row " + std::to_string(rows[i]));
      }
      out.features.data<float>()[2 * i] = features_[2 * rows[i]];
      out.features.data<float>()[2 * i + 1] = features_[2 * rows[i] + 1];
      out.labels.data<std::int64_t>()[i] = labels_[rows[i]];
    }
    return Status();
  }

  std::vector<std::int64_t> labels_;
  mutable std::vector<std::vector<std::uint64_t>> reads;
  DatasetSchema schema_;

 private:
  std::vector<float> features_;
  mutable std::mutex mutex_;
};

/// Softmax regression over two features: a real gradient model small enough to check by hand.
class TinySoftmax final : public Model, public GradientTraining {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    s.outputs = {{"probabilities", DType::kFloat32, {-1, classes_}},
                 {"label", DType::kInt64, {-1}}};
    s.class_names = class_names_;
    return s;
  }
  bool ready() const override { return prepared_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    if (!x) {
      return invalidArgument("no input");
    }
    auto rows = x->dim(0);
    Tensor probabilities(DType::kFloat32, {rows, classes_});
    Tensor labels(DType::kInt64, {rows});
    for (std::int64_t r = 0; r < rows; ++r) {
      auto p = softmaxRow(x->data<float>() + 2 * r);
      std::copy(p.begin(), p.end(), probabilities.data<float>() + r * classes_);
      labels.data<std::int64_t>()[r] = std::max_element(p.begin(), p.end()) - p.begin();
    }
    outputs.set("probabilities", probabilities);
    outputs.set("label", labels);
    return Status();
  }
  GradientTraining* gradientTraining() override { return this; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload.assign(reinterpret_cast<const char*>(weights_.data<float>()), weights_.nbytes());
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    if (payload.empty() || payload.size() % (3 * sizeof(float)) != 0) {
      return invalidArgument("bad payload size");
    }
    classes_ = static_cast<std::int64_t>(payload.size() / (3 * sizeof(float)));
    weights_ = Tensor(DType::kFloat32, {3, classes_});
    std::memcpy(weights_.raw(), payload.data(), payload.size());
    prepared_ = true;
    return Status();
  }

  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override {
    if (schema.label_kind != LabelKind::kClass) {
      return invalidArgument("needs class labels");
    }
    prepared_seed = seed;
    classes_ = static_cast<std::int64_t>(schema.class_names.size());
    class_names_ = schema.class_names;
    weights_ = Tensor::zeros(DType::kFloat32, {3, classes_});  // rows: w_x, w_y, bias
    grad_ = Tensor::zeros(DType::kFloat32, {3, classes_});
    prepared_ = true;
    return Status();
  }
  std::vector<Parameter> parameters() override { return {{"weights", weights_, grad_}}; }
  Expected<double> forwardBackward(const Batch& batch, bool) override {
    ++calls;
    if (nan_at_call > 0 && calls == nan_at_call) {
      return std::nan("");
    }
    std::memset(grad_.raw(), 0, grad_.nbytes());
    double loss = lossAndGradient(batch, grad_.data<float>());
    return loss;
  }
  Expected<double> evaluateLoss(const Batch& batch) const override {
    // resetState() runs once at the start of each epoch, so resets - 1 is the 0-based epoch.
    if (!scripted_val_loss.empty()) {
      return scripted_val_loss.at(resets - 1);
    }
    return lossAndGradient(batch, nullptr);
  }
  void resetState() override { ++resets; }

  std::uint64_t calls = 0;
  std::uint64_t nan_at_call = 0;
  std::uint64_t resets = 0;
  std::uint64_t prepared_seed = 0;
  std::vector<double> scripted_val_loss;  ///< per epoch, when set

 private:
  std::vector<float> softmaxRow(const float* x) const {
    const float* w = weights_.data<float>();
    std::vector<float> z(classes_);
    float top = -1e30f;
    for (std::int64_t c = 0; c < classes_; ++c) {
      z[c] = x[0] * w[c] + x[1] * w[classes_ + c] + w[2 * classes_ + c];
      top = std::max(top, z[c]);
    }
    float sum = 0;
    for (auto& v : z) {
      v = std::exp(v - top);
      sum += v;
    }
    for (auto& v : z) {
      v /= sum;
    }
    return z;
  }
  double lossAndGradient(const Batch& batch, float* grad) const {
    auto rows = batch.features.dim(0);
    double loss = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* x = batch.features.data<float>() + 2 * r;
      auto label = batch.labels.data<std::int64_t>()[r];
      auto p = softmaxRow(x);
      loss -= std::log(std::max(p[label], 1e-12f));
      if (grad) {
        for (std::int64_t c = 0; c < classes_; ++c) {
          float d = (p[c] - (c == label ? 1.0f : 0.0f)) / static_cast<float>(rows);
          grad[c] += d * x[0];
          grad[classes_ + c] += d * x[1];
          grad[2 * classes_ + c] += d;
        }
      }
    }
    return loss / static_cast<double>(rows);
  }

  bool prepared_ = false;
  std::int64_t classes_ = 0;
  std::vector<std::string> class_names_;
  Tensor weights_;
  Tensor grad_;
};

/// Fits itself: its "training" is averaging the features, one observer call per pass.
class MeanModel final : public Model, public SelfTraining {
 public:
  ModelSchema schema() const override { return {}; }
  bool ready() const override { return fitted; }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return unimplemented("not needed");
  }
  SelfTraining* selfTraining() override { return this; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = std::to_string(mean);
    return Status();
  }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
  Status fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) override {
    fit_seed = seed;
    std::vector<std::uint64_t> rows(data.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      rows[i] = i;
    }
    Batch batch;
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    for (std::uint64_t pass = 1; pass <= 5; ++pass) {
      double sum = 0;
      for (float v : batch.features.span<float>()) {
        sum += v;
      }
      mean = sum / static_cast<double>(batch.features.numel());
      if (observer.onIteration(pass, mean)) {
        return cancelled("asked to stop");
      }
    }
    fitted = true;
    return Status();
  }

  bool fitted = false;
  double mean = 0;
  std::uint64_t fit_seed = 0;
};

/// Neither trains by gradients nor fits itself.
class FrozenModel final : public Model {
 public:
  ModelSchema schema() const override { return {}; }
  bool ready() const override { return true; }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

class GradientDescent final : public GradientOptimizer {
 public:
  Status begin(std::span<Parameter> parameters) override {
    began_with = parameters.size();
    return Status();
  }
  Status step(std::span<Parameter> parameters) override {
    ++steps;
    rates.push_back(rate);
    double sum = 0;
    for (auto& p : parameters) {
      for (float g : p.grad.span<float>()) {
        sum += double(g) * g;
      }
    }
    grad_norms.push_back(std::sqrt(sum));
    for (auto& p : parameters) {
      auto v = p.value.span<float>();
      auto g = p.grad.span<float>();
      for (std::size_t i = 0; i < v.size(); ++i) {
        v[i] -= static_cast<float>(rate) * g[i];
      }
    }
    return Status();
  }
  double learningRate() const override { return rate; }
  void setLearningRate(double r) override { rate = r; }
  Status saveState(std::string&) const override { return Status(); }
  Status loadState(std::string_view) override { return Status(); }

  double rate = 0.5;
  std::uint64_t steps = 0;
  std::vector<double> rates;       ///< the rate of every step
  std::vector<double> grad_norms;  ///< the gradient norm every step saw
  std::size_t began_with = 0;
};

class AskTell final : public SearchOptimizer {
 public:
  Status begin(const SearchSpace&, std::uint64_t, std::size_t) override { return Status(); }
  Expected<std::vector<Candidate>> ask(std::size_t) override { return std::vector<Candidate>{}; }
  Status tell(std::span<const aimass::Evaluation>) override { return Status(); }
  Status saveState(std::string&) const override { return Status(); }
  Status loadState(std::string_view) override { return Status(); }
};

using aimass::testing::MapStorage;

// ---------------------------------------------------------------------------------------------

struct Rig {
  FakeHost host;
  RecordingProgress progress;
  std::shared_ptr<BlobDataset> data = std::make_shared<BlobDataset>(200);
  std::shared_ptr<TinySoftmax> model = std::make_shared<TinySoftmax>();
  std::shared_ptr<GradientDescent> optimizer = std::make_shared<GradientDescent>();
  std::shared_ptr<MapStorage> storage = std::make_shared<MapStorage>();

  TrainTargets targets(bool with_storage = true) {
    TrainTargets t;
    t.model = model;
    t.model_name = "clf";
    t.model_type = "model.tiny";
    t.dataset = data;
    t.dataset_name = "blobs";
    t.optimizer = optimizer;
    if (with_storage) {
      t.storage = storage;
    }
    return t;
  }
  std::unique_ptr<TrainJob> job(TrainOptions options, bool with_storage = true) {
    auto made = TrainJob::create("train", targets(with_storage), std::move(options));
    EXPECT_TRUE(made.ok()) << made.status().toString();
    return made.ok() ? std::move(made).value() : nullptr;
  }
};

TrainOptions quickOptions() {
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.seed = 11;
  o.validation_fraction = 0.25;
  return o;
}

}  // namespace aimass::core::train_fakes
