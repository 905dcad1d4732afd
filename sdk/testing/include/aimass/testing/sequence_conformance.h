// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The conformance suite of sequence models (Task::kSequence: a language model that takes
/// "tokens" or "text", generates with the request parameters max_tokens / temperature / seed,
/// and gives "text", "tokens" and its "state" to continue from). checkModel()'s synthetic data
/// (4 FP32 features) does not apply to them; this suite trains on a tiny synthetic text instead
/// (a 4-symbol vocabulary "abcd" repeating "abcabd"), so it needs no files:
/// finite-difference gradients, 200 descent steps lowering the loss, outputs per schema,
/// predict() from 4 threads, continuing from a returned "state" (10 greedy tokens at once equal
/// 5, then 5 more from the state), streaming pieces joining into predict()'s answer, errors for
/// bad inputs, and the save/load round trip with refusal of truncated payloads.

#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "aimass/model.h"
#include "aimass/testing/check.h"
#include "aimass/testing/model_conformance.h"

namespace aimass::testing {

namespace sequence_conformance_detail {

constexpr std::int64_t kVocabulary = 4, kSteps = 8, kRows = 3;

inline DatasetSchema textSchema() {
  DatasetSchema schema;
  schema.feature_dtype = DType::kInt64;
  schema.row_shape = {kSteps};
  schema.label_kind = LabelKind::kNextToken;
  schema.cardinalities = {kVocabulary};
  schema.id_names = {{"a", "b", "c", "d"}};
  return schema;
}

/// Rows of "abcabdabcabd..." at offsets 0, 2, 4; labels are the next symbols.
inline Batch textBatch() {
  static constexpr std::int64_t kPattern[] = {0, 1, 2, 0, 1, 3};
  Batch b;
  b.features = Tensor(DType::kInt64, {kRows, kSteps});
  b.labels = Tensor(DType::kInt64, {kRows, kSteps});
  for (std::int64_t r = 0; r < kRows; ++r) {
    for (std::int64_t t = 0; t < kSteps; ++t) {
      b.features.data<std::int64_t>()[r * kSteps + t] = kPattern[(2 * r + t) % 6];
      b.labels.data<std::int64_t>()[r * kSteps + t] = kPattern[(2 * r + t + 1) % 6];
    }
  }
  return b;
}

inline PredictOptions greedy(std::int64_t tokens) {
  PredictOptions o;
  o.parameters = {{"max_tokens", std::to_string(tokens)}, {"temperature", "0"}};
  return o;
}

inline TensorMap prompt() {
  TensorMap in;
  in.set(tensor_names::kText, Tensor::fromStrings({"abca", "b", "cab"}));
  return in;
}

inline std::string outputProblem(const ModelSchema& schema, const TensorMap& out, std::int64_t rows,
                                 std::int64_t tokens) {
  for (const auto& spec : schema.outputs) {
    if (spec.optional) {  // written only by the kind of request that asks for it
      continue;
    }
    const Tensor* t = out.find(spec.name);
    if (t == nullptr || t->dtype() != spec.dtype || t->rank() != spec.shape.size() ||
        t->dim(0) != rows) {
      return "output '" + spec.name + "' is missing or not " + std::string(dtypeName(spec.dtype)) +
             " " + shapeToString(spec.shape) + " with " + std::to_string(rows) + " rows";
    }
  }
  const Tensor* generated = out.find(tensor_names::kTokens);
  const Tensor* text = out.find(tensor_names::kText);
  const Tensor* state = out.find(tensor_names::kState);
  if (generated == nullptr || generated->shape() != Shape{rows, tokens} || text == nullptr ||
      state == nullptr || state->rank() != 2) {
    return "'tokens' must be INT64 [rows, max_tokens], with 'text' and 'state' beside it";
  }
  for (std::int64_t i = 0; i < rows * tokens; ++i) {
    const std::int64_t v = generated->data<std::int64_t>()[i];
    if (v < 0 || v >= kVocabulary) {
      return "a generated token (" + std::to_string(v) + ") is outside the vocabulary";
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    std::string expected;
    for (std::int64_t k = 0; k < tokens; ++k) {
      expected += static_cast<char>('a' + generated->data<std::int64_t>()[r * tokens + k]);
    }
    if (text->strings()[static_cast<std::size_t>(r)] != expected) {
      return "row " + std::to_string(r) + "'s 'text' is not the symbols of its 'tokens'";
    }
  }
  return {};
}

}  // namespace sequence_conformance_detail

/// Runs the sequence suite on `model` (made with its default parameters, untrained).
inline CheckResults checkSequenceModel(Model& model) {
  namespace d = sequence_conformance_detail;
  namespace m = model_conformance_detail;
  namespace tn = tensor_names;
  CheckResults r;
  {
    TensorMap in = d::prompt(), out;
    Status s = model.predict(in, out, d::greedy(3));
    expectThat(r, "predict() before training or loading gives kFailedPrecondition",
               s.code() == StatusCode::kFailedPrecondition, s.toString());
  }
  GradientTraining* gradient = model.gradientTraining();
  expectThat(r, "a sequence model trains through gradients", gradient != nullptr);
  if (gradient == nullptr) {
    return r;
  }
  Status prepared = gradient->prepare(d::textSchema(), 7);
  expectOk(r, "prepare() accepts next-token data", prepared);
  if (!prepared.ok()) {
    return r;
  }
  expectThat(r, "schema() says Task::kSequence", model.schema().task == Task::kSequence);
  const Batch batch = d::textBatch();
  auto parameters = gradient->parameters();
  {
    gradient->resetState();
    auto loss = gradient->forwardBackward(batch, true);
    std::string problem = loss.ok() ? "" : loss.status().toString();
    constexpr float kStep = 1e-2f;
    for (std::size_t p = 0; loss.ok() && p < parameters.size(); ++p) {
      auto values = parameters[p].value.span<float>();
      const std::vector<float> grad(parameters[p].grad.span<float>().begin(),
                                    parameters[p].grad.span<float>().end());
      for (std::size_t i = 0; i < values.size(); i += std::max<std::size_t>(1, values.size() / 3)) {
        const float saved = values[i];
        values[i] = saved + kStep;
        auto up = gradient->evaluateLoss(batch);
        values[i] = saved - kStep;
        auto down = gradient->evaluateLoss(batch);
        values[i] = saved;
        if (!up.ok() || !down.ok()) {
          problem = (up.ok() ? down.status() : up.status()).toString();
          break;
        }
        const double numeric = (*up - *down) / (2.0 * kStep);
        if (std::fabs(numeric - grad[i]) >
            5e-3 + 5e-2 * std::max(std::fabs(numeric), std::fabs(static_cast<double>(grad[i])))) {
          problem += parameters[p].name + "[" + std::to_string(i) + "]: gradient " +
                     std::to_string(grad[i]) + ", finite difference " + std::to_string(numeric) +
                     "; ";
        }
      }
    }
    expectThat(r, "gradients match central finite differences (from a reset state)",
               problem.empty(), problem);
  }
  {
    auto before = gradient->evaluateLoss(batch);
    Status s = before.ok() ? okStatus() : before.status();
    for (int step = 0; s.ok() && step < 200; ++step) {
      gradient->resetState();
      s = m::descend(*gradient, parameters, batch, 0.5, 1);
    }
    auto after = gradient->evaluateLoss(batch);
    expectThat(r, "200 gradient-descent steps lower the loss by at least 10%",
               s.ok() && after.ok() && *after < 0.9 * *before,
               !s.ok() ? s.toString()
                       : "loss " + std::to_string(before.ok() ? *before : 0) + " -> " +
                             std::to_string(after.ok() ? *after : 0));
  }
  const ModelSchema schema = model.schema();
  TensorMap first;
  {
    TensorMap in = d::prompt();
    Status s = model.predict(in, first, d::greedy(10));
    const std::string problem = s.ok() ? d::outputProblem(schema, first, 3, 10) : s.toString();
    expectThat(r, "predict() on a text prompt writes text, tokens [rows, max_tokens] and state",
               problem.empty(), problem);
    if (!s.ok()) {
      return r;
    }
  }
  {
    TensorMap half, rest, in = d::prompt();
    Status s = model.predict(in, half, d::greedy(5));
    if (s.ok()) {
      TensorMap more;
      more.set(tn::kTokens, Tensor::zeros(DType::kInt64, {3, 0}));
      more.set(tn::kState, *half.find(tn::kState));
      s = model.predict(more, rest, d::greedy(5));
    }
    bool same = s.ok();
    for (std::int64_t row = 0; same && row < 3; ++row) {
      for (std::int64_t k = 0; k < 10; ++k) {
        const Tensor& part = *(k < 5 ? half : rest).find(tn::kTokens);
        same = same && part.data<std::int64_t>()[row * 5 + k % 5] ==
                           first.find(tn::kTokens)->data<std::int64_t>()[row * 10 + k];
      }
    }
    expectThat(r, "continuing from the returned state gives what one longer request gives", same,
               s.ok() ? "the continued tokens differ" : s.toString());
  }
  {
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 10 && errors[t].empty(); ++i) {
          TensorMap in = d::prompt(), out;
          Status s = model.predict(in, out, d::greedy(10));
          if (!s.ok() || !m::sameOutputs(out, first)) {
            errors[t] = s.ok() ? "different outputs" : s.toString();
          }
        }
      });
    }
    for (auto& thread : threads) {
      thread.join();
    }
    std::string problem;
    for (const auto& e : errors) {
      problem += e;
    }
    expectThat(r, "predict() from 4 threads at once equals the serial result", problem.empty(),
               problem);
  }
  if (const StreamingPrediction* streaming = model.streaming()) {
    std::vector<std::int64_t> joined;
    int pieces = 0;
    Status s = streaming->predictStream(d::prompt(), d::greedy(10), [&](const TensorMap& piece) {
      const Tensor* t = piece.find(tn::kTokens);
      if (t != nullptr && t->dim(0) == 3) {
        for (std::int64_t k = 0; k < t->dim(1); ++k) {
          joined.push_back(t->data<std::int64_t>()[k]);  // row 0
        }
      }
      ++pieces;
      return true;
    });
    std::vector<std::int64_t> expected(first.find(tn::kTokens)->data<std::int64_t>(),
                                       first.find(tn::kTokens)->data<std::int64_t>() + 10);
    expectThat(r, "predictStream() pieces join into predict()'s tokens",
               s.ok() && joined == expected, s.ok() ? "joined pieces differ" : s.toString());
    int stopped = 0;
    s = streaming->predictStream(d::prompt(), d::greedy(10), [&](const TensorMap&) {
      ++stopped;
      return false;
    });
    expectThat(r, "predictStream() stops when emit returns false", s.ok() && stopped == 1,
               s.toString() + ", " + std::to_string(stopped) + " pieces");
  }
  {
    TensorMap out, none;
    Status missing = model.predict(none, out, d::greedy(3));
    TensorMap bad;
    bad.set(tn::kTokens, Tensor::fromVector<std::int64_t>({0, 9}, {1, 2}));
    Status range = model.predict(bad, out, d::greedy(3));
    TensorMap unknown;
    unknown.set(tn::kText, Tensor::fromStrings({"abz"}));
    Status symbol = model.predict(unknown, out, d::greedy(3));
    TensorMap fine = d::prompt();
    PredictOptions huge = d::greedy(3);
    huge.parameters[0].second = "100000000";
    Status limit = model.predict(fine, out, huge);
    expectThat(r,
               "no inputs, a token outside the vocabulary, an unknown symbol and an unbounded "
               "max_tokens give kInvalidArgument",
               missing.code() == StatusCode::kInvalidArgument &&
                   range.code() == StatusCode::kInvalidArgument &&
                   symbol.code() == StatusCode::kInvalidArgument &&
                   limit.code() == StatusCode::kInvalidArgument,
               missing.toString() + " | " + range.toString() + " | " + symbol.toString() + " | " +
                   limit.toString());
  }
  {
    std::string payload;
    Status saved = model.save(payload);
    expectOk(r, "save() writes a payload", saved);
    if (!saved.ok()) {
      return r;
    }
    gradient->resetState();
    Status changed = m::descend(*gradient, parameters, batch, 0.5, 20);
    Status loaded = model.load(payload, model.formatVersion());
    TensorMap after, in = d::prompt();
    Status predicted = loaded.ok() ? model.predict(in, after, d::greedy(10)) : loaded;
    expectThat(r, "load() of a saved payload restores the saved answers exactly",
               changed.ok() && predicted.ok() && m::sameOutputs(after, first),
               predicted.ok() ? "answers differ" : predicted.toString());
    Status truncated =
        model.load(std::string_view(payload).substr(0, payload.size() / 2), model.formatVersion());
    TensorMap still;
    in = d::prompt();
    Status again = model.predict(in, still, d::greedy(10));
    expectThat(r, "load() refuses a truncated payload and leaves the model as it was",
               !truncated.ok() && again.ok() && m::sameOutputs(still, first), truncated.toString());
  }
  return r;
}

}  // namespace aimass::testing
