// SPDX-License-Identifier: Apache-2.0
#include "mlp.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <utility>

namespace aimass::plugins::model {

namespace {

constexpr std::size_t kPoolLimit = 8;      // idle inference workspaces kept
constexpr std::size_t kTrainingLimit = 3;  // batch sizes whose training workspaces are kept

/// splitmix64 (Steele, Lea and Flood): one 64-bit state, so the dropout stream's position is
/// a single number a checkpoint can hold, and each draw is a handful of instructions.
std::uint64_t nextDropoutDraw(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void putU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
}
void putU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
}
void putF32s(std::string& out, std::span<const float> values) {
  for (float v : values) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    putU32(out, bits);
  }
}

/// Reads a payload front to back; any read past the end marks it truncated.
class PayloadReader {
 public:
  explicit PayloadReader(std::string_view bytes) : bytes_(bytes) {}
  bool ok() const { return ok_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  std::uint64_t u64() { return read(8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(read(4)); }
  double f64() {
    std::uint64_t bits = read(8);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  void f32s(std::span<float> out) {
    for (float& v : out) {
      auto bits = static_cast<std::uint32_t>(read(4));
      std::memcpy(&v, &bits, 4);
    }
  }
  std::string bytes(std::size_t n) {
    if (!ok_ || remaining() < n) {
      ok_ = false;
      return {};
    }
    std::string s(bytes_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  std::uint64_t read(int n) {
    if (!ok_ || remaining() < static_cast<std::size_t>(n)) {
      ok_ = false;
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
      v |= std::uint64_t(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += static_cast<std::size_t>(n);
    return v;
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

/// N(0, 1) by Box-Muller over mt19937_64: the same numbers on every platform.
double standardNormal(std::mt19937_64& random) {
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  double u1 = (static_cast<double>(random() >> 11) + 0.5) * kScale;
  double u2 = static_cast<double>(random() >> 11) * kScale;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

bool fusable(compute::Activation a) { return a != compute::Activation::kGelu; }

/// The precision a predict() request asks for with its "precision" parameter: fp32 (also when
/// absent), bf16, or auto (bf16 where the CPU has it). kInvalidArgument for another value;
/// kFailedPrecondition for bf16 on a CPU without AVX512-BF16.
Expected<compute::Precision> requestPrecision(const PredictOptions& options) {
  const std::string* value = options.parameter("precision");
  if (value == nullptr) {
    return compute::Precision::kFloat32;
  }
  if (*value == "auto") {
    return compute::bfloat16Supported() ? compute::Precision::kBFloat16
                                        : compute::Precision::kFloat32;
  }
  auto precision = compute::precisionFromName(*value);
  if (!precision) {
    return invalidArgument("model.mlp: parameter 'precision' must be fp32, bf16 or auto, got '" +
                           *value + "'");
  }
  if (*precision == compute::Precision::kBFloat16 && !compute::bfloat16Supported()) {
    return failedPrecondition(
        "model.mlp: precision bf16 needs a CPU with AVX512-BF16, but oneDNN's effective ISA "
        "here is " +
        compute::cpuIsaName());
  }
  return *precision;
}

}  // namespace

/// Ops and buffers for one batch size. Buffers per layer l: `pre` (GELU's input, when the
/// activation is not fused), `act` (after the activation), `out` (after dropout; the same
/// buffer as `act` without dropout), `mask`, `grad` (gradient w.r.t. the layer's pre-activation
/// output). In bf16, `x16`, `out16` and `grad16` hold bf16 copies of the input, of `out` and of
/// `grad`, which the products read, and the ops hold the weights packed for the generation
/// `packed` (0: none).
struct Mlp::Workspace {
  std::int64_t rows = 0;
  compute::Precision precision = compute::Precision::kFloat32;
  std::vector<compute::BFloat16> x16;
  std::vector<std::vector<compute::BFloat16>> out16, grad16;
  std::uint64_t packed = 0;
  std::shared_ptr<compute::ComputeContext> context;
  std::vector<std::unique_ptr<compute::FullyConnected>> fc;
  std::vector<std::unique_ptr<compute::Eltwise>> activation;  // hidden layers
  std::unique_ptr<compute::SoftmaxCrossEntropy> cross_entropy;
  std::unique_ptr<compute::Softmax> softmax;
  std::vector<Tensor> pre, act, out, mask, grad;
  Tensor log_probabilities;
};

Expected<compute::Precision> mlpPrecision(std::string_view value, Device device) {
  if (device != Device::kCpu && value == "auto") {
    return compute::Precision::kFloat32;
  }
  if (device != Device::kCpu && value == "bf16") {
    return invalidArgument(
        "precision: bf16 runs on the CPU only; use fp32 or auto with device "
        "cuda");
  }
  return compute::trainingPrecision(value);
}

Mlp::Mlp(MlpOptions options)
    : options_(std::move(options)), trained_precision_(options_.precision) {}

Mlp::~Mlp() = default;

ModelSchema Mlp::schema() const {
  ModelSchema schema;
  const std::int64_t f = inputs_ > 0 ? inputs_ : -1;
  const std::int64_t o = inputs_ > 0 ? outputs() : -1;
  // Built in place (an initializer list would copy every spec): the serving frontend asks for
  // the schema on every request.
  schema.inputs.push_back(TensorSpec{tensor_names::kInput, DType::kFloat32, {-1, f}, false});
  if (head_ == Head::kValues) {
    schema.task = Task::kRegression;
    schema.outputs.push_back(
        TensorSpec{tensor_names::kPrediction, DType::kFloat32, {-1, o}, false});
  } else {
    schema.task = Task::kClassification;
    schema.outputs.reserve(3);
    schema.outputs.push_back(
        TensorSpec{tensor_names::kProbabilities, DType::kFloat32, {-1, o}, false});
    schema.outputs.push_back(TensorSpec{tensor_names::kLabel, DType::kInt64, {-1}, false});
    schema.outputs.push_back(TensorSpec{tensor_names::kClass, DType::kBytes, {-1}, false});
    schema.class_names = class_names_;
  }
  return schema;
}

Status Mlp::prepare(const DatasetSchema& schema, std::uint64_t seed) {
  if (schema.feature_dtype != DType::kFloat32 || schema.row_shape.size() != 1 ||
      schema.row_shape[0] <= 0) {
    return invalidArgument("model.mlp needs FP32 rows of shape [F], but the data has " +
                           std::string(dtypeName(schema.feature_dtype)) + " rows of " +
                           shapeToString(schema.row_shape));
  }
  Head head;
  std::int64_t out;
  if (schema.label_kind == LabelKind::kClass) {
    if (schema.class_names.size() < 2) {
      return invalidArgument("model.mlp needs at least 2 classes, but the data has " +
                             std::to_string(schema.class_names.size()));
    }
    head = Head::kClasses;
    out = static_cast<std::int64_t>(schema.class_names.size());
  } else if (schema.label_kind == LabelKind::kValue) {
    if (schema.num_targets < 1) {
      return invalidArgument("model.mlp needs at least 1 regression target");
    }
    head = Head::kValues;
    out = schema.num_targets;
  } else {
    return invalidArgument(
        "model.mlp needs class labels (classification) or value labels (regression)");
  }
  for (std::int64_t width : options_.hidden) {
    if (width <= 0) {
      return invalidArgument("model.mlp hidden layer widths must be positive, got " +
                             std::to_string(width));
    }
  }
  return guard("model.mlp prepare", [&] {
    std::mt19937_64 random(seed);
    std::vector<Layer> layers;
    std::int64_t in = schema.row_shape[0];
    std::vector<std::int64_t> widths = options_.hidden;
    widths.push_back(out);
    for (std::size_t l = 0; l < widths.size(); ++l) {
      Layer layer;
      layer.in = in;
      layer.out = widths[l];
      const bool hidden = l + 1 < widths.size();
      const bool he = hidden && (options_.activation == compute::Activation::kRelu ||
                                 options_.activation == compute::Activation::kGelu);
      const double stddev = he ? std::sqrt(2.0 / static_cast<double>(in))
                               : std::sqrt(2.0 / static_cast<double>(in + layer.out));
      layer.weight = Tensor(DType::kFloat32, {in, layer.out});
      for (float& w : layer.weight.span<float>()) {
        w = static_cast<float>(stddev * standardNormal(random));
      }
      layer.bias = Tensor::zeros(DType::kFloat32, {layer.out});
      layer.weight_grad = Tensor::zeros(DType::kFloat32, {in, layer.out});
      layer.bias_grad = Tensor::zeros(DType::kFloat32, {layer.out});
      layers.push_back(std::move(layer));
      in = widths[l];
    }
    std::vector<std::string> names = schema.class_names;
    dropWorkspaces();
    layers_ = std::move(layers);
    class_names_ = head == Head::kClasses ? std::move(names) : std::vector<std::string>{};
    head_ = head;
    inputs_ = schema.row_shape[0];
    dropout_stream_ = seed ^ 0x9e3779b97f4a7c15ULL;
    trained_precision_ = options_.precision;
    parameters_out_ = true;
    ++weights_generation_;
  });
}

std::vector<Parameter> Mlp::parameters() {
  parameters_out_ = true;  // whoever holds them may change the weights from now on
  std::vector<Parameter> out;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const std::string prefix = "fc" + std::to_string(l + 1);
    out.push_back({prefix + ".weight", layers_[l].weight, layers_[l].weight_grad});
    out.push_back({prefix + ".bias", layers_[l].bias, layers_[l].bias_grad});
  }
  return out;
}

Status Mlp::checkFeatures(const Tensor& x) const {
  if (x.dtype() != DType::kFloat32 || x.rank() != 2 || x.dim(1) != inputs_ || x.dim(0) <= 0 ||
      x.device() != Device::kCpu) {
    return invalidArgument("model.mlp expects features FP32 [N>0, " + std::to_string(inputs_) +
                           "], got " + std::string(dtypeName(x.dtype())) + " " +
                           shapeToString(x.shape()));
  }
  return okStatus();
}

Status Mlp::checkBatch(const Batch& batch) const {
  if (!ready()) {
    return failedPrecondition("model.mlp is not prepared: call prepare() or load() first");
  }
  AIMASS_RETURN_IF_ERROR(checkFeatures(batch.features));
  const std::int64_t rows = batch.features.dim(0);
  const Tensor& y = batch.labels;
  if (head_ == Head::kClasses) {
    if (y.dtype() != DType::kInt64 || y.shape() != Shape{rows}) {
      return invalidArgument("model.mlp expects class labels INT64 [" + std::to_string(rows) +
                             "], got " + std::string(dtypeName(y.dtype())) + " " +
                             shapeToString(y.shape()));
    }
  } else if (y.dtype() != DType::kFloat32 || y.shape() != Shape{rows, outputs()}) {
    return invalidArgument("model.mlp expects targets FP32 [" + std::to_string(rows) + ", " +
                           std::to_string(outputs()) + "], got " +
                           std::string(dtypeName(y.dtype())) + " " + shapeToString(y.shape()));
  }
  return okStatus();
}

Expected<std::unique_ptr<Mlp::Workspace>> Mlp::makeWorkspace(std::int64_t rows, bool backward,
                                                             int threads,
                                                             compute::Precision precision) const {
  auto context = compute::ComputeContext::create(threads);
  if (!context.ok()) {
    return context.status();
  }
  auto ws = std::make_unique<Workspace>();
  ws->rows = rows;
  ws->context = *context;
  ws->precision = precision;
  const bool dropout = backward && options_.dropout > 0;
  const bool bf16 = precision == compute::Precision::kBFloat16;
  Status status = guard("model.mlp workspace", [&]() -> Status {
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const Layer& layer = layers_[l];
      const bool hidden = l + 1 < layers_.size();
      compute::FullyConnectedShape shape{
          rows, layer.in, layer.out, true, compute::Activation::kNone, backward, precision};
      if (hidden && fusable(options_.activation)) {
        shape.activation = options_.activation;
      }
      auto fc = compute::FullyConnected::create(ws->context, shape);
      if (!fc.ok()) {
        return fc.status();
      }
      ws->fc.push_back(std::move(fc).value());
      Tensor out(DType::kFloat32, {rows, layer.out});
      ws->act.push_back(out);
      ws->pre.push_back(hidden && !fusable(options_.activation)
                            ? Tensor(DType::kFloat32, {rows, layer.out})
                            : Tensor());
      if (hidden && dropout) {
        ws->mask.push_back(Tensor(DType::kFloat32, {rows, layer.out}));
        ws->out.push_back(Tensor(DType::kFloat32, {rows, layer.out}));
      } else {
        ws->mask.push_back(Tensor());
        ws->out.push_back(out);
      }
      ws->grad.push_back(backward ? Tensor(DType::kFloat32, {rows, layer.out}) : Tensor());
      const auto cells = static_cast<std::size_t>(rows * layer.out);
      if (bf16) {
        ws->out16.emplace_back(hidden ? cells : 0);
        ws->grad16.emplace_back(backward ? cells : 0);
      }
      if (hidden) {
        auto act =
            compute::Eltwise::create(ws->context, options_.activation, rows * layer.out, backward);
        if (!act.ok()) {
          return act.status();
        }
        ws->activation.push_back(std::move(act).value());
      }
    }
    if (bf16) {
      ws->x16.resize(static_cast<std::size_t>(rows * inputs_));
    }
    if (head_ == Head::kClasses) {
      auto ce = compute::SoftmaxCrossEntropy::create(ws->context, rows, outputs());
      if (!ce.ok()) {
        return ce.status();
      }
      ws->cross_entropy = std::move(ce).value();
      auto softmax = compute::Softmax::create(ws->context, rows, outputs(), false);
      if (!softmax.ok()) {
        return softmax.status();
      }
      ws->softmax = std::move(softmax).value();
      ws->log_probabilities = Tensor(DType::kFloat32, {rows, outputs()});
    }
    return okStatus();
  });
  if (!status.ok()) {
    return status.withContext("model.mlp");
  }
  return ws;
}

Status Mlp::layerForward(Workspace& ws, std::size_t l, const float* h) const {
  const Layer& layer = layers_[l];
  const bool unfused = l + 1 < layers_.size() && !fusable(options_.activation);
  float* act = ws.act[l].data<float>();
  float* target = unfused ? ws.pre[l].data<float>() : act;
  if (ws.precision == compute::Precision::kBFloat16) {
    const compute::BFloat16* input = l == 0 ? ws.x16.data() : ws.out16[l - 1].data();
    AIMASS_RETURN_IF_ERROR(ws.fc[l]->forward(input, layer.bias.data<float>(), target));
  } else {
    AIMASS_RETURN_IF_ERROR(
        ws.fc[l]->forward(h, layer.weight.data<float>(), layer.bias.data<float>(), target));
  }
  if (unfused) {
    AIMASS_RETURN_IF_ERROR(ws.activation[l]->forward(target, act));
  }
  return okStatus();
}

Status Mlp::forward(Workspace& ws, const float* x, bool training) {
  const bool bf16 = ws.precision == compute::Precision::kBFloat16;
  if (bf16) {
    compute::toBFloat16(*ws.context, x, ws.x16.data(), ws.rows * inputs_);
  }
  const float* h = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    const bool hidden = l + 1 < layers_.size();
    AIMASS_RETURN_IF_ERROR(layerForward(ws, l, h));
    float* act = ws.act[l].data<float>();
    h = act;
    if (hidden && !ws.mask[l].empty() && ws.mask[l].raw() != nullptr) {
      float* mask = ws.mask[l].data<float>();
      float* out = ws.out[l].data<float>();
      const std::int64_t n = ws.rows * layer.out;
      if (training) {
        const float keep = static_cast<float>(1.0 - options_.dropout);
        const float scale = 1.0f / keep;
        // 2^-24 steps: a float in [0, 1) from the top bits of one draw.
        for (std::int64_t i = 0; i < n; ++i) {
          const float u = static_cast<float>(nextDropoutDraw(dropout_stream_) >> 40) * 0x1.0p-24f;
          mask[i] = u < keep ? scale : 0.0f;
          out[i] = act[i] * mask[i];
        }
      } else {
        std::fill(mask, mask + n, 1.0f);
        std::memcpy(out, act, sizeof(float) * static_cast<std::size_t>(n));
      }
      h = out;
    }
    if (bf16 && hidden) {
      compute::toBFloat16(*ws.context, h, ws.out16[l].data(), ws.rows * layer.out);
    }
  }
  return okStatus();
}

Status Mlp::forwardInference(Workspace& ws, const float* x) const {
  const bool bf16 = ws.precision == compute::Precision::kBFloat16;
  if (bf16) {
    AIMASS_RETURN_IF_ERROR(packWeights(ws));
    compute::toBFloat16(*ws.context, x, ws.x16.data(), ws.rows * inputs_);
  }
  const float* h = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    AIMASS_RETURN_IF_ERROR(layerForward(ws, l, h));
    h = ws.act[l].data<float>();
    if (bf16 && l + 1 < layers_.size()) {
      compute::toBFloat16(*ws.context, h, ws.out16[l].data(), ws.rows * layers_[l].out);
    }
  }
  return okStatus();
}

Status Mlp::packWeights(Workspace& ws) const {
  // While parameters are out an optimizer may have stepped the weights since the last call.
  if (!parameters_out_ && ws.packed == weights_generation_) {
    return okStatus();
  }
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    AIMASS_RETURN_IF_ERROR(ws.fc[l]->setWeights(layers_[l].weight.data<float>()));
  }
  ws.packed = weights_generation_;
  return okStatus();
}

Expected<double> Mlp::loss(Workspace& ws, const Batch& batch, bool grad) const {
  const float* output = ws.act.back().data<float>();
  float* output_grad = grad ? ws.grad.back().data<float>() : nullptr;
  if (head_ == Head::kClasses) {
    return ws.cross_entropy->compute(output, batch.labels.data<std::int64_t>(),
                                     ws.log_probabilities.data<float>(), output_grad);
  }
  return compute::meanSquaredError(output, batch.labels.data<float>(), ws.rows, outputs(),
                                   output_grad);
}

Expected<double> Mlp::forwardBackward(const Batch& batch, bool training) {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  if (options_.device == Device::kCuda) {
    return forwardBackwardCuda(batch, training);
  }
  const std::int64_t rows = batch.features.dim(0);
  Workspace* ws = nullptr;
  for (auto& candidate : training_) {
    if (candidate->rows == rows && candidate->precision == options_.precision) {
      ws = candidate.get();
    }
  }
  if (ws == nullptr) {
    auto made = makeWorkspace(rows, true, options_.threads, options_.precision);
    if (!made.ok()) {
      return made.status();
    }
    Status status = guard("model.mlp workspace", [&] {
      if (training_.size() >= kTrainingLimit) {
        training_.erase(training_.begin());
      }
      training_.push_back(std::move(made).value());
    });
    if (!status.ok()) {
      return status;
    }
    ws = training_.back().get();
  }
  parameters_out_ = true;
  trained_precision_ = options_.precision;
  if (options_.precision == compute::Precision::kBFloat16) {
    // The optimizer stepped the FP32 weights since the last call: round and pack them afresh.
    AIMASS_RETURN_IF_ERROR(packWeights(*ws));
  }
  const float* x = batch.features.data<float>();
  AIMASS_RETURN_IF_ERROR(forward(*ws, x, training));
  auto value = loss(*ws, batch, true);
  if (!value.ok()) {
    return value;
  }
  AIMASS_RETURN_IF_ERROR(backward(*ws, x));
  return value;
}

Status Mlp::backward(Workspace& ws, const float* x) {
  const bool bf16 = ws.precision == compute::Precision::kBFloat16;
  for (std::size_t l = layers_.size(); l-- > 0;) {
    Layer& layer = layers_[l];
    const float* input = l == 0 ? x : ws.out[l - 1].data<float>();
    float* grad = ws.grad[l].data<float>();
    if (bf16) {
      compute::toBFloat16(*ws.context, grad, ws.grad16[l].data(), ws.rows * layer.out);
      const compute::BFloat16* input16 = l == 0 ? ws.x16.data() : ws.out16[l - 1].data();
      AIMASS_RETURN_IF_ERROR(ws.fc[l]->backwardWeights(input16, ws.grad16[l].data(), grad,
                                                       layer.weight_grad.data<float>(),
                                                       layer.bias_grad.data<float>()));
    } else {
      AIMASS_RETURN_IF_ERROR(ws.fc[l]->backwardWeights(input, grad, layer.weight_grad.data<float>(),
                                                       layer.bias_grad.data<float>()));
    }
    if (l == 0) {
      break;
    }
    // Gradient w.r.t. the previous layer's output, then back through its dropout and
    // activation, in place.
    float* previous = ws.grad[l - 1].data<float>();
    if (bf16) {
      AIMASS_RETURN_IF_ERROR(ws.fc[l]->backwardData(ws.grad16[l].data(), previous));
    } else {
      AIMASS_RETURN_IF_ERROR(ws.fc[l]->backwardData(grad, layer.weight.data<float>(), previous));
    }
    if (ws.mask[l - 1].raw() != nullptr) {
      const float* mask = ws.mask[l - 1].data<float>();
      const std::int64_t n = ws.rows * layers_[l - 1].out;
      for (std::int64_t i = 0; i < n; ++i) {
        previous[i] *= mask[i];
      }
    }
    compute::Eltwise& act = *ws.activation[l - 1];
    const float* saved =
        act.usesOutputForBackward() ? ws.act[l - 1].data<float>() : ws.pre[l - 1].data<float>();
    AIMASS_RETURN_IF_ERROR(act.backward(saved, previous, previous));
  }
  return okStatus();
}

std::unique_ptr<Mlp::Workspace> Mlp::borrow(std::int64_t rows, compute::Precision precision,
                                            Status& status) const {
  {
    std::lock_guard lock(pool_mutex_);
    for (auto it = pool_.begin(); it != pool_.end(); ++it) {
      if ((*it)->rows == rows && (*it)->precision == precision) {
        auto ws = std::move(*it);
        pool_.erase(it);
        return ws;
      }
    }
  }
  auto made = makeWorkspace(rows, false, 1, precision);
  if (!made.ok()) {
    status = made.status();
    return nullptr;
  }
  return std::move(made).value();
}

void Mlp::giveBack(std::unique_ptr<Workspace> ws) const {
  std::lock_guard lock(pool_mutex_);
  if (pool_.size() >= kPoolLimit) {
    pool_.erase(pool_.begin());
  }
  pool_.push_back(std::move(ws));
}

void Mlp::dropWorkspaces() {
  training_.clear();
  std::lock_guard lock(pool_mutex_);
  pool_.clear();
}

Expected<double> Mlp::evaluateLoss(const Batch& batch) const {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  if (options_.device == Device::kCuda) {
    return evaluateLossCuda(batch);
  }
  Status status;
  auto ws = borrow(batch.features.dim(0), options_.precision, status);
  if (ws == nullptr) {
    return status;
  }
  Status forwarded = forwardInference(*ws, batch.features.data<float>());
  Expected<double> value = forwarded.ok() ? loss(*ws, batch, false) : Expected<double>(forwarded);
  Status returned = guard("model.mlp evaluateLoss", [&] { giveBack(std::move(ws)); });
  if (!returned.ok()) {
    return returned;
  }
  return value;
}

Status Mlp::predict(const TensorMap& inputs, TensorMap& outputs,
                    const PredictOptions& options) const {
  if (!ready()) {
    return failedPrecondition("model.mlp is not trained or loaded yet");
  }
  auto checked = featureInput("model.mlp", inputs, inputs_);
  if (!checked.ok()) {
    return checked.status();
  }
  const Tensor* input = *checked;
  if (input->dim(0) <= 0) {
    return invalidArgument("input 'input' must hold at least one row, got " +
                           shapeToString(input->shape()));
  }
  auto precision = requestPrecision(options);
  if (!precision.ok()) {
    return precision.status();
  }
  if (options_.device == Device::kCuda) {
    if (*precision != compute::Precision::kFloat32) {
      return failedPrecondition(
          "model.mlp on device cuda predicts in fp32 only, but the request "
          "asked for precision bf16");
    }
    return predictCuda(*input, outputs);
  }
  const std::int64_t rows = input->dim(0);
  Status status;
  auto ws = borrow(rows, *precision, status);
  if (ws == nullptr) {
    return status;
  }
  status = forwardInference(*ws, input->data<float>());
  if (status.ok()) {
    status = guard("model.mlp predict", [&]() -> Status {
      const std::int64_t o = this->outputs();
      const float* output = ws->act.back().data<float>();
      if (head_ == Head::kValues) {
        outputs.set(tensor_names::kPrediction, ws->act.back().clone());
        return okStatus();
      }
      Tensor probabilities(DType::kFloat32, {rows, o});
      AIMASS_RETURN_IF_ERROR(ws->softmax->forward(output, probabilities.data<float>()));
      Tensor label(DType::kInt64, {rows});
      std::vector<std::string> names(static_cast<std::size_t>(rows));
      const float* p = probabilities.data<float>();
      for (std::int64_t r = 0; r < rows; ++r) {
        const float* logits = output + r * o;
        std::int64_t best = 0;
        for (std::int64_t c = 1; c < o; ++c) {
          best = logits[c] > logits[best] ? c : best;
        }
        // The softmax is monotonic, but keep label and probabilities consistent under rounding.
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
  Status returned = guard("model.mlp predict", [&] { giveBack(std::move(ws)); });
  return status.ok() ? returned : status;
}

Status Mlp::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.mlp has nothing to save: it is not trained or loaded");
  }
  return guard("model.mlp save", [&] {
    payload.clear();
    putU32(payload, static_cast<std::uint32_t>(head_));
    putU32(payload, static_cast<std::uint32_t>(options_.activation));
    std::uint64_t dropout_bits;
    std::memcpy(&dropout_bits, &options_.dropout, 8);
    putU64(payload, dropout_bits);
    putU64(payload, dropout_stream_);
    putU32(payload, trained_precision_ == compute::Precision::kBFloat16 ? 1 : 0);
    putU64(payload, static_cast<std::uint64_t>(inputs_));
    putU64(payload, layers_.size());
    for (const Layer& layer : layers_) {
      putU64(payload, static_cast<std::uint64_t>(layer.out));
    }
    putU64(payload, class_names_.size());
    for (const auto& name : class_names_) {
      putU32(payload, static_cast<std::uint32_t>(name.size()));
      payload += name;
    }
    for (const Layer& layer : layers_) {
      putF32s(payload, layer.weight.span<float>());
      putF32s(payload, layer.bias.span<float>());
    }
  });
}

Status Mlp::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version < 1 || format_version > kFormatVersion) {
    return invalidArgument("model.mlp payload format " + std::to_string(format_version) +
                           " is unknown (this version reads formats 1 to " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.mlp load", [&]() -> Status {
    PayloadReader in(payload);
    const std::uint32_t head = in.u32();
    const std::uint32_t activation = in.u32();
    const double dropout = in.f64();
    const std::uint64_t dropout_stream = format_version >= 2 ? in.u64() : 0x9e3779b97f4a7c15ULL;
    const std::uint32_t precision = format_version >= 3 ? in.u32() : 0;
    const std::uint64_t inputs = in.u64();
    const std::uint64_t layer_count = in.u64();
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 31;
    auto corrupt = [&](const std::string& why) {
      return dataLoss("model.mlp payload is corrupt or truncated (" +
                      std::to_string(payload.size()) + " bytes): " + why);
    };
    if (!in.ok() || head > 1 ||
        activation > static_cast<std::uint32_t>(compute::Activation::kGelu) || activation == 0 ||
        !(dropout >= 0 && dropout < 1) || precision > 1 || inputs == 0 || inputs >= kLimit ||
        layer_count == 0 || layer_count > in.remaining() / 8) {
      return corrupt("bad header");
    }
    std::vector<std::int64_t> widths;
    std::uint64_t floats = 0, previous = inputs;
    for (std::uint64_t l = 0; l < layer_count; ++l) {
      const std::uint64_t width = in.u64();
      if (!in.ok() || width == 0 || width >= kLimit) {
        return corrupt("bad layer width");
      }
      floats += previous * width + width;
      previous = width;
      widths.push_back(static_cast<std::int64_t>(width));
    }
    const std::uint64_t class_count = in.u64();
    if (!in.ok() || (head == 0 && (class_count < 2 || class_count != previous)) ||
        (head == 1 && class_count != 0) || class_count > in.remaining() / 4) {
      return corrupt("class names do not match the output layer");
    }
    std::vector<std::string> names;
    for (std::uint64_t i = 0; i < class_count && in.ok(); ++i) {
      names.push_back(in.bytes(in.u32()));
    }
    if (!in.ok() || in.remaining() != floats * 4) {
      return corrupt("weights do not fit the layer sizes");
    }
    std::vector<Layer> layers;
    std::int64_t in_width = static_cast<std::int64_t>(inputs);
    for (std::int64_t width : widths) {
      Layer layer;
      layer.in = in_width;
      layer.out = width;
      layer.weight = Tensor(DType::kFloat32, {in_width, width});
      layer.bias = Tensor(DType::kFloat32, {width});
      in.f32s(layer.weight.span<float>());
      in.f32s(layer.bias.span<float>());
      for (const Tensor* t : {&layer.weight, &layer.bias}) {
        for (float v : t->span<float>()) {
          if (!std::isfinite(v)) {
            return corrupt("a weight is NaN or infinite");
          }
        }
      }
      layers.push_back(std::move(layer));
      in_width = width;
    }
    // Commit. Keep the parameter buffers when the architecture is the same, so an optimizer
    // attached to them (resuming from a checkpoint) keeps working.
    bool same = layers.size() == layers_.size() && inputs_ == static_cast<std::int64_t>(inputs);
    for (std::size_t l = 0; same && l < layers.size(); ++l) {
      same = layers[l].out == layers_[l].out;
    }
    if (same) {
      for (std::size_t l = 0; l < layers.size(); ++l) {
        std::memcpy(layers_[l].weight.raw(), layers[l].weight.raw(), layers[l].weight.nbytes());
        std::memcpy(layers_[l].bias.raw(), layers[l].bias.raw(), layers[l].bias.nbytes());
      }
    } else {
      for (Layer& layer : layers) {
        layer.weight_grad = Tensor::zeros(DType::kFloat32, layer.weight.shape());
        layer.bias_grad = Tensor::zeros(DType::kFloat32, layer.bias.shape());
      }
      layers_ = std::move(layers);
    }
    const auto new_activation = static_cast<compute::Activation>(activation);
    if (!same || new_activation != options_.activation || dropout != options_.dropout ||
        static_cast<Head>(head) != head_) {
      dropWorkspaces();
    }
    options_.activation = new_activation;
    options_.dropout = dropout;
    dropout_stream_ = dropout_stream;
    trained_precision_ =
        precision == 1 ? compute::Precision::kBFloat16 : compute::Precision::kFloat32;
    // New buffers are held by no one until someone asks for them: bf16 inference may pack
    // these weights once. Kept buffers may still be an optimizer's.
    parameters_out_ = same && parameters_out_;
    ++weights_generation_;
    options_.hidden.assign(widths.begin(), widths.end() - 1);
    head_ = static_cast<Head>(head);
    class_names_ = std::move(names);
    inputs_ = static_cast<std::int64_t>(inputs);
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
