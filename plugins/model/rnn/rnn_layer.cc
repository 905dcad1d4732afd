// SPDX-License-Identifier: Apache-2.0
#include "rnn_layer.h"

#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

namespace aimass::plugins::model {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;
constexpr auto kBf16 = memory::data_type::bf16;
constexpr auto kLeftToRight = dnnl::rnn_direction::unidirectional_left2right;

template <typename Fn>
Status dnnlCall(const char* what, Fn&& fn) noexcept {
  try {
    fn();
    return Status();
  } catch (const dnnl::error& e) {
    return internalError(std::string("model.rnn ") + what + ": oneDNN: " + e.what());
  } catch (const std::bad_alloc&) {
    return resourceExhausted(std::string("model.rnn ") + what + ": out of memory");
  } catch (const std::exception& e) {
    return internalError(std::string("model.rnn ") + what + ": " + e.what());
  }
}

/// A memory the layer owns, zero-filled.
memory owned(const memory::desc& desc, const dnnl::engine& engine) {
  memory m(desc, engine);
  std::memset(m.get_data_handle(), 0, desc.get_size());
  return m;
}

void bind(memory& m, const void* data) { m.set_data_handle(const_cast<void*>(data)); }

/// Weights in the user's ldigo layout and, when the primitive wants another, its own copy.
struct Weights {
  memory user, internal;
  bool reorder = false;
  dnnl::reorder to_internal, to_user;

  void init(const memory::desc& user_desc, const memory::desc& wanted, const dnnl::engine& engine,
            bool diff) {
    user = memory(user_desc, engine, DNNL_MEMORY_NONE);
    reorder = wanted != user_desc;
    if (reorder) {
      internal = owned(wanted, engine);
      if (diff) {
        to_user = dnnl::reorder(internal, user);
      } else {
        to_internal = dnnl::reorder(user, internal);
      }
    }
  }
  /// The memory the primitive reads, the user's `data` reordered if need be.
  memory& in(dnnl::stream& stream, const float* data, bool same) {
    bind(user, data);
    if (reorder && !same) {
      to_internal.execute(stream, user, internal);
    }
    return reorder ? internal : user;
  }
  /// The zeroed memory the primitive writes a gradient into; then finish() copies it out.
  memory& out(float* data) {
    bind(user, data);
    memory& target = reorder ? internal : user;
    std::memset(target.get_data_handle(), 0, target.get_desc().get_size());
    return target;
  }
  void finish(dnnl::stream& stream) {
    if (reorder) {
      to_user.execute(stream, internal, user);
    }
  }
};

/// A bf16 copy the primitives read or write, and the reorders between it and the caller's
/// FP32 buffer (`user`, rebound per call).
struct Narrow {
  memory user, low;
  dnnl::reorder to_low, to_user;

  void init(const memory::desc& user_desc, Tag tag, const dnnl::engine& engine) {
    user = memory(user_desc, engine, DNNL_MEMORY_NONE);
    low = owned(memory::desc(user_desc.dims(), kBf16, tag), engine);
    to_low = dnnl::reorder(user, low);
    to_user = dnnl::reorder(low, user);
  }
  /// `data` narrowed into `low`.
  memory& narrow(dnnl::stream& stream, const float* data) {
    bind(user, data);
    to_low.execute(stream, user, low);
    return low;
  }
  /// `low` widened into `data`.
  void widen(dnnl::stream& stream, float* data) {
    bind(user, data);
    to_user.execute(stream, low, user);
  }
};

}  // namespace

struct RnnLayer::Impl {
  dnnl::engine engine;
  memory::desc layer_in, layer_out, iter, weights_layer, weights_iter, bias;
  /// What the primitives read and write: the FP32 descs above, or their bf16 twins.
  memory::desc p_layer_in, p_layer_out, p_iter;
  Narrow x16, y16, h016, hT16;  ///< bf16 only
  dnnl::primitive forward, backward;
  memory x, h0, c0, y, hT, cT, bias_mem, workspace, zeros_iter, zeros_iter_c;
  Weights fwd_wl, fwd_wi, bwd_wl, bwd_wi, d_wl, d_wi;
  memory dy, dx, dx_scratch, d_h0, d_c0, d_hT, d_cT, d_bias;
};

namespace {

/// The weight layouts and workspace the primitives chose.
struct Layouts {
  memory::desc fwd_wl, fwd_wi, bwd_wl, bwd_wi, d_wl, d_wi, workspace;
};

/// Builds the forward (and, for training, backward) primitive of `s` into m.forward and
/// m.backward, weights in whatever layout oneDNN prefers. Throws dnnl::error.
Layouts buildPrimitives(RnnLayer::Impl& m, const RnnLayerShape& s, const dnnl::engine& engine) {
  const bool lstm = s.cell == Cell::kLstm;
  const std::int64_t g = weightGates(s.cell);
  const auto weights_type = s.bf16 ? kBf16 : kF32;
  const memory::desc wl_any({1, 1, s.inputs, g, s.hidden}, weights_type, Tag::any);
  const memory::desc wi_any({1, 1, s.hidden, g, s.hidden}, weights_type, Tag::any);
  // Gradients are FP32 in either precision.
  const memory::desc d_wl_any({1, 1, s.inputs, g, s.hidden}, kF32, Tag::any);
  const memory::desc d_wi_any({1, 1, s.hidden, g, s.hidden}, kF32, Tag::any);
  const auto prop =
      s.training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  Layouts out;
  if (lstm) {
    dnnl::lstm_forward::primitive_desc fwd(
        dnnl::lstm_forward::desc(prop, kLeftToRight, m.p_layer_in, m.p_iter, m.iter, wl_any,
                                 wi_any, m.bias, m.p_layer_out, m.p_iter, m.iter),
        engine);
    m.forward = dnnl::lstm_forward(fwd);
    out.fwd_wl = fwd.weights_layer_desc();
    out.fwd_wi = fwd.weights_iter_desc();
    out.workspace = fwd.workspace_desc();
    if (s.training) {
      dnnl::lstm_backward::primitive_desc bwd(
          dnnl::lstm_backward::desc(dnnl::prop_kind::backward, kLeftToRight, m.p_layer_in,
                                    m.p_iter, m.iter, wl_any, wi_any, m.bias, m.p_layer_out,
                                    m.p_iter, m.iter, m.layer_in, m.iter, m.iter, d_wl_any,
                                    d_wi_any, m.bias, m.layer_out, m.iter, m.iter),
          engine, fwd);
      m.backward = dnnl::lstm_backward(bwd);
      out.bwd_wl = bwd.weights_layer_desc();
      out.bwd_wi = bwd.weights_iter_desc();
      out.d_wl = bwd.diff_weights_layer_desc();
      out.d_wi = bwd.diff_weights_iter_desc();
    }
  } else {
    dnnl::lbr_gru_forward::primitive_desc fwd(
        dnnl::lbr_gru_forward::desc(prop, kLeftToRight, m.p_layer_in, m.p_iter, wl_any, wi_any,
                                    m.bias, m.p_layer_out, m.p_iter),
        engine);
    m.forward = dnnl::lbr_gru_forward(fwd);
    out.fwd_wl = fwd.weights_layer_desc();
    out.fwd_wi = fwd.weights_iter_desc();
    out.workspace = fwd.workspace_desc();
    if (s.training) {
      dnnl::lbr_gru_backward::primitive_desc bwd(
          dnnl::lbr_gru_backward::desc(dnnl::prop_kind::backward, kLeftToRight, m.p_layer_in,
                                       m.p_iter, wl_any, wi_any, m.bias, m.p_layer_out, m.p_iter,
                                       m.layer_in, m.iter, d_wl_any, d_wi_any, m.bias,
                                       m.layer_out, m.iter),
          engine, fwd);
      m.backward = dnnl::lbr_gru_backward(bwd);
      out.bwd_wl = bwd.weights_layer_desc();
      out.bwd_wi = bwd.weights_iter_desc();
      out.d_wl = bwd.diff_weights_layer_desc();
      out.d_wi = bwd.diff_weights_iter_desc();
    }
  }
  return out;
}

}  // namespace

RnnLayer::RnnLayer(RnnLayerShape shape) : shape_(shape) {}
RnnLayer::~RnnLayer() = default;

Expected<std::unique_ptr<RnnLayer>> RnnLayer::create(const dnnl::engine& engine,
                                                     const RnnLayerShape& s) {
  if (s.steps <= 0 || s.rows <= 0 || s.inputs <= 0 || s.hidden <= 0) {
    return invalidArgument("model.rnn layer sizes must be positive (T " + std::to_string(s.steps) +
                           ", N " + std::to_string(s.rows) + ", C " + std::to_string(s.inputs) +
                           ", H " + std::to_string(s.hidden) + ")");
  }
  std::unique_ptr<RnnLayer> layer(new RnnLayer(s));
  auto impl = std::make_unique<Impl>();
  Status status = dnnlCall("layer", [&] {
    Impl& m = *impl;
    m.engine = engine;
    const std::int64_t g = weightGates(s.cell), gb = biasGates(s.cell);
    m.layer_in = memory::desc({s.steps, s.rows, s.inputs}, kF32, Tag::tnc);
    m.layer_out = memory::desc({s.steps, s.rows, s.hidden}, kF32, Tag::tnc);
    m.iter = memory::desc({1, 1, s.rows, s.hidden}, kF32, Tag::ldnc);
    m.weights_layer = memory::desc({1, 1, s.inputs, g, s.hidden}, kF32, Tag::ldigo);
    m.weights_iter = memory::desc({1, 1, s.hidden, g, s.hidden}, kF32, Tag::ldigo);
    m.bias = memory::desc({1, 1, gb, s.hidden}, kF32, Tag::ldgo);
    m.p_layer_in = s.bf16 ? memory::desc({s.steps, s.rows, s.inputs}, kBf16, Tag::tnc) : m.layer_in;
    m.p_layer_out =
        s.bf16 ? memory::desc({s.steps, s.rows, s.hidden}, kBf16, Tag::tnc) : m.layer_out;
    m.p_iter = s.bf16 ? memory::desc({1, 1, s.rows, s.hidden}, kBf16, Tag::ldnc) : m.iter;
    if (s.bf16) {
      m.x16.init(m.layer_in, Tag::tnc, engine);
      m.y16.init(m.layer_out, Tag::tnc, engine);
      m.h016.init(m.iter, Tag::ldnc, engine);
      m.hT16.init(m.iter, Tag::ldnc, engine);
    }
    const Layouts chosen = buildPrimitives(m, s, engine);
    const memory::desc &fwd_wl = chosen.fwd_wl, &fwd_wi = chosen.fwd_wi, &bwd_wl = chosen.bwd_wl;
    const memory::desc &bwd_wi = chosen.bwd_wi, &d_wl = chosen.d_wl, &d_wi = chosen.d_wi;
    const memory::desc& workspace = chosen.workspace;
    m.x = memory(m.layer_in, engine, DNNL_MEMORY_NONE);
    m.y = memory(m.layer_out, engine, DNNL_MEMORY_NONE);
    m.h0 = memory(m.iter, engine, DNNL_MEMORY_NONE);
    m.c0 = memory(m.iter, engine, DNNL_MEMORY_NONE);
    m.bias_mem = memory(m.bias, engine, DNNL_MEMORY_NONE);
    m.hT = owned(m.iter, engine);
    m.cT = owned(m.iter, engine);
    m.zeros_iter = owned(m.p_iter, engine);
    m.zeros_iter_c = owned(m.iter, engine);
    if (workspace.get_size() > 0) {
      m.workspace = owned(workspace, engine);
    }
    m.fwd_wl.init(m.weights_layer, fwd_wl, engine, false);
    m.fwd_wi.init(m.weights_iter, fwd_wi, engine, false);
    if (s.training) {
      m.bwd_wl.init(m.weights_layer, bwd_wl, engine, false);
      m.bwd_wi.init(m.weights_iter, bwd_wi, engine, false);
      m.d_wl.init(m.weights_layer, d_wl, engine, true);
      m.d_wi.init(m.weights_iter, d_wi, engine, true);
      m.dy = memory(m.layer_out, engine, DNNL_MEMORY_NONE);
      m.dx = memory(m.layer_in, engine, DNNL_MEMORY_NONE);
      m.dx_scratch = owned(m.layer_in, engine);
      m.d_h0 = owned(m.iter, engine);
      m.d_c0 = owned(m.iter, engine);
      m.d_hT = owned(m.iter, engine);
      m.d_cT = owned(m.iter, engine);
      m.d_bias = memory(m.bias, engine, DNNL_MEMORY_NONE);
    }
  });
  if (!status.ok()) {
    return status;
  }
  layer->impl_ = std::move(impl);
  return layer;
}

Status RnnLayer::forward(dnnl::stream& stream, const float* x, const float* h0, const float* c0,
                         const float* weights_layer, const float* weights_iter, const float* bias,
                         float* y, float* hT, float* cT, bool same_weights) {
  return dnnlCall("forward", [&] {
    Impl& m = *impl_;
    const bool bf16 = shape_.bf16;
    bind(m.bias_mem, bias);
    memory& x_mem = bf16 ? m.x16.narrow(stream, x) : (bind(m.x, x), m.x);
    memory& y_mem = bf16 ? m.y16.low : (bind(m.y, y), m.y);
    memory& h0_mem = h0 == nullptr ? m.zeros_iter
                     : bf16        ? m.h016.narrow(stream, h0)
                                   : (bind(m.h0, h0), m.h0);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_LAYER, x_mem},
        {DNNL_ARG_SRC_ITER, h0_mem},
        {DNNL_ARG_WEIGHTS_LAYER, m.fwd_wl.in(stream, weights_layer, same_weights)},
        {DNNL_ARG_WEIGHTS_ITER, m.fwd_wi.in(stream, weights_iter, same_weights)},
        {DNNL_ARG_BIAS, m.bias_mem},
        {DNNL_ARG_DST_LAYER, y_mem},
        {DNNL_ARG_DST_ITER, bf16 ? m.hT16.low : m.hT}};
    if (shape_.cell == Cell::kLstm) {
      args.emplace(DNNL_ARG_SRC_ITER_C, c0 != nullptr ? (bind(m.c0, c0), m.c0) : m.zeros_iter_c);
      args.emplace(DNNL_ARG_DST_ITER_C, m.cT);
    }
    if (m.workspace) {
      args.emplace(DNNL_ARG_WORKSPACE, m.workspace);
    }
    m.forward.execute(stream, args);
    if (bf16) {
      m.y16.widen(stream, y);
      if (hT != nullptr) m.hT16.widen(stream, hT);
    }
    stream.wait();
    const std::size_t state_bytes = m.iter.get_size();
    if (hT != nullptr && !bf16) {
      std::memcpy(hT, m.hT.get_data_handle(), state_bytes);
    }
    if (cT != nullptr && shape_.cell == Cell::kLstm) {
      std::memcpy(cT, m.cT.get_data_handle(), state_bytes);
    }
  });
}

Status RnnLayer::backward(dnnl::stream& stream, const float* x, const float* h0, const float* c0,
                          const float* weights_layer, const float* weights_iter, const float* bias,
                          const float* y, const float* dy, float* dx, float* d_weights_layer,
                          float* d_weights_iter, float* d_bias) {
  if (!shape_.training) {
    return failedPrecondition("model.rnn layer was built without a backward pass");
  }
  return dnnlCall("backward", [&] {
    Impl& m = *impl_;
    const bool bf16 = shape_.bf16;  // then x, h0, y and hT are forward()'s bf16 copies
    bind(m.bias_mem, bias);
    bind(m.dy, dy);
    bind(m.d_bias, d_bias);
    std::memset(d_bias, 0, m.bias.get_size());
    memory& x_mem = bf16 ? m.x16.low : (bind(m.x, x), m.x);
    memory& y_mem = bf16 ? m.y16.low : (bind(m.y, y), m.y);
    memory& dx_mem = dx != nullptr ? (bind(m.dx, dx), m.dx) : m.dx_scratch;
    memory& h0_mem = h0 == nullptr ? m.zeros_iter : bf16 ? m.h016.low : (bind(m.h0, h0), m.h0);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_LAYER, x_mem},
        {DNNL_ARG_SRC_ITER, h0_mem},
        {DNNL_ARG_WEIGHTS_LAYER, m.bwd_wl.in(stream, weights_layer, false)},
        {DNNL_ARG_WEIGHTS_ITER, m.bwd_wi.in(stream, weights_iter, false)},
        {DNNL_ARG_BIAS, m.bias_mem},
        {DNNL_ARG_DST_LAYER, y_mem},
        {DNNL_ARG_DST_ITER, bf16 ? m.hT16.low : m.hT},
        {DNNL_ARG_DIFF_SRC_LAYER, dx_mem},
        {DNNL_ARG_DIFF_SRC_ITER, m.d_h0},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, m.d_wl.out(d_weights_layer)},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, m.d_wi.out(d_weights_iter)},
        {DNNL_ARG_DIFF_BIAS, m.d_bias},
        {DNNL_ARG_DIFF_DST_LAYER, m.dy},
        {DNNL_ARG_DIFF_DST_ITER, m.d_hT}};
    if (shape_.cell == Cell::kLstm) {
      args.emplace(DNNL_ARG_SRC_ITER_C, c0 != nullptr ? (bind(m.c0, c0), m.c0) : m.zeros_iter_c);
      args.emplace(DNNL_ARG_DST_ITER_C, m.cT);
      args.emplace(DNNL_ARG_DIFF_SRC_ITER_C, m.d_c0);
      args.emplace(DNNL_ARG_DIFF_DST_ITER_C, m.d_cT);
    }
    if (m.workspace) {
      args.emplace(DNNL_ARG_WORKSPACE, m.workspace);
    }
    m.backward.execute(stream, args);
    m.d_wl.finish(stream);
    m.d_wi.finish(stream);
    stream.wait();
  });
}

}  // namespace aimass::plugins::model
