// SPDX-License-Identifier: Apache-2.0
// model.rnn: preparing, the forward and backward passes, training.
#include "rnn.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <utility>

#include "rnn_pass.h"

namespace aimass::plugins::model {

namespace {

/// N(0, 1) by Box-Muller over mt19937_64: the same numbers on every platform.
double standardNormal(std::mt19937_64& random) {
  constexpr double kScale = 1.0 / 9007199254740992.0;  // 2^-53
  double u1 = (static_cast<double>(random() >> 11) + 0.5) * kScale;
  double u2 = static_cast<double>(random() >> 11) * kScale;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

/// Uniform in [-bound, bound) from the top 53 bits of one draw.
void fillUniform(Tensor& t, double bound, std::mt19937_64& random) {
  for (float& v : t.span<float>()) {
    const double u = static_cast<double>(random() >> 11) * (1.0 / 9007199254740992.0);
    v = static_cast<float>((2 * u - 1) * bound);
  }
}

Tensor zerosLike(const Tensor& t) { return Tensor::zeros(DType::kFloat32, t.shape()); }

/// What prepare() reads from the data: the task and the sizes.
struct DataShape {
  RnnTask task = RnnTask::kLanguageModel;
  std::int64_t inputs = 0, vocabulary = 0, window = 0, features = 0, outputs = 0;
};

/// The task and sizes `schema` asks of a model with `options`; kInvalidArgument naming what
/// does not fit.
Expected<DataShape> dataShape(const DatasetSchema& schema, const RnnOptions& options) {
  DataShape d;
  const bool ints = schema.feature_dtype == DType::kInt64;
  const auto vocab = schema.cardinalities.empty() ? 0 : schema.cardinalities[0];
  if (schema.label_kind == LabelKind::kNextToken) {
    if (!ints || schema.row_shape.size() != 1 || schema.row_shape[0] <= 0 || vocab < 2) {
      return invalidArgument(
          "model.rnn language modelling needs INT64 token rows [T] and a vocabulary of at least 2 "
          "(cardinalities[0]), but the data has " +
          std::string(dtypeName(schema.feature_dtype)) + " rows of " +
          shapeToString(schema.row_shape) + " and vocabulary " + std::to_string(vocab));
    }
    d.task = RnnTask::kLanguageModel;
    d.vocabulary = d.outputs = vocab;
    d.inputs = options.embedding;
  } else if (schema.label_kind == LabelKind::kClass) {
    if (!ints || schema.row_shape.size() != 1 || vocab < 1 || schema.class_names.size() < 2) {
      return invalidArgument(
          "model.rnn sequence classification needs INT64 token rows [-1] with a vocabulary "
          "(cardinalities[0]) and at least 2 classes, but the data has " +
          std::string(dtypeName(schema.feature_dtype)) + " rows of " +
          shapeToString(schema.row_shape) + ", vocabulary " + std::to_string(vocab) + " and " +
          std::to_string(schema.class_names.size()) + " classes");
    }
    d.task = RnnTask::kClassification;
    d.vocabulary = vocab;
    d.outputs = static_cast<std::int64_t>(schema.class_names.size());
    d.inputs = options.embedding;
  } else if (schema.label_kind == LabelKind::kValue) {
    if (schema.feature_dtype != DType::kFloat32 || schema.row_shape.size() != 2 ||
        schema.row_shape[0] <= 0 || schema.row_shape[1] <= 0 || schema.num_targets < 1) {
      return invalidArgument(
          "model.rnn forecasting needs FP32 windows [window, features] and at least one target, "
          "but the data has " +
          std::string(dtypeName(schema.feature_dtype)) + " rows of " +
          shapeToString(schema.row_shape) + " and " + std::to_string(schema.num_targets) +
          " targets");
    }
    d.task = RnnTask::kForecast;
    d.window = schema.row_shape[0];
    d.features = d.inputs = schema.row_shape[1];
    d.outputs = schema.num_targets;
  } else {
    return invalidArgument(
        "model.rnn needs next-token labels (language model), class labels (sequence "
        "classification) or value labels (forecasting); the data has none of these");
  }
  if (options.bidirectional && d.task != RnnTask::kClassification) {
    return invalidArgument(
        "model.rnn bidirectional: true is for sequence classification only (a language model or "
        "a forecast must not see the future); set bidirectional: false");
  }
  if (options.hidden <= 0 || options.layers <= 0 ||
      (d.task != RnnTask::kForecast && options.embedding <= 0)) {
    return invalidArgument("model.rnn hidden, layers and embedding must be positive");
  }
  return d;
}

}  // namespace

Rnn::Rnn(RnnOptions options)
    : options_(std::move(options)), trained_precision_(options_.precision) {}
Rnn::~Rnn() = default;

Expected<std::unique_ptr<RnnPass>> RnnPass::make(const Rnn& model, std::int64_t steps,
                                                 std::int64_t rows, bool training, int threads,
                                                 bool bf16) {
  auto context = compute::ComputeContext::create(threads);
  if (!context.ok()) {
    return context.status();
  }
  auto pass = std::make_unique<RnnPass>();
  pass->steps = steps;
  pass->rows = rows;
  pass->training = training;
  pass->threads = threads;
  pass->context = *context;
  const RnnOptions& o = model.options_;
  const std::int64_t d_count = model.directions(), h = o.hidden;
  const bool lm = model.task_ == RnnTask::kLanguageModel;
  pass->head_rows = lm ? steps * rows : rows;
  Status status = guard("model.rnn pass", [&]() -> Status {
    try {
      pass->engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
      pass->stream = dnnl::stream(pass->engine);
    } catch (const dnnl::error& e) {
      return internalError(std::string("model.rnn: oneDNN CPU engine: ") + e.what());
    }
    pass->x0 = Tensor(DType::kFloat32, {steps, rows, model.inputs_});
    if (training) {
      pass->d_x0 = Tensor(DType::kFloat32, {steps, rows, model.inputs_});
    }
    for (std::int64_t l = 0; l < o.layers; ++l) {
      const std::int64_t in = l == 0 ? model.inputs_ : h * d_count;
      for (std::int64_t d = 0; d < d_count; ++d) {
        auto layer =
            RnnLayer::create(pass->engine, {o.cell, steps, rows, in, h, training, bf16});
        if (!layer.ok()) {
          return layer.status();
        }
        pass->layers.push_back(std::move(layer).value());
        pass->y.push_back(Tensor(DType::kFloat32, {steps, rows, h}));
        pass->h_last.push_back(Tensor(DType::kFloat32, {rows, h}));
        pass->c_last.push_back(Tensor(DType::kFloat32, {rows, h}));
        if (training) {
          pass->d_y.push_back(d_count == 1 ? Tensor() : Tensor(DType::kFloat32, {steps, rows, h}));
          pass->d_x.push_back(Tensor(DType::kFloat32, {steps, rows, in}));
        }
      }
      pass->reversed.push_back(d_count == 2 ? Tensor(DType::kFloat32, {steps, rows, in})
                                            : Tensor());
      pass->out.push_back(d_count == 1 ? pass->y[static_cast<std::size_t>(l)]
                                       : Tensor(DType::kFloat32, {steps, rows, h * d_count}));
      const bool dropout = training && o.dropout > 0 && l + 1 < o.layers;
      pass->dropped.push_back(dropout ? Tensor(DType::kFloat32, {steps, rows, h * d_count})
                                      : Tensor());
      pass->mask.push_back(dropout ? Tensor(DType::kFloat32, {steps, rows, h * d_count})
                                   : Tensor());
      if (training) {
        pass->d_out.push_back(Tensor::zeros(DType::kFloat32, {steps, rows, h * d_count}));
      }
    }
    const std::int64_t head_in = model.headInputs();
    pass->features = lm ? pass->out.back() : Tensor(DType::kFloat32, {rows, head_in});
    pass->logits = Tensor(DType::kFloat32, {pass->head_rows, model.outputs_});
    if (training) {
      pass->d_logits = Tensor(DType::kFloat32, {pass->head_rows, model.outputs_});
      pass->d_features = Tensor(DType::kFloat32, {pass->head_rows, head_in});
    }
    auto head = compute::FullyConnected::create(
        pass->context,
        {pass->head_rows, head_in, model.outputs_, true, compute::Activation::kNone, training});
    if (!head.ok()) {
      return head.status();
    }
    pass->head = std::move(head).value();
    pass->lengths.assign(static_cast<std::size_t>(rows), steps);
    pass->labels.assign(lm ? static_cast<std::size_t>(steps * rows) : 0, 0);
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return pass;
}

Status Rnn::prepare(const DatasetSchema& schema, std::uint64_t seed) {
  auto shape = dataShape(schema, options_);
  if (!shape.ok()) {
    return shape.status();
  }
  const RnnTask task = shape->task;
  const std::int64_t inputs = shape->inputs, vocabulary = shape->vocabulary;
  const std::int64_t window = shape->window, features = shape->features;
  const std::int64_t outputs = shape->outputs;
  return guard("model.rnn prepare", [&] {
    std::mt19937_64 random(seed);
    const std::int64_t h = options_.hidden, g = weightGates(options_.cell);
    const std::int64_t d_count = options_.bidirectional ? 2 : 1;
    Tensor embedding;
    if (task != RnnTask::kForecast) {
      embedding = Tensor(DType::kFloat32, {vocabulary, inputs});
      for (float& v : embedding.span<float>()) {
        v = static_cast<float>(standardNormal(random));  // as torch.nn.Embedding
      }
    }
    std::vector<Direction> rnn;
    const double bound = 1.0 / std::sqrt(static_cast<double>(h));  // as torch.nn.GRU / LSTM
    for (std::int64_t l = 0; l < options_.layers; ++l) {
      const std::int64_t in = l == 0 ? inputs : h * d_count;
      for (std::int64_t d = 0; d < d_count; ++d) {
        Direction dir;
        dir.weights_layer = Tensor(DType::kFloat32, {in, g, h});
        dir.weights_iter = Tensor(DType::kFloat32, {h, g, h});
        dir.bias = Tensor(DType::kFloat32, {biasGates(options_.cell), h});
        fillUniform(dir.weights_layer, bound, random);
        fillUniform(dir.weights_iter, bound, random);
        fillUniform(dir.bias, bound, random);
        dir.d_weights_layer = zerosLike(dir.weights_layer);
        dir.d_weights_iter = zerosLike(dir.weights_iter);
        dir.d_bias = zerosLike(dir.bias);
        rnn.push_back(std::move(dir));
      }
    }
    const std::int64_t head_in = h * d_count;
    Tensor head_weight(DType::kFloat32, {head_in, outputs});
    Tensor head_bias(DType::kFloat32, {outputs});
    const double head_bound = 1.0 / std::sqrt(static_cast<double>(head_in));  // as nn.Linear
    fillUniform(head_weight, head_bound, random);
    fillUniform(head_bias, head_bound, random);
    // Commit.
    passes_.clear();
    carried_.clear();
    carried_rows_ = 0;
    task_ = task;
    trained_precision_ = options_.precision;
    vocabulary_ = vocabulary;
    window_ = window;
    features_ = features;
    outputs_ = outputs;
    class_names_ =
        task == RnnTask::kClassification ? schema.class_names : std::vector<std::string>{};
    symbols_ = task != RnnTask::kForecast && !schema.id_names.empty() &&
                       static_cast<std::int64_t>(schema.id_names[0].size()) == vocabulary
                   ? schema.id_names[0]
                   : std::vector<std::string>{};
    longest_symbol_ = 0;
    for (const auto& s : symbols_) {
      longest_symbol_ = std::max(longest_symbol_, s.size());
    }
    d_embedding_ = embedding.empty() ? Tensor() : zerosLike(embedding);
    embedding_ = std::move(embedding);
    rnn_ = std::move(rnn);
    d_head_weight_ = zerosLike(head_weight);
    d_head_bias_ = zerosLike(head_bias);
    head_weight_ = std::move(head_weight);
    head_bias_ = std::move(head_bias);
    dropout_stream_ = seed ^ 0x9e3779b97f4a7c15ULL;
    inputs_ = inputs;
  });
}

std::vector<Parameter> Rnn::parameters() {
  std::vector<Parameter> out;
  if (!embedding_.empty()) {
    out.push_back({"embedding.weight", embedding_, d_embedding_});
  }
  const std::size_t d_count = static_cast<std::size_t>(directions());
  for (std::size_t i = 0; i < rnn_.size(); ++i) {
    std::string prefix = "rnn.l" + std::to_string(i / d_count);
    if (i % d_count == 1) {
      prefix += "_reverse";
    }
    Direction& d = rnn_[i];
    out.push_back({prefix + ".weights_layer", d.weights_layer, d.d_weights_layer});
    out.push_back({prefix + ".weights_iter", d.weights_iter, d.d_weights_iter});
    out.push_back({prefix + ".bias", d.bias, d.d_bias});
  }
  out.push_back({"head.weight", head_weight_, d_head_weight_});
  out.push_back({"head.bias", head_bias_, d_head_bias_});
  return out;
}

void Rnn::resetState() {
  carried_.clear();
  carried_rows_ = 0;
}

Status Rnn::checkBatch(const Batch& batch) const {
  if (!ready()) {
    return failedPrecondition("model.rnn is not prepared: call prepare() or load() first");
  }
  const Tensor& x = batch.features;
  const Tensor& y = batch.labels;
  if (task_ == RnnTask::kForecast) {
    if (x.dtype() != DType::kFloat32 ||
        x.shape() != Shape{x.rank() ? x.dim(0) : 0, window_, features_} || x.dim(0) <= 0) {
      return invalidArgument("model.rnn expects windows FP32 [N>0, " + std::to_string(window_) +
                             ", " + std::to_string(features_) + "], got " +
                             std::string(dtypeName(x.dtype())) + " " + shapeToString(x.shape()));
    }
    if (y.dtype() != DType::kFloat32 || y.shape() != Shape{x.dim(0), outputs_}) {
      return invalidArgument("model.rnn expects targets FP32 [" + std::to_string(x.dim(0)) + ", " +
                             std::to_string(outputs_) + "], got " +
                             std::string(dtypeName(y.dtype())) + " " + shapeToString(y.shape()));
    }
    return okStatus();
  }
  if (x.dtype() != DType::kInt64 || x.rank() != 2 || x.dim(0) <= 0 || x.dim(1) <= 0) {
    return invalidArgument("model.rnn expects tokens INT64 [N>0, T>0], got " +
                           std::string(dtypeName(x.dtype())) + " " + shapeToString(x.shape()));
  }
  const std::int64_t rows = x.dim(0), steps = x.dim(1);
  const Shape label_shape = task_ == RnnTask::kLanguageModel ? Shape{rows, steps} : Shape{rows};
  if (y.dtype() != DType::kInt64 || y.shape() != label_shape) {
    return invalidArgument("model.rnn expects labels INT64 " + shapeToString(label_shape) +
                           ", got " + std::string(dtypeName(y.dtype())) + " " +
                           shapeToString(y.shape()));
  }
  const bool lengths = batch.lengths.numel() > 0;
  if (lengths && (batch.lengths.dtype() != DType::kInt64 || batch.lengths.shape() != Shape{rows})) {
    return invalidArgument("model.rnn expects lengths INT64 [" + std::to_string(rows) + "], got " +
                           std::string(dtypeName(batch.lengths.dtype())) + " " +
                           shapeToString(batch.lengths.shape()));
  }
  const std::int64_t* tokens = x.data<std::int64_t>();
  for (std::int64_t n = 0; n < rows; ++n) {
    const std::int64_t length = lengths ? batch.lengths.data<std::int64_t>()[n] : steps;
    if (length < 1 || length > steps) {
      return invalidArgument("model.rnn: row " + std::to_string(n) + " has length " +
                             std::to_string(length) + ", outside [1, " + std::to_string(steps) +
                             "]");
    }
    for (std::int64_t t = 0; t < length; ++t) {
      const std::int64_t token = tokens[n * steps + t];
      if (token < 0 || token >= vocabulary_) {
        return invalidArgument("model.rnn: token " + std::to_string(token) + " at row " +
                               std::to_string(n) + ", step " + std::to_string(t) +
                               " is outside the vocabulary [0, " + std::to_string(vocabulary_) +
                               ")");
      }
    }
  }
  return okStatus();
}

}  // namespace aimass::plugins::model
