// SPDX-License-Identifier: Apache-2.0
// model.mlp on a CUDA device (options().device == Device::kCuda): the same layers, losses and
// dropout as mlp.cc, run by libaimass_compute_cuda's ops on device buffers. The parameters stay
// in the CPU tensors parameters() hands to the optimizer, which steps them on the CPU; so each
// call uploads the weights and the batch once, and a training step downloads the gradients.
// Without the CUDA backend (AIMASS_COMPUTE_CUDA unset) every entry point here reports that.
#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "mlp.h"

#if AIMASS_COMPUTE_CUDA
#include "aimass/compute/cuda/context.h"
#include "aimass/compute/cuda/eltwise.h"
#include "aimass/compute/cuda/fully_connected.h"
#include "aimass/compute/cuda/losses.h"
#include "aimass/compute/cuda/softmax.h"
#endif

namespace aimass::plugins::model {

#if AIMASS_COMPUTE_CUDA

namespace cuda = compute::cuda;

namespace {

constexpr std::size_t kPoolLimit = 8;      // idle inference workspaces kept, as on the CPU
constexpr std::size_t kTrainingLimit = 3;  // batch sizes whose training workspaces are kept

bool fusable(compute::Activation a) { return a != compute::Activation::kGelu; }

/// The draws of mlp.cc's dropout stream (splitmix64), repeated here so a CUDA run draws the
/// same masks as a CPU run with the same seed; MlpCudaTest compares the two.
std::uint64_t nextDropoutDraw(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// What a workspace was built for; a workspace whose model changed since (prepare(), load() of
/// another architecture) is rebuilt.
struct Architecture {
  std::vector<std::int64_t> widths;  // inputs, then each layer's outputs
  compute::Activation activation = compute::Activation::kNone;
  bool classes = true;
  bool dropout = false;
  bool operator==(const Architecture&) const = default;
};

Expected<cuda::DeviceBuffer> deviceFloats(const std::shared_ptr<cuda::CudaContext>& context,
                                          std::int64_t count) {
  return cuda::DeviceBuffer::floats(context, static_cast<std::size_t>(count));
}

}  // namespace

/// Device buffers and ops for one batch size. Per layer l: the parameters and their gradients,
/// `pre` (GELU's input when the activation is not fused), `act`, `out` (after dropout; absent
/// without dropout, when `act` is the layer's output), `mask`, `grad` (w.r.t. the
/// pre-activation output).
struct MlpCudaWorkspace {
  Architecture architecture;
  std::int64_t rows = 0;
  bool backward = false;
  std::shared_ptr<cuda::CudaContext> context;
  std::vector<std::unique_ptr<cuda::FullyConnected>> fc;
  std::vector<std::unique_ptr<cuda::Eltwise>> activation;
  std::unique_ptr<cuda::SoftmaxCrossEntropy> cross_entropy;
  std::unique_ptr<cuda::MeanSquaredError> squared_error;
  std::unique_ptr<cuda::Softmax> softmax;
  std::vector<cuda::DeviceBuffer> weight, bias, weight_grad, bias_grad;
  std::vector<cuda::DeviceBuffer> pre, act, out, mask, grad;
  cuda::DeviceBuffer x, labels, scratch;  // scratch: log-probabilities or probabilities
  std::vector<float> host_mask;           // one layer's mask, drawn on the host

  const float* output(std::size_t l) const {
    return (out[l].empty() ? act[l] : out[l]).data<float>();
  }
};

struct Mlp::CudaState {
  std::mutex mutex;  // guards pool
  std::vector<std::unique_ptr<MlpCudaWorkspace>> pool;
  std::vector<std::unique_ptr<MlpCudaWorkspace>> training;  // used by forwardBackward only
};

namespace {

Expected<std::unique_ptr<MlpCudaWorkspace>> makeCudaWorkspace(const Architecture& architecture,
                                                              std::int64_t rows, bool backward) {
  auto context = cuda::CudaContext::create(0);
  if (!context.ok()) {
    return context.status();
  }
  auto ws = std::make_unique<MlpCudaWorkspace>();
  ws->architecture = architecture;
  ws->rows = rows;
  ws->backward = backward;
  ws->context = *context;
  const std::size_t layers = architecture.widths.size() - 1;
  const std::int64_t outputs = architecture.widths.back();
  Status status = guard("model.mlp CUDA workspace", [&]() -> Status {
    auto add = [&](std::vector<cuda::DeviceBuffer>& list, std::int64_t count) -> Status {
      if (count == 0) {
        list.emplace_back();
        return okStatus();
      }
      auto buffer = deviceFloats(ws->context, count);
      if (!buffer.ok()) {
        return buffer.status();
      }
      list.push_back(std::move(buffer).value());
      return okStatus();
    };
    for (std::size_t l = 0; l < layers; ++l) {
      const std::int64_t in = architecture.widths[l], out = architecture.widths[l + 1];
      const bool hidden = l + 1 < layers;
      compute::FullyConnectedShape shape{rows, in, out, true, compute::Activation::kNone, backward};
      if (hidden && fusable(architecture.activation)) {
        shape.activation = architecture.activation;
      }
      auto fc = cuda::FullyConnected::create(ws->context, shape);
      if (!fc.ok()) {
        return fc.status();
      }
      ws->fc.push_back(std::move(fc).value());
      if (hidden) {
        auto act =
            cuda::Eltwise::create(ws->context, architecture.activation, rows * out, backward);
        if (!act.ok()) {
          return act.status();
        }
        ws->activation.push_back(std::move(act).value());
      }
      const bool dropout = hidden && backward && architecture.dropout;
      AIMASS_RETURN_IF_ERROR(add(ws->weight, in * out));
      AIMASS_RETURN_IF_ERROR(add(ws->bias, out));
      AIMASS_RETURN_IF_ERROR(add(ws->weight_grad, backward ? in * out : 0));
      AIMASS_RETURN_IF_ERROR(add(ws->bias_grad, backward ? out : 0));
      AIMASS_RETURN_IF_ERROR(add(ws->act, rows * out));
      AIMASS_RETURN_IF_ERROR(
          add(ws->pre, hidden && !fusable(architecture.activation) ? rows * out : 0));
      AIMASS_RETURN_IF_ERROR(add(ws->out, dropout ? rows * out : 0));
      AIMASS_RETURN_IF_ERROR(add(ws->mask, dropout ? rows * out : 0));
      AIMASS_RETURN_IF_ERROR(add(ws->grad, backward ? rows * out : 0));
    }
    auto x = deviceFloats(ws->context, rows * architecture.widths.front());
    if (!x.ok()) {
      return x.status();
    }
    ws->x = std::move(x).value();
    auto scratch = deviceFloats(ws->context, rows * outputs);
    if (!scratch.ok()) {
      return scratch.status();
    }
    ws->scratch = std::move(scratch).value();
    if (architecture.classes) {
      auto labels = cuda::DeviceBuffer::allocate(
          ws->context, sizeof(std::int64_t) * static_cast<std::size_t>(rows));
      if (!labels.ok()) {
        return labels.status();
      }
      ws->labels = std::move(labels).value();
      auto ce = cuda::SoftmaxCrossEntropy::create(ws->context, rows, outputs);
      if (!ce.ok()) {
        return ce.status();
      }
      ws->cross_entropy = std::move(ce).value();
      auto softmax = cuda::Softmax::create(ws->context, rows, outputs, false);
      if (!softmax.ok()) {
        return softmax.status();
      }
      ws->softmax = std::move(softmax).value();
    } else {
      auto labels = deviceFloats(ws->context, rows * outputs);
      if (!labels.ok()) {
        return labels.status();
      }
      ws->labels = std::move(labels).value();
      auto mse = cuda::MeanSquaredError::create(ws->context, rows, outputs);
      if (!mse.ok()) {
        return mse.status();
      }
      ws->squared_error = std::move(mse).value();
    }
    return okStatus();
  });
  if (!status.ok()) {
    return status.withContext("model.mlp on CUDA");
  }
  return ws;
}

}  // namespace

void Mlp::CudaStateDeleter::operator()(CudaState* state) const noexcept { delete state; }

std::unique_ptr<Mlp::CudaState, Mlp::CudaStateDeleter> Mlp::makeCudaState() {
  return std::unique_ptr<CudaState, CudaStateDeleter>(new CudaState());
}

Status checkMlpDevice(Device device) {
  if (device == Device::kCpu) {
    return okStatus();
  }
  auto count = cuda::deviceCount();
  if (!count.ok()) {
    return count.status().withContext("model.mlp device 'cuda'");
  }
  if (*count == 0) {
    return failedPrecondition(
        "model.mlp device 'cuda': no usable CUDA device: cudaGetDeviceCount reports 0 devices");
  }
  return okStatus();
}

namespace {

/// Uploads every layer's weights and biases from the CPU parameters.
template <typename Layers>
Status uploadParameters(MlpCudaWorkspace& ws, const Layers& layers) {
  for (std::size_t l = 0; l < layers.size(); ++l) {
    AIMASS_RETURN_IF_ERROR(ws.weight[l].upload(layers[l].weight.raw(), layers[l].weight.nbytes()));
    AIMASS_RETURN_IF_ERROR(ws.bias[l].upload(layers[l].bias.raw(), layers[l].bias.nbytes()));
  }
  return okStatus();
}

/// Runs the layers over ws.x. With `dropout_stream` (training), draws each hidden layer's
/// mask on the host exactly as mlp.cc does and applies it; without, a workspace built with
/// dropout applies an all-ones mask (evaluation mode).
Status forwardOnDevice(MlpCudaWorkspace& ws, double dropout, std::uint64_t* dropout_stream) {
  const std::size_t layers = ws.fc.size();
  const float* h = ws.x.data<float>();
  for (std::size_t l = 0; l < layers; ++l) {
    const bool hidden = l + 1 < layers;
    float* act = ws.act[l].data<float>();
    if (hidden && !fusable(ws.architecture.activation)) {
      float* pre = ws.pre[l].data<float>();
      AIMASS_RETURN_IF_ERROR(
          ws.fc[l]->forward(h, ws.weight[l].data<float>(), ws.bias[l].data<float>(), pre));
      AIMASS_RETURN_IF_ERROR(ws.activation[l]->forward(pre, act));
    } else {
      AIMASS_RETURN_IF_ERROR(
          ws.fc[l]->forward(h, ws.weight[l].data<float>(), ws.bias[l].data<float>(), act));
    }
    h = act;
    if (hidden && !ws.mask[l].empty()) {
      const std::int64_t n = ws.rows * ws.architecture.widths[l + 1];
      ws.host_mask.resize(static_cast<std::size_t>(n));
      if (dropout_stream != nullptr) {
        const float keep = static_cast<float>(1.0 - dropout);
        const float scale = 1.0f / keep;
        for (std::int64_t i = 0; i < n; ++i) {
          const float u = static_cast<float>(nextDropoutDraw(*dropout_stream) >> 40) * 0x1.0p-24f;
          ws.host_mask[static_cast<std::size_t>(i)] = u < keep ? scale : 0.0f;
        }
      } else {
        std::fill(ws.host_mask.begin(), ws.host_mask.end(), 1.0f);
      }
      AIMASS_RETURN_IF_ERROR(
          ws.mask[l].upload(ws.host_mask.data(), sizeof(float) * ws.host_mask.size()));
      AIMASS_RETURN_IF_ERROR(
          cuda::multiply(*ws.context, act, ws.mask[l].data<float>(), ws.out[l].data<float>(), n));
      h = ws.out[l].data<float>();
    }
  }
  return okStatus();
}

/// Uploads the batch's labels and computes the loss of the forward pass in `ws`, writing the
/// output gradient when `grad`.
Expected<double> lossOnDevice(MlpCudaWorkspace& ws, const Batch& batch, bool grad) {
  AIMASS_RETURN_IF_ERROR(ws.labels.upload(batch.labels.raw(), batch.labels.nbytes()));
  const std::size_t last = ws.fc.size() - 1;
  float* output_grad = grad ? ws.grad[last].data<float>() : nullptr;
  if (ws.architecture.classes) {
    return ws.cross_entropy->compute(ws.act[last].data<float>(), ws.labels.data<std::int64_t>(),
                                     ws.scratch.data<float>(), output_grad);
  }
  return ws.squared_error->compute(ws.act[last].data<float>(), ws.labels.data<float>(),
                                   output_grad);
}

}  // namespace

Expected<double> Mlp::forwardBackwardCuda(const Batch& batch, bool training) {
  const std::int64_t rows = batch.features.dim(0);
  Architecture architecture{
      {inputs_}, options_.activation, head_ == Head::kClasses, options_.dropout > 0};
  for (const Layer& layer : layers_) {
    architecture.widths.push_back(layer.out);
  }
  auto& cached = cuda_->training;
  std::erase_if(cached, [&](const auto& ws) { return ws->architecture != architecture; });
  MlpCudaWorkspace* ws = nullptr;
  for (auto& candidate : cached) {
    if (candidate->rows == rows) {
      ws = candidate.get();
    }
  }
  if (ws == nullptr) {
    auto made = makeCudaWorkspace(architecture, rows, true);
    if (!made.ok()) {
      return made.status();
    }
    Status status = guard("model.mlp CUDA workspace", [&] {
      if (cached.size() >= kTrainingLimit) {
        cached.erase(cached.begin());
      }
      cached.push_back(std::move(made).value());
    });
    if (!status.ok()) {
      return status;
    }
    ws = cached.back().get();
  }
  AIMASS_RETURN_IF_ERROR(uploadParameters(*ws, layers_));
  AIMASS_RETURN_IF_ERROR(ws->x.upload(batch.features.raw(), batch.features.nbytes()));
  AIMASS_RETURN_IF_ERROR(
      forwardOnDevice(*ws, options_.dropout, training ? &dropout_stream_ : nullptr));
  auto value = lossOnDevice(*ws, batch, true);
  if (!value.ok()) {
    return value;
  }
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const float* input = l == 0 ? ws->x.data<float>() : ws->output(l - 1);
    float* grad = ws->grad[l].data<float>();
    AIMASS_RETURN_IF_ERROR(ws->fc[l]->backwardWeights(input, grad, ws->weight_grad[l].data<float>(),
                                                      ws->bias_grad[l].data<float>()));
    if (l == 0) {
      break;
    }
    float* previous = ws->grad[l - 1].data<float>();
    AIMASS_RETURN_IF_ERROR(ws->fc[l]->backwardData(grad, ws->weight[l].data<float>(), previous));
    if (!ws->mask[l - 1].empty()) {
      AIMASS_RETURN_IF_ERROR(cuda::multiply(*ws->context, previous, ws->mask[l - 1].data<float>(),
                                            previous, rows * layers_[l - 1].out));
    }
    cuda::Eltwise& act = *ws->activation[l - 1];
    const float* saved =
        act.usesOutputForBackward() ? ws->act[l - 1].data<float>() : ws->pre[l - 1].data<float>();
    AIMASS_RETURN_IF_ERROR(act.backward(saved, previous, previous));
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    Layer& layer = layers_[l];
    AIMASS_RETURN_IF_ERROR(
        ws->weight_grad[l].download(layer.weight_grad.raw(), layer.weight_grad.nbytes()));
    AIMASS_RETURN_IF_ERROR(
        ws->bias_grad[l].download(layer.bias_grad.raw(), layer.bias_grad.nbytes()));
  }
  return value;
}

namespace {

/// Borrows an inference workspace of `rows` for `architecture` from the pool, or makes one.
Expected<std::unique_ptr<MlpCudaWorkspace>> borrowCuda(
    std::mutex& mutex, std::vector<std::unique_ptr<MlpCudaWorkspace>>& pool,
    const Architecture& architecture, std::int64_t rows) {
  {
    std::lock_guard lock(mutex);
    std::erase_if(pool, [&](const auto& ws) { return ws->architecture != architecture; });
    for (auto it = pool.begin(); it != pool.end(); ++it) {
      if ((*it)->rows == rows) {
        auto ws = std::move(*it);
        pool.erase(it);
        return ws;
      }
    }
  }
  return makeCudaWorkspace(architecture, rows, false);
}

void giveBackCuda(std::mutex& mutex, std::vector<std::unique_ptr<MlpCudaWorkspace>>& pool,
                  std::unique_ptr<MlpCudaWorkspace> ws) {
  std::lock_guard lock(mutex);
  if (pool.size() >= kPoolLimit) {
    pool.erase(pool.begin());
  }
  pool.push_back(std::move(ws));
}

}  // namespace

Expected<double> Mlp::evaluateLossCuda(const Batch& batch) const {
  Architecture architecture{{inputs_}, options_.activation, head_ == Head::kClasses, false};
  for (const Layer& layer : layers_) {
    architecture.widths.push_back(layer.out);
  }
  Expected<std::unique_ptr<MlpCudaWorkspace>> ws = Status();
  Status status = guard("model.mlp evaluateLoss", [&] {
    ws = borrowCuda(cuda_->mutex, cuda_->pool, architecture, batch.features.dim(0));
  });
  if (!status.ok()) {
    return status;
  }
  if (!ws.ok()) {
    return ws.status();
  }
  MlpCudaWorkspace& w = **ws;
  Expected<double> value = Status();
  status = uploadParameters(w, layers_);
  if (status.ok()) {
    status = w.x.upload(batch.features.raw(), batch.features.nbytes());
  }
  if (status.ok()) {
    status = forwardOnDevice(w, 0, nullptr);
  }
  value = status.ok() ? lossOnDevice(w, batch, false) : Expected<double>(status);
  Status returned = guard("model.mlp evaluateLoss",
                          [&] { giveBackCuda(cuda_->mutex, cuda_->pool, std::move(*ws)); });
  if (!returned.ok()) {
    return returned;
  }
  return value;
}

Status Mlp::predictCuda(const Tensor& input, TensorMap& outputs) const {
  const std::int64_t rows = input.dim(0);
  const std::int64_t o = this->outputs();
  Architecture architecture{{inputs_}, options_.activation, head_ == Head::kClasses, false};
  for (const Layer& layer : layers_) {
    architecture.widths.push_back(layer.out);
  }
  Expected<std::unique_ptr<MlpCudaWorkspace>> ws = Status();
  Status status = guard("model.mlp predict",
                        [&] { ws = borrowCuda(cuda_->mutex, cuda_->pool, architecture, rows); });
  if (!status.ok()) {
    return status;
  }
  if (!ws.ok()) {
    return ws.status();
  }
  MlpCudaWorkspace& w = **ws;
  status = uploadParameters(w, layers_);
  if (status.ok()) {
    status = w.x.upload(input.raw(), input.nbytes());
  }
  if (status.ok()) {
    status = forwardOnDevice(w, 0, nullptr);
  }
  if (status.ok()) {
    status = guard("model.mlp predict", [&]() -> Status {
      const cuda::DeviceBuffer& output = w.act.back();
      Tensor values(DType::kFloat32, {rows, o});
      AIMASS_RETURN_IF_ERROR(output.download(values.raw(), values.nbytes()));
      if (head_ == Head::kValues) {
        outputs.set(tensor_names::kPrediction, std::move(values));
        return okStatus();
      }
      Tensor probabilities(DType::kFloat32, {rows, o});
      AIMASS_RETURN_IF_ERROR(w.softmax->forward(output.data<float>(), w.scratch.data<float>()));
      AIMASS_RETURN_IF_ERROR(w.scratch.download(probabilities.raw(), probabilities.nbytes()));
      Tensor label(DType::kInt64, {rows});
      std::vector<std::string> names(static_cast<std::size_t>(rows));
      const float* logits = values.data<float>();
      const float* p = probabilities.data<float>();
      for (std::int64_t r = 0; r < rows; ++r) {
        // As mlp.cc: the arg-max of the logits, kept consistent with the probabilities.
        std::int64_t best = 0;
        for (std::int64_t c = 1; c < o; ++c) {
          best = logits[r * o + c] > logits[r * o + best] ? c : best;
        }
        for (std::int64_t c = 0; c < o; ++c) {
          best = p[r * o + c] > p[r * o + best] ? c : best;
        }
        label.data<std::int64_t>()[r] = best;
        names[static_cast<std::size_t>(r)] = class_names_[static_cast<std::size_t>(best)];
      }
      outputs.set(tensor_names::kProbabilities, std::move(probabilities));
      outputs.set(tensor_names::kLabel, std::move(label));
      outputs.set(tensor_names::kClass, Tensor::fromStrings(std::move(names)));
      return okStatus();
    });
  }
  Status returned =
      guard("model.mlp predict", [&] { giveBackCuda(cuda_->mutex, cuda_->pool, std::move(*ws)); });
  return status.ok() ? returned : status;
}

#else  // no CUDA backend in this build

namespace {

Status noCuda() {
  return failedPrecondition(
      "model.mlp device 'cuda': this build of aimass has no CUDA backend (configure it with "
      "-DAIMASS_WITH_CUDA=ON on a machine with the CUDA toolkit)");
}

}  // namespace

struct Mlp::CudaState {};

void Mlp::CudaStateDeleter::operator()(CudaState* state) const noexcept { delete state; }

std::unique_ptr<Mlp::CudaState, Mlp::CudaStateDeleter> Mlp::makeCudaState() {
  return std::unique_ptr<CudaState, CudaStateDeleter>(new CudaState());
}

Status checkMlpDevice(Device device) { return device == Device::kCpu ? okStatus() : noCuda(); }

Expected<double> Mlp::forwardBackwardCuda(const Batch& /*batch*/, bool /*training*/) {
  return noCuda();
}

Expected<double> Mlp::evaluateLossCuda(const Batch& /*batch*/) const { return noCuda(); }

Status Mlp::predictCuda(const Tensor& /*input*/, TensorMap& /*outputs*/) const { return noCuda(); }

#endif

}  // namespace aimass::plugins::model
