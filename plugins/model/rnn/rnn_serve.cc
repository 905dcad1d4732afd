// SPDX-License-Identifier: Apache-2.0
// model.rnn: schema, inputs of requests, classification and forecasting answers.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "aimass/util/utf8.h"
#include "rnn.h"
#include "rnn_pass.h"

namespace aimass::plugins::model {

namespace {

std::string described(const Tensor& t) {
  return std::string(dtypeName(t.dtype())) + " " + shapeToString(t.shape());
}

/// A byte as text for an error message: itself when printable, else \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// p = softmax(z) over n values, in double.
void softmaxRow(const float* z, float* p, std::int64_t n) {
  const float top = *std::max_element(z, z + n);
  double sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    sum += std::exp(static_cast<double>(z[i] - top));
  }
  for (std::int64_t i = 0; i < n; ++i) {
    p[i] = static_cast<float>(std::exp(static_cast<double>(z[i] - top)) / sum);
  }
}

}  // namespace

ModelSchema Rnn::schema() const {
  ModelSchema schema;
  const auto o = ready() ? outputs_ : -1;
  if (task_ == RnnTask::kForecast) {
    schema.task = Task::kRegression;
    schema.inputs.push_back(TensorSpec{tensor_names::kInput,
                                       DType::kFloat32,
                                       {-1, ready() ? window_ : -1, ready() ? features_ : -1},
                                       false,
                                       false});
    schema.outputs.push_back(
        TensorSpec{tensor_names::kPrediction, DType::kFloat32, {-1, o}, false, false});
    return schema;
  }
  schema.inputs.push_back(TensorSpec{tensor_names::kTokens, DType::kInt64, {-1, -1}, true, false});
  schema.inputs.push_back(TensorSpec{tensor_names::kLengths, DType::kInt64, {-1}, true, false});
  schema.inputs.push_back(TensorSpec{tensor_names::kText, DType::kBytes, {-1}, true, false});
  if (task_ == RnnTask::kClassification) {
    schema.task = Task::kClassification;
    schema.outputs.push_back(
        TensorSpec{tensor_names::kProbabilities, DType::kFloat32, {-1, o}, false, false});
    schema.outputs.push_back(TensorSpec{tensor_names::kLabel, DType::kInt64, {-1}, false, false});
    schema.outputs.push_back(TensorSpec{tensor_names::kClass, DType::kBytes, {-1}, false, false});
    schema.class_names = class_names_;
    return schema;
  }
  schema.task = Task::kSequence;
  const std::int64_t state = ready() ? stateSize() : -1;
  schema.inputs.push_back(
      TensorSpec{tensor_names::kState, DType::kFloat32, {-1, state}, true, false});
  schema.outputs.push_back(TensorSpec{tensor_names::kText, DType::kBytes, {-1}, false, false});
  schema.outputs.push_back(
      TensorSpec{tensor_names::kTokens, DType::kInt64, {-1, -1}, false, false});
  schema.outputs.push_back(
      TensorSpec{tensor_names::kState, DType::kFloat32, {-1, state}, false, false});
  // Only for the request parameter score=true: the next-token distribution at every position.
  schema.outputs.push_back(
      TensorSpec{tensor_names::kProbabilities, DType::kFloat32, {-1, -1, o}, true, false});
  schema.class_names = symbols_;  // the vocabulary, by which evaluators map their token ids
  return schema;
}

Expected<std::vector<std::int64_t>> Rnn::encode(std::string_view text, std::size_t row) const {
  if (symbols_.empty()) {
    return invalidArgument(
        "model.rnn has no vocabulary text (its data gave no symbols): send 'tokens' instead of "
        "'text'");
  }
  std::vector<std::int64_t> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // Longest symbol first: a character vocabulary holds whole UTF-8 characters, a byte
    // vocabulary single bytes.
    std::int64_t found = -1;
    std::size_t found_length = 0;
    for (std::size_t i = 0; i < symbols_.size(); ++i) {
      const std::string& s = symbols_[i];
      if (s.size() > found_length && text.substr(pos, s.size()) == s) {
        found = static_cast<std::int64_t>(i);
        found_length = s.size();
        if (found_length == longest_symbol_) {
          break;
        }
      }
    }
    if (found < 0) {
      std::size_t length = utf8SequenceLength(text.substr(pos));
      length = length == 0 ? 1 : length;
      return invalidArgument("model.rnn: text of row " + std::to_string(row) + " has '" +
                             printable(text.substr(pos, length)) + "' at byte " +
                             std::to_string(pos) + ", which is not in the model's vocabulary");
    }
    out.push_back(found);
    pos += found_length;
  }
  return out;
}

Status Rnn::encodeRows(const Tensor& text, Tensor& tokens,
                       std::vector<std::int64_t>& lengths) const {
  const bool lm = task_ == RnnTask::kLanguageModel;
  std::vector<std::vector<std::int64_t>> rows;
  std::size_t longest = 0;
  for (std::size_t r = 0; r < text.strings().size(); ++r) {
    auto encoded = encode(text.strings()[r], r);
    if (!encoded.ok()) {
      return encoded.status();
    }
    if (encoded->empty() && !lm) {
      return invalidArgument("model.rnn: text of row " + std::to_string(r) + " is empty");
    }
    longest = std::max(longest, encoded->size());
    rows.push_back(std::move(encoded).value());
  }
  const auto n = static_cast<std::int64_t>(rows.size());
  tokens = Tensor::zeros(DType::kInt64, {n, static_cast<std::int64_t>(longest)});
  lengths.clear();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::copy(rows[r].begin(), rows[r].end(), tokens.data<std::int64_t>() + r * longest);
    lengths.push_back(static_cast<std::int64_t>(rows[r].size()));
  }
  return okStatus();
}

Status Rnn::readTokens(const TensorMap& inputs, bool allow_state, Tensor& tokens,
                       std::vector<std::int64_t>& lengths, const Tensor** state) const {
  const Tensor *text = nullptr, *given = nullptr, *given_lengths = nullptr;
  *state = nullptr;
  for (const auto& [name, tensor] : inputs) {
    if (name == tensor_names::kText) {
      text = &tensor;
    } else if (name == tensor_names::kTokens) {
      given = &tensor;
    } else if (name == tensor_names::kLengths) {
      given_lengths = &tensor;
    } else if (name == tensor_names::kState && allow_state) {
      *state = &tensor;
    } else {
      return invalidArgument("unknown input '" + name +
                             "': model.rnn takes 'text' or 'tokens' "
                             "(with optional 'lengths')" +
                             std::string(allow_state ? " and an optional 'state'" : ""));
    }
  }
  if ((text == nullptr) == (given == nullptr)) {
    return invalidArgument(
        "model.rnn needs exactly one of the inputs 'text' (BYTES [-1]) and "
        "'tokens' (INT64 [-1, -1])");
  }
  const bool lm = task_ == RnnTask::kLanguageModel;
  if (text != nullptr) {
    if (text->dtype() != DType::kBytes || text->rank() != 1 || text->dim(0) <= 0 ||
        given_lengths != nullptr) {
      return invalidArgument("input 'text' must be BYTES [N>0] (without 'lengths'), got " +
                             described(*text));
    }
    AIMASS_RETURN_IF_ERROR(encodeRows(*text, tokens, lengths));
  } else {
    if (given->dtype() != DType::kInt64 || given->rank() != 2 || given->dim(0) <= 0 ||
        (!lm && given->dim(1) <= 0)) {
      return invalidArgument("input 'tokens' must be INT64 [N>0, T], got " + described(*given));
    }
    tokens = *given;
    const std::int64_t n = given->dim(0), steps = given->dim(1);
    if (given_lengths != nullptr &&
        (given_lengths->dtype() != DType::kInt64 || given_lengths->shape() != Shape{n})) {
      return invalidArgument("input 'lengths' must be INT64 [" + std::to_string(n) + "], got " +
                             described(*given_lengths));
    }
    lengths.assign(static_cast<std::size_t>(n), steps);
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t length =
          given_lengths != nullptr ? given_lengths->data<std::int64_t>()[r] : steps;
      if (length < (lm ? 0 : 1) || length > steps) {
        return invalidArgument("input 'lengths' row " + std::to_string(r) + " is " +
                               std::to_string(length) + ", outside [" + (lm ? "0" : "1") + ", " +
                               std::to_string(steps) + "]");
      }
      lengths[static_cast<std::size_t>(r)] = length;
      for (std::int64_t t = 0; t < length; ++t) {
        const std::int64_t token = given->data<std::int64_t>()[r * steps + t];
        if (token < 0 || token >= vocabulary_) {
          return invalidArgument("input 'tokens' row " + std::to_string(r) + ", step " +
                                 std::to_string(t) + " holds " + std::to_string(token) +
                                 ", outside the vocabulary [0, " + std::to_string(vocabulary_) +
                                 ")");
        }
      }
    }
  }
  const std::int64_t n = tokens.dim(0);
  if (*state != nullptr &&
      ((*state)->dtype() != DType::kFloat32 || (*state)->shape() != Shape{n, stateSize()})) {
    return invalidArgument("input 'state' must be FP32 [" + std::to_string(n) + ", " +
                           std::to_string(stateSize()) + "], got " + described(**state));
  }
  return okStatus();
}

Expected<bool> servingInBf16(const PredictOptions& options) {
  const std::string* value = options.parameter("precision");
  if (value == nullptr) {
    return false;
  }
  auto precision = compute::trainingPrecision(*value);
  if (!precision.ok()) {
    return invalidArgument("model.rnn: parameter 'precision': " + precision.status().message());
  }
  return *precision == compute::Precision::kBFloat16;
}

Status Rnn::predict(const TensorMap& inputs, TensorMap& outputs,
                    const PredictOptions& options) const {
  if (!ready()) {
    return failedPrecondition("model.rnn is not trained or loaded yet");
  }
  AIMASS_ASSIGN_OR_RETURN(const bool bf16, servingInBf16(options));
  if (task_ == RnnTask::kLanguageModel) {
    const std::string* scoring = options.parameter("score");
    if (scoring != nullptr && *scoring != "true" && *scoring != "false") {
      return invalidArgument("parameter 'score' must be true or false, got '" + *scoring + "'");
    }
    return scoring != nullptr && *scoring == "true" ? score(inputs, outputs, bf16)
                                                    : generate(inputs, options, &outputs, nullptr);
  }
  return predictFixed(inputs, outputs, bf16);
}

Status Rnn::predictStream(const TensorMap& inputs, const PredictOptions& options,
                          const Emit& emit) const {
  if (!ready()) {
    return failedPrecondition("model.rnn is not trained or loaded yet");
  }
  if (task_ != RnnTask::kLanguageModel) {
    return failedPrecondition("model.rnn streams only a language model's generated text");
  }
  return generate(inputs, options, nullptr, &emit);
}

Status Rnn::predictFixed(const TensorMap& inputs, TensorMap& outputs, bool bf16) const {
  return guard("model.rnn predict", [&]() -> Status {
    Batch batch;
    if (task_ == RnnTask::kForecast) {
      const Tensor* input = nullptr;
      for (const auto& [name, tensor] : inputs) {
        if (name != tensor_names::kInput) {
          return invalidArgument("unknown input '" + name +
                                 "': model.rnn (forecasting) takes one input 'input'");
        }
        input = &tensor;
      }
      const std::string expected =
          "FP32 [N>0, " + std::to_string(window_) + ", " + std::to_string(features_) + "]";
      if (input == nullptr) {
        return invalidArgument("missing input 'input' " + expected);
      }
      if (input->dtype() != DType::kFloat32 || input->rank() != 3 || input->dim(0) <= 0 ||
          input->dim(1) != window_ || input->dim(2) != features_ ||
          input->device() != Device::kCpu) {
        return invalidArgument("input 'input' must be " + expected + ", got " + described(*input));
      }
      batch.features = *input;
    } else {
      std::vector<std::int64_t> lengths;
      const Tensor* state = nullptr;
      AIMASS_RETURN_IF_ERROR(readTokens(inputs, false, batch.features, lengths, &state));
      batch.lengths = Tensor::fromVector(lengths, {static_cast<std::int64_t>(lengths.size())});
    }
    const std::int64_t rows = batch.features.dim(0), steps = batch.features.dim(1);
    auto pass = RnnPass::make(*this, steps, rows, false, 1, bf16);
    if (!pass.ok()) {
      return pass.status();
    }
    auto ran = run(**pass, batch, false, false, nullptr, nullptr);
    if (!ran.ok()) {
      return ran.status();
    }
    const Tensor& logits = (*pass)->logits;
    if (task_ == RnnTask::kForecast) {
      outputs.set(tensor_names::kPrediction, logits.clone());
      return okStatus();
    }
    Tensor probabilities(DType::kFloat32, {rows, outputs_});
    Tensor label(DType::kInt64, {rows});
    std::vector<std::string> names;
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* z = logits.data<float>() + r * outputs_;
      float* p = probabilities.data<float>() + r * outputs_;
      softmaxRow(z, p, outputs_);
      const std::int64_t best = std::max_element(p, p + outputs_) - p;
      label.data<std::int64_t>()[r] = best;
      names.push_back(class_names_[static_cast<std::size_t>(best)]);
    }
    outputs.set(tensor_names::kProbabilities, std::move(probabilities));
    outputs.set(tensor_names::kLabel, std::move(label));
    outputs.set(tensor_names::kClass, Tensor::fromStrings(std::move(names)));
    return okStatus();
  });
}

Status Rnn::score(const TensorMap& inputs, TensorMap& outputs, bool bf16) const {
  Batch batch;
  std::vector<std::int64_t> lengths;
  const Tensor* state = nullptr;
  AIMASS_RETURN_IF_ERROR(readTokens(inputs, true, batch.features, lengths, &state));
  const std::int64_t rows = batch.features.dim(0), steps = batch.features.dim(1);
  if (steps == 0) {
    return invalidArgument("scoring needs at least one token per request");
  }
  return guard("model.rnn score", [&]() -> Status {
    for (std::int64_t& length : lengths) {
      length = std::max<std::int64_t>(length, 1);  // an empty row scores its padding
    }
    batch.lengths = Tensor::fromVector(lengths, {rows});
    std::vector<Tensor> initial;
    if (state != nullptr) {
      const std::int64_t h = options_.hidden, per = options_.cell == Cell::kLstm ? 2 : 1;
      for (std::int64_t i = 0; i < options_.layers * per; ++i) {
        Tensor part(DType::kFloat32, {rows, h});
        for (std::int64_t r = 0; r < rows; ++r) {
          std::memcpy(part.data<float>() + r * h, state->data<float>() + r * stateSize() + i * h,
                      sizeof(float) * h);
        }
        initial.push_back(std::move(part));
      }
    }
    auto pass = RnnPass::make(*this, steps, rows, false, 1, bf16);
    if (!pass.ok()) {
      return pass.status();
    }
    auto ran = run(**pass, batch, false, false, state != nullptr ? &initial : nullptr, nullptr);
    if (!ran.ok()) {
      return ran.status();
    }
    // Time-major logits -> row-major probabilities.
    Tensor probabilities(DType::kFloat32, {rows, steps, outputs_});
    const float* logits = (*pass)->logits.data<float>();
    for (std::int64_t t = 0; t < steps; ++t) {
      for (std::int64_t r = 0; r < rows; ++r) {
        const float* z = logits + (t * rows + r) * outputs_;
        float* p = probabilities.data<float>() + (r * steps + t) * outputs_;
        softmaxRow(z, p, outputs_);
      }
    }
    outputs.set(tensor_names::kProbabilities, std::move(probabilities));
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
