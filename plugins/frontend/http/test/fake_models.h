// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::frontend {

/// A two-feature classifier: class "high" when x0 > x1, else "low". Its probabilities are a
/// logistic of x0 - x1, so answers are easy to predict in tests. Knobs make it unready, slow,
/// failing or throwing.
class TwoFeatureClassifier final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kClassification;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}}};
    s.outputs = {{"probabilities", DType::kFloat32, {-1, 2}},
                 {"label", DType::kInt64, {-1}},
                 {"class", DType::kBytes, {-1}}};
    s.class_names = {"low", "high"};
    return s;
  }
  bool ready() const override { return ready_; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    ++entered;
    if (delay_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
    }
    if (!ready_) {
      return failedPrecondition("not trained");
    }
    if (fail_with != StatusCode::kOk) {
      return Status(fail_with, "the model broke");
    }
    if (throw_in_predict) {
      throw std::runtime_error("boom");
    }
    const Tensor* x = inputs.find("input");
    if (!x || x->dtype() != DType::kFloat32 || x->rank() != 2 || x->dim(1) != 2) {
      return invalidArgument("input must be FP32 [n, 2]");
    }
    auto n = x->dim(0);
    Tensor probabilities(DType::kFloat32, {n, 2});
    Tensor labels(DType::kInt64, {n});
    std::vector<std::string> classes;
    for (std::int64_t i = 0; i < n; ++i) {
      float a = x->data<float>()[2 * i], b = x->data<float>()[2 * i + 1];
      float high = 1.0f / (1.0f + std::exp(-(a - b)));
      probabilities.data<float>()[2 * i] = 1.0f - high;
      probabilities.data<float>()[2 * i + 1] = high;
      labels.data<std::int64_t>()[i] = a > b ? 1 : 0;
      classes.push_back(a > b ? "high" : "low");
    }
    outputs.set("probabilities", probabilities);
    outputs.set("label", labels);
    outputs.set("class", Tensor::fromStrings(std::move(classes)));
    ++completed;
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }

  bool ready_ = true;
  StatusCode fail_with = StatusCode::kOk;
  bool throw_in_predict = false;
  std::atomic<int> delay_ms{0};
  mutable std::atomic<int> entered{0};
  mutable std::atomic<int> completed{0};
};

/// A served model with preprocessing, as its raw columns: "input" FP32 [-1, 2] whose columns
/// are named "x0" and "x1", and the text column "city" BYTES [-1]. It answers "echo", one text
/// per row saying what it got: "x0=3 x1=nan city=Oslo" (nan for a missing number).
class ColumnsEcho final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.inputs = {{"input", DType::kFloat32, {-1, 2}, false, false, {"x0", "x1"}},
                {"city", DType::kBytes, {-1}}};
    s.outputs = {{"echo", DType::kBytes, {-1}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor* x = inputs.find("input");
    const Tensor* city = inputs.find("city");
    if (!x || !city || x->rank() != 2 || x->dim(1) != 2 || city->numel() != x->dim(0)) {
      return invalidArgument("input must be FP32 [n, 2] and city BYTES [n]");
    }
    const auto number = [](float v) {
      return std::isnan(v) ? std::string("nan") : std::to_string(static_cast<int>(v));
    };
    std::vector<std::string> echo;
    for (std::int64_t i = 0; i < x->dim(0); ++i) {
      echo.push_back("x0=" + number(x->data<float>()[2 * i]) +
                     " x1=" + number(x->data<float>()[2 * i + 1]) +
                     " city=" + city->strings()[static_cast<std::size_t>(i)]);
    }
    outputs.set("echo", Tensor::fromStrings(std::move(echo)));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

/// A recommender over the items a, b, c, d that learns online. It knows how often each
/// (user, item) pair was reported through learn(): pair scoring ("user", "item") answers that
/// count as "score"; top-k (PredictOptions::top_k > 0) ranks the items by how often anyone
/// reported them (ties by name), leaving out the user's own unless exclude_seen is false, and
/// answers "items" BYTES [users, k]; the optional request-wide "candidates" limits the items.
/// Every request gets "echo", one text per user saying what options it saw:
/// "top_k=2 exclude_seen=true params=a:b,c:d". learn() takes "user", "item" and an optional
/// "rating" and refuses, learning nothing, a row whose item is not a, b, c or d. `trained`
/// names its trained state: save() writes it, so two fakes of different `trained` have
/// different identities.
class FakeRecommender final : public Model, public OnlineLearning {
 public:
  explicit FakeRecommender(std::string trained = "v1") : trained_(std::move(trained)) {}

  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRecommendation;
    s.inputs = {{"user", DType::kBytes, {-1}},
                {"item", DType::kBytes, {-1}, true},
                {"candidates", DType::kBytes, {-1}, true, true}};
    s.outputs = {{"score", DType::kFloat32, {-1}, true},
                 {"items", DType::kBytes, {-1, -1}, true},
                 {"echo", DType::kBytes, {-1}}};
    return s;
  }
  bool ready() const override { return true; }
  OnlineLearning* onlineLearning() const override {
    return const_cast<FakeRecommender*>(this);
  }

  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    ++predictions;
    const Tensor* user = inputs.find("user");
    if (user == nullptr) {
      return invalidArgument("missing user");
    }
    const auto& users = user->strings();
    std::lock_guard lock(mutex_);
    std::vector<std::string> echo;
    for (std::size_t u = 0; u < users.size(); ++u) {
      echo.push_back(describe(options));
    }
    outputs.set("echo", Tensor::fromStrings(std::move(echo)));
    if (const Tensor* item = inputs.find("item"); item != nullptr) {
      Tensor score(DType::kFloat32, {static_cast<std::int64_t>(users.size())});
      for (std::size_t u = 0; u < users.size(); ++u) {
        auto it = pairs_.find({users[u], item->strings()[u]});
        score.data<float>()[u] = it == pairs_.end() ? 0.0f : static_cast<float>(it->second);
      }
      outputs.set("score", std::move(score));
    }
    if (options.top_k > 0) {
      std::vector<std::string> catalogue = {"a", "b", "c", "d"};
      if (const Tensor* candidates = inputs.find("candidates"); candidates != nullptr) {
        catalogue = candidates->strings();
      }
      std::stable_sort(catalogue.begin(), catalogue.end(), [&](const auto& x, const auto& y) {
        return popularity(x) > popularity(y);
      });
      std::vector<std::string> items;
      for (const auto& name : users) {
        std::int64_t written = 0;
        for (const auto& candidate : catalogue) {
          if (written < options.top_k &&
              !(options.exclude_seen && pairs_.count({name, candidate}) > 0)) {
            items.push_back(candidate);
            ++written;
          }
        }
        for (; written < options.top_k; ++written) {
          items.emplace_back();  // fewer items than k: padded with empty names
        }
      }
      outputs.set("items", Tensor::fromStrings(std::move(items))
                               .reshaped({static_cast<std::int64_t>(users.size()),
                                          options.top_k}));
    }
    return Status();
  }

  std::vector<TensorSpec> observationInputs() const override {
    return {{"user", DType::kBytes, {-1}},
            {"item", DType::kBytes, {-1}},
            {"rating", DType::kFloat32, {-1}, true}};
  }
  Status learn(const TensorMap& observations) override {
    const auto& users = observations.find("user")->strings();
    const auto& items = observations.find("item")->strings();
    static const std::set<std::string> kKnown = {"a", "b", "c", "d"};
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (kKnown.count(items[i]) == 0) {
        return invalidArgument("row " + std::to_string(i) + ": unknown item '" + items[i] + "'");
      }
    }
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < users.size(); ++i) {
      ++pairs_[{users[i], items[i]}];
    }
    ++learned_batches;
    return Status();
  }

  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string& payload) const override {
    payload = "fake-recommender " + trained_;
    return Status();
  }
  Status load(std::string_view payload, std::uint32_t) override {
    trained_ = std::string(payload.substr(payload.find(' ') + 1));
    return Status();
  }

  mutable std::atomic<int> predictions{0};
  std::atomic<int> learned_batches{0};

 private:
  static std::string describe(const PredictOptions& options) {
    std::string text = "top_k=" + std::to_string(options.top_k) +
                       " exclude_seen=" + (options.exclude_seen ? "true" : "false") + " params=";
    for (std::size_t i = 0; i < options.parameters.size(); ++i) {
      text += (i ? "," : "") + options.parameters[i].first + ":" + options.parameters[i].second;
    }
    return text;
  }
  int popularity(const std::string& item) const {
    int count = 0;
    for (const auto& [pair, times] : pairs_) {
      count += pair.second == item ? times : 0;
    }
    return count;
  }

  std::string trained_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, int> pairs_;
};

}  // namespace aimass::plugins::frontend
