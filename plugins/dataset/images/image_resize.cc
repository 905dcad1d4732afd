// SPDX-License-Identifier: Apache-2.0
#include "image_resize.h"

#include <algorithm>
#include <cstddef>

namespace aimass::plugins::dataset {

namespace {

/// For each output index along one axis, the input indices it covers and their weights (which
/// sum to 1): taps [offset[i], offset[i + 1]) of `index` and `weight`.
struct AxisTaps {
  std::vector<std::size_t> offset;
  std::vector<std::uint32_t> index;
  std::vector<float> weight;
};

/// Output pixel i covers the input interval [i * in / out, (i + 1) * in / out). Measured in
/// units of 1 / out input pixels the ends are the integers i * in and (i + 1) * in, so the
/// overlaps are exact and the weights are overlap / in.
AxisTaps axisTaps(std::uint32_t in, std::uint32_t out) {
  AxisTaps taps;
  taps.offset.reserve(out + 1);
  taps.offset.push_back(0);
  const std::uint64_t n = in, m = out;
  for (std::uint64_t i = 0; i < m; ++i) {
    const std::uint64_t lo = i * n, hi = (i + 1) * n;
    for (std::uint64_t j = lo / m; j * m < hi && j < n; ++j) {
      const std::uint64_t overlap = std::min(hi, (j + 1) * m) - std::max(lo, j * m);
      if (overlap > 0) {
        taps.index.push_back(static_cast<std::uint32_t>(j));
        taps.weight.push_back(static_cast<float>(static_cast<double>(overlap) / n));
      }
    }
    taps.offset.push_back(taps.index.size());
  }
  return taps;
}

}  // namespace

void resizeArea(const std::uint8_t* pixels, std::uint32_t width, std::uint32_t height, int channels,
                std::uint32_t out_width, std::uint32_t out_height, float scale, float* out,
                std::vector<float>& scratch) {
  const auto c = static_cast<std::size_t>(channels);
  if (width == out_width && height == out_height) {
    const std::size_t n = std::size_t{width} * height * c;
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = static_cast<float>(pixels[i]) * scale;
    }
    return;
  }
  // Rows first (height x out_width into scratch), then columns.
  const AxisTaps across = axisTaps(width, out_width);
  const AxisTaps down = axisTaps(height, out_height);
  const std::size_t row = std::size_t{out_width} * c;
  scratch.assign(std::size_t{height} * row, 0.0f);
  for (std::size_t y = 0; y < height; ++y) {
    const std::uint8_t* in = pixels + y * width * c;
    float* mid = scratch.data() + y * row;
    for (std::size_t x = 0; x < out_width; ++x) {
      for (std::size_t t = across.offset[x]; t < across.offset[x + 1]; ++t) {
        const std::uint8_t* source = in + across.index[t] * c;
        const float w = across.weight[t];
        for (std::size_t k = 0; k < c; ++k) {
          mid[x * c + k] += w * static_cast<float>(source[k]);
        }
      }
    }
  }
  for (std::size_t y = 0; y < out_height; ++y) {
    float* target = out + y * row;
    std::fill(target, target + row, 0.0f);
    for (std::size_t t = down.offset[y]; t < down.offset[y + 1]; ++t) {
      const float* mid = scratch.data() + std::size_t{down.index[t]} * row;
      const float w = down.weight[t] * scale;
      for (std::size_t i = 0; i < row; ++i) {
        target[i] += w * mid[i];
      }
    }
  }
}

}  // namespace aimass::plugins::dataset
