// SPDX-License-Identifier: Apache-2.0
// libaimass_compute_cuda op by op against the CPU ops on the same random inputs. Every test that
// needs a device skips, saying why, when the CUDA runtime reports none; the device query itself
// is checked everywhere.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "aimass/compute/compute_context.h"
#include "aimass/compute/cuda/context.h"
#include "aimass/compute/cuda/eltwise.h"
#include "aimass/compute/cuda/fully_connected.h"
#include "aimass/compute/cuda/losses.h"
#include "aimass/compute/cuda/reduction.h"
#include "aimass/compute/cuda/softmax.h"
#include "aimass/compute/eltwise.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/compute/losses.h"
#include "aimass/compute/softmax.h"

namespace aimass::compute {
namespace {

using ::testing::HasSubstr;

std::vector<float> randomVector(std::mt19937& random, std::size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) {
    x = uniform(random);
  }
  return v;
}

void expectNear(const std::vector<float>& expected, const std::vector<float>& actual,
                float tolerance, const std::string& what) {
  ASSERT_EQ(expected.size(), actual.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(expected[i], actual[i], tolerance * (1.0f + std::fabs(expected[i])))
        << what << " at " << i;
  }
}

TEST(CudaDeviceTest, ReportsTheRuntimesAnswerWhenThereIsNoDevice) {
  auto count = cuda::deviceCount();
  auto context = cuda::CudaContext::create(0);
  if (!count.ok()) {
    EXPECT_EQ(count.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(count.status().message(), HasSubstr("cudaGetDeviceCount returned cudaError"));
    ASSERT_FALSE(context.ok());
    EXPECT_EQ(context.status().message(), count.status().message());
    return;
  }
  if (*count == 0) {
    ASSERT_FALSE(context.ok());
    EXPECT_THAT(context.status().message(), HasSubstr("reports 0 device(s)"));
    return;
  }
  EXPECT_TRUE(context.ok()) << context.status().toString();
  auto beyond = cuda::CudaContext::create(*count);
  ASSERT_FALSE(beyond.ok());
  EXPECT_THAT(beyond.status().message(), HasSubstr("no CUDA device " + std::to_string(*count)));
}

class CudaOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto context = cuda::CudaContext::create(0);
    if (!context.ok()) {
      GTEST_SKIP() << "no CUDA device to compare against the CPU ops: "
                   << context.status().message();
    }
    gpu_ = *context;
    auto cpu = ComputeContext::create(1);
    ASSERT_TRUE(cpu.ok()) << cpu.status().toString();
    cpu_ = *cpu;
  }

  template <typename T>
  cuda::DeviceBuffer upload(const std::vector<T>& values) {
    auto buffer = cuda::DeviceBuffer::allocate(gpu_, sizeof(T) * values.size());
    EXPECT_TRUE(buffer.ok()) << buffer.status().toString();
    EXPECT_TRUE(buffer->upload(values.data(), sizeof(T) * values.size()).ok());
    return std::move(buffer).value();
  }
  cuda::DeviceBuffer zeros(std::size_t floats) { return upload(std::vector<float>(floats, 0.0f)); }
  std::vector<float> download(const cuda::DeviceBuffer& buffer) {
    std::vector<float> values(buffer.bytes() / sizeof(float));
    Status status = buffer.download(values.data(), buffer.bytes());
    EXPECT_TRUE(status.ok()) << status.toString();
    return values;
  }

  std::shared_ptr<cuda::CudaContext> gpu_;
  std::shared_ptr<ComputeContext> cpu_;
  std::mt19937 random_{42};
};

TEST_F(CudaOpsTest, FullyConnectedMatchesTheCpuOpForwardAndBackward) {
  for (Activation a :
       {Activation::kNone, Activation::kRelu, Activation::kTanh, Activation::kSigmoid}) {
    for (bool bias : {true, false}) {
      if (!bias && a != Activation::kNone) {
        continue;
      }
      SCOPED_TRACE(std::string(activationName(a)) + (bias ? " with bias" : " without bias"));
      FullyConnectedShape shape{37, 53, 19, bias, a, true};
      auto cpu = FullyConnected::create(cpu_, shape);
      auto gpu = cuda::FullyConnected::create(gpu_, shape);
      ASSERT_TRUE(cpu.ok() && gpu.ok()) << gpu.status().toString();
      auto x = randomVector(random_, 37 * 53), w = randomVector(random_, 53 * 19, 0.3f),
           b = randomVector(random_, 19), dy = randomVector(random_, 37 * 19);
      std::vector<float> y(37 * 19), dx(37 * 53), dw(53 * 19), db(19);
      ASSERT_TRUE((*cpu)->forward(x.data(), w.data(), b.data(), y.data()).ok());
      ASSERT_TRUE((*cpu)->backwardData(dy.data(), w.data(), dx.data()).ok());
      ASSERT_TRUE((*cpu)->backwardWeights(x.data(), dy.data(), dw.data(), db.data()).ok());

      auto dx_ = upload(x), dw_ = upload(w), db_ = upload(b), ddy = upload(dy);
      auto gy = zeros(y.size()), gdx = zeros(dx.size()), gdw = zeros(dw.size()),
           gdb = zeros(db.size());
      ASSERT_TRUE(
          (*gpu)
              ->forward(dx_.data<float>(), dw_.data<float>(), db_.data<float>(), gy.data<float>())
              .ok());
      ASSERT_TRUE(
          (*gpu)->backwardData(ddy.data<float>(), dw_.data<float>(), gdx.data<float>()).ok());
      ASSERT_TRUE((*gpu)
                      ->backwardWeights(dx_.data<float>(), ddy.data<float>(), gdw.data<float>(),
                                        gdb.data<float>())
                      .ok());
      expectNear(y, download(gy), 1e-4f, "y");
      expectNear(dx, download(gdx), 1e-4f, "dx");
      expectNear(dw, download(gdw), 1e-4f, "dw");
      if (bias) {
        expectNear(db, download(gdb), 1e-4f, "db");
      }
    }
  }
}

TEST_F(CudaOpsTest, FullyConnectedRefusesGeluAndNonPositiveSizesLikeTheCpuOp) {
  auto gelu = cuda::FullyConnected::create(gpu_, {4, 3, 2, true, Activation::kGelu, true});
  ASSERT_FALSE(gelu.ok());
  EXPECT_THAT(gelu.status().message(), HasSubstr("GELU"));
  auto empty = cuda::FullyConnected::create(gpu_, {0, 3, 2, true, Activation::kNone, true});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("rows 0"));
}

TEST_F(CudaOpsTest, EltwiseMatchesTheCpuOpForEveryActivation) {
  constexpr std::int64_t n = 1000;
  for (Activation a :
       {Activation::kRelu, Activation::kTanh, Activation::kSigmoid, Activation::kGelu}) {
    SCOPED_TRACE(std::string(activationName(a)));
    auto cpu = Eltwise::create(cpu_, a, n);
    auto gpu = cuda::Eltwise::create(gpu_, a, n);
    ASSERT_TRUE(cpu.ok() && gpu.ok()) << gpu.status().toString();
    EXPECT_EQ((*gpu)->usesOutputForBackward(), (*cpu)->usesOutputForBackward());
    auto x = randomVector(random_, n, 4.0f), dy = randomVector(random_, n);
    std::vector<float> y(n), dx(n);
    ASSERT_TRUE((*cpu)->forward(x.data(), y.data()).ok());
    const std::vector<float>& saved = (*cpu)->usesOutputForBackward() ? y : x;
    ASSERT_TRUE((*cpu)->backward(saved.data(), dy.data(), dx.data()).ok());

    auto gx = upload(x), gdy = upload(dy), gy = zeros(n), gdx = zeros(n);
    ASSERT_TRUE((*gpu)->forward(gx.data<float>(), gy.data<float>()).ok());
    const float* gsaved = (*gpu)->usesOutputForBackward() ? gy.data<float>() : gx.data<float>();
    ASSERT_TRUE((*gpu)->backward(gsaved, gdy.data<float>(), gdx.data<float>()).ok());
    expectNear(y, download(gy), 1e-5f, "forward");
    expectNear(dx, download(gdx), 1e-4f, "backward");
  }
}

TEST_F(CudaOpsTest, SoftmaxAndLogSoftmaxMatchTheCpuOp) {
  // 10 classes (narrower than a warp) and 100 (wider).
  for (std::int64_t cols : {10, 100}) {
    for (bool log : {false, true}) {
      SCOPED_TRACE(std::to_string(cols) + (log ? " log-softmax" : " softmax"));
      auto cpu = Softmax::create(cpu_, 33, cols, log);
      auto gpu = cuda::Softmax::create(gpu_, 33, cols, log);
      ASSERT_TRUE(cpu.ok() && gpu.ok()) << gpu.status().toString();
      auto x = randomVector(random_, 33 * cols, 8.0f);
      std::vector<float> y(x.size());
      ASSERT_TRUE((*cpu)->forward(x.data(), y.data()).ok());
      auto gx = upload(x);
      ASSERT_TRUE((*gpu)->forward(gx.data<float>(), gx.data<float>()).ok());  // in place
      expectNear(y, download(gx), 1e-5f, "softmax");
    }
  }
}

TEST_F(CudaOpsTest, CrossEntropyMatchesTheCpuLossAndGradientAndNamesABadLabel) {
  constexpr std::int64_t rows = 65, classes = 7;
  auto cpu = SoftmaxCrossEntropy::create(cpu_, rows, classes);
  auto gpu = cuda::SoftmaxCrossEntropy::create(gpu_, rows, classes);
  ASSERT_TRUE(cpu.ok() && gpu.ok()) << gpu.status().toString();
  auto logits = randomVector(random_, rows * classes, 3.0f);
  std::vector<std::int64_t> labels(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    labels[r] = (r * 5) % classes;
  }
  std::vector<float> lp(logits.size()), grad(logits.size());
  auto loss = (*cpu)->compute(logits.data(), labels.data(), lp.data(), grad.data());
  ASSERT_TRUE(loss.ok());
  auto glogits = upload(logits), glp = zeros(lp.size()), ggrad = zeros(grad.size());
  auto glabels = upload(labels);
  auto gloss = (*gpu)->compute(glogits.data<float>(), glabels.data<std::int64_t>(),
                               glp.data<float>(), ggrad.data<float>());
  ASSERT_TRUE(gloss.ok()) << gloss.status().toString();
  EXPECT_NEAR(*loss, *gloss, 1e-5 * std::fabs(*loss));
  expectNear(lp, download(glp), 1e-5f, "log-probabilities");
  expectNear(grad, download(ggrad), 1e-5f, "gradient");

  labels[40] = classes;
  labels[50] = -1;
  auto bad = upload(labels);
  auto refused =
      (*gpu)->compute(glogits.data<float>(), bad.data<std::int64_t>(), glp.data<float>(), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("row 40 has class 7, outside [0, 7)"));
}

TEST_F(CudaOpsTest, MeanSquaredErrorAndSumMatchTheCpu) {
  constexpr std::int64_t rows = 300, targets = 3;
  auto p = randomVector(random_, rows * targets), t = randomVector(random_, rows * targets);
  std::vector<float> grad(p.size());
  const double loss = meanSquaredError(p.data(), t.data(), rows, targets, grad.data());
  auto mse = cuda::MeanSquaredError::create(gpu_, rows, targets);
  ASSERT_TRUE(mse.ok()) << mse.status().toString();
  auto gp = upload(p), gt = upload(t), ggrad = zeros(grad.size());
  auto gloss = (*mse)->compute(gp.data<float>(), gt.data<float>(), ggrad.data<float>());
  ASSERT_TRUE(gloss.ok()) << gloss.status().toString();
  EXPECT_NEAR(loss, *gloss, 1e-6 * loss);
  expectNear(grad, download(ggrad), 1e-6f, "gradient");

  // More elements than the reduction's threads, so the grid-stride loop runs.
  auto many = randomVector(random_, 100003);
  double expected = 0;
  for (float v : many) {
    expected += v;
  }
  auto sum = cuda::Sum::create(gpu_, static_cast<std::int64_t>(many.size()));
  ASSERT_TRUE(sum.ok());
  auto gmany = upload(many);
  auto first = (*sum)->compute(gmany.data<float>());
  auto second = (*sum)->compute(gmany.data<float>());
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NEAR(expected, *first, 1e-9 * many.size());
  EXPECT_EQ(*first, *second);  // a fixed order of additions
}

TEST_F(CudaOpsTest, MultiplyAndBufferBoundsChecks) {
  auto a = randomVector(random_, 500), b = randomVector(random_, 500);
  std::vector<float> expected(500);
  for (std::size_t i = 0; i < 500; ++i) {
    expected[i] = a[i] * b[i];
  }
  auto ga = upload(a), gb = upload(b);
  ASSERT_TRUE(
      cuda::multiply(*gpu_, ga.data<float>(), gb.data<float>(), ga.data<float>(), 500).ok());
  expectNear(expected, download(ga), 0.0f, "product");
  std::vector<float> big(501);
  EXPECT_EQ(ga.upload(big.data(), sizeof(float) * big.size()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ga.download(big.data(), sizeof(float) * big.size()).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace aimass::compute
