// SPDX-License-Identifier: Apache-2.0
// Times model.mlp's forward + backward on the W1 shape (784-256-128-10 ReLU, batch 128,
// softmax cross-entropy) and projects one Fashion-MNIST epoch (469 batches). Not a test: the
// numbers depend on the machine. Usage: mlp_step [threads=2] [batches=2000] [fp32|bf16]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "mlp.h"

int main(int argc, char** argv) {
  using aimass::plugins::model::Mlp;
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int batches = argc > 2 ? std::atoi(argv[2]) : 2000;
  auto precision = aimass::plugins::model::mlpPrecision(argc > 3 ? argv[3] : "fp32",
                                                        aimass::Device::kCpu);
  if (!precision.ok()) {
    std::fprintf(stderr, "%s\n", precision.status().toString().c_str());
    return 2;
  }
  constexpr std::int64_t kRows = 128, kFeatures = 784, kClasses = 10, kEpochBatches = 469;

  aimass::plugins::model::MlpOptions options;
  options.hidden = {256, 128};
  options.activation = aimass::compute::Activation::kRelu;
  options.threads = threads;
  options.precision = *precision;
  Mlp model(options);
  aimass::DatasetSchema schema;
  schema.row_shape = {kFeatures};
  schema.label_kind = aimass::LabelKind::kClass;
  for (int c = 0; c < kClasses; ++c) {
    schema.class_names.push_back("c" + std::to_string(c));
  }
  if (!model.prepare(schema, 1).ok()) {
    std::fprintf(stderr, "prepare failed\n");
    return 1;
  }
  std::mt19937 random(7);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<float> x(kRows * kFeatures);
  std::vector<std::int64_t> y(kRows);
  for (float& v : x) {
    v = pixel(random);
  }
  for (auto& v : y) {
    v = static_cast<std::int64_t>(random() % kClasses);
  }
  aimass::Batch batch;
  batch.features = aimass::Tensor::fromVector(x, {kRows, kFeatures});
  batch.labels = aimass::Tensor::fromVector(y, {kRows});

  for (int i = 0; i < 50; ++i) {  // warm-up: primitives, caches, OpenMP team
    if (!model.forwardBackward(batch, true).ok()) {
      std::fprintf(stderr, "forwardBackward failed\n");
      return 1;
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < batches; ++i) {
    (void)model.forwardBackward(batch, true);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double per_batch = seconds / batches;
  const double flops = 2.0 * 3 * kRows * (784.0 * 256 + 256.0 * 128 + 128.0 * 10);
  std::printf(
      "{\"threads\": %d, \"batches\": %d, \"ms_per_batch\": %.4f, "
      "\"s_per_epoch_forward_backward\": %.4f, \"gflop_per_s\": %.1f}\n",
      threads, batches, per_batch * 1e3, per_batch * kEpochBatches, flops / per_batch / 1e9);
  return 0;
}
