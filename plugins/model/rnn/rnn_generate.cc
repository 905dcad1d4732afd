// SPDX-License-Identifier: Apache-2.0
// model.rnn: text generation (predict and predictStream of a language model).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "rnn.h"
#include "rnn_pass.h"

namespace aimass::plugins::model {

namespace {

struct Sampling {
  std::int64_t max_tokens = 64;
  double temperature = 1.0;
  std::int64_t top_k = 0;
  std::uint64_t seed = 0;
  bool seeded = false;
};

Expected<Sampling> parseSampling(const PredictOptions& options) {
  Sampling s;
  if (const std::string* v = options.parameter("max_tokens")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), s.max_tokens);
    if (ec != std::errc() || end != v->data() + v->size() || s.max_tokens < 0 ||
        s.max_tokens > Rnn::kMaxTokens) {
      return invalidArgument("parameter 'max_tokens' must be an integer in [0, " +
                             std::to_string(Rnn::kMaxTokens) + "], got '" + *v + "'");
    }
  }
  if (const std::string* v = options.parameter("temperature")) {
    char* end = nullptr;
    s.temperature = std::strtod(v->c_str(), &end);
    if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(s.temperature) ||
        s.temperature < 0 || s.temperature > 100) {
      return invalidArgument(
          "parameter 'temperature' must be a number in [0, 100] (0: always "
          "the most likely token), got '" +
          *v + "'");
    }
  }
  if (const std::string* v = options.parameter("seed")) {
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), s.seed);
    if (ec != std::errc() || end != v->data() + v->size()) {
      return invalidArgument("parameter 'seed' must be a non-negative integer, got '" + *v + "'");
    }
    s.seeded = true;
  }
  if (options.top_k < 0) {
    return invalidArgument("top_k must be >= 0 (0: the whole vocabulary), got " +
                           std::to_string(options.top_k));
  }
  s.top_k = options.top_k;
  return s;
}

/// Draws a token from one row of logits.
std::int64_t sample(const float* logits, std::int64_t vocabulary, const Sampling& s,
                    std::mt19937_64& random, std::vector<std::int64_t>& order,
                    std::vector<double>& weights) {
  if (s.temperature == 0) {
    return std::max_element(logits, logits + vocabulary) - logits;
  }
  order.resize(static_cast<std::size_t>(vocabulary));
  std::iota(order.begin(), order.end(), 0);
  std::size_t keep = order.size();
  if (s.top_k > 0 && s.top_k < vocabulary) {
    keep = static_cast<std::size_t>(s.top_k);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep), order.end(),
                      [&](std::int64_t a, std::int64_t b) {
                        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
                      });
  }
  float top = logits[order[0]];
  for (std::size_t i = 0; i < keep; ++i) {
    top = std::max(top, logits[order[i]]);
  }
  weights.resize(keep);
  double total = 0;
  for (std::size_t i = 0; i < keep; ++i) {
    weights[i] = std::exp((static_cast<double>(logits[order[i]]) - top) / s.temperature);
    total += weights[i];
  }
  double u = static_cast<double>(random() >> 11) * (1.0 / 9007199254740992.0) * total;
  for (std::size_t i = 0; i < keep; ++i) {
    u -= weights[i];
    if (u < 0) {
      return order[i];
    }
  }
  return order[keep - 1];
}

}  // namespace

/// The recurrent state of a generation request and the steps that advance it: one
/// inference pass of one step over every row, its state per layer h and c [N, H].
struct Generator {
  const Rnn& model;
  RnnPass& pass;
  std::int64_t rows, h, layers, e;
  bool lstm;
  std::vector<Tensor> hs, cs, saved_h, saved_c;
  bool reordered = false;

  Generator(const Rnn& m, RnnPass& p)
      : model(m),
        pass(p),
        rows(p.rows),
        h(m.options_.hidden),
        layers(m.options_.layers),
        e(m.inputs_),
        lstm(m.options_.cell == Cell::kLstm) {
    for (std::int64_t l = 0; l < layers; ++l) {
      hs.push_back(Tensor::zeros(DType::kFloat32, {rows, h}));
      cs.push_back(Tensor::zeros(DType::kFloat32, {rows, h}));
      saved_h.push_back(Tensor(DType::kFloat32, {rows, h}));
      saved_c.push_back(Tensor(DType::kFloat32, {rows, h}));
    }
  }

  /// From "state" [N, S]: per layer h, then c (LSTM).
  void load(const Tensor& state) {
    const std::int64_t per = lstm ? 2 : 1;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* from = state.data<float>() + r * model.stateSize();
      for (std::int64_t l = 0; l < layers; ++l) {
        std::memcpy(hs[l].data<float>() + r * h, from + (l * per) * h, sizeof(float) * h);
        if (lstm) {
          std::memcpy(cs[l].data<float>() + r * h, from + (l * per + 1) * h, sizeof(float) * h);
        }
      }
    }
  }

  Tensor state() const {
    const std::int64_t per = lstm ? 2 : 1;
    Tensor out(DType::kFloat32, {rows, model.stateSize()});
    for (std::int64_t r = 0; r < rows; ++r) {
      float* to = out.data<float>() + r * model.stateSize();
      for (std::int64_t l = 0; l < layers; ++l) {
        std::memcpy(to + (l * per) * h, hs[l].data<float>() + r * h, sizeof(float) * h);
        if (lstm) {
          std::memcpy(to + (l * per + 1) * h, cs[l].data<float>() + r * h, sizeof(float) * h);
        }
      }
    }
    return out;
  }

  /// One step of every row on tokens `next` (one per row).
  Status step(const std::int64_t* next) {
    float* x0 = pass.x0.data<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      std::memcpy(x0 + r * e, model.embedding_.data<float>() + next[r] * e, sizeof(float) * e);
    }
    for (std::int64_t l = 0; l < layers; ++l) {
      const Rnn::Direction& w = model.rnn_[static_cast<std::size_t>(l)];
      const float* in = l == 0 ? x0 : pass.y[static_cast<std::size_t>(l - 1)].data<float>();
      float* hl = hs[static_cast<std::size_t>(l)].data<float>();
      float* cl = cs[static_cast<std::size_t>(l)].data<float>();
      AIMASS_RETURN_IF_ERROR(pass.layers[static_cast<std::size_t>(l)]->forward(
          pass.stream, in, hl, lstm ? cl : nullptr, w.weights_layer.data<float>(),
          w.weights_iter.data<float>(), w.bias.data<float>(),
          pass.y[static_cast<std::size_t>(l)].data<float>(), hl, cl, reordered));
    }
    reordered = true;
    return okStatus();
  }

  /// Reads the prompts; a row whose prompt has ended keeps its state.
  Status prompt(const Tensor& tokens, const std::vector<std::int64_t>& lengths) {
    const std::int64_t steps = tokens.dim(1);
    std::vector<std::int64_t> next(static_cast<std::size_t>(rows), 0);
    for (std::int64_t t = 0; t < steps; ++t) {
      bool ended = false, any = false;
      for (std::int64_t r = 0; r < rows; ++r) {
        const bool live = t < lengths[static_cast<std::size_t>(r)];
        next[static_cast<std::size_t>(r)] = live ? tokens.data<std::int64_t>()[r * steps + t] : 0;
        ended = ended || !live;
        any = any || live;
      }
      if (!any) {
        break;
      }
      if (ended) {
        for (std::int64_t l = 0; l < layers; ++l) {
          std::memcpy(saved_h[l].raw(), hs[l].raw(), hs[l].nbytes());
          std::memcpy(saved_c[l].raw(), cs[l].raw(), cs[l].nbytes());
        }
      }
      AIMASS_RETURN_IF_ERROR(step(next.data()));
      for (std::int64_t r = 0; ended && r < rows; ++r) {
        if (t < lengths[static_cast<std::size_t>(r)]) {
          continue;
        }
        for (std::int64_t l = 0; l < layers; ++l) {
          std::memcpy(hs[l].data<float>() + r * h, saved_h[l].data<float>() + r * h,
                      sizeof(float) * h);
          std::memcpy(cs[l].data<float>() + r * h, saved_c[l].data<float>() + r * h,
                      sizeof(float) * h);
        }
      }
    }
    return okStatus();
  }

  /// The next-token logits of every row, from the top layer's h, into pass.logits.
  Status logits() {
    return pass.head->forward(hs.back().data<float>(), model.head_weight_.data<float>(),
                              model.head_bias_.data<float>(), pass.logits.data<float>());
  }
};

Status Rnn::generate(const TensorMap& inputs, const PredictOptions& options, TensorMap* outputs,
                     const Emit* emit) const {
  auto sampling = parseSampling(options);
  if (!sampling.ok()) {
    return sampling.status();
  }
  Tensor tokens;
  std::vector<std::int64_t> lengths;
  const Tensor* state = nullptr;
  AIMASS_RETURN_IF_ERROR(readTokens(inputs, true, tokens, lengths, &state));
  return guard("model.rnn generate", [&]() -> Status {
    const std::int64_t rows = tokens.dim(0);
    AIMASS_ASSIGN_OR_RETURN(const bool bf16, servingInBf16(options));
    auto made = RnnPass::make(*this, 1, rows, false, 1, bf16);
    if (!made.ok()) {
      return made.status();
    }
    RnnPass& pass = **made;
    pass.context->enterThreads();
    Generator generator(*this, pass);
    if (state != nullptr) {
      generator.load(*state);
    }
    AIMASS_RETURN_IF_ERROR(generator.prompt(tokens, lengths));
    std::vector<std::int64_t> next(static_cast<std::size_t>(rows), 0);
    // Generation: logits from the top layer's h, a token per row, one step on it.
    const std::int64_t count = sampling->max_tokens;
    Tensor generated(DType::kInt64, {rows, count});
    std::vector<std::string> texts(static_cast<std::size_t>(rows));
    std::mt19937_64 random(sampling->seeded ? sampling->seed
                                            : (std::uint64_t{std::random_device{}()} << 32) ^
                                                  std::random_device{}());
    std::vector<std::int64_t> order;
    std::vector<double> weights;
    for (std::int64_t k = 0; k < count; ++k) {
      AIMASS_RETURN_IF_ERROR(generator.logits());
      std::vector<std::string> piece_text(static_cast<std::size_t>(rows));
      Tensor piece_tokens(DType::kInt64, {rows, 1});
      for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t token = sample(pass.logits.data<float>() + r * outputs_, outputs_,
                                          *sampling, random, order, weights);
        next[static_cast<std::size_t>(r)] = token;
        generated.data<std::int64_t>()[r * count + k] = token;
        piece_tokens.data<std::int64_t>()[r] = token;
        if (!symbols_.empty()) {
          piece_text[static_cast<std::size_t>(r)] = symbols_[static_cast<std::size_t>(token)];
          texts[static_cast<std::size_t>(r)] += symbols_[static_cast<std::size_t>(token)];
        }
      }
      AIMASS_RETURN_IF_ERROR(generator.step(next.data()));
      if (emit != nullptr) {
        TensorMap piece;
        piece.set(tensor_names::kText, Tensor::fromStrings(std::move(piece_text)));
        piece.set(tensor_names::kTokens, std::move(piece_tokens));
        if (k + 1 == count) {
          piece.set(tensor_names::kState, generator.state());
        }
        if (!(*emit)(piece)) {
          return okStatus();
        }
      }
    }
    if (emit != nullptr) {
      if (count == 0) {
        TensorMap piece;
        piece.set(tensor_names::kText, Tensor::fromStrings(std::move(texts)));
        piece.set(tensor_names::kTokens, std::move(generated));
        piece.set(tensor_names::kState, generator.state());
        (*emit)(piece);
      }
      return okStatus();
    }
    outputs->set(tensor_names::kText, Tensor::fromStrings(std::move(texts)));
    outputs->set(tensor_names::kTokens, std::move(generated));
    outputs->set(tensor_names::kState, generator.state());
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
