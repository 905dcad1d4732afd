// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/compute/precision.h"
#include "aimass/model.h"
#include "rnn_layer.h"

namespace aimass::plugins::model {

/// Hyper-parameters of model.rnn.
struct RnnOptions {
  Cell cell = Cell::kGru;
  std::int64_t hidden = 256;    ///< units per layer and direction
  std::int64_t layers = 1;      ///< stacked layers
  bool bidirectional = false;   ///< classification only
  std::int64_t embedding = 64;  ///< width of the token embedding (token inputs)
  double dropout = 0;           ///< between stacked layers, while training
  bool stateful = true;         ///< language model: carry state between equal-sized batches
  int threads = 1;              ///< threads of training (predict runs 1 thread per call)
  /// What training's recurrent products read: fp32, or bf16 (RnnLayerShape::bf16); resolved
  /// from the `precision` parameter by compute::trainingPrecision().
  compute::Precision precision = compute::Precision::kFloat32;
};

/// Whether a predict() request asks for bf16 with its "precision" parameter (fp32 when absent;
/// auto: bf16 where the CPU has it); kInvalidArgument naming the parameter otherwise.
Expected<bool> servingInBf16(const PredictOptions& options);

/// What the model does, decided by prepare() from the data's labels.
enum class RnnTask : std::uint32_t {
  kLanguageModel = 0,   ///< next-token labels: Task::kSequence
  kClassification = 1,  ///< a class per sequence
  kForecast = 2,        ///< values from a numeric window: Task::kRegression
};

struct RnnPass;    // buffers and primitives of one forward/backward shape (rnn_pass.h)
struct Generator;  // the state of a generation request (rnn_generate.cc)

/// A recurrent network (GRU or LSTM layers on oneDNN's RNN primitives, see RnnLayer) with a
/// head chosen from the data (see README.md for the tensors of each task):
///
/// - language model (LabelKind::kNextToken): tokens -> embedding -> layers -> dense over the
///   vocabulary at every step, softmax cross-entropy (mean per token); generation by sampling;
/// - classification (LabelKind::kClass): tokens -> embedding -> layers -> the state at each
///   row's own last step (both directions' when bidirectional) -> dense -> softmax;
/// - forecasting (LabelKind::kValue, FP32 windows [window, features]): window -> layers -> the
///   last state -> dense -> horizon*targets values, mean squared error.
///
/// Parameters, in order: "embedding.weight" [V, E] (token tasks), per layer l (and per
/// direction; the reverse one is "rnn.l<l>_reverse.*") "rnn.l<l>.weights_layer" [C, G, H],
/// "rnn.l<l>.weights_iter" [H, G, H], "rnn.l<l>.bias" [4, H] (oneDNN's ldigo/ldgo layouts,
/// gates u, r, o (+ the recurrent o bias) for GRU and i, f, c, o for LSTM), "head.weight"
/// [in, out] and "head.bias" [out].
///
/// Threading: predict() and predictStream() are const and safe from many threads at once (each
/// call makes its own buffers and runs on one thread). prepare(), forwardBackward(),
/// resetState() and load() need exclusive access. evaluateLoss() is const but shares nothing
/// with training either.
///
/// Precision: training (and evaluateLoss()) runs in options().precision; predict() runs in FP32
/// unless the request parameter "precision" says "bf16" or "auto" (the serving runtime's
/// `precision` setting and `aimass eval --precision` pass it), whichever precision the model
/// was trained in. The artifact records the training precision (trainedPrecision()).
class Rnn final : public Model, public GradientTraining, public StreamingPrediction {
 public:
  /// 1: no precision; 2: format 1 and the training precision (u32: 0 fp32, 1 bf16).
  static constexpr std::uint32_t kFormatVersion = 2;
  static constexpr std::int64_t kMaxTokens = 4096;  ///< bound of the max_tokens parameter

  explicit Rnn(RnnOptions options);
  ~Rnn() override;

  ModelSchema schema() const override;
  bool ready() const override { return inputs_ > 0; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override;
  Status predictStream(const TensorMap& inputs, const PredictOptions& options,
                       const Emit& emit) const override;
  GradientTraining* gradientTraining() override { return this; }
  const StreamingPrediction* streaming() const override {
    return task_ == RnnTask::kLanguageModel ? this : nullptr;
  }

  std::uint32_t formatVersion() const override { return kFormatVersion; }
  Status save(std::string& payload) const override;
  /// kInvalidArgument for an unknown format; kDataLoss for a corrupt payload. Unchanged on
  /// failure.
  Status load(std::string_view payload, std::uint32_t format_version) override;

  /// kInvalidArgument when the data suits none of the three tasks (naming what it has) or asks
  /// for bidirectional layers outside classification.
  Status prepare(const DatasetSchema& schema, std::uint64_t seed) override;
  std::vector<Parameter> parameters() override;
  Expected<double> forwardBackward(const Batch& batch, bool training) override;
  Expected<double> evaluateLoss(const Batch& batch) const override;
  void resetState() override;

  const RnnOptions& options() const noexcept { return options_; }
  /// The precision the weights were last trained in (loaded from the artifact, or set by
  /// training); fp32 for a format-1 artifact.
  compute::Precision trainedPrecision() const noexcept { return trained_precision_; }
  RnnTask task() const noexcept { return task_; }
  /// Floats of one row's "state": layers x (h, and c for LSTM) x hidden.
  std::int64_t stateSize() const noexcept {
    return options_.layers * options_.hidden * (options_.cell == Cell::kLstm ? 2 : 1);
  }

  /// One direction of one layer's parameters.
  struct Direction {
    Tensor weights_layer, weights_iter, bias, d_weights_layer, d_weights_iter, d_bias;
  };

 private:
  friend struct RnnPass;
  friend struct Generator;
  int directions() const noexcept { return options_.bidirectional ? 2 : 1; }
  std::int64_t headInputs() const noexcept { return options_.hidden * directions(); }
  bool tokenInputs() const noexcept { return task_ != RnnTask::kForecast; }

  /// Checks a batch (shape, dtype, token range, lengths) for training or evaluation.
  Status checkBatch(const Batch& batch) const;
  /// Runs a pass over `batch` into `pass`: the loss, and gradients when `backward`.
  /// Writes the parameter gradients when `backward` (they are buffers, not the model's logical
  /// state, hence const). `initial_state`: per layer h (and c) [N, H], or null for zeros.
  /// `dropout_stream`: null outside training.
  Expected<double> run(RnnPass& pass, const Batch& batch, bool backward, bool training,
                       const std::vector<Tensor>* initial_state,
                       std::uint64_t* dropout_stream) const;

  // The steps of run() (rnn_train.cc).
  void embed(RnnPass& pass, const Batch& batch) const;
  Status forwardLayers(RnnPass& pass, const std::vector<Tensor>* initial_state, bool training,
                       std::uint64_t* dropout_stream) const;
  /// The head's output, and the loss when the batch has labels (0 without).
  Expected<double> headLoss(RnnPass& pass, const Batch& batch, bool backward) const;
  Status backwardHead(RnnPass& pass) const;
  Status backwardLayers(RnnPass& pass, const std::vector<Tensor>* initial_state) const;
  void embedBackward(RnnPass& pass, const Batch& batch) const;

  // Serving (rnn_serve.cc, rnn_generate.cc).
  Status predictFixed(const TensorMap& inputs, TensorMap& outputs, bool bf16) const;
  /// Language model, request parameter score=true: the next-token distribution at every
  /// position ("probabilities" FP32 [N, T, V]), what job.evaluate's perplexity reads.
  Status score(const TensorMap& inputs, TensorMap& outputs, bool bf16) const;
  Status generate(const TensorMap& inputs, const PredictOptions& options, TensorMap* outputs,
                  const Emit* emit) const;
  Expected<std::vector<std::int64_t>> encode(std::string_view text, std::size_t row) const;
  /// Text rows -> tokens padded with 0 [N, longest] and their lengths.
  Status encodeRows(const Tensor& text, Tensor& tokens, std::vector<std::int64_t>& lengths) const;
  Status readTokens(const TensorMap& inputs, bool allow_state, Tensor& tokens,
                    std::vector<std::int64_t>& lengths, const Tensor** state) const;

  RnnOptions options_;
  compute::Precision trained_precision_ = compute::Precision::kFloat32;
  RnnTask task_ = RnnTask::kLanguageModel;
  std::int64_t inputs_ = 0;      ///< channels into the first layer (embedding or features); 0: none
  std::int64_t vocabulary_ = 0;  ///< token tasks
  std::int64_t window_ = 0;      ///< forecasting: steps per input window
  std::int64_t features_ = 0;    ///< forecasting: values per step
  std::int64_t outputs_ = 0;     ///< vocabulary, classes or horizon * targets
  std::vector<std::string> class_names_;
  std::vector<std::string> symbols_;  ///< token id -> text (may be empty: no text I/O)
  std::size_t longest_symbol_ = 0;
  Tensor embedding_, d_embedding_;
  std::vector<Direction> rnn_;  ///< layer-major, then direction
  Tensor head_weight_, head_bias_, d_head_weight_, d_head_bias_;
  std::uint64_t dropout_stream_ = 0;

  // Training state (exclusive access).
  std::vector<std::unique_ptr<RnnPass>> passes_;
  std::vector<Tensor> carried_;  ///< LM: per layer h (and c) [N, H] of the last batch
  std::int64_t carried_rows_ = 0;
};

}  // namespace aimass::plugins::model
