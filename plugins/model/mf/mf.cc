// SPDX-License-Identifier: Apache-2.0
#include "mf.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <unordered_map>

#include "aimass/tensor_names.h"
#include "mf_train.h"

namespace aimass::plugins::model {

namespace tn = aimass::tensor_names;

MfSolver solverOf(const MfOptions& options) {
  if (options.solver) {
    return *options.solver;
  }
  return options.feedback == MfFeedback::kExplicit ? MfSolver::kAdam : MfSolver::kAls;
}

double l2FactorsOf(const MfOptions& options) {
  if (options.l2_factors) {
    return *options.l2_factors;
  }
  switch (solverOf(options)) {
    case MfSolver::kAdam:
      return 0.06;
    case MfSolver::kSgd:
      return 0.05;
    case MfSolver::kAls:
      return 0.1;
    case MfSolver::kBpr:
      return 0.01;
  }
  return 0.05;
}

double l2BiasesOf(const MfOptions& options) {
  if (options.l2_biases) {
    return *options.l2_biases;
  }
  return 0.01;
}

double l2FactorsStartOf(const MfOptions& options) {
  return options.l2_factors_start.value_or(2.5 * l2FactorsOf(options));
}

Status checkOptions(const MfOptions& options) {
  const MfSolver solver = solverOf(options);
  if (options.feedback == MfFeedback::kExplicit && solver == MfSolver::kBpr) {
    return invalidArgument(
        "model.mf: solver 'bpr' is for implicit feedback; explicit ratings "
        "take 'adam', 'sgd' or 'als'");
  }
  if (options.feedback == MfFeedback::kImplicit &&
      (solver == MfSolver::kAdam || solver == MfSolver::kSgd)) {
    return invalidArgument(
        "model.mf: implicit feedback takes solver 'als' or 'bpr', not "
        "'adam' or 'sgd'");
  }
  if (options.rank < 1 || options.rank > 1024) {
    return invalidArgument("model.mf: rank must be in [1, 1024], got " +
                           std::to_string(options.rank));
  }
  if (options.epochs < 1 || options.batch_size < 1) {
    return invalidArgument("model.mf: epochs and batch_size must be at least 1");
  }
  if (!(options.learning_rate > 0) || !(options.init_std >= 0) || !(options.alpha >= 0) ||
      !(l2FactorsOf(options) >= 0) || !(l2BiasesOf(options) >= 0) ||
      !(l2FactorsStartOf(options) >= 0)) {
    return invalidArgument(
        "model.mf: learning_rate must be positive and init_std, alpha, "
        "l2_factors and l2_biases not negative");
  }
  return okStatus();
}

MatrixFactorization::MatrixFactorization(MfOptions options) : options_(std::move(options)) {}

ModelSchema MatrixFactorization::schema() const {
  ModelSchema schema;
  schema.task = Task::kRecommendation;
  schema.inputs = {
      TensorSpec(tn::kUser, DType::kBytes, {-1}),
      TensorSpec(tn::kItem, DType::kBytes, {-1}, /*optional_=*/true),
      TensorSpec(tn::kCandidates, DType::kBytes, {-1}, /*optional_=*/true,
                 /*request_wide_=*/true),
  };
  schema.outputs = {
      TensorSpec(tn::kScore, DType::kFloat32, {-1}, /*optional_=*/true),
      TensorSpec(tn::kKnown, DType::kBool, {-1}, /*optional_=*/true),
      TensorSpec(tn::kItems, DType::kBytes, {-1, -1}, /*optional_=*/true),
      TensorSpec(tn::kScores, DType::kFloat32, {-1, -1}, /*optional_=*/true),
      TensorSpec(tn::kFallback, DType::kBool, {-1}, /*optional_=*/true),
  };
  return schema;
}

bool MatrixFactorization::ready() const {
  std::shared_lock lock(mutex_);
  return state_ != nullptr;
}

std::vector<TensorSpec> MatrixFactorization::observationInputs() const {
  MfFeedback feedback = options_.feedback;
  {
    std::shared_lock lock(mutex_);
    if (state_) {
      feedback = state_->feedback;  // a loaded model's own kind
    }
  }
  std::vector<TensorSpec> specs = {
      TensorSpec(tn::kUser, DType::kBytes, {-1}),
      TensorSpec(tn::kItem, DType::kBytes, {-1}),
  };
  if (feedback == MfFeedback::kExplicit) {
    specs.push_back(TensorSpec(tn::kRating, DType::kFloat32, {-1}));
  }
  return specs;
}

Status MatrixFactorization::save(std::string& payload) const {
  std::shared_lock lock(mutex_);
  if (!state_) {
    return failedPrecondition("model.mf: nothing to save: the model is not trained or loaded");
  }
  return guard("model.mf save", [&] { state_->save(payload); });
}

Status MatrixFactorization::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != kFormatVersion) {
    return invalidArgument("model.mf: unknown format version " + std::to_string(format_version) +
                           " (this build reads version " + std::to_string(kFormatVersion) + ")");
  }
  auto fresh = std::make_unique<MfState>();
  AIMASS_RETURN_IF_ERROR(guard("model.mf load", [&] { return fresh->load(payload); }));
  std::unique_lock lock(mutex_);
  state_ = std::move(fresh);
  return okStatus();
}

namespace {

/// Every row of `data` as (user, item, value) in the dataset's indices, checked.
struct RawRows {
  std::vector<std::int64_t> user, item;
  std::vector<float> value;
};

Status readRows(const Dataset& data, MfFeedback feedback, RawRows& rows) {
  const DatasetSchema& schema = data.schema();
  if (schema.feature_dtype != DType::kInt64 || schema.row_shape != Shape{2}) {
    return invalidArgument(
        "model.mf trains on interactions: INT64 features of shape [2] (user, "
        "item), as dataset.interactions gives; got " +
        std::string(dtypeName(schema.feature_dtype)) + " " + shapeToString(schema.row_shape));
  }
  const bool labelled = schema.label_kind == LabelKind::kValue && schema.num_targets == 1;
  if (feedback == MfFeedback::kExplicit && !labelled) {
    return invalidArgument(
        "model.mf with feedback: explicit needs one rating per row (value "
        "labels; set dataset.interactions' rating_column), or use feedback: "
        "implicit");
  }
  const std::uint64_t n = data.size();
  if (n == 0) {
    return invalidArgument("model.mf: the dataset has no interactions");
  }
  Batch batch;
  std::vector<std::uint64_t> index;
  for (std::uint64_t begin = 0; begin < n; begin += 65536) {
    const std::uint64_t end = std::min(n, begin + 65536);
    index.resize(end - begin);
    for (std::uint64_t r = begin; r < end; ++r) {
      index[r - begin] = r;
    }
    AIMASS_RETURN_IF_ERROR(data.read(index, batch));
    const std::int64_t* f = batch.features.data<std::int64_t>();
    for (std::uint64_t r = 0; r < end - begin; ++r) {
      const std::int64_t u = f[2 * r], i = f[2 * r + 1];
      for (std::size_t c = 0; c < 2; ++c) {
        const std::int64_t id = c == 0 ? u : i;
        const std::int64_t limit = schema.cardinalities.size() == 2 && schema.cardinalities[c] > 0
                                       ? schema.cardinalities[c]
                                       : std::int64_t{0x7fffffff};
        if (id < 0 || id >= limit) {
          return invalidArgument("model.mf: row " + std::to_string(begin + r) + " has " +
                                 (c == 0 ? "user" : "item") + " index " + std::to_string(id) +
                                 ", outside [0, " + std::to_string(limit) + ")");
        }
      }
      float value = 1.0f;
      if (labelled) {
        value = batch.labels.data<float>()[r];
        if (!std::isfinite(value) || (feedback == MfFeedback::kImplicit && value < 0)) {
          return invalidArgument("model.mf: row " + std::to_string(begin + r) + " has rating " +
                                 std::to_string(value) +
                                 (feedback == MfFeedback::kImplicit
                                      ? " (implicit strengths must be finite and >= 0)"
                                      : " (ratings must be finite)"));
        }
      }
      rows.user.push_back(u);
      rows.item.push_back(i);
      rows.value.push_back(value);
    }
  }
  return okStatus();
}

/// Dense model indices for the dataset indices in `ids` (order of first appearance) and their
/// names: the dataset's id_names of column `column`, or the index as text.
Status compact(const std::vector<std::int64_t>& ids, const DatasetSchema& schema,
               std::size_t column, std::vector<std::int32_t>& out,
               std::vector<std::string>& names) {
  std::unordered_map<std::int64_t, std::int32_t> index;
  const std::vector<std::string>* texts =
      schema.id_names.size() > column && !schema.id_names[column].empty() ? &schema.id_names[column]
                                                                          : nullptr;
  out.reserve(ids.size());
  for (auto id : ids) {
    auto [it, added] = index.try_emplace(id, static_cast<std::int32_t>(names.size()));
    if (added) {
      if (texts != nullptr && static_cast<std::size_t>(id) >= texts->size()) {
        return invalidArgument("model.mf: the dataset's id_names[" + std::to_string(column) +
                               "] has no name for index " + std::to_string(id));
      }
      names.push_back(texts != nullptr ? (*texts)[static_cast<std::size_t>(id)]
                                       : std::to_string(id));
    }
    out.push_back(it->second);
  }
  return okStatus();
}

}  // namespace

Status MatrixFactorization::fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) {
  AIMASS_RETURN_IF_ERROR(checkOptions(options_));
  auto state = std::make_unique<MfState>();
  AIMASS_RETURN_IF_ERROR(guard("model.mf fit", [&]() -> Status {
    RawRows rows;
    AIMASS_RETURN_IF_ERROR(readRows(data, options_.feedback, rows));
    MfTrainingSet set;
    AIMASS_RETURN_IF_ERROR(compact(rows.user, data.schema(), 0, set.user, state->user_ids));
    AIMASS_RETURN_IF_ERROR(compact(rows.item, data.schema(), 1, set.item, state->item_ids));
    set.users = state->users();
    set.items = state->items();
    set.value = std::move(rows.value);
    state->feedback = options_.feedback;
    state->solver = solverOf(options_);
    state->rank = static_cast<std::int32_t>(options_.rank);
    state->l2_factors = l2FactorsOf(options_);
    state->l2_biases = l2BiasesOf(options_);
    state->alpha = options_.alpha;
    trainMf(set, state->solver, options_, options_.seed.value_or(seed), observer, *state);
    state->history.assign(set.users, {});
    for (std::size_t r = 0; r < set.user.size(); ++r) {
      state->history[static_cast<std::size_t>(set.user[r])].push_back(
          MfInteraction{set.item[r], set.value[r]});
    }
    for (float v : state->user_table) {
      if (!std::isfinite(v)) {
        return invalidArgument(
            "model.mf: training diverged (a factor is not finite); lower "
            "learning_rate or raise l2_factors");
      }
    }
    return state->derive();
  }));
  std::unique_lock lock(mutex_);
  state_ = std::move(state);
  return okStatus();
}

}  // namespace aimass::plugins::model
