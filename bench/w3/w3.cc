// SPDX-License-Identifier: Apache-2.0
// W3, the aimass side: model.kmeans' full-batch engine on Fashion-MNIST train (60000 x 784,
// pixels / 255), k = 10 from ../shared/data/kmeans_init_centers_seed0.csv, exactly 50
// iterations (tolerance 0), and prints one JSON line with s_per_iter and inertia. The clock
// covers the row norms, the iterations and the final assignment (what scikit-learn's fit()
// spends on the same), not reading the images.
//
//   bench/w3 [--images FILE.gz] [--centers FILE.csv] [--threads N] [--iterations N]
//            [--algorithm auto|lloyd|elkan|hamerly]   (auto: what model.kmeans' default picks)
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kmeans.h"
#include "kmeans_engine.h"

namespace {

using aimass::plugins::model::KMeansAlgorithm;

/// Reads an IDX3 image file (gzip) as rows of pixels / 255.
bool readImages(const std::string& path, std::vector<float>& x, std::int64_t& rows,
                std::int64_t& features) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return false;
  }
  unsigned char header[16];
  bool ok = gzread(file, header, 16) == 16;
  auto word = [&](int at) {
    return (std::int64_t{header[at]} << 24) | (std::int64_t{header[at + 1]} << 16) |
           (std::int64_t{header[at + 2]} << 8) | std::int64_t{header[at + 3]};
  };
  rows = word(4);
  features = word(8) * word(12);
  std::vector<unsigned char> pixels(static_cast<std::size_t>(rows * features));
  ok = ok && word(0) == 2051 &&
       gzread(file, pixels.data(), static_cast<unsigned>(pixels.size())) ==
           static_cast<int>(pixels.size());
  gzclose(file);
  x.resize(pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    x[i] = static_cast<float>(pixels[i]) / 255.0f;
  }
  return ok;
}

class Silent final : public aimass::FitObserver {
 public:
  bool onIteration(std::uint64_t, double) override { return false; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string images = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  std::string centers = "../shared/data/kmeans_init_centers_seed0.csv";
  int threads = 2;
  std::int64_t iterations = 50;
  std::string algorithm = "auto";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--images") {
      images = value;
    } else if (flag == "--centers") {
      centers = value;
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--iterations") {
      iterations = std::stoll(value);
    } else if (flag == "--algorithm") {
      algorithm = value;
    } else {
      std::fprintf(stderr, "w3: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  std::vector<float> x;
  std::int64_t rows = 0, features = 0;
  if (!readImages(images, x, rows, features)) {
    std::fprintf(stderr, "w3: cannot read the images %s\n", images.c_str());
    return 1;
  }
  auto given = aimass::plugins::model::readCentresCsv(centers, 10);
  if (!given.ok()) {
    std::fprintf(stderr, "w3: %s\n", given.status().toString().c_str());
    return 1;
  }
  aimass::plugins::model::FullBatchSettings settings;
  settings.algorithm = algorithm == "lloyd"     ? KMeansAlgorithm::kLloyd
                       : algorithm == "elkan"   ? KMeansAlgorithm::kElkan
                       : algorithm == "hamerly" ? KMeansAlgorithm::kHamerly
                                                : aimass::plugins::model::automaticAlgorithm(10);
  settings.max_iterations = iterations;
  settings.shift_tolerance = -1;
  settings.threads = threads;
  Silent observer;
  const auto start = std::chrono::steady_clock::now();
  std::vector<double> norms(static_cast<std::size_t>(rows));
  aimass::plugins::model::parallelRows(threads, rows, [&](int, std::int64_t b, std::int64_t e) {
    for (std::int64_t i = b; i < e; ++i) {
      norms[i] = aimass::plugins::model::squaredNorm(x.data() + i * features, features);
    }
  });
  const aimass::plugins::model::PointSet points{x.data(), rows, features, norms.data()};
  auto result = aimass::plugins::model::runFullBatch(points, *given, settings, observer);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "{\"s_per_iter\": %.5f, \"inertia\": %.1f, \"iterations\": %lld, \"threads\": %d, "
      "\"algorithm\": \"%s\"}\n",
      seconds / static_cast<double>(result.iterations), result.inertia,
      static_cast<long long>(result.iterations), threads,
      settings.algorithm == KMeansAlgorithm::kLloyd   ? "lloyd"
      : settings.algorithm == KMeansAlgorithm::kElkan ? "elkan"
                                                      : "hamerly");
  return 0;
}
