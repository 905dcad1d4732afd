// SPDX-License-Identifier: Apache-2.0
// A serving runtime, a gate for its models, and clients on threads of their own whose answers
// the test waits for: the fixture of the serving runtime's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <initializer_list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/serving.h"
#include "runtime_test_models.h"

namespace aimass::core::testing {

/// How long a test waits for something the runtime must do before it fails instead of hanging.
/// It only bounds a failure: no test asserts how long anything takes.
inline constexpr std::chrono::seconds kPatience{60};

/// A max_queue_delay_us that no test waits out: a batch that is dispatched came from another rule.
inline constexpr std::int64_t kAnHourInMicroseconds = 3'600'000'000;

/// FP32 [rows, width] from its rows.
inline Tensor rows(std::initializer_list<std::initializer_list<float>> values) {
  std::vector<float> flat;
  for (const auto& row : values) {
    flat.insert(flat.end(), row.begin(), row.end());
  }
  const auto n = static_cast<std::int64_t>(values.size());
  const auto width = n > 0 ? static_cast<std::int64_t>(values.begin()->size()) : 0;
  return Tensor::fromVector(flat, {n, width});
}

class RuntimeTest : public ::testing::Test {
 protected:
  /// What one request got back.
  struct Answer {
    Status status;
    TensorMap outputs;
    InferFailure failure = InferFailure::kBackend;
    std::string version;  ///< the version it pinned
  };

  void TearDown() override {
    gate_.open();
    for (auto& client : clients_) {
      client.join();
    }
    runtime_.clear();
  }

  /// Batches every model: up to `max_batch_size` rows, dispatched without delay.
  void batchEverything(std::int64_t max_batch_size) {
    BatchingOptions options;
    options.max_batch_size = max_batch_size;
    options.max_queue_delay_us = 0;
    runtime_.setBatching("", options);
  }

  /// Pins `name` (its highest version) and runs `inputs` on it on this thread.
  Answer inferNow(const std::string& name, const TensorMap& inputs,
                  const PredictOptions& options = {}) {
    Answer answer;
    auto pinned = runtime_.pin(name, "");
    if (!pinned.ok()) {
      answer.status = pinned.status();
      return answer;
    }
    answer.version = (*pinned)->served().version;
    answer.status = (*pinned)->infer(inputs, options, answer.outputs, &answer.failure);
    return answer;
  }
  Answer inferNow(const std::string& name, Tensor x) { return inferNow(name, only(std::move(x))); }

  /// inferNow() on a thread of its own; the answer is there once awaitAnswers() counts it.
  Answer& send(const std::string& name, TensorMap inputs) {
    Answer& answer = answers_.emplace_back();
    clients_.emplace_back([this, name, inputs = std::move(inputs), &answer] {
      Answer got = inferNow(name, inputs);
      std::lock_guard lock(mutex_);
      answer = std::move(got);
      ++answered_;
      answered_cv_.notify_all();
    });
    return answer;
  }
  Answer& send(const std::string& name, Tensor x) { return send(name, only(std::move(x))); }

  /// Closes the gate and sends `held`, which the model of `name` (version "1") then holds inside
  /// predict(); then sends each of `queued` once the one before waits in the queue, so that they
  /// queue in their order. `answers` gets the answer of `held`, then those of `queued`. False
  /// when something did not happen within kPatience.
  bool holdOneAndQueue(const std::string& name, Tensor held, std::vector<TensorMap> queued,
                       std::vector<Answer*>& answers) {
    gate_.close();
    answers.push_back(&send(name, std::move(held)));
    if (!gate_.awaitWaiters(1, kPatience)) {
      return false;
    }
    for (std::size_t i = 0; i < queued.size(); ++i) {
      answers.push_back(&send(name, std::move(queued[i])));
      if (!awaitPending(name, static_cast<std::int64_t>(i + 1))) {
        return false;
      }
    }
    return true;
  }
  bool holdOneAndQueue(const std::string& name, Tensor held, std::vector<Tensor> queued,
                       std::vector<Answer*>& answers) {
    std::vector<TensorMap> maps;
    for (Tensor& x : queued) {
      maps.push_back(only(std::move(x)));
    }
    return holdOneAndQueue(name, std::move(held), std::move(maps), answers);
  }

  /// The inputs {"x": x}.
  static TensorMap only(Tensor x) {
    TensorMap inputs;
    inputs.set("x", std::move(x));
    return inputs;
  }

  /// True once `n` requests sent by send() have their answers; false after kPatience.
  bool awaitAnswers(std::size_t n) {
    std::unique_lock lock(mutex_);
    return answered_cv_.wait_for(lock, kPatience, [&] { return answered_ >= n; });
  }

  /// True once `n` requests wait in the queue of `name` version `version`; false after kPatience.
  bool awaitPending(const std::string& name, std::int64_t n, const std::string& version = "1") {
    const auto give_up = std::chrono::steady_clock::now() + kPatience;
    while (std::chrono::steady_clock::now() < give_up) {
      auto stats = runtime_.statistics(name, version);
      if (stats.ok() && !stats->empty() && stats->front().pending == n) {
        return true;
      }
      std::this_thread::yield();
    }
    return false;
  }

  ModelStatistics statisticsOf(const std::string& name, const std::string& version = "1") {
    auto stats = runtime_.statistics(name, version);
    EXPECT_TRUE(stats.ok() && !stats->empty());
    return stats.ok() && !stats->empty() ? stats->front() : ModelStatistics{};
  }

  static std::uint64_t failures(const ModelStatistics& stats, const std::string& reason) {
    for (const auto& [name, count] : stats.failures) {
      if (name == reason) {
        return count;
      }
    }
    return 0;
  }

  /// The FP32 values of output `name` of `answer`; empty when it has none.
  static std::vector<float> values(const Answer& answer, const std::string& name) {
    const Tensor* t = answer.outputs.find(name);
    if (t == nullptr || t->dtype() != DType::kFloat32) {
      return {};
    }
    return std::vector<float>(t->data<float>(), t->data<float>() + t->numel());
  }
  static std::vector<std::int64_t> versions(const Answer& answer) {
    const Tensor* t = answer.outputs.find("version");
    if (t == nullptr || t->dtype() != DType::kInt64) {
      return {};
    }
    return std::vector<std::int64_t>(t->data<std::int64_t>(), t->data<std::int64_t>() + t->numel());
  }

  ServingRuntime runtime_;
  Gate gate_;

 private:
  std::mutex mutex_;
  std::condition_variable answered_cv_;
  std::size_t answered_ = 0;
  std::deque<Answer> answers_;  // stable addresses for the clients
  std::vector<std::thread> clients_;
};

}  // namespace aimass::core::testing
