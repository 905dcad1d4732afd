// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <vector>

namespace aimass::plugins::dataset {

/// Scales an image of 8-bit pixels (width x height, `channels` interleaved, row-major) to
/// out_width x out_height by area averaging, and writes out_width * out_height * channels
/// floats, each multiplied by `scale`, to `out`.
///
/// Area averaging: an output pixel covers a rectangle of the input (width / out_width by
/// height / out_height input pixels) and is the mean of the input over it, each input pixel
/// weighted by how much of it the rectangle covers. Shrinking thus averages every input pixel
/// in (no aliasing, as a box filter); enlarging repeats pixels, blending the two neighbours
/// where an output pixel straddles an input pixel's edge. Width and height scale
/// independently (no aspect ratio is kept). The same size copies the values exactly. The
/// output is not rounded: a shrunk pixel may lie between two byte values.
///
/// `scratch` is a buffer the caller may reuse between calls. Threading: no shared state.
void resizeArea(const std::uint8_t* pixels, std::uint32_t width, std::uint32_t height, int channels,
                std::uint32_t out_width, std::uint32_t out_height, float scale, float* out,
                std::vector<float>& scratch);

}  // namespace aimass::plugins::dataset
