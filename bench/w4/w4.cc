// SPDX-License-Identifier: Apache-2.0
// W4, the aimass side: model.mf (biased MF, rank 32, its defaults: mini-batch Adam, lr 0.01,
// batch 1024, 20 epochs) trained on ratings_train.csv through dataset.interactions, then the
// RMSE of its pair scores on ratings_test.csv (ids sent as text through Model::predict, as a
// client would), and the latency of one user's top-10 over a 10,000-item catalogue (a second
// model trained on synthetic interactions, real predict() calls). Prints one JSON line:
//   {"s_per_epoch": ..., "test_rmse": ..., "epochs": 20, "topk_us_p50": ..., "topk_us_p99": ...}
// s_per_epoch is the mean time between the fit observer's per-epoch calls from epoch 2 on (the
// first also reads and indexes the rows), as W1 times its epochs.
//
//   bench/w4 [--train PATH] [--test PATH] [--seed N] [--topk-calls N]
//
// Plugins come from <folder of this program>/../lib/aimass/plugins, as for aimass itself.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "../bench_node.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/type_registry.h"
#include "aimass/model.h"
#include "aimass/util/json_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

aimass::Expected<std::shared_ptr<aimass::Node>> make(
    const aimass::core::TypeRegistry& registry, aimass::Host& host, const std::string& type,
    const std::vector<std::pair<std::string, aimass::ParamValue>>& values) {
  return aimass::bench::makeNode(registry, host, "w4", type, values);
}

class EpochTimer final : public aimass::FitObserver {
 public:
  bool onIteration(std::uint64_t, double) override {
    const auto now = Clock::now();
    seconds.push_back(std::chrono::duration<double>(now - last).count());
    last = now;
    return false;
  }
  Clock::time_point last = Clock::now();
  std::vector<double> seconds;
};

/// Synthetic interactions for the top-k timing: `users` users with 20 ratings each over
/// `items` items; ids as text.
class Catalogue final : public aimass::Dataset {
 public:
  Catalogue(std::int64_t users, std::int64_t items) {
    schema_.feature_names = {"user", "item"};
    schema_.feature_dtype = aimass::DType::kInt64;
    schema_.row_shape = {2};
    schema_.label_kind = aimass::LabelKind::kValue;
    schema_.num_targets = 1;
    schema_.cardinalities = {users, items};
    schema_.id_names.resize(2);
    for (std::int64_t u = 0; u < users; ++u) {
      schema_.id_names[0].push_back("user" + std::to_string(u));
    }
    for (std::int64_t i = 0; i < items; ++i) {
      schema_.id_names[1].push_back("item" + std::to_string(i));
    }
    std::uint64_t state = 12345;
    auto next = [&state] {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return state >> 33;
    };
    for (std::int64_t u = 0; u < users; ++u) {
      for (int j = 0; j < 20; ++j) {
        pairs_.push_back(u);
        pairs_.push_back(static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(items)));
        ratings_.push_back(1.0f + static_cast<float>(next() % 5));
      }
    }
  }
  const aimass::DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return ratings_.size(); }
  aimass::Status read(std::span<const std::uint64_t> rows, aimass::Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(aimass::DType::kInt64, {n, 2});
    out.labels.resize(aimass::DType::kFloat32, {n, 1});
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r] >= size()) {
        return aimass::outOfRange("row " + std::to_string(rows[r]));
      }
      std::memcpy(out.features.data<std::int64_t>() + 2 * r, pairs_.data() + 2 * rows[r], 16);
      out.labels.data<float>()[r] = ratings_[rows[r]];
    }
    return aimass::okStatus();
  }

 private:
  aimass::DatasetSchema schema_;
  std::vector<std::int64_t> pairs_;
  std::vector<float> ratings_;
};

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[static_cast<std::size_t>(p * static_cast<double>(values.size() - 1))];
}

int fail(const std::string& what, const aimass::Status& status) {
  std::cerr << "w4: " << what << ": " << status.toString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string train_path = "../shared/data/ratings_train.csv";
  std::string test_path = "../shared/data/ratings_test.csv";
  std::int64_t seed = 1, topk_calls = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string word = argv[i], value = argv[i + 1];
    if (word == "--train") {
      train_path = value;
    } else if (word == "--test") {
      test_path = value;
    } else if (word == "--seed") {
      seed = std::stoll(value);
    } else if (word == "--topk-calls") {
      topk_calls = std::stoll(value);
    } else {
      std::cerr << "usage: w4 [--train PATH] [--test PATH] [--seed N] [--topk-calls N]\n";
      return 2;
    }
  }
  aimass::core::TypeRegistry registry;
  aimass::core::registerBuiltinTypes(registry);
  aimass::core::PluginLoader loader(registry);
  loader.discover({});
  aimass::core::HostServices host(fs::current_path(), 1);
  host.setLogLevel(aimass::LogLevel::kWarning);

  auto dataset = [&](const std::string& path) {
    return make(registry, host, "dataset.interactions",
                {{"path", fs::absolute(path).string()}, {"rating_column", std::string("rating")}});
  };
  auto train = dataset(train_path);
  auto test = dataset(test_path);
  if (!train.ok() || !test.ok()) {
    return fail("reading the ratings", train.ok() ? test.status() : train.status());
  }
  auto made = make(registry, host, "model.mf", {{"rank", std::int64_t{32}}, {"seed", seed}});
  if (!made.ok()) {
    return fail("model.mf", made.status());
  }
  auto model = std::static_pointer_cast<aimass::Model>(*made);
  const auto& train_data = static_cast<const aimass::Dataset&>(**train);
  EpochTimer timer;
  timer.last = Clock::now();
  aimass::Status fitted = model->selfTraining()->fit(train_data, 1, timer);
  if (!fitted.ok()) {
    return fail("training", fitted);
  }
  double epoch_seconds = 0;
  for (std::size_t e = 1; e < timer.seconds.size(); ++e) {
    epoch_seconds += timer.seconds[e];
  }
  const double s_per_epoch = epoch_seconds / static_cast<double>(timer.seconds.size() - 1);

  // RMSE of the pair scores on the test rows, asked by id text.
  const auto& test_data = static_cast<const aimass::Dataset&>(**test);
  std::vector<std::uint64_t> rows(test_data.size());
  for (std::uint64_t r = 0; r < rows.size(); ++r) {
    rows[r] = r;
  }
  aimass::Batch batch;
  if (auto s = test_data.read(rows, batch); !s.ok()) {
    return fail("reading the test rows", s);
  }
  const auto& names = test_data.schema().id_names;
  std::vector<std::string> users, items;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    users.push_back(names[0][static_cast<std::size_t>(batch.features.data<std::int64_t>()[2 * r])]);
    items.push_back(
        names[1][static_cast<std::size_t>(batch.features.data<std::int64_t>()[2 * r + 1])]);
  }
  aimass::TensorMap in, out;
  in.set("user", aimass::Tensor::fromStrings(users));
  in.set("item", aimass::Tensor::fromStrings(items));
  if (auto s = model->predict(in, out, {}); !s.ok()) {
    return fail("scoring the test pairs", s);
  }
  double squares = 0;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const double e = out.find("score")->data<float>()[r] - batch.labels.data<float>()[r];
    squares += e * e;
  }
  const double rmse = std::sqrt(squares / static_cast<double>(rows.size()));

  // Top-10 of one user over 10,000 items, through predict().
  Catalogue catalogue(5000, 10000);
  auto big = make(registry, host, "model.mf",
                  {{"rank", std::int64_t{32}}, {"epochs", std::int64_t{2}}, {"seed", seed}});
  if (!big.ok()) {
    return fail("model.mf", big.status());
  }
  auto recommender = std::static_pointer_cast<aimass::Model>(*big);
  EpochTimer ignored;
  if (auto s = recommender->selfTraining()->fit(catalogue, 1, ignored); !s.ok()) {
    return fail("training the 10,000-item model", s);
  }
  aimass::PredictOptions options;
  options.top_k = 10;
  std::vector<double> micros;
  for (std::int64_t call = 0; call < topk_calls; ++call) {
    aimass::TensorMap request, answer;
    request.set("user", aimass::Tensor::fromStrings({"user" + std::to_string(call * 7 % 5000)}));
    const auto start = Clock::now();
    aimass::Status s = recommender->predict(request, answer, options);
    const auto end = Clock::now();
    if (!s.ok()) {
      return fail("top-k", s);
    }
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }

  aimass::JsonWriter json;
  json.beginObject();
  json.key("s_per_epoch").value(s_per_epoch);
  json.key("test_rmse").value(rmse);
  json.key("epochs").value(static_cast<std::int64_t>(timer.seconds.size()));
  json.key("topk_us_p50").value(percentile(micros, 0.5));
  json.key("topk_us_p99").value(percentile(micros, 0.99));
  json.endObject();
  std::string text = json.str();
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  std::cout << text << "\n";
  return 0;
}
