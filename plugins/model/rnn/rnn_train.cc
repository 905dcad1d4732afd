// SPDX-License-Identifier: Apache-2.0
// model.rnn: one pass (forward, loss, backward) over a batch.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "rnn.h"
#include "rnn_pass.h"

namespace aimass::plugins::model {

namespace {

constexpr std::size_t kPassLimit = 3;  // training pass shapes kept

/// splitmix64: the dropout masks' stream (one 64-bit state, saved with the model).
std::uint64_t nextDraw(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// A gradient buffer written by a const pass: gradients are scratch the backward pass owns, not
/// the model's logical state (only the non-const forwardBackward() asks for them).
float* gradient(const Tensor& t) { return const_cast<Tensor&>(t).data<float>(); }

std::int64_t reversedStep(std::int64_t t, std::int64_t length) {
  return t < length ? length - 1 - t : t;
}

/// out[t, n] = in[reversedStep(t, len[n]), n] for [T, N, C] buffers (its own inverse); with
/// `add`, adds instead of copying.
void reverseRows(const float* in, float* out, std::int64_t steps, std::int64_t rows,
                 std::int64_t channels, const std::vector<std::int64_t>& lengths, bool add) {
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t n = 0; n < rows; ++n) {
      const std::int64_t s = reversedStep(t, lengths[static_cast<std::size_t>(n)]);
      const float* from = in + (s * rows + n) * channels;
      float* to = out + (t * rows + n) * channels;
      for (std::int64_t c = 0; c < channels; ++c) {
        to[c] = add ? to[c] + from[c] : from[c];
      }
    }
  }
}

/// The input of layer l: the first layer's x0, or the previous layer's output (after dropout).
float* layerInput(RnnPass& pass, std::int64_t l) {
  if (l == 0) {
    return pass.x0.data<float>();
  }
  Tensor& dropped = pass.dropped[static_cast<std::size_t>(l - 1)];
  return dropped.numel() > 0 ? dropped.data<float>()
                             : pass.out[static_cast<std::size_t>(l - 1)].data<float>();
}

/// What direction d of layer l reads: its input, reversed per row for the reverse direction.
float* layerSource(RnnPass& pass, std::int64_t l, std::int64_t d) {
  return d == 0 ? layerInput(pass, l) : pass.reversed[static_cast<std::size_t>(l)].data<float>();
}

/// Layer l's initial h (which 0) or c (which 1), or null for zeros.
const float* initialState(const std::vector<Tensor>* initial, std::int64_t l, int which,
                          bool lstm) {
  if (initial == nullptr) {
    return nullptr;
  }
  return (*initial)[static_cast<std::size_t>(l * (lstm ? 2 : 1) + which)].data<float>();
}

/// Mean softmax cross-entropy of [rows, classes] logits against `labels`, and when `grad` is
/// not null its gradient (softmax - onehot) / rows; rows split over `threads` OpenMP threads
/// (the language model's head has T x N rows of the whole vocabulary). kInvalidArgument naming
/// the first row whose label is outside [0, classes).
Expected<double> softmaxCrossEntropy(const float* logits, const std::int64_t* labels,
                                     std::int64_t rows, std::int64_t classes, float* grad,
                                     int threads) {
  for (std::int64_t r = 0; r < rows; ++r) {
    if (labels[r] < 0 || labels[r] >= classes) {
      return invalidArgument("model.rnn: label " + std::to_string(labels[r]) + " of row " +
                             std::to_string(r) + " is outside [0, " + std::to_string(classes) +
                             ")");
    }
  }
  double total = 0;
  const float scale = 1.0f / static_cast<float>(rows);
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * classes;
    const float top = *std::max_element(z, z + classes);
    float sum = 0;
    if (grad != nullptr) {
      float* g = grad + r * classes;
      for (std::int64_t c = 0; c < classes; ++c) {
        g[c] = std::exp(z[c] - top);
        sum += g[c];
      }
      const float norm = scale / sum;
      for (std::int64_t c = 0; c < classes; ++c) {
        g[c] *= norm;
      }
      g[labels[r]] -= scale;
    } else {
      for (std::int64_t c = 0; c < classes; ++c) {
        sum += std::exp(z[c] - top);
      }
    }
    total += static_cast<double>(std::log(sum) + top - z[labels[r]]);
  }
  return total / static_cast<double>(rows);
}

}  // namespace

Expected<double> Rnn::run(RnnPass& pass, const Batch& batch, bool backward, bool training,
                          const std::vector<Tensor>* initial_state,
                          std::uint64_t* dropout_stream) const {
  pass.context->enterThreads();
  embed(pass, batch);
  AIMASS_RETURN_IF_ERROR(forwardLayers(pass, initial_state, training, dropout_stream));
  Expected<double> loss = headLoss(pass, batch, backward);
  if (!loss.ok() || !backward || batch.labels.numel() == 0) {
    return loss;
  }
  AIMASS_RETURN_IF_ERROR(backwardHead(pass));
  AIMASS_RETURN_IF_ERROR(backwardLayers(pass, initial_state));
  embedBackward(pass, batch);
  return loss;
}

void Rnn::embed(RnnPass& pass, const Batch& batch) const {
  const std::int64_t steps = pass.steps, rows = pass.rows, c0 = inputs_;
  // Lengths and the first layer's input, time-major.
  const bool has_lengths = batch.lengths.numel() > 0;
  for (std::int64_t n = 0; n < rows; ++n) {
    pass.lengths[static_cast<std::size_t>(n)] =
        has_lengths ? batch.lengths.data<std::int64_t>()[n] : steps;
  }
  float* x0 = pass.x0.data<float>();
  if (tokenInputs()) {
    const std::int64_t* tokens = batch.features.data<std::int64_t>();
    const float* table = embedding_.data<float>();
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t n = 0; n < rows; ++n) {
        const std::int64_t token =
            t < pass.lengths[static_cast<std::size_t>(n)] ? tokens[n * steps + t] : 0;
        std::memcpy(x0 + (t * rows + n) * c0, table + token * c0, sizeof(float) * c0);
      }
    }
  } else {
    const float* values = batch.features.data<float>();
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t n = 0; n < rows; ++n) {
        std::memcpy(x0 + (t * rows + n) * c0, values + (n * steps + t) * c0, sizeof(float) * c0);
      }
    }
  }
}

Status Rnn::forwardLayers(RnnPass& pass, const std::vector<Tensor>* initial_state, bool training,
                          std::uint64_t* dropout_stream) const {
  const std::int64_t steps = pass.steps, rows = pass.rows, h = options_.hidden;
  const std::int64_t d_count = directions(), layers = options_.layers, c0 = inputs_;
  const bool lstm = options_.cell == Cell::kLstm;
  for (std::int64_t l = 0; l < layers; ++l) {
    const std::int64_t in = l == 0 ? c0 : h * d_count;
    if (d_count == 2) {
      reverseRows(layerInput(pass, l), pass.reversed[static_cast<std::size_t>(l)].data<float>(),
                  steps, rows, in, pass.lengths, false);
    }
    for (std::int64_t d = 0; d < d_count; ++d) {
      const std::size_t i = static_cast<std::size_t>(l * d_count + d);
      const Direction& w = rnn_[i];
      AIMASS_RETURN_IF_ERROR(pass.layers[i]->forward(
          pass.stream, layerSource(pass, l, d), initialState(initial_state, l, 0, lstm),
          lstm ? initialState(initial_state, l, 1, lstm) : nullptr, w.weights_layer.data<float>(),
          w.weights_iter.data<float>(), w.bias.data<float>(), pass.y[i].data<float>(),
          pass.h_last[i].data<float>(), pass.c_last[i].data<float>()));
    }
    float* out = pass.out[static_cast<std::size_t>(l)].data<float>();
    if (d_count == 2) {
      const float* forward = pass.y[static_cast<std::size_t>(l * 2)].data<float>();
      const float* reverse = pass.y[static_cast<std::size_t>(l * 2 + 1)].data<float>();
      for (std::int64_t t = 0; t < steps; ++t) {
        for (std::int64_t n = 0; n < rows; ++n) {
          const std::int64_t s = reversedStep(t, pass.lengths[static_cast<std::size_t>(n)]);
          std::memcpy(out + (t * rows + n) * 2 * h, forward + (t * rows + n) * h,
                      sizeof(float) * h);
          std::memcpy(out + (t * rows + n) * 2 * h + h, reverse + (s * rows + n) * h,
                      sizeof(float) * h);
        }
      }
    }
    Tensor& dropped = pass.dropped[static_cast<std::size_t>(l)];
    if (dropped.numel() > 0) {
      float* mask = pass.mask[static_cast<std::size_t>(l)].data<float>();
      float* to = dropped.data<float>();
      const std::int64_t count = dropped.numel();
      const float keep = static_cast<float>(1.0 - options_.dropout);
      for (std::int64_t i = 0; i < count; ++i) {
        const float u = training && dropout_stream != nullptr
                            ? static_cast<float>(nextDraw(*dropout_stream) >> 40) * 0x1.0p-24f
                            : 0.0f;
        mask[i] = training ? (u < keep ? 1.0f / keep : 0.0f) : 1.0f;
        to[i] = out[i] * mask[i];
      }
    }
  }
  return okStatus();
}

Expected<double> Rnn::headLoss(RnnPass& pass, const Batch& batch, bool backward) const {
  const std::int64_t steps = pass.steps, rows = pass.rows, h = options_.hidden;
  const std::int64_t d_count = directions();
  // Head input.
  const std::int64_t head_in = headInputs();
  const float* top = pass.out.back().data<float>();
  float* features = pass.features.data<float>();
  if (task_ == RnnTask::kClassification) {
    for (std::int64_t n = 0; n < rows; ++n) {
      const std::int64_t last = pass.lengths[static_cast<std::size_t>(n)] - 1;
      std::memcpy(features + n * head_in, top + (last * rows + n) * head_in, sizeof(float) * h);
      if (d_count == 2) {  // the reverse direction ends at step 0
        std::memcpy(features + n * head_in + h, top + n * head_in + h, sizeof(float) * h);
      }
    }
  } else if (task_ == RnnTask::kForecast) {
    std::memcpy(features, top + (steps - 1) * rows * head_in, sizeof(float) * rows * head_in);
  }
  float* logits = pass.logits.data<float>();
  AIMASS_RETURN_IF_ERROR(
      pass.head->forward(features, head_weight_.data<float>(), head_bias_.data<float>(), logits));
  if (batch.labels.numel() == 0) {  // serving: the head's output is all that is wanted
    return 0.0;
  }
  float* d_logits = backward ? pass.d_logits.data<float>() : nullptr;
  Expected<double> loss = 0.0;
  if (task_ == RnnTask::kForecast) {
    loss = compute::meanSquaredError(logits, batch.labels.data<float>(), rows, outputs_, d_logits);
  } else {
    const std::int64_t* labels = batch.labels.data<std::int64_t>();
    if (task_ == RnnTask::kLanguageModel) {
      for (std::int64_t t = 0; t < steps; ++t) {
        for (std::int64_t n = 0; n < rows; ++n) {
          pass.labels[static_cast<std::size_t>(t * rows + n)] = labels[n * steps + t];
        }
      }
      labels = pass.labels.data();
    }
    loss = softmaxCrossEntropy(logits, labels, pass.head_rows, outputs_, d_logits, pass.threads);
  }
  return loss;
}

Status Rnn::backwardHead(RnnPass& pass) const {
  const std::int64_t steps = pass.steps, rows = pass.rows, h = options_.hidden;
  const std::int64_t d_count = directions(), head_in = headInputs();
  const float* features = pass.features.data<float>();
  const float* d_logits = pass.d_logits.data<float>();
  float* d_features = pass.d_features.data<float>();
  AIMASS_RETURN_IF_ERROR(pass.head->backwardWeights(features, d_logits, gradient(d_head_weight_),
                                                    gradient(d_head_bias_)));
  AIMASS_RETURN_IF_ERROR(pass.head->backwardData(d_logits, head_weight_.data<float>(), d_features));
  float* d_top = pass.d_out.back().data<float>();
  if (task_ == RnnTask::kLanguageModel) {
    std::memcpy(d_top, d_features, sizeof(float) * steps * rows * head_in);
  } else {
    std::memset(d_top, 0, sizeof(float) * steps * rows * head_in);
    for (std::int64_t n = 0; n < rows; ++n) {
      const std::int64_t last =
          task_ == RnnTask::kForecast ? steps - 1 : pass.lengths[static_cast<std::size_t>(n)] - 1;
      std::memcpy(d_top + (last * rows + n) * head_in, d_features + n * head_in, sizeof(float) * h);
      if (d_count == 2) {
        std::memcpy(d_top + n * head_in + h, d_features + n * head_in + h, sizeof(float) * h);
      }
    }
  }
  return okStatus();
}

Status Rnn::backwardLayers(RnnPass& pass, const std::vector<Tensor>* initial_state) const {
  const std::int64_t steps = pass.steps, rows = pass.rows, h = options_.hidden;
  const std::int64_t d_count = directions(), layers = options_.layers, c0 = inputs_;
  const bool lstm = options_.cell == Cell::kLstm;
  for (std::int64_t l = layers; l-- > 0;) {
    const std::int64_t in = l == 0 ? c0 : h * d_count;
    float* d_out = pass.d_out[static_cast<std::size_t>(l)].data<float>();
    if (pass.mask[static_cast<std::size_t>(l)].numel() > 0) {
      const float* mask = pass.mask[static_cast<std::size_t>(l)].data<float>();
      const std::int64_t count = steps * rows * h * d_count;
      for (std::int64_t i = 0; i < count; ++i) {
        d_out[i] *= mask[i];
      }
    }
    if (d_count == 2) {
      float* d_forward = pass.d_y[static_cast<std::size_t>(l * 2)].data<float>();
      float* d_reverse = pass.d_y[static_cast<std::size_t>(l * 2 + 1)].data<float>();
      for (std::int64_t t = 0; t < steps; ++t) {
        for (std::int64_t n = 0; n < rows; ++n) {
          const std::int64_t s = reversedStep(t, pass.lengths[static_cast<std::size_t>(n)]);
          std::memcpy(d_forward + (t * rows + n) * h, d_out + (t * rows + n) * 2 * h,
                      sizeof(float) * h);
          std::memcpy(d_reverse + (s * rows + n) * h, d_out + (t * rows + n) * 2 * h + h,
                      sizeof(float) * h);
        }
      }
    }
    const bool need_dx = l > 0 || tokenInputs();
    for (std::int64_t d = 0; d < d_count; ++d) {
      const std::size_t i = static_cast<std::size_t>(l * d_count + d);
      const Direction& w = rnn_[i];
      const float* dy = d_count == 1 ? d_out : pass.d_y[i].data<float>();
      AIMASS_RETURN_IF_ERROR(pass.layers[i]->backward(
          pass.stream, layerSource(pass, l, d), initialState(initial_state, l, 0, lstm),
          lstm ? initialState(initial_state, l, 1, lstm) : nullptr, w.weights_layer.data<float>(),
          w.weights_iter.data<float>(), w.bias.data<float>(), pass.y[i].data<float>(), dy,
          need_dx ? pass.d_x[i].data<float>() : nullptr, gradient(w.d_weights_layer),
          gradient(w.d_weights_iter), gradient(w.d_bias)));
    }
    if (!need_dx) {
      break;
    }
    float* d_in =
        l > 0 ? pass.d_out[static_cast<std::size_t>(l - 1)].data<float>() : pass.d_x0.data<float>();
    const float* d_x = pass.d_x[static_cast<std::size_t>(l * d_count)].data<float>();
    std::memcpy(d_in, d_x, sizeof(float) * steps * rows * in);
    if (d_count == 2) {
      reverseRows(pass.d_x[static_cast<std::size_t>(l * 2 + 1)].data<float>(), d_in, steps, rows,
                  in, pass.lengths, true);
    }
  }
  return okStatus();
}

void Rnn::embedBackward(RnnPass& pass, const Batch& batch) const {
  if (!tokenInputs()) {
    return;
  }
  const std::int64_t steps = pass.steps, rows = pass.rows, c0 = inputs_;
  float* d_table = gradient(d_embedding_);
  std::memset(d_table, 0, d_embedding_.nbytes());
  const std::int64_t* tokens = batch.features.data<std::int64_t>();
  const float* d_x0 = pass.d_x0.data<float>();
  for (std::int64_t t = 0; t < steps; ++t) {
    for (std::int64_t n = 0; n < rows; ++n) {
      if (t >= pass.lengths[static_cast<std::size_t>(n)]) {
        continue;
      }
      float* row = d_table + tokens[n * steps + t] * c0;
      const float* d = d_x0 + (t * rows + n) * c0;
      for (std::int64_t c = 0; c < c0; ++c) {
        row[c] += d[c];
      }
    }
  }
}

Expected<double> Rnn::forwardBackward(const Batch& batch, bool training) {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  const std::int64_t rows = batch.features.dim(0), steps = batch.features.dim(1);
  RnnPass* pass = nullptr;
  for (auto& candidate : passes_) {
    if (candidate->rows == rows && candidate->steps == steps) {
      pass = candidate.get();
    }
  }
  if (pass == nullptr) {
    auto made = RnnPass::make(*this, steps, rows, true, options_.threads,
                              options_.precision == compute::Precision::kBFloat16);
    if (!made.ok()) {
      return made.status();
    }
    Status kept = guard("model.rnn pass", [&] {
      if (passes_.size() >= kPassLimit) {
        passes_.erase(passes_.begin());
      }
      passes_.push_back(std::move(made).value());
    });
    if (!kept.ok()) {
      return kept;
    }
    pass = passes_.back().get();
  }
  const bool carry = task_ == RnnTask::kLanguageModel && options_.stateful;
  const bool carried = carry && carried_rows_ == rows && !carried_.empty();
  auto loss = run(*pass, batch, true, training, carried ? &carried_ : nullptr, &dropout_stream_);
  if (loss.ok()) {
    trained_precision_ = options_.precision;
  }
  if (!loss.ok() || !carry) {
    return loss;
  }
  Status kept = guard("model.rnn state", [&] {
    if (carried_rows_ != rows || carried_.empty()) {
      carried_.clear();
      for (std::int64_t l = 0; l < options_.layers; ++l) {
        carried_.push_back(Tensor(DType::kFloat32, {rows, options_.hidden}));
        if (options_.cell == Cell::kLstm) {
          carried_.push_back(Tensor(DType::kFloat32, {rows, options_.hidden}));
        }
      }
    }
    const std::size_t per = options_.cell == Cell::kLstm ? 2 : 1;
    for (std::size_t l = 0; l < static_cast<std::size_t>(options_.layers); ++l) {
      std::memcpy(carried_[l * per].raw(), pass->h_last[l].raw(), carried_[l * per].nbytes());
      if (per == 2) {
        std::memcpy(carried_[l * 2 + 1].raw(), pass->c_last[l].raw(), carried_[l * 2].nbytes());
      }
    }
    carried_rows_ = rows;
  });
  if (!kept.ok()) {
    return kept;
  }
  return loss;
}

Expected<double> Rnn::evaluateLoss(const Batch& batch) const {
  AIMASS_RETURN_IF_ERROR(checkBatch(batch));
  auto pass =
      RnnPass::make(*this, batch.features.dim(1), batch.features.dim(0), false, options_.threads,
                    options_.precision == compute::Precision::kBFloat16);
  if (!pass.ok()) {
    return pass.status();
  }
  return run(**pass, batch, false, false, nullptr, nullptr);
}

}  // namespace aimass::plugins::model
