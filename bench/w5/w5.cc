// SPDX-License-Identifier: Apache-2.0
// W5, the aimass side: a character-level GRU language model (model.rnn: byte vocabulary,
// embedding 64, 1 layer of 256, linear-before-reset GRU on oneDNN) trained with optimizer.adam
// (lr 2e-3) for 200 steps of batch 32 x 64 bytes on the regular files of
// /usr/share/common-licenses sorted by name, cut into 32 contiguous streams: slot s of every
// batch is the next 64 bytes of stream s, the state is carried from batch to batch (truncated
// backpropagation through time) and reset when the streams start over (each epoch), as
// job.train does with dataset.text and shuffle: false. Prints one JSON line:
//   {"chars_per_s": ..., "final_loss": ..., "steps": 200, "seconds": ..., "bytes": ...}
// chars_per_s = 200 * 32 * 64 / seconds, seconds timing the 200 forwardBackward + Adam steps
// (the data is read and cut before the clock starts); final_loss is the mean training loss
// (nats per character) of the last 10 steps.
//
//   bench/w5 [--threads N] [--seed N] [--steps N] [--folder PATH] [--precision fp32|bf16|auto]
//
// Plugins come from <folder of this program>/../lib/aimass/plugins, as for aimass itself.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "../bench_node.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/type_registry.h"
#include "aimass/model.h"
#include "aimass/optimizer.h"
#include "aimass/util/json_writer.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr std::int64_t kStreams = 32, kSteps = 64;

aimass::Expected<std::shared_ptr<aimass::Node>> make(
    const aimass::core::TypeRegistry& registry, aimass::Host& host, const std::string& type,
    const std::vector<std::pair<std::string, aimass::ParamValue>>& values) {
  return aimass::bench::makeNode(registry, host, "w5", type, values);
}

int fail(const std::string& what, const aimass::Status& status) {
  std::cerr << "w5: " << what << ": " << status.toString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  std::int64_t seed = 1, steps = 200;
  fs::path folder = "/usr/share/common-licenses";
  std::string precision = "fp32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string word = argv[i], value = argv[i + 1];
    if (word == "--threads") {
      threads = std::stoi(value);
    } else if (word == "--seed") {
      seed = std::stoll(value);
    } else if (word == "--steps") {
      steps = std::stoll(value);
    } else if (word == "--folder") {
      folder = value;
    } else if (word == "--precision") {
      precision = value;
    } else {
      std::cerr << "usage: w5 [--threads N] [--seed N] [--steps N] [--folder PATH] "
                   "[--precision fp32|bf16|auto]\n";
      return 2;
    }
  }
  // The bytes of the regular files (not symbolic links), sorted by name.
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && !entry.is_symlink()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const auto stream_length = static_cast<std::int64_t>(text.size()) / kStreams;
  const std::int64_t per_epoch = (stream_length - 1) / kSteps;
  if (per_epoch < 1) {
    std::cerr << "w5: " << folder << " holds too little text\n";
    return 1;
  }

  aimass::core::TypeRegistry registry;
  aimass::core::registerBuiltinTypes(registry);
  aimass::core::PluginLoader loader(registry);
  loader.discover({});
  aimass::core::HostServices host(fs::current_path(), threads);
  host.setLogLevel(aimass::LogLevel::kWarning);
  auto made = make(registry, host, "model.rnn",
                   {{"cell", std::string("gru")},
                    {"hidden", std::int64_t{256}},
                    {"layers", std::int64_t{1}},
                    {"embedding", std::int64_t{64}},
                    {"precision", precision}});
  auto adam = make(registry, host, "optimizer.adam", {{"learning_rate", 2e-3}});
  if (!made.ok() || !adam.ok()) {
    return fail("making model.rnn and optimizer.adam", made.ok() ? adam.status() : made.status());
  }
  auto model = std::static_pointer_cast<aimass::Model>(*made);
  auto optimizer = std::static_pointer_cast<aimass::GradientOptimizer>(*adam);
  aimass::GradientTraining* training = model->gradientTraining();
  aimass::DatasetSchema schema;
  schema.feature_dtype = aimass::DType::kInt64;
  schema.row_shape = {kSteps};
  schema.label_kind = aimass::LabelKind::kNextToken;
  schema.cardinalities = {256};
  schema.id_names.resize(1);
  for (int b = 0; b < 256; ++b) {
    schema.id_names[0].push_back(std::string(1, static_cast<char>(b)));
  }
  if (auto s = training->prepare(schema, static_cast<std::uint64_t>(seed)); !s.ok()) {
    return fail("prepare", s);
  }
  auto parameters = training->parameters();
  if (auto s = optimizer->begin(parameters); !s.ok()) {
    return fail("optimizer", s);
  }
  // Every batch, cut before the clock starts.
  std::vector<aimass::Batch> batches(static_cast<std::size_t>(per_epoch));
  for (std::int64_t b = 0; b < per_epoch; ++b) {
    aimass::Batch& batch = batches[static_cast<std::size_t>(b)];
    batch.features = aimass::Tensor(aimass::DType::kInt64, {kStreams, kSteps});
    batch.labels = aimass::Tensor(aimass::DType::kInt64, {kStreams, kSteps});
    for (std::int64_t s = 0; s < kStreams; ++s) {
      for (std::int64_t t = 0; t < kSteps; ++t) {
        const std::int64_t at = s * stream_length + b * kSteps + t;
        batch.features.data<std::int64_t>()[s * kSteps + t] =
            static_cast<unsigned char>(text[static_cast<std::size_t>(at)]);
        batch.labels.data<std::int64_t>()[s * kSteps + t] =
            static_cast<unsigned char>(text[static_cast<std::size_t>(at + 1)]);
      }
    }
  }
  std::vector<double> losses;
  const auto start = Clock::now();
  for (std::int64_t step = 0; step < steps; ++step) {
    if (step % per_epoch == 0) {
      training->resetState();
    }
    auto loss =
        training->forwardBackward(batches[static_cast<std::size_t>(step % per_epoch)], true);
    if (!loss.ok()) {
      return fail("step " + std::to_string(step), loss.status());
    }
    if (auto s = optimizer->step(parameters); !s.ok()) {
      return fail("optimizer step", s);
    }
    losses.push_back(*loss);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  double last = 0;
  const std::size_t tail = std::min<std::size_t>(10, losses.size());
  for (std::size_t i = losses.size() - tail; i < losses.size(); ++i) {
    last += losses[i] / static_cast<double>(tail);
  }
  aimass::JsonWriter json;
  json.beginObject();
  json.key("chars_per_s").value(static_cast<double>(steps * kStreams * kSteps) / seconds);
  json.key("final_loss").value(last);
  json.key("steps").value(steps);
  json.key("seconds").value(seconds);
  json.key("bytes").value(static_cast<std::int64_t>(text.size()));
  json.endObject();
  std::string out = json.str();
  out.erase(std::remove(out.begin(), out.end(), '\n'), out.end());
  std::cout << out << "\n";
  return 0;
}
