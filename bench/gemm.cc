// SPDX-License-Identifier: Apache-2.0
// W0: fp32 C = A B, n = 2048, through oneDNN's dnnl_sgemm on a given number of OpenMP threads:
// the machine's ceiling for the dense math training runs on. Not a test: the figure depends on
// the machine. Prints one JSON line with the best of `repeats` runs after a warm-up.
// Usage: gemm [threads=2] [repeats=10]
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 10;
  if (threads < 1 || repeats < 1) {
    std::fprintf(stderr, "usage: gemm [threads>=1] [repeats>=1], got threads %d, repeats %d\n",
                 threads, repeats);
    return 2;
  }
  omp_set_num_threads(threads);
  constexpr dnnl_dim_t kN = 2048;
  std::vector<float> a(kN * kN), b(kN * kN), c(kN * kN);
  std::mt19937 random(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : a) {
    v = normal(random);
  }
  for (float& v : b) {
    v = normal(random);
  }
  auto multiply = [&] {
    return dnnl_sgemm('N', 'N', kN, kN, kN, 1.0f, a.data(), kN, b.data(), kN, 0.0f, c.data(), kN);
  };
  if (multiply() != dnnl_success) {
    std::fprintf(stderr, "dnnl_sgemm failed\n");
    return 1;
  }
  double best = 1e30;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    (void)multiply();
    best = std::min(
        best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // A spot check that the product is a product: C[0][0] against a plain dot product.
  double expected = 0;
  for (dnnl_dim_t k = 0; k < kN; ++k) {
    expected += static_cast<double>(a[k]) * b[k * kN];
  }
  if (std::abs(expected - c[0]) > 1e-3 * (1 + std::abs(expected))) {
    std::fprintf(stderr, "dnnl_sgemm gave C[0][0] = %g, expected %g\n", c[0], expected);
    return 1;
  }
  const double flops = 2.0 * kN * kN * kN;
  std::printf("{\"threads\": %d, \"gflop_per_s\": %.1f, \"seconds\": %.4f}\n", threads,
              flops / best / 1e9, best);
  return 0;
}
