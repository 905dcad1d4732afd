// SPDX-License-Identifier: Apache-2.0
// Every compute op against a naive reference on random shapes, plus finite-difference checks
// of the backward passes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "aimass/compute/activation.h"
#include "aimass/compute/compute_context.h"
#include "aimass/compute/eltwise.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/compute/losses.h"
#include "aimass/compute/precision.h"
#include "aimass/compute/softmax.h"

namespace aimass::compute {
namespace {

std::vector<float> randomVector(std::mt19937& random, std::size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> uniform(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) {
    x = uniform(random);
  }
  return v;
}

double activate(Activation a, double x) {
  switch (a) {
    case Activation::kRelu:
      return x > 0 ? x : 0;
    case Activation::kTanh:
      return std::tanh(x);
    case Activation::kSigmoid:
      return 1 / (1 + std::exp(-x));
    case Activation::kGelu:
      return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case Activation::kNone:
      break;
  }
  return x;
}

// Naive y = act(x W + b) in double.
std::vector<double> naiveLinear(const std::vector<float>& x, const std::vector<float>& w,
                                const std::vector<float>* b, std::int64_t m, std::int64_t k,
                                std::int64_t n, Activation a) {
  std::vector<double> y(m * n);
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double s = b ? (*b)[j] : 0.0;
      for (std::int64_t l = 0; l < k; ++l) {
        s += double(x[i * k + l]) * w[l * n + j];
      }
      y[i * n + j] = activate(a, s);
    }
  }
  return y;
}

std::shared_ptr<ComputeContext> context(int threads = 2) {
  auto c = ComputeContext::create(threads);
  EXPECT_TRUE(c.ok()) << c.status().toString();
  return c.ok() ? *c : nullptr;
}

struct Dims {
  std::int64_t m, k, n;
};
const Dims kShapes[] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {128, 784, 256}, {64, 10, 1}};

TEST(ComputeContextTest, RefusesZeroThreads) {
  auto c = ComputeContext::create(0);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(ActivationTest, NamesRoundTrip) {
  for (auto a : {Activation::kNone, Activation::kRelu, Activation::kTanh, Activation::kSigmoid,
                 Activation::kGelu}) {
    EXPECT_EQ(activationFromName(activationName(a)), a);
  }
  EXPECT_FALSE(activationFromName("swish").has_value());
}

TEST(FullyConnectedTest, ForwardMatchesNaiveWithEveryFusedActivation) {
  std::mt19937 random(1);
  auto ctx = context();
  for (const auto& d : kShapes) {
    for (auto a : {Activation::kNone, Activation::kRelu, Activation::kTanh, Activation::kSigmoid}) {
      for (bool bias : {true, false}) {
        if (!bias && a != Activation::kNone) {
          continue;
        }
        auto op = FullyConnected::create(ctx, {d.m, d.k, d.n, bias, a, false});
        ASSERT_TRUE(op.ok()) << op.status().toString();
        auto x = randomVector(random, d.m * d.k), w = randomVector(random, d.k * d.n),
             b = randomVector(random, d.n);
        std::vector<float> y(d.m * d.n);
        ASSERT_TRUE((*op)->forward(x.data(), w.data(), b.data(), y.data()).ok());
        auto expected = naiveLinear(x, w, bias ? &b : nullptr, d.m, d.k, d.n, a);
        for (std::size_t i = 0; i < y.size(); ++i) {
          ASSERT_NEAR(y[i], expected[i], 1e-4 * (1 + std::sqrt(double(d.k))))
              << d.m << "x" << d.k << "x" << d.n << " " << activationName(a) << " at " << i;
        }
      }
    }
  }
}

// One row with activation none or relu skips oneDNN and adds up the weight rows of the non-zero
// inputs, 512 inputs at a time, 64 outputs at a time, then 16, then one by one: every output
// count around those blocks, input counts around the 512, inputs that are mostly zero (some
// -0.0, some negative), with and without bias.
TEST(FullyConnectedTest, OneRowMatchesNaiveForSparseInputsAndEveryOutputCount) {
  std::mt19937 random(7);
  auto ctx = context();
  std::uniform_int_distribution<int> pick(0, 9);
  for (std::int64_t k : {1, 3, 511, 512, 513, 784, 1300}) {
    for (std::int64_t n : {1, 5, 16, 17, 37, 64, 80, 256}) {
      for (auto a : {Activation::kNone, Activation::kRelu}) {
        for (bool bias : {true, false}) {
          auto op = FullyConnected::create(ctx, {1, k, n, bias, a, false});
          ASSERT_TRUE(op.ok()) << op.status().toString();
          auto x = randomVector(random, k, 2.0f), w = randomVector(random, k * n),
               b = randomVector(random, n);
          for (float& v : x) {
            // Seven in ten inputs are zero, one of them negative zero.
            const int choice = pick(random);
            if (choice < 6) {
              v = 0.0f;
            } else if (choice == 6) {
              v = -0.0f;
            }
          }
          if (k > 1) {
            x[0] = -1.5f;  // at least one negative input
          }
          std::vector<float> y(n, 1234.0f);
          ASSERT_TRUE((*op)->forward(x.data(), w.data(), b.data(), y.data()).ok());
          auto expected = naiveLinear(x, w, bias ? &b : nullptr, 1, k, n, a);
          for (std::int64_t j = 0; j < n; ++j) {
            // Relative to the sum of the magnitudes added up, which bounds the rounding error.
            double magnitude = bias ? std::fabs(b[j]) : 0.0;
            for (std::int64_t l = 0; l < k; ++l) {
              magnitude += std::fabs(double(x[l]) * w[l * n + j]);
            }
            ASSERT_NEAR(y[j], expected[j], 1e-5 * magnitude + 1e-30)
                << "1x" << k << "x" << n << " " << activationName(a) << (bias ? " bias" : "")
                << " at " << j;
          }
        }
      }
    }
  }
}

// A row of zeros reads no weight row at all: the output is the bias (or its ReLU), or zero.
TEST(FullyConnectedTest, OneRowOfZerosGivesTheBias) {
  std::mt19937 random(8);
  auto ctx = context();
  for (std::int64_t n : {1, 5, 16, 37, 64, 100}) {
    for (std::int64_t k : {20, 1100}) {  // one block of inputs, three
      std::vector<float> x(k, 0.0f);
      x[3] = -0.0f;
      auto w = randomVector(random, k * n), b = randomVector(random, n);
      for (auto a : {Activation::kNone, Activation::kRelu}) {
        for (bool bias : {true, false}) {
          auto op = FullyConnected::create(ctx, {1, k, n, bias, a, false});
          ASSERT_TRUE(op.ok()) << op.status().toString();
          std::vector<float> y(n, 1234.0f);
          ASSERT_TRUE((*op)->forward(x.data(), w.data(), b.data(), y.data()).ok());
          for (std::int64_t j = 0; j < n; ++j) {
            float want = bias ? b[j] : 0.0f;
            if (a == Activation::kRelu && want < 0.0f) {
              want = 0.0f;
            }
            EXPECT_EQ(y[j], want) << k << "x" << n << " " << activationName(a)
                                  << (bias ? " bias" : "") << " at " << j;
          }
        }
      }
    }
  }
}

// One row with tanh or sigmoid still runs through oneDNN and its fused post-op.
TEST(FullyConnectedTest, OneRowWithTanhOrSigmoidMatchesNaive) {
  std::mt19937 random(9);
  auto ctx = context();
  for (std::int64_t k : {1, 3, 784}) {
    for (std::int64_t n : {1, 17, 256}) {
      for (auto a : {Activation::kTanh, Activation::kSigmoid}) {
        auto op = FullyConnected::create(ctx, {1, k, n, true, a, false});
        ASSERT_TRUE(op.ok()) << op.status().toString();
        auto x = randomVector(random, k, 0.2f), w = randomVector(random, k * n),
             b = randomVector(random, n);
        x[0] = 0.0f;
        std::vector<float> y(n);
        ASSERT_TRUE((*op)->forward(x.data(), w.data(), b.data(), y.data()).ok());
        auto expected = naiveLinear(x, w, &b, 1, k, n, a);
        for (std::int64_t j = 0; j < n; ++j) {
          ASSERT_NEAR(y[j], expected[j], 1e-5)
              << "1x" << k << "x" << n << " " << activationName(a) << " at " << j;
        }
      }
    }
  }
}

TEST(FullyConnectedTest, BackwardMatchesNaiveTransposedProducts) {
  std::mt19937 random(2);
  auto ctx = context();
  for (const auto& d : kShapes) {
    auto op = FullyConnected::create(ctx, {d.m, d.k, d.n, true, Activation::kNone, true});
    ASSERT_TRUE(op.ok()) << op.status().toString();
    auto x = randomVector(random, d.m * d.k), w = randomVector(random, d.k * d.n),
         dy = randomVector(random, d.m * d.n);
    std::vector<float> dx(d.m * d.k), dw(d.k * d.n), db(d.n, 42.0f);
    ASSERT_TRUE((*op)->backwardData(dy.data(), w.data(), dx.data()).ok());
    ASSERT_TRUE((*op)->backwardWeights(x.data(), dy.data(), dw.data(), db.data()).ok());
    const double tolerance = 1e-4 * (1 + std::sqrt(double(std::max(d.m, d.n))));
    for (std::int64_t i = 0; i < d.m; ++i) {
      for (std::int64_t l = 0; l < d.k; ++l) {
        double s = 0;
        for (std::int64_t j = 0; j < d.n; ++j) {
          s += double(dy[i * d.n + j]) * w[l * d.n + j];
        }
        ASSERT_NEAR(dx[i * d.k + l], s, tolerance);
      }
    }
    for (std::int64_t l = 0; l < d.k; ++l) {
      for (std::int64_t j = 0; j < d.n; ++j) {
        double s = 0;
        for (std::int64_t i = 0; i < d.m; ++i) {
          s += double(x[i * d.k + l]) * dy[i * d.n + j];
        }
        ASSERT_NEAR(dw[l * d.n + j], s, tolerance);
      }
    }
    for (std::int64_t j = 0; j < d.n; ++j) {
      double s = 0;
      for (std::int64_t i = 0; i < d.m; ++i) {
        s += dy[i * d.n + j];
      }
      ASSERT_NEAR(db[j], s, tolerance);
    }
  }
}

TEST(FullyConnectedTest, RefusesBadShapesGeluAndBackwardItWasNotBuiltFor) {
  auto ctx = context();
  EXPECT_EQ(FullyConnected::create(ctx, {0, 3, 3}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FullyConnected::create(ctx, {2, 3, 3, true, Activation::kGelu}).status().code(),
            StatusCode::kInvalidArgument);
  auto op = FullyConnected::create(ctx, {2, 3, 3, true, Activation::kNone, false});
  ASSERT_TRUE(op.ok());
  std::vector<float> buffer(9);
  EXPECT_EQ((*op)->backwardData(buffer.data(), buffer.data(), buffer.data()).code(),
            StatusCode::kFailedPrecondition);
}

std::uint16_t bf16Bits(float v) {
  BFloat16 out;
  toBFloat16(&v, &out, 1);
  return out.bits;
}

TEST(BFloat16Test, RoundsToNearestEvenAndKeepsInfinitiesAndNaNs) {
  EXPECT_EQ(bf16Bits(1.0f), 0x3f80);
  EXPECT_EQ(bf16Bits(-2.0f), 0xc000);
  EXPECT_EQ(bf16Bits(1.0f + 0x1p-8f), 0x3f80);             // a tie: down to the even 0x3f80
  EXPECT_EQ(bf16Bits(1.0f + 3 * 0x1p-8f), 0x3f82);         // a tie: up to the even 0x3f82
  EXPECT_EQ(bf16Bits(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);  // above the tie: up
  EXPECT_EQ(bf16Bits(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(bf16Bits(std::numeric_limits<float>::max()), 0x7f80);  // rounds past the largest
  const std::uint16_t nan = bf16Bits(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x007f, 0) << "a NaN must not become an infinity";
  // Many values at once (the vectorised loops) agree with one at a time, and back exactly.
  std::mt19937 random(5);
  auto values = randomVector(random, 1000, 100.0f);
  std::vector<BFloat16> packed(values.size());
  toBFloat16(values.data(), packed.data(), static_cast<std::int64_t>(values.size()));
  std::vector<float> back(values.size());
  fromBFloat16(packed.data(), back.data(), static_cast<std::int64_t>(values.size()));
  for (std::size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(packed[i].bits, bf16Bits(values[i]));
    std::uint32_t bits;
    std::memcpy(&bits, &back[i], 4);
    ASSERT_EQ(bits, std::uint32_t{packed[i].bits} << 16);
    ASSERT_NEAR(back[i], values[i], std::abs(values[i]) * 0x1p-8);
  }
}

TEST(BFloat16Test, AConversionSplitOverAContextsThreadsMatchesOneOnOneThread) {
  std::mt19937 random(6);
  for (int threads : {1, 2, 3}) {
    auto ctx = context(threads);
    // Below the split, just above it with an odd tail, and a batch of W1's first layer.
    for (std::int64_t n : {std::int64_t{5}, std::int64_t{(1 << 14) + 13}, std::int64_t{100352}}) {
      auto values = randomVector(random, static_cast<std::size_t>(n), 50.0f);
      std::vector<BFloat16> one(values.size()), split(values.size(), BFloat16{0xdead});
      toBFloat16(values.data(), one.data(), n);
      toBFloat16(*ctx, values.data(), split.data(), n);
      for (std::size_t i = 0; i < values.size(); ++i) {
        ASSERT_EQ(split[i].bits, one[i].bits)
            << "threads " << threads << ", n " << n << ", i " << i;
      }
    }
  }
}

/// `v` rounded to bf16 and back, as the bf16 products read it.
std::vector<float> rounded(const std::vector<float>& v, std::vector<BFloat16>& packed) {
  packed.resize(v.size());
  toBFloat16(v.data(), packed.data(), static_cast<std::int64_t>(v.size()));
  std::vector<float> out(v.size());
  fromBFloat16(packed.data(), out.data(), static_cast<std::int64_t>(v.size()));
  return out;
}

TEST(FullyConnectedTest, Bf16ProductsAreTheProductsOfTheRoundedOperandsInFp32) {
  if (!bfloat16Supported()) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16 (oneDNN ISA " << cpuIsaName() << ")";
  }
  std::mt19937 random(3);
  auto ctx = context();
  for (const auto& d : kShapes) {
    FullyConnectedShape shape{d.m, d.k, d.n, true, Activation::kRelu, true, Precision::kBFloat16};
    auto op = FullyConnected::create(ctx, shape);
    ASSERT_TRUE(op.ok()) << op.status().toString();
    std::vector<BFloat16> x16, w16, dy16;
    auto x = rounded(randomVector(random, d.m * d.k), x16);
    auto w = rounded(randomVector(random, d.k * d.n), w16);
    auto b = randomVector(random, d.n);
    auto dy_float = randomVector(random, d.m * d.n);
    auto dy = rounded(dy_float, dy16);
    std::vector<float> y(d.m * d.n), dx(d.m * d.k), dw(d.k * d.n), db(d.n);
    ASSERT_TRUE((*op)->setWeights(w.data()).ok());  // w is exact in bf16: packing keeps it
    ASSERT_TRUE((*op)->forward(x16.data(), b.data(), y.data()).ok());
    ASSERT_TRUE((*op)->backwardData(dy16.data(), dx.data()).ok());
    ASSERT_TRUE(
        (*op)
            ->backwardWeights(x16.data(), dy16.data(), dy_float.data(), dw.data(), db.data())
            .ok());
    // The exact products of the rounded operands, summed in FP32: only the order differs.
    const double tolerance = 1e-4 * (1 + std::sqrt(double(std::max({d.m, d.k, d.n}))));
    auto expected = naiveLinear(x, w, &b, d.m, d.k, d.n, Activation::kRelu);
    for (std::size_t i = 0; i < y.size(); ++i) {
      ASSERT_NEAR(y[i], expected[i], tolerance);
    }
    for (std::int64_t i = 0; i < d.m; ++i) {
      for (std::int64_t l = 0; l < d.k; ++l) {
        double s = 0;
        for (std::int64_t j = 0; j < d.n; ++j) {
          s += double(dy[i * d.n + j]) * w[l * d.n + j];
        }
        ASSERT_NEAR(dx[i * d.k + l], s, tolerance);
      }
    }
    for (std::int64_t l = 0; l < d.k; ++l) {
      for (std::int64_t j = 0; j < d.n; ++j) {
        double s = 0;
        for (std::int64_t i = 0; i < d.m; ++i) {
          s += double(x[i * d.k + l]) * dy[i * d.n + j];
        }
        ASSERT_NEAR(dw[l * d.n + j], s, tolerance);
      }
    }
    for (std::int64_t j = 0; j < d.n; ++j) {  // the bias gradient sums the FP32 dy
      double s = 0;
      for (std::int64_t i = 0; i < d.m; ++i) {
        s += dy_float[i * d.n + j];
      }
      ASSERT_NEAR(db[j], s, tolerance);
    }
    // The FP32 overloads are refused on a bf16 op, and the other way round.
    EXPECT_EQ((*op)->forward(x.data(), w.data(), b.data(), y.data()).code(),
              StatusCode::kFailedPrecondition);
  }
  auto fp32 = FullyConnected::create(ctx, {2, 3, 3});
  ASSERT_TRUE(fp32.ok());
  std::vector<BFloat16> in(9);
  std::vector<float> out(9);
  EXPECT_EQ((*fp32)->backwardData(in.data(), out.data()).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*fp32)->setWeights(out.data()).code(), StatusCode::kFailedPrecondition);
}

TEST(EltwiseTest, ForwardAndBackwardMatchNaiveAndFiniteDifferences) {
  std::mt19937 random(3);
  auto ctx = context();
  for (auto a : {Activation::kRelu, Activation::kTanh, Activation::kSigmoid, Activation::kGelu}) {
    for (std::int64_t n : {1, 7, 1000}) {
      auto op = Eltwise::create(ctx, a, n);
      ASSERT_TRUE(op.ok()) << op.status().toString();
      auto x = randomVector(random, n, 3.0f), dy = randomVector(random, n);
      for (float& v : x) {
        if (std::fabs(v) < 1e-2f) {
          v = 0.5f;  // keep relu's kink away from the finite difference
        }
      }
      std::vector<float> y(n), dx(n);
      ASSERT_TRUE((*op)->forward(x.data(), y.data()).ok());
      const float* saved = (*op)->usesOutputForBackward() ? y.data() : x.data();
      ASSERT_TRUE((*op)->backward(saved, dy.data(), dx.data()).ok());
      for (std::int64_t i = 0; i < n; ++i) {
        ASSERT_NEAR(y[i], activate(a, x[i]), 1e-5) << activationName(a);
        const double h = 1e-3;
        const double numeric = (activate(a, x[i] + h) - activate(a, x[i] - h)) / (2 * h);
        ASSERT_NEAR(dx[i], dy[i] * numeric, 1e-3) << activationName(a) << " at x=" << x[i];
      }
    }
  }
  EXPECT_EQ(Eltwise::create(ctx, Activation::kNone, 4).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SoftmaxTest, SoftmaxAndLogSoftmaxMatchNaive) {
  std::mt19937 random(4);
  auto ctx = context();
  for (auto [rows, cols] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {5, 3}, {128, 10}}) {
    for (bool log : {false, true}) {
      auto op = Softmax::create(ctx, rows, cols, log);
      ASSERT_TRUE(op.ok()) << op.status().toString();
      auto x = randomVector(random, rows * cols, 20.0f);
      std::vector<float> y(x.size());
      ASSERT_TRUE((*op)->forward(x.data(), y.data()).ok());
      for (std::int64_t r = 0; r < rows; ++r) {
        double max = -1e30, sum = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
          max = std::max(max, double(x[r * cols + c]));
        }
        for (std::int64_t c = 0; c < cols; ++c) {
          sum += std::exp(x[r * cols + c] - max);
        }
        for (std::int64_t c = 0; c < cols; ++c) {
          const double lp = x[r * cols + c] - max - std::log(sum);
          ASSERT_NEAR(y[r * cols + c], log ? lp : std::exp(lp), log ? 1e-4 : 1e-6);
        }
      }
    }
  }
}

TEST(SoftmaxCrossEntropyTest, LossAndGradientMatchNaiveAndFiniteDifferences) {
  std::mt19937 random(5);
  auto ctx = context();
  const std::int64_t rows = 9, classes = 4;
  auto op = SoftmaxCrossEntropy::create(ctx, rows, classes);
  ASSERT_TRUE(op.ok()) << op.status().toString();
  auto logits = randomVector(random, rows * classes, 2.0f);
  std::vector<std::int64_t> labels(rows);
  for (std::int64_t r = 0; r < rows; ++r) {
    labels[r] = r % classes;
  }
  std::vector<float> lp(logits.size()), grad(logits.size());
  auto loss = (*op)->compute(logits.data(), labels.data(), lp.data(), grad.data());
  ASSERT_TRUE(loss.ok()) << loss.status().toString();
  auto naive = [&](const std::vector<float>& z) {
    double total = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (std::int64_t c = 0; c < classes; ++c) {
        sum += std::exp(double(z[r * classes + c]));
      }
      total += std::log(sum) - z[r * classes + labels[r]];
    }
    return total / rows;
  };
  EXPECT_NEAR(*loss, naive(logits), 1e-5);
  for (std::size_t i = 0; i < logits.size(); ++i) {
    auto up = logits, down = logits;
    up[i] += 1e-2f;
    down[i] -= 1e-2f;
    EXPECT_NEAR(grad[i], (naive(up) - naive(down)) / 2e-2, 1e-4) << "logit " << i;
  }
  labels[6] = classes;
  auto bad = (*op)->compute(logits.data(), labels.data(), lp.data(), nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("row 6"), std::string::npos) << bad.status().message();
}

TEST(MeanSquaredErrorTest, LossAndGradientMatchTheFormula) {
  const std::vector<float> p = {1, 2, 3, 4, 5, 6}, t = {1, 0, 3, 1, 5, 0};
  std::vector<float> grad(6);
  const double loss = meanSquaredError(p.data(), t.data(), 3, 2, grad.data());
  EXPECT_DOUBLE_EQ(loss, (4.0 + 9.0 + 36.0) / 6.0);
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_FLOAT_EQ(grad[i], 2.0f * (p[i] - t[i]) / 6.0f);
  }
}

// Two threads, each with its own 1-thread context and ops, produce the serial result.
TEST(FullyConnectedTest, OpsOnSeparateContextsRunConcurrently) {
  std::mt19937 random(6);
  const Dims d{32, 50, 20};
  auto x = randomVector(random, d.m * d.k), w = randomVector(random, d.k * d.n),
       b = randomVector(random, d.n);
  auto expected = naiveLinear(x, w, &b, d.m, d.k, d.n, Activation::kRelu);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto ctx = ComputeContext::create(1);
      auto op = FullyConnected::create(*ctx, {d.m, d.k, d.n, true, Activation::kRelu, false});
      std::vector<float> y(d.m * d.n);
      for (int i = 0; i < 50 && errors[t].empty(); ++i) {
        if (!(*op)->forward(x.data(), w.data(), b.data(), y.data()).ok()) {
          errors[t] = "forward failed";
        }
        for (std::size_t j = 0; j < y.size() && errors[t].empty(); ++j) {
          if (std::fabs(y[j] - expected[j]) > 1e-3) {
            errors[t] = "wrong value at " + std::to_string(j);
          }
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

}  // namespace
}  // namespace aimass::compute
