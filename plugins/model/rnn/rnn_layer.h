// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "aimass/status.h"

namespace aimass::plugins::model {

/// The recurrent cell of a layer.
enum class Cell : std::uint32_t {
  kGru = 0,   ///< oneDNN's linear-before-reset GRU (PyTorch nn.GRU semantics)
  kLstm = 1,  ///< oneDNN's LSTM without peephole or projection (PyTorch nn.LSTM semantics)
};

/// Gates of a cell's weights (GRU: u, r, o; LSTM: i, f, c, o) and of its bias (GRU: u, r, o and
/// the bias of the recurrent part of o, added before the reset gate multiplies it; LSTM: 4).
constexpr std::int64_t weightGates(Cell cell) { return cell == Cell::kGru ? 3 : 4; }
constexpr std::int64_t biasGates(Cell /*cell*/) { return 4; }

/// Shape of one RnnLayer: one direction of one layer over `steps` x `rows`.
struct RnnLayerShape {
  Cell cell = Cell::kGru;
  std::int64_t steps = 0;   ///< T
  std::int64_t rows = 0;    ///< N (the batch)
  std::int64_t inputs = 0;  ///< C (channels of the layer's input)
  std::int64_t hidden = 0;  ///< H
  bool training = false;    ///< build the training forward and the backward primitives
  /// Run the products in bf16 (AVX512-BF16): the primitives read bf16 copies of x, h0 and the
  /// weights and write y and hT in bf16, which the layer widens into the caller's FP32
  /// buffers; bias, the LSTM cell state, every gradient and all accumulation stay FP32.
  bool bf16 = false;
};

/// One left-to-right recurrent layer on oneDNN's RNN primitives (lbr_gru_forward/backward,
/// lstm_forward/backward) for one shape.
///
/// Buffers (all dense FP32 whatever the precision, caller-owned, borrowed for a call): x [T, N, C] (time-major),
/// h0/c0 and hT/cT [N, H] (c only for LSTM; h0/c0 may be null for a zero start), y [T, N, H],
/// weights_layer [C, G, H], weights_iter [H, G, H] (oneDNN's ldigo with one layer and one
/// direction), bias [Gb, H]. The primitives may want other weight layouts: the layer reorders
/// into its own buffers on every call (the weights change every step).
///
/// Threading: one call at a time (memories are rebound); the caller sets the OpenMP thread
/// count. Errors: oneDNN's exceptions come back as kInternal.
class RnnLayer {
 public:
  static Expected<std::unique_ptr<RnnLayer>> create(const dnnl::engine& engine,
                                                    const RnnLayerShape& shape);

  const RnnLayerShape& shape() const noexcept { return shape_; }

  /// Forward pass; with a training shape it keeps the workspace backward() needs. hT/cT may
  /// be null. `same_weights`: the weights are those of the previous forward() on this layer
  /// (same buffers, unchanged), so their reorder is skipped (generation, step by step).
  Status forward(dnnl::stream& stream, const float* x, const float* h0, const float* c0,
                 const float* weights_layer, const float* weights_iter, const float* bias, float* y,
                 float* hT, float* cT, bool same_weights = false);
  /// Backward pass of the last forward() (same inputs and weights): dy [T, N, H] is the
  /// gradient of y; the gradient flowing into hT/cT is zero (truncated backpropagation). In
  /// bf16 it reads the bf16 copies of x, h0, y and hT that forward() made, not x and y again.
  /// Writes (overwrites) dx [T, N, C] (may be null), and the weight gradients.
  Status backward(dnnl::stream& stream, const float* x, const float* h0, const float* c0,
                  const float* weights_layer, const float* weights_iter, const float* bias,
                  const float* y, const float* dy, float* dx, float* d_weights_layer,
                  float* d_weights_iter, float* d_bias);

  struct Impl;
  ~RnnLayer();

 private:
  explicit RnnLayer(RnnLayerShape shape);
  RnnLayerShape shape_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aimass::plugins::model
