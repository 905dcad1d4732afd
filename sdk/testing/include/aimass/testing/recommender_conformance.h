// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The recommender conformance suite: what every Task::kRecommendation model must do.
///
/// checkRecommender() trains the model (through SelfTraining::fit) on a small synthetic
/// interactions dataset built into this header: 40 users ("u0".."u39") rating 12 of 30 items
/// ("i0".."i29") with ratings from a rank-2 model plus biases, features INT64 [rows, 2] with the
/// ids in DatasetSchema::id_names, FP32 ratings as labels. Then it checks pair scores and their
/// "known" flags, top-k shapes and order, the exclusion of seen items, the fallback of unknown
/// users, the candidates filter, refusal of wrong requests, learn() (when the model learns
/// online: a new user's top-k changes right away and bad observations change nothing),
/// thread-safe predict(), the save/load round trip and refusal of corrupt payloads. The model
/// is left trained.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "aimass/model.h"
#include "aimass/tensor_names.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

namespace recommender_conformance_detail {

/// Explicit ratings from a rank-2 model with user and item biases, no noise. Deterministic.
class InteractionsData final : public Dataset {
 public:
  static constexpr int kUsers = 40, kItems = 30, kPerUser = 12;

  InteractionsData() {
    schema_.feature_names = {"user", "item"};
    schema_.feature_dtype = DType::kInt64;
    schema_.row_shape = {2};
    schema_.label_kind = LabelKind::kValue;
    schema_.num_targets = 1;
    schema_.cardinalities = {kUsers, kItems};
    schema_.id_names.resize(2);
    for (int u = 0; u < kUsers; ++u) {
      schema_.id_names[0].push_back("u" + std::to_string(u));
    }
    for (int i = 0; i < kItems; ++i) {
      schema_.id_names[1].push_back("i" + std::to_string(i));
    }
    for (int u = 0; u < kUsers; ++u) {
      for (int j = 0; j < kPerUser; ++j) {
        const int i = (u * 7 + j * 5) % kItems;  // 12 distinct items per user
        users_.push_back(u);
        items_.push_back(i);
        ratings_.push_back(static_cast<float>(rating(u, i)));
      }
    }
  }
  /// The true rating of (u, i): 3 + user bias + item bias + a rank-2 interaction.
  static double rating(int u, int i) {
    const double pu[2] = {std::sin(u * 0.7), std::cos(u * 1.3)};
    const double qi[2] = {std::cos(i * 0.9), std::sin(i * 0.4)};
    return 3.0 + 0.3 * std::sin(u * 2.1) + 0.4 * std::cos(i * 1.7) + pu[0] * qi[0] + pu[1] * qi[1];
  }
  /// Every training row as (user id, item id, rating).
  void rows(std::vector<std::string>& users, std::vector<std::string>& items,
            std::vector<float>& ratings) const {
    for (std::size_t r = 0; r < users_.size(); ++r) {
      users.push_back(schema_.id_names[0][static_cast<std::size_t>(users_[r])]);
      items.push_back(schema_.id_names[1][static_cast<std::size_t>(items_[r])]);
      ratings.push_back(ratings_[r]);
    }
  }
  bool rated(int u, int i) const {
    for (std::size_t r = 0; r < users_.size(); ++r) {
      if (users_[r] == u && items_[r] == i) {
        return true;
      }
    }
    return false;
  }

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return users_.size(); }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    for (auto row : rows) {
      if (row >= size()) {
        return outOfRange("row " + std::to_string(row) + " is out of range");
      }
    }
    return guard("synthetic interactions", [&] {
      const auto n = static_cast<std::int64_t>(rows.size());
      out.features.resize(DType::kInt64, {n, 2});
      out.labels.resize(DType::kFloat32, {n, 1});
      for (std::size_t r = 0; r < rows.size(); ++r) {
        out.features.data<std::int64_t>()[2 * r] = users_[rows[r]];
        out.features.data<std::int64_t>()[2 * r + 1] = items_[rows[r]];
        out.labels.data<float>()[r] = ratings_[rows[r]];
      }
    });
  }

 private:
  DatasetSchema schema_;
  std::vector<std::int64_t> users_, items_;
  std::vector<float> ratings_;
};

class Observer final : public FitObserver {
 public:
  bool onIteration(std::uint64_t, double) override {
    ++iterations;
    return false;
  }
  std::uint64_t iterations = 0;
};

inline Tensor ids(std::vector<std::string> values) {
  return Tensor::fromStrings(std::move(values));
}

inline bool same(const TensorMap& a, const TensorMap& b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (const auto& [name, t] : a) {
    const Tensor* o = b.find(name);
    if (o == nullptr || o->dtype() != t.dtype() || o->shape() != t.shape()) {
      return false;
    }
    if (t.dtype() == DType::kBytes ? o->strings() != t.strings()
                                   : std::memcmp(o->raw(), t.raw(), t.nbytes()) != 0) {
      return false;
    }
  }
  return true;
}

/// Top-k of `users` (and `candidates` when not empty) with k and exclude_seen.
inline Status topK(const Model& model, const std::vector<std::string>& users, std::int64_t k,
                   TensorMap& out, const std::vector<std::string>& candidates = {},
                   bool exclude_seen = true) {
  TensorMap in;
  in.set(tensor_names::kUser, ids(users));
  if (!candidates.empty()) {
    in.set(tensor_names::kCandidates, ids(candidates));
  }
  PredictOptions options;
  options.top_k = k;
  options.exclude_seen = exclude_seen;
  return model.predict(in, out, options);
}

/// Row r of a top-k "items" output.
inline std::vector<std::string> row(const TensorMap& out, std::size_t r) {
  const Tensor* items = out.find(tensor_names::kItems);
  const auto k = static_cast<std::size_t>(items->dim(1));
  return {items->strings().begin() + static_cast<std::ptrdiff_t>(r * k),
          items->strings().begin() + static_cast<std::ptrdiff_t>((r + 1) * k)};
}

}  // namespace recommender_conformance_detail

/// Runs the recommender suite on `model` (made with its default parameters, untrained).
inline CheckResults checkRecommender(Model& model) {
  namespace d = recommender_conformance_detail;
  namespace tn = tensor_names;
  CheckResults r;
  const ModelSchema schema = model.schema();
  expectThat(r, "schema() says Task::kRecommendation", schema.task == Task::kRecommendation);
  auto hasInput = [&](const char* name, bool request_wide) {
    return std::any_of(schema.inputs.begin(), schema.inputs.end(), [&](const TensorSpec& s) {
      return s.name == name && s.dtype == DType::kBytes && s.request_wide == request_wide;
    });
  };
  expectThat(r, "schema() takes 'user' BYTES and request-wide 'candidates' BYTES",
             hasInput(tn::kUser, false) && hasInput(tn::kCandidates, true));
  SelfTraining* self = model.selfTraining();
  expectThat(r, "a recommender trains itself (selfTraining() is not null)", self != nullptr);
  if (self == nullptr) {
    return r;
  }
  d::InteractionsData data;
  d::Observer observer;
  Status fitted = self->fit(data, 7, observer);
  expectOk(r, "fit() on synthetic ratings", fitted);
  if (!fitted.ok()) {
    return r;
  }
  expectThat(r, "fit() reports at least one iteration", observer.iterations > 0);
  expectThat(r, "ready() after fit()", model.ready());

  // Pair scores: known pairs, an unknown user and an unknown item.
  TensorMap pairs_in, pairs;
  pairs_in.set(tn::kUser, d::ids({"u0", "u1", "nobody", "u2"}));
  pairs_in.set(tn::kItem, d::ids({"i0", "i3", "i1", "no-such-item"}));
  Status scored = model.predict(pairs_in, pairs, {});
  const Tensor* score = pairs.find(tn::kScore);
  const Tensor* known = pairs.find(tn::kKnown);
  const bool pair_shapes = scored.ok() && score != nullptr && known != nullptr &&
                           score->dtype() == DType::kFloat32 && score->shape() == Shape{4} &&
                           known->dtype() == DType::kBool && known->shape() == Shape{4};
  expectThat(r, "pair scoring gives 'score' FP32 [n] and 'known' BOOL [n]", pair_shapes,
             scored.toString());
  if (pair_shapes) {
    const bool* k = known->data<bool>();
    bool finite = true;
    for (float v : score->span<float>()) {
      finite = finite && std::isfinite(v);
    }
    expectThat(r, "pair scores are finite; 'known' is false exactly for unknown ids",
               finite && k[0] && k[1] && !k[2] && !k[3]);
  }

  // A model whose feedback takes ratings predicts ratings: its scores of the training pairs
  // must fit them better than their mean does.
  bool predicts_ratings = false;
  if (const OnlineLearning* online = model.onlineLearning()) {
    for (const auto& spec : online->observationInputs()) {
      predicts_ratings = predicts_ratings || spec.name == tn::kRating;
    }
  }
  if (predicts_ratings) {
    std::vector<std::string> users, items;
    std::vector<float> ratings;
    data.rows(users, items, ratings);
    TensorMap in, out;
    in.set(tn::kUser, d::ids(users));
    in.set(tn::kItem, d::ids(items));
    Status s = model.predict(in, out, {});
    double mean = 0, fit = 0, spread = 0;
    for (float v : ratings) {
      mean += v / static_cast<double>(ratings.size());
    }
    for (std::size_t row = 0; s.ok() && row < ratings.size(); ++row) {
      const double e = out.find(tn::kScore)->data<float>()[row] - ratings[row];
      fit += e * e;
      spread += (ratings[row] - mean) * (ratings[row] - mean);
    }
    expectThat(r, "pair scores fit the training ratings better than their mean",
               s.ok() && fit < 0.5 * spread,
               s.toString() + " squared error " + std::to_string(fit) + " against " +
                   std::to_string(spread) + " around the mean");
  }

  // Top-k: known users, one unknown user.
  TensorMap top;
  Status ranked = d::topK(model, {"u0", "u5", "stranger"}, 5, top);
  const Tensor* items = top.find(tn::kItems);
  const Tensor* scores = top.find(tn::kScores);
  const Tensor* fallback = top.find(tn::kFallback);
  const bool top_shapes = ranked.ok() && items != nullptr && scores != nullptr &&
                          fallback != nullptr && items->shape() == Shape{3, 5} &&
                          items->dtype() == DType::kBytes && scores->shape() == Shape{3, 5} &&
                          scores->dtype() == DType::kFloat32 && fallback->shape() == Shape{3} &&
                          fallback->dtype() == DType::kBool;
  expectThat(r, "top-k gives 'items' BYTES [n, k], 'scores' FP32 [n, k], 'fallback' BOOL [n]",
             top_shapes, ranked.toString());
  if (top_shapes) {
    bool ordered = true;
    for (std::size_t row = 0; row < 3; ++row) {
      for (std::size_t c = 1; c < 5; ++c) {
        ordered =
            ordered && scores->data<float>()[row * 5 + c - 1] >= scores->data<float>()[row * 5 + c];
      }
    }
    expectThat(r, "top-k scores are best first", ordered);
    const bool* f = fallback->data<bool>();
    expectThat(r, "an unknown user gets the fallback (never an error)",
               !f[0] && !f[1] && f[2] && !d::row(top, 2)[0].empty());
    bool unseen = true;
    for (std::size_t row = 0; row < 2; ++row) {
      const int u = row == 0 ? 0 : 5;
      for (const auto& item : d::row(top, row)) {
        unseen = unseen && !item.empty() && !data.rated(u, std::stoi(item.substr(1)));
      }
    }
    expectThat(r, "top-k leaves out the items a user rated in training", unseen);
  }
  {
    TensorMap all;
    Status s = d::topK(model, {"u0"}, d::InteractionsData::kItems, all, {}, false);
    bool every = s.ok();
    if (every) {
      auto got = d::row(all, 0);
      every = std::set<std::string>(got.begin(), got.end()).size() == d::InteractionsData::kItems &&
              std::find(got.begin(), got.end(), "") == got.end();
    }
    expectThat(r, "top-k with exclude_seen false ranks every item", every, s.toString());
  }
  {
    TensorMap filtered;
    const std::vector<std::string> pool = {"i1", "i2", "i4", "not-an-item"};
    Status s = d::topK(model, {"u3", "stranger"}, 6, filtered, pool, false);
    bool inside = s.ok();
    if (inside) {
      for (std::size_t row = 0; row < 2; ++row) {
        auto got = d::row(filtered, row);
        for (std::size_t c = 0; c < got.size(); ++c) {
          const bool in_pool = std::find(pool.begin(), pool.end(), got[c]) != pool.end();
          inside = inside && (c < 3 ? in_pool && got[c] != "not-an-item" : got[c].empty());
        }
      }
    }
    expectThat(r, "'candidates' restricts top-k to the known candidates; the rest is padded",
               inside, s.toString());
  }

  // Wrong requests.
  {
    TensorMap out;
    PredictOptions options;
    options.top_k = 3;
    Status with_item = model.predict(pairs_in, out, options);
    options.top_k = -1;
    Status negative = model.predict(pairs_in, out, options);
    TensorMap odd = pairs_in;
    odd.set("bogus", d::ids({"x"}));
    Status unknown = model.predict(odd, out, {});
    TensorMap numbers;
    numbers.set(tn::kUser, Tensor::zeros(DType::kInt64, {2}));
    numbers.set(tn::kItem, Tensor::zeros(DType::kInt64, {2}));
    Status dtype = model.predict(numbers, out, {});
    auto invalid = [](const Status& s) { return s.code() == StatusCode::kInvalidArgument; };
    expectThat(r,
               "'item' with top_k > 0, negative top_k, unknown inputs and INT64 ids give "
               "kInvalidArgument",
               invalid(with_item) && invalid(negative) && invalid(unknown) && invalid(dtype),
               with_item.toString() + "; " + negative.toString() + "; " + unknown.toString() +
                   "; " + dtype.toString());
  }

  // Online learning: a new user's top-k changes at once; bad observations change nothing.
  if (OnlineLearning* online = model.onlineLearning()) {
    bool rated = false;
    for (const auto& spec : online->observationInputs()) {
      rated = rated || spec.name == tn::kRating;
    }
    auto observe = [&](std::vector<std::string> users, std::vector<std::string> items) {
      TensorMap obs;
      const std::size_t n = users.size();
      obs.set(tn::kUser, d::ids(std::move(users)));
      obs.set(tn::kItem, d::ids(std::move(items)));
      if (rated) {
        obs.set(tn::kRating, Tensor::fromVector<float>(std::vector<float>(n, 5.0f),
                                                       {static_cast<std::int64_t>(n)}));
      }
      return online->learn(obs);
    };
    TensorMap before, after;
    Status b = d::topK(model, {"newcomer"}, 5, before);
    Status bad = observe({"newcomer", "newcomer"}, {"i1", "no-such-item"});
    TensorMap unchanged;
    Status u = d::topK(model, {"newcomer"}, 5, unchanged);
    expectThat(r, "learn() refuses a bad row and learns nothing of the batch",
               bad.code() == StatusCode::kInvalidArgument && u.ok() && d::same(before, unchanged),
               bad.toString());
    Status learned = observe({"newcomer", "newcomer", "newcomer"}, {"i1", "i2", "i3"});
    Status a = d::topK(model, {"newcomer"}, 5, after);
    bool changed = b.ok() && learned.ok() && a.ok() && !after.find(tn::kFallback)->data<bool>()[0];
    if (changed) {
      auto got = d::row(after, 0);
      for (const char* seen : {"i1", "i2", "i3"}) {
        changed = changed && std::find(got.begin(), got.end(), seen) == got.end();
      }
    }
    expectThat(r, "learn() folds a new user in: no fallback, their items excluded from top-k",
               changed, learned.toString());
  }

  // Concurrent predict.
  TensorMap reference;
  Status ref = d::topK(model, {"u0", "u7", "newcomer", "stranger"}, 4, reference);
  {
    std::vector<std::string> errors(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25 && errors[t].empty(); ++i) {
          TensorMap out;
          Status s = d::topK(model, {"u0", "u7", "newcomer", "stranger"}, 4, out);
          if (!s.ok() || !d::same(out, reference)) {
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
    expectThat(r, "predict() from 4 threads at once equals the serial result",
               ref.ok() && problem.empty(), ref.toString() + problem);
  }

  // Save, retrain, load: the same answers; corrupt payloads are refused.
  {
    TensorMap saved_pairs;
    Status paired = model.predict(pairs_in, saved_pairs, {});
    std::string payload;
    Status saved = model.save(payload);
    expectOk(r, "save() writes a payload", saved);
    if (!saved.ok()) {
      return r;
    }
    d::Observer again;
    Status refit = self->fit(data, 99, again);
    Status loaded = model.load(payload, model.formatVersion());
    TensorMap round, round_pairs;
    Status p1 = d::topK(model, {"u0", "u7", "newcomer", "stranger"}, 4, round);
    Status p2 = model.predict(pairs_in, round_pairs, {});
    expectThat(r, "load() of a saved payload gives identical answers (learned users included)",
               paired.ok() && refit.ok() && loaded.ok() && p1.ok() && p2.ok() &&
                   d::same(round, reference) && d::same(round_pairs, saved_pairs),
               refit.toString() + "; " + loaded.toString());
    std::string problem;
    for (std::size_t keep : {std::size_t{0}, payload.size() / 3, payload.size() - 1}) {
      if (model.load(std::string_view(payload).substr(0, keep), model.formatVersion()).ok()) {
        problem += "accepted " + std::to_string(keep) + " of " + std::to_string(payload.size()) +
                   " bytes; ";
      }
    }
    std::string garbage = payload;
    for (std::size_t at = 0; at < garbage.size() && at < 64; ++at) {
      garbage[at] = static_cast<char>(0xff);
    }
    if (model.load(garbage, model.formatVersion()).ok()) {
      problem += "accepted a payload whose first 64 bytes are 0xff; ";
    }
    TensorMap still;
    if (!d::topK(model, {"u0", "u7", "newcomer", "stranger"}, 4, still).ok() ||
        !d::same(still, reference)) {
      problem += "the model changed after refusing a payload";
    }
    expectThat(r, "load() refuses corrupt payloads and leaves the model as it was", problem.empty(),
               problem);
    Status future = model.load(payload, model.formatVersion() + 1000);
    expectThat(r, "load() refuses a format version it never wrote with kInvalidArgument",
               future.code() == StatusCode::kInvalidArgument, future.toString());
  }
  return r;
}

}  // namespace aimass::testing
