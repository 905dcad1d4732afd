// SPDX-License-Identifier: Apache-2.0
#include "aimass/compute/fully_connected.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "context_impl.h"

namespace aimass::compute {

namespace {

dnnl::algorithm forwardAlgorithm(Activation activation) {
  switch (activation) {
    case Activation::kRelu:
      return dnnl::algorithm::eltwise_relu;
    case Activation::kTanh:
      return dnnl::algorithm::eltwise_tanh;
    case Activation::kSigmoid:
      return dnnl::algorithm::eltwise_logistic;
    case Activation::kGelu:
      return dnnl::algorithm::eltwise_gelu_tanh;
    case Activation::kNone:
      break;
  }
  return dnnl::algorithm::undef;
}

/// Sixteen floats; GCC lowers it to one AVX-512 register, two AVX2 or four SSE ones.
typedef float Floats16 __attribute__((vector_size(64)));

/// Inputs taken at a time by forwardRow: their non-zero values and indices fit on the stack.
constexpr std::int64_t kRowChunk = 512;

/// y = x W + b for one row x: the sum of the weight rows of the inputs that are not zero, each
/// scaled by its input (a request's features, and ReLU outputs, are often mostly zeros; those
/// rows of W are never read). The inputs go in chunks: the chunk's non-zero inputs are listed
/// first (without a branch per input), then sixty-four outputs at a time stay in registers
/// while every listed input adds to them, then sixteen, then the rest. Each output sums its
/// inputs in order, whatever the blocking. Compiled for AVX-512, AVX2 and plain x86-64, chosen at
/// load time.
__attribute__((target_clones("avx512f", "avx2", "default"))) void forwardRow(
    const float* x, const float* weight, const float* bias, float* y, std::int64_t k,
    std::int64_t n) {
  // Vectors move between memory and registers with memcpy (no alignment assumed, no vector
  // passed by value: its ABI would differ between the compiled versions).
  std::int64_t index[kRowChunk];
  float value[kRowChunk];
  for (std::int64_t start = 0; start == 0 || start < k; start += kRowChunk) {
    const std::int64_t stop = std::min(k, start + kRowChunk);
    std::int64_t m = 0;
    for (std::int64_t i = start; i < stop; ++i) {
      index[m] = i;
      value[m] = x[i];
      m += x[i] != 0.0f ? 1 : 0;
    }
    // The first chunk starts from the bias (or zero), later ones from what y holds so far.
    const float* const from = start > 0 ? y : bias;
    auto begin = [&](Floats16& a, std::int64_t j) {
      if (from != nullptr) {
        std::memcpy(&a, from + j, sizeof(a));
      } else {
        a = Floats16{};
      }
    };
    std::int64_t j = 0;
    for (; j + 64 <= n; j += 64) {
      Floats16 a0, a1, a2, a3;
      begin(a0, j);
      begin(a1, j + 16);
      begin(a2, j + 32);
      begin(a3, j + 48);
      for (std::int64_t t = 0; t < m; ++t) {
        const float xi = value[t];
        const float* w = weight + index[t] * n + j;
        Floats16 w0, w1, w2, w3;
        std::memcpy(&w0, w, sizeof(w0));
        std::memcpy(&w1, w + 16, sizeof(w1));
        std::memcpy(&w2, w + 32, sizeof(w2));
        std::memcpy(&w3, w + 48, sizeof(w3));
        a0 += xi * w0;
        a1 += xi * w1;
        a2 += xi * w2;
        a3 += xi * w3;
      }
      std::memcpy(y + j, &a0, sizeof(a0));
      std::memcpy(y + j + 16, &a1, sizeof(a1));
      std::memcpy(y + j + 32, &a2, sizeof(a2));
      std::memcpy(y + j + 48, &a3, sizeof(a3));
    }
    for (; j + 16 <= n; j += 16) {
      Floats16 a;
      begin(a, j);
      for (std::int64_t t = 0; t < m; ++t) {
        Floats16 w;
        std::memcpy(&w, weight + index[t] * n + j, sizeof(w));
        a += value[t] * w;
      }
      std::memcpy(y + j, &a, sizeof(a));
    }
    // The last outputs (fewer than sixteen), each its own running sum, side by side so the
    // sums do not wait on one another.
    if (j < n) {
      const std::int64_t left = n - j;
      float a[16];
      for (std::int64_t o = 0; o < left; ++o) {
        a[o] = from != nullptr ? from[j + o] : 0.0f;
      }
      for (std::int64_t t = 0; t < m; ++t) {
        const float xi = value[t];
        const float* w = weight + index[t] * n + j;
        for (std::int64_t o = 0; o < left; ++o) {
          a[o] += xi * w[o];
        }
      }
      std::memcpy(y + j, a, static_cast<std::size_t>(left) * sizeof(float));
    }
  }
}

/// The VNNI layout oneDNN's bf16 products prefer for their weights [A, B] (tag BA16a<NB>b2a,
/// e.g. BA16a64b2a): B in blocks of NB outermost, then A in blocks of 32, then 16 pairs of A
/// rows, NB columns, the 2 rows of a pair. Zero when `md` is another layout.
struct VnniLayout {
  std::int64_t nb = 0, stride_a = 0, stride_b = 0;  // in elements
};

VnniLayout vnniLayout(const dnnl::memory::desc& md) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.format_kind != dnnl_blocked || d.ndims != 2) {
    return {};
  }
  const auto& b = d.format_desc.blocking;
  if (b.inner_nblks != 3 || b.inner_idxs[0] != 0 || b.inner_idxs[1] != 1 ||
      b.inner_idxs[2] != 0 || b.inner_blks[0] != 16 || b.inner_blks[2] != 2) {
    return {};
  }
  return {b.inner_blks[1], b.strides[0], b.strides[1]};
}

std::uint16_t roundToBf16(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  const std::uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  return static_cast<std::uint16_t>(nan ? (bits >> 16) | 0x40u : rounded);
}

// GCC 12 warns inside its own AVX-512 intrinsics (their _mm512_undefined_* placeholders).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/// Rows a and a + 1 of `src` (`second` null: zeros) from column b0, `count` (<= 16) values,
/// rounded to bf16 and interleaved into `count` pairs (AVX512-BF16's conversion).
__attribute__((target("avx512bf16,avx512f,avx512vl"))) void packPairs16(const float* first,
                                                                       const float* second,
                                                                       std::int64_t count,
                                                                       std::uint32_t* pairs) {
  const __mmask16 mask = static_cast<__mmask16>((1u << count) - 1u);
  const __m512 low = _mm512_maskz_loadu_ps(mask, first);
  const __m512 high = second != nullptr ? _mm512_maskz_loadu_ps(mask, second) : _mm512_setzero_ps();
  const __m256bh low16 = _mm512_cvtneps_pbh(low);
  const __m256bh high16 = _mm512_cvtneps_pbh(high);
  const __m512i low32 = _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(low16));
  const __m512i high32 = _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(high16));
  _mm512_mask_storeu_epi32(pairs, mask, _mm512_or_si512(low32, _mm512_slli_epi32(high32, 16)));
}

#pragma GCC diagnostic pop

/// packVnni for row-major weights (column stride 1) on a CPU with AVX512-BF16.
void packVnniRows(const float* src, std::int64_t rows, std::int64_t cols, VnniLayout layout,
                  std::uint32_t* out) {
  for (std::int64_t a = 0; a < rows; a += 2) {
    const float* first = src + a * cols;
    const float* second = a + 1 < rows ? first + cols : nullptr;
    const std::int64_t base = (a / 32) * layout.stride_a + ((a % 32) / 2) * layout.nb * 2;
    for (std::int64_t b0 = 0; b0 < cols; b0 += layout.nb) {
      std::uint32_t* pairs = out + (base + (b0 / layout.nb) * layout.stride_b) / 2;
      const std::int64_t n = std::min(layout.nb, cols - b0);
      for (std::int64_t j = 0; j < n; j += 16) {
        packPairs16(first + b0 + j, second != nullptr ? second + b0 + j : nullptr,
                    std::min<std::int64_t>(16, n - j), pairs + j);
      }
    }
  }
}

/// Rounds w(a, b) = src[a * row_stride + b * col_stride] for a < rows, b < cols to bf16 (as
/// toBFloat16()) and writes it to `out` in `layout`; padding is left as it is (zero).
__attribute__((target_clones("avx512f", "avx2", "default"))) void packVnni(
    const float* src, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
    std::int64_t col_stride, VnniLayout layout, std::uint32_t* out) {
  if (col_stride == 1 && row_stride == cols) {  // only bf16 ops pack, so the CPU has AVX512-BF16
    packVnniRows(src, rows, cols, layout, out);
    return;
  }
  for (std::int64_t a = 0; a < rows; a += 2) {
    const float* first = src + a * row_stride;
    const float* second = a + 1 < rows ? first + row_stride : nullptr;
    const std::int64_t base = (a / 32) * layout.stride_a + ((a % 32) / 2) * layout.nb * 2;
    for (std::int64_t b0 = 0; b0 < cols; b0 += layout.nb) {
      std::uint32_t* pairs = out + (base + (b0 / layout.nb) * layout.stride_b) / 2;
      const std::int64_t n = std::min(layout.nb, cols - b0);
      for (std::int64_t j = 0; j < n; ++j) {
        const std::int64_t at = (b0 + j) * col_stride;
        const std::uint32_t low = roundToBf16(first[at]);
        const std::uint32_t high = second != nullptr ? roundToBf16(second[at]) : 0u;
        pairs[j] = low | (high << 16);
      }
    }
  }
}

/// packVnni() split over `threads` threads by blocks of 32 rows (each block is its own stretch
/// of `out`).
void packVnniParallel(int threads, const float* src, std::int64_t rows, std::int64_t cols,
                      std::int64_t row_stride, std::int64_t col_stride, VnniLayout layout,
                      std::uint32_t* out) {
  const std::int64_t blocks = (rows + 31) / 32;
  threads = static_cast<int>(std::min<std::int64_t>(
      std::min(threads, threadLimit(static_cast<double>(rows * cols), kParallelConvertMinimum)),
      blocks));
  if (threads <= 1) {
    packVnni(src, rows, cols, row_stride, col_stride, layout, out);
    return;
  }
  const std::int64_t per_thread = (blocks + threads - 1) / threads * 32;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    const std::int64_t begin = std::min(rows, t * per_thread);
    const std::int64_t count = std::min(rows, begin + per_thread) - begin;
    if (count > 0) {
      packVnni(src + begin * row_stride, count, cols, row_stride, col_stride, layout,
               out + (begin / 32) * layout.stride_a / 2);
    }
  }
}

}  // namespace

struct FullyConnected::Impl {
  std::shared_ptr<ComputeContext> context;
  dnnl::matmul forward, backward_data, backward_weights;
  dnnl::matmul bias_sum;  // ones [1, M] x dy [M, N]: a GEMV, far faster than oneDNN's reduction
  std::vector<float> ones;
  // Memory objects bound to the caller's buffers on each call.
  dnnl::memory x, w, b, y;               // forward
  dnnl::memory dy, wt, dx;               // backward data
  dnnl::memory xt, dy_w, dw;             // backward weights
  dnnl::memory ones_memory, dy_sum, db;  // bias gradient
  bool has_backward = false;
  // bf16: the weights packed by setWeights() for forward and for backward data (W^T), and the
  // reorders that round and pack them from the caller's FP32 weights (`*_master` views).
  dnnl::memory w_packed, wt_packed, w_master, wt_master;
  dnnl::reorder pack_w, pack_wt;
  // The packed layouts when they are the VNNI one packVnni() writes (nb 0: use the reorders,
  // oneDNN's own, which took as long as the products they feed).
  VnniLayout w_layout, wt_layout;
  // W^T is packed when backwardData() first needs it after setWeights() (a network's first
  // layer never does): from these weights, which the caller keeps unchanged until then.
  const float* wt_source = nullptr;
  // Thread limits (threadLimit()): the three products share one, the bias sum has its own.
  int product_threads = 1, bias_threads = 1;
};

FullyConnected::FullyConnected(FullyConnectedShape shape, std::unique_ptr<Impl> impl)
    : shape_(shape), impl_(std::move(impl)) {}

FullyConnected::~FullyConnected() = default;

Expected<std::unique_ptr<FullyConnected>> FullyConnected::create(
    std::shared_ptr<ComputeContext> context, const FullyConnectedShape& shape) {
  if (context == nullptr) {
    return invalidArgument("FullyConnected needs a compute context");
  }
  if (shape.rows <= 0 || shape.inputs <= 0 || shape.outputs <= 0) {
    return invalidArgument("FullyConnected needs positive sizes, got rows " +
                           std::to_string(shape.rows) + ", inputs " + std::to_string(shape.inputs) +
                           ", outputs " + std::to_string(shape.outputs));
  }
  if (shape.activation == Activation::kGelu) {
    return invalidArgument(
        "FullyConnected cannot fuse GELU (its backward needs the pre-activation); run an "
        "Eltwise op after it");
  }
  if (shape.precision == Precision::kBFloat16 && !bfloat16Supported()) {
    return failedPrecondition(
        "FullyConnected in bf16 needs a CPU with AVX512-BF16, but oneDNN's "
        "effective ISA is " +
        cpuIsaName());
  }
  const std::int64_t m = shape.rows, k = shape.inputs, n = shape.outputs;
  // Sources and weights of the three products: FP32, or bf16 copies the caller keeps.
  const auto in_type = shape.precision == Precision::kBFloat16 ? dnnl::memory::data_type::bf16
                                                               : dnnl::memory::data_type::f32;
  auto impl = std::make_unique<Impl>();
  impl->context = context;
  impl->product_threads =
      threadLimit(static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n),
                  kParallelProductMinimum);
  impl->bias_threads =
      threadLimit(static_cast<double>(m) * static_cast<double>(n), kParallelProductMinimum);
  Status status = dnnlCall("building FullyConnected", [&] {
    const dnnl::engine& engine = context->impl().engine;
    ScopedThreads product_threads(*context, impl->product_threads);
    auto x_md = rowMajor({m, k});
    auto w_md = rowMajor({k, n});
    auto b_md = rowMajor({1, n});
    auto y_md = rowMajor({m, n});
    auto x_in = rowMajor({m, k}, in_type);
    auto w_in = rowMajor({k, n}, in_type);
    auto y_in = rowMajor({m, n}, in_type);
    dnnl::primitive_attr attr;
    if (shape.activation != Activation::kNone) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.0f, forwardAlgorithm(shape.activation), 0.0f, 0.0f);
      attr.set_post_ops(ops);
    }
    const bool bf16 = shape.precision == Precision::kBFloat16;
    // bf16 weights in the layout the product prefers (format `any`), packed by setWeights().
    auto w_fwd = bf16 ? dnnl::memory::desc({k, n}, in_type, dnnl::memory::format_tag::any) : w_in;
    auto forward_desc = shape.bias ? dnnl::matmul::desc(x_in, w_fwd, b_md, y_md)
                                   : dnnl::matmul::desc(x_in, w_fwd, y_md);
    auto forward_pd = dnnl::matmul::primitive_desc(forward_desc, attr, engine);
    impl->forward = dnnl::matmul(forward_pd);
    impl->x = dnnl::memory(x_in, engine, DNNL_MEMORY_NONE);
    impl->w = dnnl::memory(w_in, engine, DNNL_MEMORY_NONE);
    if (bf16) {
      impl->w_packed = dnnl::memory(forward_pd.weights_desc(), engine);
      impl->w_master = dnnl::memory(w_md, engine, DNNL_MEMORY_NONE);
      impl->pack_w = dnnl::reorder(impl->w_master, impl->w_packed);
      impl->w_layout = vnniLayout(forward_pd.weights_desc());
      std::memset(impl->w_packed.get_data_handle(), 0, forward_pd.weights_desc().get_size());
    }
    impl->b = dnnl::memory(b_md, engine, DNNL_MEMORY_NONE);
    impl->y = dnnl::memory(y_md, engine, DNNL_MEMORY_NONE);
    if (!shape.backward) {
      return;
    }
    // dx [M, K] = dy [M, N] * W^T, W^T read in place as a column-major [N, K] view.
    auto wt_md = transposed(n, k, in_type);
    // bf16: W^T in the layout the product prefers, packed by setWeights().
    auto wt_bwd =
        bf16 ? dnnl::memory::desc({n, k}, in_type, dnnl::memory::format_tag::any) : wt_md;
    auto backward_data_pd =
        dnnl::matmul::primitive_desc(dnnl::matmul::desc(y_in, wt_bwd, x_md), engine);
    impl->backward_data = dnnl::matmul(backward_data_pd);
    if (bf16) {
      impl->wt_packed = dnnl::memory(backward_data_pd.weights_desc(), engine);
      impl->wt_master = dnnl::memory(transposed(n, k), engine, DNNL_MEMORY_NONE);
      impl->pack_wt = dnnl::reorder(impl->wt_master, impl->wt_packed);
      impl->wt_layout = vnniLayout(backward_data_pd.weights_desc());
      std::memset(impl->wt_packed.get_data_handle(), 0, backward_data_pd.weights_desc().get_size());
    }
    impl->dy = dnnl::memory(y_in, engine, DNNL_MEMORY_NONE);
    impl->dx = dnnl::memory(x_md, engine, DNNL_MEMORY_NONE);
    impl->wt = dnnl::memory(wt_md, engine, DNNL_MEMORY_NONE);
    // dW [K, N] = x^T [K, M] * dy [M, N], x^T read in place.
    auto xt_md = transposed(k, m, in_type);
    impl->backward_weights =
        dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(xt_md, y_in, w_md), engine));
    impl->xt = dnnl::memory(xt_md, engine, DNNL_MEMORY_NONE);
    impl->dy_w = dnnl::memory(y_in, engine, DNNL_MEMORY_NONE);
    impl->dw = dnnl::memory(w_md, engine, DNNL_MEMORY_NONE);
    if (shape.bias) {
      ScopedThreads bias_threads(*context, impl->bias_threads);
      impl->ones.assign(static_cast<std::size_t>(m), 1.0f);
      auto ones_md = rowMajor({1, m});
      impl->bias_sum = dnnl::matmul(
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(ones_md, y_md, b_md), engine));
      impl->dy_sum = dnnl::memory(y_md, engine, DNNL_MEMORY_NONE);
      impl->db = dnnl::memory(b_md, engine, DNNL_MEMORY_NONE);
      impl->ones_memory = dnnl::memory(ones_md, engine, impl->ones.data());
    }
    impl->has_backward = true;
  });
  if (!status.ok()) {
    return status;
  }
  return std::unique_ptr<FullyConnected>(new FullyConnected(shape, std::move(impl)));
}

Status FullyConnected::checkPrecision(Precision wanted, const char* what) const noexcept {
  if (shape_.precision == wanted) {
    return Status();
  }
  return failedPrecondition(
      std::string("FullyConnected ") + what + " was given " + std::string(precisionName(wanted)) +
      " data, but the op was built for " + std::string(precisionName(shape_.precision)));
}

Status FullyConnected::forward(const float* x, const float* weight, const float* bias,
                               float* y) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kFloat32, "forward"));
  // One row (a single served request): oneDNN's product reads every weight; this reads only
  // the rows of non-zero inputs, on this thread (a row is too little work to share).
  if (shape_.rows == 1 &&
      (shape_.activation == Activation::kNone || shape_.activation == Activation::kRelu)) {
    forwardRow(x, weight, shape_.bias ? bias : nullptr, y, shape_.inputs, shape_.outputs);
    if (shape_.activation == Activation::kRelu) {
      for (std::int64_t j = 0; j < shape_.outputs; ++j) {
        y[j] = y[j] > 0.0f ? y[j] : y[j] * 0.0f;  // as oneDNN's ReLU: NaN stays NaN
      }
    }
    return Status();
  }
  return runForward(x, weight, bias, y);
}

Status FullyConnected::forward(const BFloat16* x, const float* bias, float* y) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kBFloat16, "forward"));
  return runForward(x, nullptr, bias, y);
}

Status FullyConnected::setWeights(const float* weight) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kBFloat16, "setWeights"));
  Impl& p = *impl_;
  return dnnlCall("FullyConnected packing bf16 weights", [&] {
    p.context->enterThreads(p.product_threads);
    const std::int64_t k = shape_.inputs, n = shape_.outputs;
    if (p.w_layout.nb > 0) {
      packVnniParallel(p.context->threads(), weight, k, n, n, 1, p.w_layout,
                       static_cast<std::uint32_t*>(p.w_packed.get_data_handle()));
    } else {
      p.w_master.set_data_handle(const_cast<float*>(weight));
      p.pack_w.execute(p.context->impl().stream,
                       {{DNNL_ARG_FROM, p.w_master}, {DNNL_ARG_TO, p.w_packed}});
    }
    p.wt_source = weight;
  });
}

Status FullyConnected::backwardData(const float* dy, const float* weight, float* dx) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kFloat32, "backwardData"));
  return runBackwardData(dy, weight, dx);
}

Status FullyConnected::backwardData(const BFloat16* dy, float* dx) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kBFloat16, "backwardData"));
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("FullyConnected was built without backward");
  }
  if (p.wt_source == nullptr) {
    return failedPrecondition("FullyConnected bf16 backwardData needs setWeights() first");
  }
  if (const float* weight = std::exchange(p.wt_source, nullptr); p.wt_layout.nb > 0) {
    // W^T [N, K]: w(a, b) = weight[b * N + a]
    packVnniParallel(p.context->threads(), weight, shape_.outputs, shape_.inputs, 1, shape_.outputs,
                     p.wt_layout, static_cast<std::uint32_t*>(p.wt_packed.get_data_handle()));
  } else {
    AIMASS_RETURN_IF_ERROR(dnnlCall("FullyConnected packing bf16 weights", [&] {
      p.wt_master.set_data_handle(const_cast<float*>(weight));
      p.pack_wt.execute(p.context->impl().stream,
                        {{DNNL_ARG_FROM, p.wt_master}, {DNNL_ARG_TO, p.wt_packed}});
    }));
  }
  return runBackwardData(dy, nullptr, dx);
}

Status FullyConnected::backwardWeights(const float* x, const float* dy, float* weight_grad,
                                       float* bias_grad) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kFloat32, "backwardWeights"));
  return runBackwardWeights(x, dy, dy, weight_grad, bias_grad);
}

Status FullyConnected::backwardWeights(const BFloat16* x, const BFloat16* dy, const float* dy_float,
                                       float* weight_grad, float* bias_grad) noexcept {
  AIMASS_RETURN_IF_ERROR(checkPrecision(Precision::kBFloat16, "backwardWeights"));
  return runBackwardWeights(x, dy, dy_float, weight_grad, bias_grad);
}

Status FullyConnected::runForward(const void* x, const void* weight, const float* bias,
                                  float* y) noexcept {
  Impl& p = *impl_;
  return dnnlCall("FullyConnected forward", [&] {
    p.context->enterThreads(p.product_threads);
    p.x.set_data_handle(const_cast<void*>(x));
    if (weight != nullptr) {
      p.w.set_data_handle(const_cast<void*>(weight));
    }
    const dnnl::memory& w = weight != nullptr ? p.w : p.w_packed;
    p.y.set_data_handle(y);
    if (shape_.bias) {
      p.b.set_data_handle(const_cast<float*>(bias));
      p.forward.execute(p.context->impl().stream, {{DNNL_ARG_SRC, p.x},
                                                   {DNNL_ARG_WEIGHTS, w},
                                                   {DNNL_ARG_BIAS, p.b},
                                                   {DNNL_ARG_DST, p.y}});
    } else {
      p.forward.execute(p.context->impl().stream,
                        {{DNNL_ARG_SRC, p.x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, p.y}});
    }
  });
}

Status FullyConnected::runBackwardData(const void* dy, const void* weight, float* dx) noexcept {
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("FullyConnected was built without backward");
  }
  return dnnlCall("FullyConnected backward data", [&] {
    p.context->enterThreads(p.product_threads);
    p.dy.set_data_handle(const_cast<void*>(dy));
    if (weight != nullptr) {
      p.wt.set_data_handle(const_cast<void*>(weight));
    }
    const dnnl::memory& wt = weight != nullptr ? p.wt : p.wt_packed;
    p.dx.set_data_handle(dx);
    p.backward_data.execute(p.context->impl().stream,
                            {{DNNL_ARG_SRC, p.dy}, {DNNL_ARG_WEIGHTS, wt}, {DNNL_ARG_DST, p.dx}});
  });
}

Status FullyConnected::runBackwardWeights(const void* x, const void* dy, const float* dy_float,
                                          float* weight_grad, float* bias_grad) noexcept {
  Impl& p = *impl_;
  if (!p.has_backward) {
    return failedPrecondition("FullyConnected was built without backward");
  }
  return dnnlCall("FullyConnected backward weights", [&] {
    p.context->enterThreads(p.product_threads);
    p.xt.set_data_handle(const_cast<void*>(x));
    p.dy_w.set_data_handle(const_cast<void*>(dy));
    p.dw.set_data_handle(weight_grad);
    p.backward_weights.execute(
        p.context->impl().stream,
        {{DNNL_ARG_SRC, p.xt}, {DNNL_ARG_WEIGHTS, p.dy_w}, {DNNL_ARG_DST, p.dw}});
    if (shape_.bias && bias_grad != nullptr) {
      p.context->enterThreads(p.bias_threads);
      p.dy_sum.set_data_handle(const_cast<float*>(dy_float));
      p.db.set_data_handle(bias_grad);
      p.bias_sum.execute(
          p.context->impl().stream,
          {{DNNL_ARG_SRC, p.ones_memory}, {DNNL_ARG_WEIGHTS, p.dy_sum}, {DNNL_ARG_DST, p.db}});
    }
  });
}

}  // namespace aimass::compute
