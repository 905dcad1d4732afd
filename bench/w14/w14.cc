// SPDX-License-Identifier: Apache-2.0
// W14, active learning on Fashion-MNIST with a simulated annotator (the true labels): start from
// 100 labels drawn at random from the pool, then round after round train a model on the
// labelled rows, let a selection strategy (core/src/annotation/selection.h) choose the next 100
// rows of the pool, and "label" them, up to 2,000 labels; the test accuracy of the model trained
// on 500, 1,000 and 2,000 labels is the figure. `--strategy random` is the baseline (the peer):
// the same first 100 rows, then the next rows of the same seeded random order.
//
// Every training, in both arms, is the same: model.mlp 784-256-128-10 ReLU (W1's shape) and
// optimizer.adam lr 1e-3 from the build tree's plugins, 3 epochs over the labelled rows in
// batches of 128, reshuffled every epoch (seeded by the round's seed + epoch, as job.train does;
// the round's seed is seed * 1,000,000 + the number of labels). `--start scratch`: a fresh model
// and optimizer after every batch, their weights seeded with the round's seed, so both arms
// start every checkpoint's model from the same weights; the random arm then trains only where a
// figure is read (its choices do not depend on the model). `--start warm`: one model and
// optimizer for the whole run (seeded with the first round's seed), trained 3 more epochs over
// all the labelled rows after every batch, in both arms. The uncertainty arm scores the whole
// pool with the model after every training (predict() on `--threads` threads) and chooses among
// the rows not labelled yet.
//
// Data: dataset.idx over the Debian package's files, pixels / 255. `--eval test` (W14): the
// pool is all 60,000 training images and the accuracy is on the 10,000 test images.
// `--eval validation` (W14select, for choosing without the test set): the pool is
// training images 0-49,999 and the accuracy is on training images 50,000-59,999.
//
// Prints one JSON line:
//   {"strategy": "margin", "seed": 0, "accuracy_500": ..., "accuracy_1000": ...,
//    "accuracy_2000": ..., "seconds": ..., "trainings": ..., "class_counts_2000": [...]}
// seconds: the whole loop (trainings, scoring, selection and evaluations), data reading not
// included; class_counts_2000: how many of the 2,000 labelled rows each class has.
//
//   bench/w14 [--strategy NAME] [--start scratch|warm] [--seed N] [--threads N]
//             [--eval test|validation] [--folder PATH] [--epochs N]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "../bench_node.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/type_registry.h"
#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/util/json_writer.h"
#include "annotation/selection.h"

namespace {

namespace fs = std::filesystem;
using aimass::core::annotation::SelectionStrategy;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kInitial = 100, kQuery = 100, kBatch = 128, kFeatures = 784;
constexpr std::size_t kCheckpoints[] = {500, 1000, 2000};
constexpr std::size_t kPredictChunk = 2048;

struct Options {
  SelectionStrategy strategy = SelectionStrategy::kMargin;
  std::uint64_t seed = 0;
  int threads = 2;
  bool validation = false;
  fs::path folder = "/usr/share/datasets/fashion-mnist";
  int epochs = 3;
  /// Warm start: one model for the whole run, trained `epochs` more epochs over all the labelled
  /// rows after every batch, instead of a fresh one each time.
  bool warm = false;
};

/// Rows of images (pixels / 255) and their class labels.
struct Images {
  aimass::DatasetSchema schema;
  std::vector<float> pixels;  // rows x kFeatures
  std::vector<std::int64_t> labels;
  std::size_t rows() const { return labels.size(); }
  std::span<const float> row(std::size_t r) const {
    return std::span<const float>(pixels).subspan(r * kFeatures, kFeatures);
  }
};

/// What the run needs from the build tree's plugins.
struct Plugins {
  aimass::core::TypeRegistry registry;
  std::unique_ptr<aimass::core::PluginLoader> loader;
  std::unique_ptr<aimass::core::HostServices> host;
};

aimass::Expected<std::shared_ptr<aimass::Node>> make(
    Plugins& plugins, const std::string& type,
    const std::vector<std::pair<std::string, aimass::ParamValue>>& values) {
  return aimass::bench::makeNode(plugins.registry, *plugins.host, "w14", type, values);
}

/// Rows [first, first + count) of an IDX image file and its labels, read by dataset.idx.
aimass::Expected<Images> readImages(Plugins& plugins, const fs::path& images,
                                    const fs::path& labels, std::size_t first, std::size_t count) {
  auto node = make(plugins, "dataset.idx",
                   {{"images", images.string()},
                    {"labels", labels.string()},
                    {"normalize", std::string("scale")}});
  if (!node.ok()) {
    return node.status();
  }
  auto dataset = std::static_pointer_cast<aimass::Dataset>(*node);
  if (first + count > dataset->size()) {
    return aimass::outOfRange(images.string() + " has " + std::to_string(dataset->size()) +
                              " rows, not " + std::to_string(first + count));
  }
  std::vector<std::uint64_t> rows(count);
  for (std::size_t i = 0; i < count; ++i) {
    rows[i] = first + i;
  }
  aimass::Batch batch;
  AIMASS_RETURN_IF_ERROR(dataset->read(rows, batch));
  Images out;
  out.schema = dataset->schema();
  const float* pixels = batch.features.data<float>();
  out.pixels.assign(pixels, pixels + count * kFeatures);
  const std::int64_t* labels_data = batch.labels.data<std::int64_t>();
  out.labels.assign(labels_data, labels_data + count);
  return out;
}

/// model.mlp and its optimizer.adam, made and seeded together.
struct Learner {
  std::shared_ptr<aimass::Model> model;
  std::shared_ptr<aimass::GradientOptimizer> optimizer;
  std::vector<aimass::Parameter> parameters;
};

/// A fresh model.mlp (weights seeded with `seed`) and optimizer.adam.
aimass::Expected<Learner> makeLearner(Plugins& plugins, const Images& data, std::uint64_t seed) {
  auto model_node =
      make(plugins, "model.mlp",
           {{"hidden", std::vector<std::int64_t>{256, 128}}, {"activation", std::string("relu")}});
  auto adam_node = make(plugins, "optimizer.adam", {{"learning_rate", 1e-3}});
  if (!model_node.ok() || !adam_node.ok()) {
    return model_node.ok() ? adam_node.status() : model_node.status();
  }
  Learner learner;
  learner.model = std::static_pointer_cast<aimass::Model>(*model_node);
  learner.optimizer = std::static_pointer_cast<aimass::GradientOptimizer>(*adam_node);
  AIMASS_RETURN_IF_ERROR(learner.model->gradientTraining()->prepare(data.schema, seed));
  learner.parameters = learner.model->gradientTraining()->parameters();
  AIMASS_RETURN_IF_ERROR(learner.optimizer->begin(learner.parameters));
  return learner;
}

/// `epochs` epochs over the `labelled` rows of `data` in batches of kBatch, reshuffled every
/// epoch (seeded by `seed` + epoch).
aimass::Status fit(Learner& learner, const Images& data, const std::vector<std::size_t>& labelled,
                   std::uint64_t seed, int epochs) {
  aimass::GradientTraining* training = learner.model->gradientTraining();
  aimass::core::annotation::SelectionPool positions;
  positions.rows = labelled.size();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    auto order = aimass::core::annotation::rankPool(SelectionStrategy::kRandom, positions,
                                                    seed + static_cast<std::uint64_t>(epoch));
    for (std::size_t start = 0; start < order->size(); start += kBatch) {
      const std::size_t rows = std::min(kBatch, order->size() - start);
      aimass::Batch batch;
      batch.features =
          aimass::Tensor(aimass::DType::kFloat32, {static_cast<std::int64_t>(rows), kFeatures});
      batch.labels = aimass::Tensor(aimass::DType::kInt64, {static_cast<std::int64_t>(rows)});
      for (std::size_t i = 0; i < rows; ++i) {
        const std::size_t r = labelled[(*order)[start + i]];
        std::copy_n(data.row(r).data(), kFeatures, batch.features.data<float>() + i * kFeatures);
        batch.labels.data<std::int64_t>()[i] = data.labels[r];
      }
      auto loss = training->forwardBackward(batch, true);
      if (!loss.ok()) {
        return loss.status();
      }
      AIMASS_RETURN_IF_ERROR(learner.optimizer->step(learner.parameters));
    }
  }
  return aimass::okStatus();
}

/// The model's class probabilities for every row of `data`, predict() on `threads` threads,
/// each over its own contiguous share of the rows in chunks.
aimass::Expected<std::vector<float>> predictAll(const aimass::Model& model, const Images& data,
                                                int threads) {
  const std::size_t rows = data.rows();
  const std::size_t classes = data.schema.class_names.size();
  std::vector<float> probabilities(rows * classes);
  std::vector<aimass::Status> failures(static_cast<std::size_t>(threads));
  auto predictRange = [&](std::size_t begin, std::size_t end, aimass::Status& status) {
    for (std::size_t at = begin; at < end && status.ok(); at += kPredictChunk) {
      const std::size_t count = std::min(kPredictChunk, end - at);
      aimass::TensorMap inputs, outputs;
      inputs.set("input", aimass::Tensor::wrap(aimass::DType::kFloat32,
                                               {static_cast<std::int64_t>(count), kFeatures},
                                               const_cast<float*>(data.row(at).data()), nullptr));
      status = model.predict(inputs, outputs, aimass::PredictOptions{});
      const aimass::Tensor* out = status.ok() ? outputs.find("probabilities") : nullptr;
      if (out == nullptr || out->dim(1) != static_cast<std::int64_t>(classes)) {
        status =
            status.ok() ? aimass::internalError("no probabilities of the expected width") : status;
        return;
      }
      std::copy_n(out->data<float>(), count * classes, probabilities.data() + at * classes);
    }
  };
  std::vector<std::thread> workers;
  const std::size_t share =
      (rows + static_cast<std::size_t>(threads) - 1) / static_cast<std::size_t>(threads);
  for (std::size_t t = 0; t < static_cast<std::size_t>(threads); ++t) {
    const std::size_t begin = std::min(rows, t * share), end = std::min(rows, begin + share);
    workers.emplace_back(predictRange, begin, end, std::ref(failures[t]));
  }
  for (auto& worker : workers) {
    worker.join();
  }
  for (const auto& failure : failures) {
    AIMASS_RETURN_IF_ERROR(failure);
  }
  return probabilities;
}

aimass::Expected<double> accuracy(const aimass::Model& model, const Images& data, int threads) {
  auto probabilities = predictAll(model, data, threads);
  if (!probabilities.ok()) {
    return probabilities.status();
  }
  const std::size_t classes = data.schema.class_names.size();
  std::size_t right = 0;
  for (std::size_t r = 0; r < data.rows(); ++r) {
    const float* p = probabilities->data() + r * classes;
    const auto predicted = static_cast<std::int64_t>(std::max_element(p, p + classes) - p);
    right += predicted == data.labels[r] ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(data.rows());
}

/// The next kQuery rows the strategy chooses among the pool rows not labelled yet.
aimass::Expected<std::vector<std::size_t>> query(const Options& options, const aimass::Model& model,
                                                 const Images& pool,
                                                 const std::vector<bool>& is_labelled,
                                                 std::uint64_t seed) {
  auto probabilities = predictAll(model, pool, options.threads);
  if (!probabilities.ok()) {
    return probabilities.status();
  }
  const std::size_t classes = pool.schema.class_names.size();
  std::vector<std::size_t> unlabelled;
  std::vector<float> candidate_probabilities, candidate_features;
  for (std::size_t r = 0; r < pool.rows(); ++r) {
    if (is_labelled[r]) {
      continue;
    }
    unlabelled.push_back(r);
    const float* p = probabilities->data() + r * classes;
    candidate_probabilities.insert(candidate_probabilities.end(), p, p + classes);
    if (options.strategy == SelectionStrategy::kDiversity) {
      candidate_features.insert(candidate_features.end(), pool.row(r).begin(), pool.row(r).end());
    }
  }
  aimass::core::annotation::SelectionPool candidates;
  candidates.rows = unlabelled.size();
  candidates.probabilities = candidate_probabilities;
  candidates.classes = classes;
  candidates.features = candidate_features;
  candidates.dims = kFeatures;
  aimass::core::annotation::SelectionOptions selection;
  selection.batch = kQuery;
  selection.seed = seed;
  auto chosen = aimass::core::annotation::selectBatch(options.strategy, candidates, selection);
  if (!chosen.ok()) {
    return chosen.status();
  }
  for (std::size_t& row : *chosen) {
    row = unlabelled[row];
  }
  return chosen;
}

struct Outcome {
  std::vector<double> accuracies;  // one per checkpoint
  std::size_t trainings = 0;
  std::vector<std::int64_t> class_counts;  // of the labelled rows at the last checkpoint
};

aimass::Expected<Outcome> activeLearning(const Options& options, Plugins& plugins,
                                         const Images& pool, const Images& scored) {
  aimass::core::annotation::SelectionPool everything;
  everything.rows = pool.rows();
  const auto random_order =
      *aimass::core::annotation::rankPool(SelectionStrategy::kRandom, everything, options.seed);
  std::vector<std::size_t> labelled(random_order.begin(), random_order.begin() + kInitial);
  std::vector<bool> is_labelled(pool.rows(), false);
  for (std::size_t r : labelled) {
    is_labelled[r] = true;
  }
  const bool random = options.strategy == SelectionStrategy::kRandom;
  Outcome outcome;
  Learner learner;
  for (;;) {
    const std::size_t have = labelled.size();
    const bool checkpoint =
        std::find(std::begin(kCheckpoints), std::end(kCheckpoints), have) != std::end(kCheckpoints);
    const std::uint64_t seed = options.seed * 1000000 + have;
    if (checkpoint || !random || options.warm) {
      if (!options.warm || !learner.model) {
        auto made = makeLearner(plugins, pool, seed);
        if (!made.ok()) {
          return made.status();
        }
        learner = std::move(*made);
      }
      AIMASS_RETURN_IF_ERROR(fit(learner, pool, labelled, seed, options.epochs));
      ++outcome.trainings;
    }
    if (checkpoint) {
      auto measured = accuracy(*learner.model, scored, options.threads);
      if (!measured.ok()) {
        return measured.status();
      }
      outcome.accuracies.push_back(*measured);
    }
    if (have >= kCheckpoints[std::size(kCheckpoints) - 1]) {
      outcome.class_counts.assign(pool.schema.class_names.size(), 0);
      for (std::size_t r : labelled) {
        ++outcome.class_counts[static_cast<std::size_t>(pool.labels[r])];
      }
      return outcome;
    }
    std::vector<std::size_t> next;
    if (random) {
      next.assign(random_order.begin() + static_cast<std::ptrdiff_t>(have),
                  random_order.begin() + static_cast<std::ptrdiff_t>(have + kQuery));
    } else {
      auto chosen = query(options, *learner.model, pool, is_labelled, seed);
      if (!chosen.ok()) {
        return chosen.status();
      }
      next = std::move(*chosen);
    }
    for (std::size_t r : next) {
      is_labelled[r] = true;
      labelled.push_back(r);
    }
  }
}

int usage() {
  std::cerr << "usage: w14 [--strategy least_confidence|margin|entropy|diversity|random] "
               "[--seed N] [--threads N] [--eval test|validation] [--folder PATH] "
               "[--epochs N] [--start scratch|warm]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    const std::string word = argv[i];
    if (i + 1 >= argc) {
      return usage();
    }
    const std::string value = argv[i + 1];
    if (word == "--strategy") {
      auto parsed = aimass::core::annotation::parseSelectionStrategy(value);
      if (!parsed.ok()) {
        std::cerr << "w14: " << parsed.status().message() << "\n";
        return 2;
      }
      options.strategy = *parsed;
    } else if (word == "--seed") {
      options.seed = std::stoull(value);
    } else if (word == "--threads") {
      options.threads = std::max(1, std::stoi(value));
    } else if (word == "--eval" && (value == "test" || value == "validation")) {
      options.validation = value == "validation";
    } else if (word == "--folder") {
      options.folder = value;
    } else if (word == "--start" && (value == "scratch" || value == "warm")) {
      options.warm = value == "warm";
    } else if (word == "--epochs") {
      options.epochs = std::max(1, std::stoi(value));
    } else {
      return usage();
    }
  }
  Plugins plugins;
  aimass::core::registerBuiltinTypes(plugins.registry);
  plugins.loader = std::make_unique<aimass::core::PluginLoader>(plugins.registry);
  plugins.loader->discover({});
  plugins.host = std::make_unique<aimass::core::HostServices>(fs::current_path(), options.threads);
  plugins.host->setLogLevel(aimass::LogLevel::kWarning);

  const fs::path train_images = options.folder / "train-images-idx3-ubyte.gz";
  const fs::path train_labels = options.folder / "train-labels-idx1-ubyte.gz";
  auto pool =
      readImages(plugins, train_images, train_labels, 0, options.validation ? 50000 : 60000);
  auto scored = options.validation
                    ? readImages(plugins, train_images, train_labels, 50000, 10000)
                    : readImages(plugins, options.folder / "t10k-images-idx3-ubyte.gz",
                                 options.folder / "t10k-labels-idx1-ubyte.gz", 0, 10000);
  if (!pool.ok() || !scored.ok()) {
    std::cerr << "w14: reading Fashion-MNIST: "
              << (pool.ok() ? scored.status() : pool.status()).toString() << "\n";
    return 1;
  }
  const auto start = Clock::now();
  auto outcome = activeLearning(options, plugins, *pool, *scored);
  if (!outcome.ok()) {
    std::cerr << "w14: " << outcome.status().toString() << "\n";
    return 1;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  aimass::JsonWriter json;
  json.beginObject();
  json.key("strategy").value(aimass::core::annotation::selectionStrategyName(options.strategy));
  json.key("seed").value(options.seed);
  for (std::size_t c = 0; c < std::size(kCheckpoints); ++c) {
    json.key("accuracy_" + std::to_string(kCheckpoints[c])).value(outcome->accuracies[c]);
  }
  json.key("seconds").value(seconds);
  json.key("trainings").value(static_cast<std::uint64_t>(outcome->trainings));
  json.key("class_counts_2000").beginArray();
  for (std::int64_t count : outcome->class_counts) {
    json.value(count);
  }
  json.endArray();
  json.endObject();
  std::string out = json.str();
  out.erase(std::remove(out.begin(), out.end(), '\n'), out.end());
  std::cout << out << "\n";
  return 0;
}
