// SPDX-License-Identifier: Apache-2.0
// model.rnn: save and load.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "aimass/byte_io.h"
#include "rnn.h"
#include "rnn_pass.h"

namespace aimass::plugins::model {

namespace {

void putStrings(ByteWriter& out, const std::vector<std::string>& values) {
  out.u64(values.size());
  for (const auto& v : values) {
    out.u32(static_cast<std::uint32_t>(v.size()));
    out.bytes(v);
  }
}

bool getStrings(ByteReader& in, std::vector<std::string>& values) {
  const std::uint64_t count = in.u64();
  if (!in.ok() || count > in.remaining() / 4) {
    return false;
  }
  for (std::uint64_t i = 0; i < count && in.ok(); ++i) {
    values.push_back(in.bytes(in.u32()));
  }
  return in.ok();
}

/// Reads a tensor of `shape` whose values must all be finite.
bool getTensor(ByteReader& in, Shape shape, Tensor& out) {
  const std::int64_t count = shapeElements(shape);
  if (count < 0 || static_cast<std::uint64_t>(count) > in.remaining() / 4) {
    return false;
  }
  out = Tensor(DType::kFloat32, std::move(shape));
  if (!in.floats(out.span<float>())) {
    return false;
  }
  return std::all_of(out.span<float>().begin(), out.span<float>().end(),
                     [](float v) { return std::isfinite(v); });
}

/// Copies `from` into `to` when the shapes agree (the buffers optimizers hold stay), else
/// replaces it and its gradient.
void commit(Tensor& to, Tensor& grad, Tensor from) {
  if (!to.empty() && to.shape() == from.shape()) {
    std::memcpy(to.raw(), from.raw(), from.nbytes());
    return;
  }
  grad = Tensor::zeros(DType::kFloat32, from.shape());
  to = std::move(from);
}

/// What a payload holds, read and checked in full before load() changes anything.
struct Saved {
  RnnOptions options;
  RnnTask task = RnnTask::kLanguageModel;
  compute::Precision precision = compute::Precision::kFloat32;  ///< of training
  std::uint64_t dropout_stream = 0;
  std::int64_t inputs = 0, vocabulary = 0, window = 0, features = 0, outputs = 0;
  std::vector<std::string> classes, symbols;
  Tensor embedding, head_weight, head_bias;
  std::vector<Rnn::Direction> rnn;
};

/// Reads a format-1 or -2 payload over `options` (the settings a payload does not hold stay);
/// kDataLoss naming what is corrupt.
Expected<Saved> readPayload(std::string_view payload, RnnOptions options,
                            std::uint32_t format_version) {
  auto corrupt = [&](const std::string& why) {
    return dataLoss("model.rnn payload is corrupt or truncated (" + std::to_string(payload.size()) +
                    " bytes): " + why);
  };
  ByteReader in(payload);
  const std::uint32_t task = in.u32(), cell = in.u32();
  options.hidden = static_cast<std::int64_t>(in.u64());
  options.layers = static_cast<std::int64_t>(in.u64());
  const std::uint32_t bidirectional = in.u32();
  options.dropout = in.f64();
  const std::uint32_t stateful = in.u32();
  const std::uint64_t dropout_stream = in.u64();
  const auto inputs = static_cast<std::int64_t>(in.u64());
  const auto vocabulary = static_cast<std::int64_t>(in.u64());
  const auto window = static_cast<std::int64_t>(in.u64());
  const auto features = static_cast<std::int64_t>(in.u64());
  const auto outputs = static_cast<std::int64_t>(in.u64());
  constexpr std::int64_t kLimit = std::int64_t{1} << 24;
  auto bad = [&](std::int64_t v) { return v < 0 || v > kLimit; };
  if (!in.ok() || task > 2 || cell > 1 || bidirectional > 1 || stateful > 1 ||
      !(options.dropout >= 0 && options.dropout < 1) || options.hidden <= 0 ||
      options.layers <= 0 || options.layers > 1024 || bad(options.hidden) || inputs <= 0 ||
      bad(inputs) || bad(vocabulary) || bad(window) || bad(features) || outputs <= 0 ||
      bad(outputs)) {
    return corrupt("bad header");
  }
  const auto new_task = static_cast<RnnTask>(task);
  options.cell = static_cast<Cell>(cell);
  options.bidirectional = bidirectional == 1;
  options.stateful = stateful == 1;
  const bool tokens = new_task != RnnTask::kForecast;
  if ((tokens && vocabulary < 1) || (!tokens && (window < 1 || features != inputs)) ||
      (options.bidirectional && new_task != RnnTask::kClassification) ||
      (new_task == RnnTask::kLanguageModel && outputs != vocabulary)) {
    return corrupt("inconsistent task sizes");
  }
  std::vector<std::string> classes, symbols;
  if (!getStrings(in, classes) || !getStrings(in, symbols) ||
      (new_task == RnnTask::kClassification) != !classes.empty() ||
      (new_task == RnnTask::kClassification &&
       static_cast<std::int64_t>(classes.size()) != outputs) ||
      (!symbols.empty() && static_cast<std::int64_t>(symbols.size()) != vocabulary)) {
    return corrupt("class names or vocabulary do not fit the sizes");
  }
  Tensor embedding;
  if (tokens && !getTensor(in, {vocabulary, inputs}, embedding)) {
    return corrupt("embedding");
  }
  const std::int64_t h = options.hidden, g = weightGates(options.cell);
  const std::int64_t d_count = options.bidirectional ? 2 : 1;
  std::vector<Rnn::Direction> rnn;
  for (std::int64_t l = 0; l < options.layers; ++l) {
    for (std::int64_t d = 0; d < d_count; ++d) {
      Rnn::Direction dir;
      if (!getTensor(in, {l == 0 ? inputs : h * d_count, g, h}, dir.weights_layer) ||
          !getTensor(in, {h, g, h}, dir.weights_iter) ||
          !getTensor(in, {biasGates(options.cell), h}, dir.bias)) {
        return corrupt("weights of layer " + std::to_string(l));
      }
      rnn.push_back(std::move(dir));
    }
  }
  Tensor head_weight, head_bias;
  if (!getTensor(in, {h * d_count, outputs}, head_weight) || !getTensor(in, {outputs}, head_bias)) {
    return corrupt("head weights");
  }
  const std::uint32_t precision = format_version >= 2 ? in.u32() : 0;
  if (!in.ok() || precision > 1 || !in.atEnd()) {
    return corrupt("training precision, or bytes left over");
  }
  Saved saved;
  saved.precision =
      precision == 1 ? compute::Precision::kBFloat16 : compute::Precision::kFloat32;
  saved.options = options;
  saved.task = new_task;
  saved.dropout_stream = dropout_stream;
  saved.inputs = inputs;
  saved.vocabulary = vocabulary;
  saved.window = window;
  saved.features = features;
  saved.outputs = outputs;
  saved.classes = std::move(classes);
  saved.symbols = std::move(symbols);
  saved.embedding = std::move(embedding);
  saved.head_weight = std::move(head_weight);
  saved.head_bias = std::move(head_bias);
  saved.rnn = std::move(rnn);
  return saved;
}

}  // namespace

Status Rnn::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.rnn has nothing to save: it is not trained or loaded");
  }
  return guard("model.rnn save", [&] {
    payload.clear();
    ByteWriter out(payload);
    out.u32(static_cast<std::uint32_t>(task_));
    out.u32(static_cast<std::uint32_t>(options_.cell));
    out.u64(static_cast<std::uint64_t>(options_.hidden));
    out.u64(static_cast<std::uint64_t>(options_.layers));
    out.u32(options_.bidirectional ? 1 : 0);
    out.f64(options_.dropout);
    out.u32(options_.stateful ? 1 : 0);
    out.u64(dropout_stream_);
    out.u64(static_cast<std::uint64_t>(inputs_));
    out.u64(static_cast<std::uint64_t>(vocabulary_));
    out.u64(static_cast<std::uint64_t>(window_));
    out.u64(static_cast<std::uint64_t>(features_));
    out.u64(static_cast<std::uint64_t>(outputs_));
    putStrings(out, class_names_);
    putStrings(out, symbols_);
    if (!embedding_.empty()) {
      out.floats(embedding_.span<float>());
    }
    for (const Direction& d : rnn_) {
      out.floats(d.weights_layer.span<float>());
      out.floats(d.weights_iter.span<float>());
      out.floats(d.bias.span<float>());
    }
    out.floats(head_weight_.span<float>());
    out.floats(head_bias_.span<float>());
    out.u32(trained_precision_ == compute::Precision::kBFloat16 ? 1 : 0);
  });
}

Status Rnn::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version < 1 || format_version > kFormatVersion) {
    return invalidArgument("model.rnn payload format " + std::to_string(format_version) +
                           " is unknown (this version reads formats 1 to " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.rnn load", [&]() -> Status {
    auto read = readPayload(payload, options_, format_version);
    if (!read.ok()) {
      return read.status();
    }
    Saved& saved = *read;
    RnnOptions& options = saved.options;
    const RnnTask new_task = saved.task;
    const bool tokens = new_task != RnnTask::kForecast;
    const std::int64_t inputs = saved.inputs, vocabulary = saved.vocabulary;
    const std::int64_t window = saved.window, features = saved.features;
    const std::int64_t outputs = saved.outputs;
    const std::uint64_t dropout_stream = saved.dropout_stream;
    Tensor& embedding = saved.embedding;
    Tensor& head_weight = saved.head_weight;
    Tensor& head_bias = saved.head_bias;
    std::vector<Direction>& rnn = saved.rnn;
    std::vector<std::string>& classes = saved.classes;
    std::vector<std::string>& symbols = saved.symbols;
    // Commit: nothing below fails but for memory.
    const bool same_shape = rnn.size() == rnn_.size() && options.cell == options_.cell;
    passes_.clear();
    carried_.clear();
    carried_rows_ = 0;
    if (tokens) {
      commit(embedding_, d_embedding_, std::move(embedding));
    } else {
      embedding_ = Tensor();
      d_embedding_ = Tensor();
    }
    if (!same_shape) {
      rnn_.assign(rnn.size(), Direction{});
    }
    for (std::size_t i = 0; i < rnn.size(); ++i) {
      commit(rnn_[i].weights_layer, rnn_[i].d_weights_layer, std::move(rnn[i].weights_layer));
      commit(rnn_[i].weights_iter, rnn_[i].d_weights_iter, std::move(rnn[i].weights_iter));
      commit(rnn_[i].bias, rnn_[i].d_bias, std::move(rnn[i].bias));
    }
    commit(head_weight_, d_head_weight_, std::move(head_weight));
    commit(head_bias_, d_head_bias_, std::move(head_bias));
    options.threads = options_.threads;
    options.precision = options_.precision;  // training goes on in the node's precision
    trained_precision_ = saved.precision;
    options.embedding = tokens ? inputs : options_.embedding;
    options_ = options;
    task_ = new_task;
    dropout_stream_ = dropout_stream;
    vocabulary_ = tokens ? vocabulary : 0;
    window_ = window;
    features_ = features;
    outputs_ = outputs;
    class_names_ = std::move(classes);
    symbols_ = std::move(symbols);
    longest_symbol_ = 0;
    for (const auto& s : symbols_) {
      longest_symbol_ = std::max(longest_symbol_, s.size());
    }
    inputs_ = inputs;
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
