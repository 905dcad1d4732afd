// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/compute/activation.h"
#include "aimass/compute/compute_context.h"
#include "aimass/compute/eltwise.h"
#include "aimass/compute/fully_connected.h"
#include "aimass/compute/losses.h"
#include "aimass/compute/precision.h"
#include "aimass/compute/softmax.h"
#include "aimass/model.h"

namespace aimass::plugins::model {

/// Hyper-parameters of model.mlp.
struct MlpOptions {
  std::vector<std::int64_t> hidden = {64};  ///< widths of the hidden layers, input to output
  compute::Activation activation = compute::Activation::kRelu;  ///< after every hidden layer
  double dropout = 0;  ///< probability of zeroing a hidden unit while training (inverted dropout)
  int threads = 1;     ///< compute threads for training (predict runs 1 thread per call)
  /// Where training, evaluation and predict run: the CPU (oneDNN) or CUDA device 0
  /// (libaimass_compute_cuda; mlp_cuda.cc). checkMlpDevice() says whether kCuda can work.
  Device device = Device::kCpu;
  /// What the training products read (mlpPrecision() resolves the `precision` parameter):
  /// kBFloat16 keeps FP32 master weights, gradients and optimizer state, and gives the matrix
  /// products bf16 copies of the weights (rounded and packed at every forwardBackward(), so
  /// after every optimizer step), the activations and the output gradients, accumulating in
  /// FP32; loss and softmax stay FP32. CPU only.
  compute::Precision precision = compute::Precision::kFloat32;
};

/// The training precision for the `precision` parameter's value (`fp32`, `bf16` or `auto`) on
/// `device`: `auto` is bf16 where compute::bfloat16Supported() (the CPU has AVX512-BF16, as
/// oneDNN's effective ISA reports it) and fp32 elsewhere, CUDA included. kInvalidArgument naming
/// the parameter for `bf16` on a CPU without it or on CUDA, or an unknown value.
Expected<compute::Precision> mlpPrecision(std::string_view value, Device device);

/// OK when `device` can run model.mlp: always for the CPU; for CUDA when this build has the CUDA
/// backend and the runtime reports a device. kFailedPrecondition otherwise, saying which
/// (naming cudaGetDeviceCount's result when the runtime has no device).
Status checkMlpDevice(Device device);

/// A multilayer perceptron on libaimass_compute's oneDNN ops: hidden fully connected layers
/// with an activation (fused into the matmul for relu/tanh/sigmoid) and optional seeded
/// dropout, then a linear output layer whose head follows the data prepare() sees:
///
/// - class labels: softmax cross-entropy; outputs "probabilities" FP32 [-1, C], "label" INT64
///   [-1] and "class" BYTES [-1];
/// - value labels: mean squared error; output "prediction" FP32 [-1, T].
///
/// Input "input" FP32 [-1, F]. Parameters "fc<i>.weight" FP32 [in, out] (row-major) and
/// "fc<i>.bias" FP32 [out] for i = 1..layers; buffers stay the same until the next prepare(),
/// and load() reuses them when the shapes match. Weights start from He (relu, gelu) or Xavier
/// (tanh, sigmoid, the output layer) normal initialisation with the prepare() seed; biases at 0.
///
/// Create once, execute many: ops and buffers for a batch size live in a Workspace made on
/// first use of that size; training keeps a few (the full batch and the last, shorter one) and
/// predict() borrows one from a pool under a mutex, so the hot paths only execute.
///
/// Precision: training runs in options().precision. predict() runs in FP32 unless the request
/// parameter "precision" says "bf16" or "auto" (the serving runtime's `precision` setting and
/// `aimass eval --precision` pass it), whichever precision the model was trained in;
/// evaluateLoss() runs in the training precision. bf16 inference packs the weights once per
/// workspace for a model that was loaded and never handed its parameters out (a served model),
/// and on every call otherwise (an optimizer may have stepped them since).
///
/// Threading: predict() and evaluateLoss() are const and safe from many threads at once (each
/// call runs on its own workspace with a 1-thread compute context, so N concurrent calls use N
/// cores). prepare(), forwardBackward() and load() need exclusive access; forwardBackward() uses
/// options().threads threads.
///
/// Payload (formatVersion 3), little-endian: u32 head (0 classes, 1 values), u32 activation,
/// f64 dropout, u64 dropout stream position, u32 training precision (0 fp32, 1 bf16: the
/// precision of the last forwardBackward(), or of prepare()), u64 inputs, u64 layers L, L x u64
/// layer widths, u64 class count, per class (u32 length, bytes), then per layer the weights (in x
/// out f32, row-major) and biases. The stream position (a splitmix64 state, seeded by prepare())
/// lets training resumed from a checkpoint draw the same dropout masks an uninterrupted run would.
/// Format 2 is format 3 without the precision (read as fp32); format 1 is format 2 without the
/// position (a format 1 model's stream starts where prepare() with seed 0 starts it). load()
/// reads all three.
class Mlp final : public Model, public GradientTraining {
 public:
  static constexpr std::uint32_t kFormatVersion = 3;

  explicit Mlp(MlpOptions options);
  ~Mlp() override;

  ModelSchema schema() const override;
  bool ready() const override { return inputs_ > 0; }
  /// kFailedPrecondition before prepare() or load(); kInvalidArgument for a missing, unknown or
  /// wrongly shaped input.
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  GradientTraining* gradientTraining() override { return this; }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format version; kDataLoss for a truncated or inconsistent
  /// payload or non-finite weights. The model is unchanged on failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument unless the data has FP32 rows of shape [F] and class labels (at least 2
  /// classes) or value labels (at least 1 target).
  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override;
  std::vector<Parameter> parameters() override;
  /// Mean loss over the batch, gradients overwritten. `training` applies dropout.
  /// kInvalidArgument for a batch of the wrong shape or a class label outside [0, C).
  Expected<double> forwardBackward(const Batch& batch, bool training) override;
  Expected<double> evaluateLoss(const Batch& batch) const override;

  const MlpOptions& options() const noexcept { return options_; }
  /// The precision this model was last trained in (saved with it; fp32 for older payloads).
  compute::Precision trainedPrecision() const noexcept { return trained_precision_; }

  struct Workspace;

 private:
  struct Layer {
    std::int64_t in = 0, out = 0;
    Tensor weight, bias, weight_grad, bias_grad;
  };
  enum class Head : std::uint32_t { kClasses = 0, kValues = 1 };

  std::int64_t outputs() const noexcept { return layers_.empty() ? 0 : layers_.back().out; }
  Status checkFeatures(const Tensor& x) const;
  Status checkBatch(const Batch& batch) const;
  Expected<std::unique_ptr<Workspace>> makeWorkspace(std::int64_t rows, bool backward, int threads,
                                                     compute::Precision precision) const;
  /// Runs layer l's product (and an unfused activation) on input `h` (FP32) or its bf16 copy
  /// in the workspace (bf16 ops read the weights their setWeights() packed).
  Status layerForward(Workspace& ws, std::size_t l, const float* h) const;
  /// bf16: packs the current weights into the workspace's ops, unless they hold them already.
  Status packWeights(Workspace& ws) const;
  /// The backward pass over the forward pass in `ws` (its output gradient written by loss()).
  Status backward(Workspace& ws, const float* x);
  /// Runs the layers over x into the workspace; the last layer's output is the logits or
  /// predictions. Dropout when `training`.
  Status forward(Workspace& ws, const float* x, bool training);
  Status forwardInference(Workspace& ws, const float* x) const;
  /// The loss of the forward pass in `ws`; writes the gradient of the output when `grad`.
  Expected<double> loss(Workspace& ws, const Batch& batch, bool grad) const;
  std::unique_ptr<Workspace> borrow(std::int64_t rows, compute::Precision precision,
                                    Status& status) const;
  void giveBack(std::unique_ptr<Workspace> ws) const;
  void dropWorkspaces();

  // The CUDA path (mlp_cuda.cc), taken when options_.device is kCuda: the same computation on
  // device buffers, with the parameters kept in the CPU tensors above (the optimizer steps them
  // there), so each call uploads the weights and the batch and a training step downloads the
  // gradients. Its workspaces live in CudaState, whose pool has its own mutex.
  struct CudaState;
  struct CudaStateDeleter {
    void operator()(CudaState* state) const noexcept;
  };
  static std::unique_ptr<CudaState, CudaStateDeleter> makeCudaState();
  Expected<double> forwardBackwardCuda(const Batch& batch, bool training);
  Expected<double> evaluateLossCuda(const Batch& batch) const;
  Status predictCuda(const Tensor& input, TensorMap& outputs) const;

  MlpOptions options_;
  Head head_ = Head::kClasses;
  std::int64_t inputs_ = 0;  // 0 until prepared or loaded
  std::vector<std::string> class_names_;
  std::vector<Layer> layers_;
  /// splitmix64 state of the dropout masks; saved with the model (see the payload above).
  std::uint64_t dropout_stream_ = 0;
  compute::Precision trained_precision_ = compute::Precision::kFloat32;
  /// False only between load() and the next prepare(), parameters() or forwardBackward():
  /// while nothing can have changed the weights, a bf16 workspace that packed weights of this
  /// `weights_generation_` keeps them.
  bool parameters_out_ = true;
  std::uint64_t weights_generation_ = 1;  // counts load() and prepare()
  std::vector<std::unique_ptr<Workspace>> training_;  // one per recent batch size
  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<Workspace>> pool_;  // idle inference workspaces
  std::unique_ptr<CudaState, CudaStateDeleter> cuda_ = makeCudaState();
};

}  // namespace aimass::plugins::model
