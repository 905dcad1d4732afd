// SPDX-License-Identifier: Apache-2.0
#include "mf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/recommender_conformance.h"
#include "aimass/testing/registration.h"
#include "mf_state.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::model {
namespace {

using ::testing::HasSubstr;

/// Interactions in memory: (user, item, rating) rows with text ids.
class TableInteractions final : public Dataset {
 public:
  TableInteractions(std::vector<std::string> users, std::vector<std::string> items,
                    std::vector<std::int64_t> pairs, std::vector<float> ratings)
      : pairs_(std::move(pairs)), ratings_(std::move(ratings)) {
    schema_.feature_names = {"user", "item"};
    schema_.feature_dtype = DType::kInt64;
    schema_.row_shape = {2};
    schema_.label_kind = ratings_.empty() ? LabelKind::kNone : LabelKind::kValue;
    schema_.num_targets = ratings_.empty() ? 0 : 1;
    schema_.cardinalities = {static_cast<std::int64_t>(users.size()),
                             static_cast<std::int64_t>(items.size())};
    schema_.id_names = {std::move(users), std::move(items)};
  }
  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return pairs_.size() / 2; }
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override {
    const auto n = static_cast<std::int64_t>(rows.size());
    out.features.resize(DType::kInt64, {n, 2});
    if (!ratings_.empty()) {
      out.labels.resize(DType::kFloat32, {n, 1});
    } else {
      out.labels = Tensor();
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
      if (rows[r] >= size()) {
        return outOfRange("row");
      }
      out.features.data<std::int64_t>()[2 * r] = pairs_[2 * rows[r]];
      out.features.data<std::int64_t>()[2 * r + 1] = pairs_[2 * rows[r] + 1];
      if (!ratings_.empty()) {
        out.labels.data<float>()[r] = ratings_[rows[r]];
      }
    }
    return okStatus();
  }

 private:
  DatasetSchema schema_;
  std::vector<std::int64_t> pairs_;
  std::vector<float> ratings_;
};

class CountingObserver final : public FitObserver {
 public:
  bool onIteration(std::uint64_t, double loss) override {
    losses.push_back(loss);
    return false;
  }
  std::vector<double> losses;
};

Tensor ids(std::vector<std::string> v) { return Tensor::fromStrings(std::move(v)); }

/// A hand-made explicit model of rank 2: items a = (1, 0), b = (0, 1), c = (1, 1) with biases
/// 0, 0, -1; user "alice" p = (2, 0), b_u = 0.5, who rated a; mu = 3; l2 0.5 for both.
MfState handState(MfFeedback feedback = MfFeedback::kExplicit) {
  MfState s;
  s.feedback = feedback;
  s.solver = MfSolver::kAls;
  s.rank = 2;
  s.l2_factors = 0.5;
  s.l2_biases = 0.5;
  s.alpha = 1;
  s.mu = feedback == MfFeedback::kExplicit ? 3.0f : 0.0f;
  s.user_ids = {"alice"};
  s.item_ids = {"a", "b", "c"};
  s.user_table = {2, 0, 0.5f};
  s.item_table = {1, 0, 0, 0, 1, 0, 1, 1, -1};
  s.history = {{MfInteraction{0, 4}}};
  EXPECT_TRUE(s.derive().ok());
  return s;
}

std::unique_ptr<MatrixFactorization> loaded(const MfState& state, MfOptions options = {}) {
  std::string payload;
  state.save(payload);
  auto model = std::make_unique<MatrixFactorization>(options);
  Status s = model->load(payload, MatrixFactorization::kFormatVersion);
  EXPECT_TRUE(s.ok()) << s.toString();
  return model;
}

TEST(MfStateTest, ExplicitFoldInSolvesTheRidgeSystemByHand) {
  // Items a = (1, 0), b = (0, 1) with zero biases, mu 0; ratings a: 3, b: 1; n = 2 so the
  // weights are 0.5 * 2 = 1. Normal equations in (p1, p2, b_u):
  // [[2,0,1],[0,2,1],[1,1,3]] x = (3, 1, 4)  =>  b_u = 1, p = (1, 0).
  MfState s = handState();
  s.mu = 0;
  s.item_table = {1, 0, 0, 0, 1, 0, 1, 1, -1};
  s.history = {{MfInteraction{0, 3}, MfInteraction{1, 1}}};
  s.foldIn(0);
  EXPECT_NEAR(s.user_table[0], 1.0, 1e-6);
  EXPECT_NEAR(s.user_table[1], 0.0, 1e-6);
  EXPECT_NEAR(s.user_table[2], 1.0, 1e-6);
}

TEST(MfStateTest, ImplicitFoldInIsTheHkvUserStep) {
  // Rank 1, items y = 1 and 2: Y^T Y = 5. The user has item 0 twice (r = 2, c = 1 + 1 * 2 = 3),
  // lambda 1: x = c y / (Y^T Y + (c - 1) y^2 + lambda) = 3 / (5 + 2 + 1) = 3/8.
  MfState s;
  s.feedback = MfFeedback::kImplicit;
  s.rank = 1;
  s.l2_factors = 1;
  s.alpha = 1;
  s.user_ids = {"u"};
  s.item_ids = {"x", "y"};
  s.user_table = {0, 0};
  s.item_table = {1, 0, 2, 0};
  s.history = {{MfInteraction{0, 1}, MfInteraction{0, 1}}};
  ASSERT_TRUE(s.derive().ok());
  EXPECT_EQ(s.gram, (std::vector<double>{5}));
  s.foldIn(0);
  EXPECT_NEAR(s.user_table[0], 3.0 / 8, 1e-7);
  EXPECT_EQ(s.user_table[1], 0.0f);
}

TEST(MatrixFactorizationTest, ScoresPairsAndFallsBackForUnknownIds) {
  auto model = loaded(handState());
  TensorMap in, out;
  in.set("user", ids({"alice", "alice", "bob", "alice", "bob"}));
  in.set("item", ids({"b", "c", "c", "zzz", "zzz"}));
  ASSERT_TRUE(model->predict(in, out, {}).ok());
  const float* score = out.find("score")->data<float>();
  const bool* known = out.find("known")->data<bool>();
  EXPECT_FLOAT_EQ(score[0], 3 + 0.5f + 0 + 0);  // p.q_b = 0
  EXPECT_FLOAT_EQ(score[1], 3 + 0.5f - 1 + 2);  // p.q_c = 2
  EXPECT_FLOAT_EQ(score[2], 3 - 1);             // unknown user: mu + b_c
  EXPECT_FLOAT_EQ(score[3], 3 + 0.5f);          // unknown item: mu + b_u
  EXPECT_FLOAT_EQ(score[4], 3);                 // both unknown: mu
  EXPECT_TRUE(known[0] && known[1]);
  EXPECT_FALSE(known[2] || known[3] || known[4]);
}

TEST(MatrixFactorizationTest, TopKIsBestFirstExcludesSeenAndPads) {
  auto model = loaded(handState());
  TensorMap in, out;
  in.set("user", ids({"alice", "bob"}));
  PredictOptions options;
  options.top_k = 3;
  ASSERT_TRUE(model->predict(in, out, options).ok());
  const Tensor* items = out.find("items");
  ASSERT_EQ(items->shape(), (Shape{2, 3}));
  // alice: c = 3 + 0.5 - 1 + 2 = 4.5, b = 3.5; a is seen; one pad.
  EXPECT_EQ(items->strings(), (std::vector<std::string>{"c", "b", "", "a", "b", "c"}));
  const float* scores = out.find("scores")->data<float>();
  EXPECT_FLOAT_EQ(scores[0], 4.5f);
  EXPECT_FLOAT_EQ(scores[1], 3.5f);
  EXPECT_FLOAT_EQ(scores[2], 0.0f);
  // bob is unknown: popular items (a has 1 of 1 users, b and c none: ties by index).
  EXPECT_FLOAT_EQ(scores[3], 1.0f);
  EXPECT_FALSE(out.find("fallback")->data<bool>()[0]);
  EXPECT_TRUE(out.find("fallback")->data<bool>()[1]);

  options.exclude_seen = false;
  ASSERT_TRUE(model->predict(in, out, options).ok());
  // a = 3 + 0.5 + 0 + 2 = 5.5 now ranks first.
  EXPECT_EQ(out.find("items")->strings()[0], "a");

  TensorMap filtered;
  in.set("candidates", ids({"b", "unknown-item", "b", "a"}));
  options.exclude_seen = true;
  ASSERT_TRUE(model->predict(in, filtered, options).ok());
  EXPECT_EQ(filtered.find("items")->strings(),
            (std::vector<std::string>{"b", "", "", "a", "b", ""}));
}

TEST(MatrixFactorizationTest, RefusesWrongRequests) {
  auto model = loaded(handState());
  auto code = [&](TensorMap in, std::int64_t k) {
    TensorMap out;
    PredictOptions options;
    options.top_k = k;
    Status s = model->predict(in, out, options);
    return s.code();
  };
  TensorMap pair;
  pair.set("user", ids({"alice"}));
  pair.set("item", ids({"a"}));
  EXPECT_EQ(code(pair, 2), StatusCode::kInvalidArgument) << "item with top_k";
  TensorMap user_only;
  user_only.set("user", ids({"alice"}));
  EXPECT_EQ(code(user_only, 0), StatusCode::kInvalidArgument) << "pairs without item";
  EXPECT_EQ(code(user_only, MatrixFactorization::kMaxTopK + 1), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(user_only, MatrixFactorization::kMaxTopK), StatusCode::kOk);
  TensorMap ragged = pair;
  ragged.set("item", ids({"a", "b"}));
  EXPECT_EQ(code(ragged, 0), StatusCode::kInvalidArgument);
  TensorMap numeric;
  numeric.set("user", Tensor::zeros(DType::kInt64, {1}));
  EXPECT_EQ(code(numeric, 1), StatusCode::kInvalidArgument);
  MatrixFactorization untrained(MfOptions{});
  TensorMap out;
  EXPECT_EQ(untrained.predict(pair, out, {}).code(), StatusCode::kFailedPrecondition);
}

TEST(MatrixFactorizationTest, LearnFoldsInANewUserAtOnce) {
  // Like the hand-solved fold-in: carol rates a = 3 + mu and b = 1 + mu with mu = 3 and zero
  // item biases, so she gets p = (1, 0), b_u = 1.
  MfState s = handState();
  s.item_table = {1, 0, 0, 0, 1, 0, 1, 1, -1};
  auto model = loaded(s);
  TensorMap obs;
  obs.set("user", ids({"carol", "carol"}));
  obs.set("item", ids({"a", "b"}));
  obs.set("rating", Tensor::fromVector<float>({6, 4}, {2}));
  ASSERT_TRUE(model->onlineLearning()->learn(obs).ok());
  TensorMap in, out;
  in.set("user", ids({"carol"}));
  in.set("item", ids({"c"}));
  ASSERT_TRUE(model->predict(in, out, {}).ok());
  EXPECT_NEAR(out.find("score")->data<float>()[0], 3 + 1 - 1 + 1, 1e-5);
  EXPECT_TRUE(out.find("known")->data<bool>()[0]);
  PredictOptions top;
  top.top_k = 2;
  TensorMap ranked;
  in = TensorMap();
  in.set("user", ids({"carol"}));
  ASSERT_TRUE(model->predict(in, ranked, top).ok());
  EXPECT_EQ(ranked.find("items")->strings(), (std::vector<std::string>{"c", ""}));
  EXPECT_FALSE(ranked.find("fallback")->data<bool>()[0]);
}

TEST(MatrixFactorizationTest, LearnChecksEveryRowFirstAndReplaysDeterministically) {
  auto model = loaded(handState());
  std::string before;
  ASSERT_TRUE(model->save(before).ok());
  TensorMap bad;
  bad.set("user", ids({"dave", "erin"}));
  bad.set("item", ids({"a", "new-item"}));
  bad.set("rating", Tensor::fromVector<float>({5, 1}, {2}));
  Status s = model->onlineLearning()->learn(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.toString(), HasSubstr("observation 1: item 'new-item'"));
  TensorMap unrated;
  unrated.set("user", ids({"dave"}));
  unrated.set("item", ids({"a"}));
  EXPECT_THAT(model->onlineLearning()->learn(unrated).toString(), HasSubstr("'rating'"));
  TensorMap nan = unrated;
  nan.set("rating", Tensor::fromVector<float>({NAN}, {1}));
  EXPECT_THAT(model->onlineLearning()->learn(nan).toString(), HasSubstr("not finite"));
  std::string after;
  ASSERT_TRUE(model->save(after).ok());
  EXPECT_EQ(before, after) << "refused observations changed the model";

  TensorMap good;
  good.set("user", ids({"dave", "alice", "dave"}));
  good.set("item", ids({"b", "c", "c"}));
  good.set("rating", Tensor::fromVector<float>({5, 2, 4}, {3}));
  auto replay = loaded(handState());
  ASSERT_TRUE(model->onlineLearning()->learn(good).ok());
  ASSERT_TRUE(replay->onlineLearning()->learn(good).ok());
  std::string a, b;
  ASSERT_TRUE(model->save(a).ok());
  ASSERT_TRUE(replay->save(b).ok());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, before);
}

TEST(MatrixFactorizationTest, PredictRunsWhileLearnAddsUsers) {
  auto model = loaded(handState());
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      PredictOptions top;
      top.top_k = 2;
      while (!done) {
        TensorMap in, out;
        in.set("user", ids({"alice", "user7", "user300"}));
        if (!model->predict(in, out, top).ok() || out.find("items")->shape() != Shape{3, 2}) {
          ++failures;
        }
      }
    });
  }
  for (int u = 0; u < 400; ++u) {
    TensorMap obs;
    obs.set("user", ids({"user" + std::to_string(u)}));
    obs.set("item", ids({u % 2 == 0 ? "b" : "c"}));
    obs.set("rating", Tensor::fromVector<float>({4}, {1}));
    ASSERT_TRUE(model->onlineLearning()->learn(obs).ok());
  }
  done = true;
  for (auto& t : readers) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  TensorMap in, out;
  in.set("user", ids({"user300"}));
  PredictOptions top;
  top.top_k = 1;
  ASSERT_TRUE(model->predict(in, out, top).ok());
  EXPECT_FALSE(out.find("fallback")->data<bool>()[0]) << "learned users are known";
  EXPECT_NE(out.find("items")->strings()[0], "b") << "user300 rated b: it is excluded";
}

TEST(MatrixFactorizationTest, ImplicitObservationsTakeNoRating) {
  auto model =
      loaded(handState(MfFeedback::kImplicit), MfOptions{.feedback = MfFeedback::kImplicit});
  auto specs = model->onlineLearning()->observationInputs();
  ASSERT_EQ(specs.size(), 2u);
  TensorMap obs;
  obs.set("user", ids({"new"}));
  obs.set("item", ids({"c"}));
  ASSERT_TRUE(model->onlineLearning()->learn(obs).ok());
  obs.set("rating", Tensor::fromVector<float>({1}, {1}));
  EXPECT_EQ(model->onlineLearning()->learn(obs).code(), StatusCode::kInvalidArgument);
}

/// 30 users x 20 items of ratings from a rank-2 model: training should fit them.
TableInteractions lowRank(bool ratings) {
  std::vector<std::string> users, items;
  std::vector<std::int64_t> pairs;
  std::vector<float> values;
  for (int u = 0; u < 30; ++u) {
    users.push_back("user" + std::to_string(u));
  }
  for (int i = 0; i < 20; ++i) {
    items.push_back("item" + std::to_string(i));
  }
  for (int u = 0; u < 30; ++u) {
    for (int j = 0; j < 10; ++j) {
      const int i = (u * 3 + j * 7) % 20;
      pairs.insert(pairs.end(), {u, i});
      values.push_back(static_cast<float>(3 + std::sin(u) * std::cos(i) + 0.5 * std::cos(u + i)));
    }
  }
  return TableInteractions(users, items, pairs, ratings ? values : std::vector<float>{});
}

TEST(MatrixFactorizationTest, EverySolverFitsAndPassesTheRecommenderSuite) {
  struct Case {
    MfFeedback feedback;
    MfSolver solver;
  };
  for (Case c :
       {Case{MfFeedback::kExplicit, MfSolver::kAdam}, Case{MfFeedback::kExplicit, MfSolver::kSgd},
        Case{MfFeedback::kExplicit, MfSolver::kAls}, Case{MfFeedback::kImplicit, MfSolver::kAls},
        Case{MfFeedback::kImplicit, MfSolver::kBpr}}) {
    MfOptions options;
    options.feedback = c.feedback;
    options.solver = c.solver;
    options.rank = 4;
    options.batch_size = 32;
    options.threads = 2;
    SCOPED_TRACE(static_cast<int>(c.solver) * 2 + static_cast<int>(c.feedback));
    MatrixFactorization model(options);
    TableInteractions data = lowRank(c.feedback == MfFeedback::kExplicit);
    CountingObserver observer;
    ASSERT_TRUE(model.fit(data, 3, observer).ok());
    ASSERT_EQ(observer.losses.size(), 20u) << "one call per epoch";
    EXPECT_LT(observer.losses.back(), observer.losses.front()) << "the loss goes down";
    for (const auto& check : aimass::testing::checkRecommender(model)) {
      EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    }
  }
}

TEST(MatrixFactorizationTest, FitIsDeterministicAndExplicitNeedsRatings) {
  MfOptions options;
  options.rank = 3;
  options.seed = 11;
  MatrixFactorization a(options), b(options);
  TableInteractions data = lowRank(true);
  CountingObserver oa, ob;
  ASSERT_TRUE(a.fit(data, 1, oa).ok());
  ASSERT_TRUE(b.fit(data, 2, ob).ok()) << "the seed parameter wins over fit()'s";
  std::string pa, pb;
  ASSERT_TRUE(a.save(pa).ok());
  ASSERT_TRUE(b.save(pb).ok());
  EXPECT_EQ(pa, pb);
  MatrixFactorization explicit_model(MfOptions{});
  TableInteractions implicit_data = lowRank(false);
  CountingObserver o;
  Status s = explicit_model.fit(implicit_data, 1, o);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.toString(), HasSubstr("rating_column"));
  EXPECT_FALSE(explicit_model.ready());
}

TEST(MatrixFactorizationTest, LoadValidatesThePayload) {
  MfState s = handState();
  std::string payload;
  s.save(payload);
  auto model = loaded(s);
  std::string bad_index = payload;
  // The last interaction's item index (u32 before the final f32) points past the items.
  bad_index[bad_index.size() - 8] = 9;
  EXPECT_EQ(model->load(bad_index, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model->load(payload + "x", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model->load(payload, 2).code(), StatusCode::kInvalidArgument);
  std::string after;
  ASSERT_TRUE(model->save(after).ok());
  EXPECT_EQ(after, payload);
}

TEST(MatrixFactorizationTest, OptionsThatDoNotGoTogetherAreRefused) {
  EXPECT_FALSE(checkOptions(MfOptions{.solver = MfSolver::kBpr}).ok());
  EXPECT_FALSE(
      checkOptions(MfOptions{.feedback = MfFeedback::kImplicit, .solver = MfSolver::kAdam}).ok());
  EXPECT_EQ(solverOf(MfOptions{.feedback = MfFeedback::kImplicit}), MfSolver::kAls);
  EXPECT_EQ(solverOf(MfOptions{}), MfSolver::kAdam);
  auto registered = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok());
  ASSERT_EQ(registered.types.size(), 1u);
  EXPECT_EQ(registered.types[0].type, "model.mf");
}

}  // namespace
}  // namespace aimass::plugins::model
