// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for dataset.idx: the input's first byte picks the options (normalisation,
// a limit, whether the rest is also read as a labels file); the rest is written to a file
// and opened as IDX images (and labels). Any input must give a dataset or a clean error,
// never a crash, a leak or undefined behaviour; a dataset must then read all its rows.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "idx.h"

namespace {

std::string scratchPath() {
  static const std::string path = "/tmp/aimass-idx-fuzz-" + std::to_string(::getpid()) + ".idx";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  using aimass::plugins::dataset::IdxDataset;
  using aimass::plugins::dataset::IdxNormalize;
  const std::uint8_t mode = data[0];
  const std::string path = scratchPath();
  if (std::FILE* file = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data + 1, 1, size - 1, file);
    std::fclose(file);
  } else {
    return 0;
  }
  aimass::plugins::dataset::IdxOptions options;
  options.images = path;
  if (mode & 1) {
    options.labels = path;
  }
  options.normalize = static_cast<IdxNormalize>((mode >> 1) % 3);
  options.limit = (mode >> 3) & 3;
  auto opened = IdxDataset::open(options);
  if (opened.ok()) {
    const IdxDataset& dataset = **opened;
    std::vector<std::uint64_t> rows;
    for (std::uint64_t r = 0; r < dataset.size() && r < 64; ++r) {
      rows.push_back(r);
    }
    aimass::Batch batch;
    (void)dataset.read(rows, batch);
  }
  return 0;
}
