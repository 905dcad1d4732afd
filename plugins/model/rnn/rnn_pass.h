// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <vector>

#include "aimass/compute/compute_context.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/compute/losses.h"
#include "rnn.h"
#include "rnn_layer.h"

namespace aimass::plugins::model {

/// Primitives and buffers of one pass shape (steps T x rows N) of one Rnn: made for a batch
/// shape and reused while it repeats (training), or made per call (serving; oneDNN's primitive
/// cache makes the primitives cheap to rebuild). Buffers are time-major [T, N, C].
///
/// Threading: one call at a time.
struct RnnPass {
  std::int64_t steps = 0, rows = 0, head_rows = 0;
  bool training = false;
  dnnl::engine engine;
  dnnl::stream stream;
  std::shared_ptr<compute::ComputeContext> context;
  std::vector<std::unique_ptr<RnnLayer>> layers;  ///< layer-major, then direction
  Tensor x0;                                      ///< the first layer's input
  std::vector<Tensor> reversed;                   ///< per layer: input reversed per row (D = 2)
  std::vector<Tensor> y, h_last, c_last;          ///< per layer and direction
  std::vector<Tensor> out;                        ///< per layer [T, N, D*H]
  std::vector<Tensor> dropped, mask;              ///< per layer but the last, with dropout
  std::vector<Tensor> d_y, d_x, d_out;            ///< backward buffers
  Tensor d_x0;
  std::vector<std::int64_t> lengths;  ///< per row
  std::vector<std::int64_t> labels;   ///< LM: next tokens in time-major order
  Tensor features, logits, d_logits, d_features;
  std::unique_ptr<compute::FullyConnected> head;
  int threads = 1;  ///< of the loss's rows (OpenMP)

  /// kInternal / kResourceExhausted when oneDNN or memory fails.
  /// `bf16`: the recurrent layers run their products in bf16 (RnnLayerShape::bf16).
  static Expected<std::unique_ptr<RnnPass>> make(const Rnn& model, std::int64_t steps,
                                                 std::int64_t rows, bool training, int threads,
                                                 bool bf16);
};

}  // namespace aimass::plugins::model
