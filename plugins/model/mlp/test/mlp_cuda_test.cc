// SPDX-License-Identifier: Apache-2.0
// model.mlp with device: cuda. Without a device (or without the CUDA backend) asking for it is a
// clear error; with one, training steps, losses and predictions match the CPU model's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "mlp.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using compute::Activation;
using ::testing::AnyOf;
using ::testing::HasSubstr;

MlpOptions options(std::vector<std::int64_t> hidden, Activation activation, double dropout,
                   Device device) {
  MlpOptions o;
  o.hidden = std::move(hidden);
  o.activation = activation;
  o.dropout = dropout;
  o.threads = 1;
  o.device = device;
  return o;
}

DatasetSchema classSchema(std::int64_t features, std::int64_t classes) {
  DatasetSchema schema;
  schema.row_shape = {features};
  schema.label_kind = LabelKind::kClass;
  for (std::int64_t c = 0; c < classes; ++c) {
    schema.class_names.push_back("c" + std::to_string(c));
  }
  schema.num_targets = 1;
  return schema;
}

DatasetSchema valueSchema(std::int64_t features, std::int64_t targets) {
  DatasetSchema schema;
  schema.row_shape = {features};
  schema.label_kind = LabelKind::kValue;
  schema.num_targets = targets;
  return schema;
}

Batch randomBatch(std::mt19937& random, std::int64_t rows, std::int64_t features,
                  std::int64_t classes, std::int64_t targets) {
  std::normal_distribution<float> normal;
  Batch batch;
  batch.features = Tensor(DType::kFloat32, {rows, features});
  for (float& v : batch.features.span<float>()) {
    v = normal(random);
  }
  if (classes > 0) {
    batch.labels = Tensor(DType::kInt64, {rows});
    for (std::int64_t r = 0; r < rows; ++r) {
      batch.labels.data<std::int64_t>()[r] = static_cast<std::int64_t>(random() % classes);
    }
  } else {
    batch.labels = Tensor(DType::kFloat32, {rows, targets});
    for (float& v : batch.labels.span<float>()) {
      v = normal(random);
    }
  }
  return batch;
}

void expectClose(const Tensor& cpu, const Tensor& gpu, float tolerance, const std::string& what) {
  ASSERT_EQ(cpu.shape(), gpu.shape()) << what;
  auto a = cpu.span<float>();
  auto b = gpu.span<float>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], tolerance * (1.0f + std::fabs(a[i]))) << what << " at " << i;
  }
}

TEST(MlpCudaTest, DeviceCudaWithoutAUsableDeviceIsAClearErrorFromTheFactory) {
  Status usable = checkMlpDevice(Device::kCuda);
  if (usable.ok()) {
    GTEST_SKIP() << "a CUDA device is present; this test checks the error without one";
  }
  EXPECT_EQ(usable.code(), StatusCode::kFailedPrecondition);
  // Either the build has no CUDA backend, or the runtime says why it sees no device.
  EXPECT_THAT(usable.message(), AnyOf(HasSubstr("this build of aimass has no CUDA backend"),
                                      HasSubstr("cudaGetDeviceCount returned cudaError"),
                                      HasSubstr("cudaGetDeviceCount reports 0 devices")));
  EXPECT_THAT(usable.message(), HasSubstr("model.mlp device 'cuda'"));
  EXPECT_TRUE(checkMlpDevice(Device::kCpu).ok());

  auto registered = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 1u);
  const NodeType& type = registered.types[0];
  NodeConfig config("net", type.type, nullptr);
  for (const auto& spec : type.params) {
    config.setValue(spec.name, spec.default_value);
  }
  config.setValue("device", std::string("cuda"));
  auto node = type.factory(config);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(node.status().message(), usable.message());

  // A model made directly with device kCuda refuses to run rather than fall back to the CPU.
  Mlp model(options({4}, Activation::kRelu, 0, Device::kCuda));
  ASSERT_TRUE(model.prepare(classSchema(3, 2), 1).ok());
  std::mt19937 random(1);
  auto step = model.forwardBackward(randomBatch(random, 5, 3, 2, 0), true);
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.status().code(), StatusCode::kFailedPrecondition);
}

class MlpOnCudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status usable = checkMlpDevice(Device::kCuda);
    if (!usable.ok()) {
      GTEST_SKIP() << "no CUDA device to compare with the CPU model: " << usable.message();
    }
  }

  // Trains a CPU and a CUDA model from the same seed for a few plain SGD steps on the same
  // batches, comparing the loss and every gradient each step, then the predictions.
  void compare(const MlpOptions& base, const DatasetSchema& schema, std::int64_t classes,
               std::int64_t targets) {
    MlpOptions cpu_options = base, gpu_options = base;
    gpu_options.device = Device::kCuda;
    Mlp cpu(cpu_options), gpu(gpu_options);
    ASSERT_TRUE(cpu.prepare(schema, 11).ok());
    ASSERT_TRUE(gpu.prepare(schema, 11).ok());
    const std::int64_t features = schema.row_shape[0];
    std::mt19937 random(5);
    for (int step = 0; step < 4; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      // A full batch and a shorter last one, as an epoch has.
      Batch batch = randomBatch(random, step == 3 ? 7 : 32, features, classes, targets);
      auto cpu_loss = cpu.forwardBackward(batch, true);
      auto gpu_loss = gpu.forwardBackward(batch, true);
      ASSERT_TRUE(cpu_loss.ok()) << cpu_loss.status().toString();
      ASSERT_TRUE(gpu_loss.ok()) << gpu_loss.status().toString();
      EXPECT_NEAR(*cpu_loss, *gpu_loss, 1e-4 * (1 + std::fabs(*cpu_loss)));
      auto cpu_parameters = cpu.parameters();
      auto gpu_parameters = gpu.parameters();
      ASSERT_EQ(cpu_parameters.size(), gpu_parameters.size());
      for (std::size_t p = 0; p < cpu_parameters.size(); ++p) {
        expectClose(cpu_parameters[p].grad, gpu_parameters[p].grad, 1e-3f,
                    cpu_parameters[p].name + " gradient");
        // The same SGD step on both, so the next step starts from (nearly) the same weights.
        auto cw = cpu_parameters[p].value.span<float>();
        auto gw = gpu_parameters[p].value.span<float>();
        auto cg = cpu_parameters[p].grad.span<float>();
        auto gg = gpu_parameters[p].grad.span<float>();
        for (std::size_t i = 0; i < cw.size(); ++i) {
          cw[i] -= 0.05f * cg[i];
          gw[i] -= 0.05f * gg[i];
        }
      }
    }
    Batch held_out = randomBatch(random, 9, features, classes, targets);
    auto cpu_eval = cpu.evaluateLoss(held_out);
    auto gpu_eval = gpu.evaluateLoss(held_out);
    ASSERT_TRUE(cpu_eval.ok() && gpu_eval.ok()) << gpu_eval.status().toString();
    EXPECT_NEAR(*cpu_eval, *gpu_eval, 1e-3 * (1 + std::fabs(*cpu_eval)));
    TensorMap inputs, cpu_out, gpu_out;
    inputs.set("input", held_out.features);
    ASSERT_TRUE(cpu.predict(inputs, cpu_out, {}).ok());
    Status predicted = gpu.predict(inputs, gpu_out, {});
    ASSERT_TRUE(predicted.ok()) << predicted.toString();
    if (classes > 0) {
      expectClose(*cpu_out.find("probabilities"), *gpu_out.find("probabilities"), 1e-3f,
                  "probabilities");
      ASSERT_NE(gpu_out.find("label"), nullptr);
      ASSERT_NE(gpu_out.find("class"), nullptr);
      EXPECT_EQ(gpu_out.find("class")->strings().size(), 9u);
    } else {
      expectClose(*cpu_out.find("prediction"), *gpu_out.find("prediction"), 1e-3f, "prediction");
    }
  }
};

TEST_F(MlpOnCudaTest, ClassificationStepsMatchTheCpuWithEveryActivation) {
  for (Activation a :
       {Activation::kRelu, Activation::kTanh, Activation::kSigmoid, Activation::kGelu}) {
    SCOPED_TRACE(std::string(compute::activationName(a)));
    compare(options({24, 16}, a, 0, Device::kCpu), classSchema(10, 4), 4, 0);
  }
}

TEST_F(MlpOnCudaTest, DropoutDrawsTheSameMasksAsTheCpu) {
  compare(options({32}, Activation::kRelu, 0.3, Device::kCpu), classSchema(6, 3), 3, 0);
}

TEST_F(MlpOnCudaTest, RegressionStepsMatchTheCpu) {
  compare(options({16}, Activation::kTanh, 0, Device::kCpu), valueSchema(5, 2), 0, 2);
}

TEST_F(MlpOnCudaTest, NamesTheRowOfALabelOutsideTheClasses) {
  Mlp model(options({8}, Activation::kRelu, 0, Device::kCuda));
  ASSERT_TRUE(model.prepare(classSchema(3, 3), 2).ok());
  Batch batch;
  batch.features = Tensor::zeros(DType::kFloat32, {3, 3});
  batch.labels = Tensor::fromVector<std::int64_t>({0, 1, 3}, {3});
  auto loss = model.forwardBackward(batch, true);
  ASSERT_FALSE(loss.ok());
  EXPECT_EQ(loss.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(loss.status().message(), HasSubstr("row 2"));
}

}  // namespace
}  // namespace aimass::plugins::model
