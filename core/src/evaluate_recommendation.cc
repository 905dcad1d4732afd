// SPDX-License-Identifier: Apache-2.0
// job.evaluate for recommenders: one pass over the (user, item) rows scores the pairs against
// their ratings and gathers each user's relevant items; then the model's top-k lists are asked
// for in batches of users and ranked against them.
#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "evaluate_tasks.h"

namespace aimass::core {
namespace {

/// The ids of the data's user and item columns as text, which is how the model knows them:
/// the dataset's id_names when it has them, else the index as a number.
class IdText {
 public:
  explicit IdText(const DatasetSchema& schema) : schema_(schema) {}

  /// kInvalidArgument for a negative index or one beyond the column's id names.
  Expected<std::string> operator()(std::size_t column, std::int64_t index) const {
    static constexpr const char* kColumns[] = {"user", "item"};
    const std::vector<std::string>* names =
        column < schema_.id_names.size() && !schema_.id_names[column].empty()
            ? &schema_.id_names[column]
            : nullptr;
    if (index < 0 || (names && static_cast<std::size_t>(index) >= names->size())) {
      return invalidArgument(std::string(kColumns[column]) + " index " + std::to_string(index) +
                             " is outside [0, " +
                             (names ? std::to_string(names->size()) : std::string("...")) +
                             ") of the dataset's " + kColumns[column] + " ids");
    }
    return names ? (*names)[static_cast<std::size_t>(index)] : std::to_string(index);
  }

 private:
  const DatasetSchema& schema_;
};

Status checkInteractions(const EvaluationPass& pass, const DatasetSchema& schema) {
  const std::string is =
      pass.model_text + " is a recommender, evaluated on (user, item) rows, but " + pass.data_text;
  if (schema.feature_dtype != DType::kInt64 || schema.row_shape != Shape{2}) {
    return invalidArgument(is + " has " + std::string(dtypeName(schema.feature_dtype)) +
                           " rows of shape " + shapeToString(schema.row_shape) +
                           " (expected INT64 rows of shape [2]: user index, item index)");
  }
  if (!schema.feature_names.empty() &&
      schema.feature_names != std::vector<std::string>{"user", "item"}) {
    std::string names;
    for (const auto& name : schema.feature_names) {
      names += (names.empty() ? "" : ", ") + name;
    }
    return invalidArgument(is + " has the columns [" + names + "], expected [user, item]");
  }
  const bool ratings = schema.label_kind == LabelKind::kValue && schema.num_targets == 1;
  if (!ratings && schema.label_kind != LabelKind::kNone) {
    return invalidArgument(is + " has labels other than one rating per row (" +
                           (schema.label_kind == LabelKind::kClass
                                ? std::string("class labels")
                                : std::to_string(schema.num_targets) + " targets") +
                           "); a recommender's data has ratings or no labels");
  }
  return Status();
}

/// Scores one batch of (user, item) pairs and adds the errors against their ratings to
/// `errors`; counts the pairs the model did not know.
Status scorePairs(const EvaluationPass& pass, std::vector<std::string> users,
                  std::vector<std::string> items, std::span<const float> rating,
                  const std::string& where, RegressionMetrics& errors,
                  std::uint64_t& unknown_pairs) {
  const auto n = static_cast<std::int64_t>(users.size());
  TensorMap inputs;
  TensorMap outputs;
  inputs.set(tensor_names::kUser, Tensor::fromStrings(std::move(users)));
  inputs.set(tensor_names::kItem, Tensor::fromStrings(std::move(items)));
  Status predicted = pass.targets.model->predict(inputs, outputs, PredictOptions{});
  if (!predicted.ok()) {
    return predicted.withContext(pass.model_text + " scoring the pairs" + where);
  }
  const Tensor* score = outputs.find(tensor_names::kScore);
  if (score == nullptr || score->dtype() != DType::kFloat32 || score->numel() != n) {
    return invalidArgument(pass.model_text +
                           " gave no FP32 \"score\" output with one score per (user, item) "
                           "pair; a recommender must" +
                           where);
  }
  const Tensor* known = outputs.find(tensor_names::kKnown);
  if (known != nullptr && known->dtype() == DType::kBool && known->numel() == n) {
    unknown_pairs +=
        static_cast<std::uint64_t>(std::count(known->data<bool>(), known->data<bool>() + n, false));
  }
  Status added = errors.add(rating, score->span<float>());
  return added.ok() ? Status() : added.withContext("scoring" + where);
}

/// Scores the users' top-k lists against `relevant` (user index -> relevant item indices), in
/// batches of targets.batch_size users.
Expected<RankingReport> rankUsers(
    const EvaluationPass& pass, const IdText& id_text,
    const std::map<std::int64_t, std::vector<std::int64_t>>& relevant) {
  const EvaluateTargets& targets = pass.targets;
  RankingMetrics metrics(targets.k);
  const std::uint64_t batches = (relevant.size() + targets.batch_size - 1) / targets.batch_size;
  ProgressPhase phase(pass.progress,
                      "evaluate " + targets.model_name + ": top-" + std::to_string(targets.k) +
                          " of " + std::to_string(relevant.size()) + " users",
                      batches);
  PredictOptions options;
  options.top_k = targets.k;
  options.exclude_seen = true;
  TensorMap inputs;
  TensorMap outputs;
  auto user = relevant.begin();
  for (std::uint64_t step = 0; step < batches; ++step) {
    if (pass.host.stopRequested()) {
      phase.end("stopped");
      return cancelled("evaluation of " + pass.model_text + " was stopped");
    }
    std::vector<std::string> ids;
    std::vector<std::unordered_set<std::string>> wanted;
    for (; user != relevant.end() && ids.size() < targets.batch_size; ++user) {
      AIMASS_ASSIGN_OR_RETURN(std::string id, id_text(0, user->first));
      ids.push_back(std::move(id));
      std::unordered_set<std::string>& items = wanted.emplace_back();
      for (std::int64_t item : user->second) {
        AIMASS_ASSIGN_OR_RETURN(std::string item_id, id_text(1, item));
        items.insert(std::move(item_id));
      }
    }
    const auto n = static_cast<std::int64_t>(ids.size());
    const std::string where = " (users " + ids.front() + ".." + ids.back() + ")";
    inputs.set(tensor_names::kUser, Tensor::fromStrings(ids));
    Status predicted = targets.model->predict(inputs, outputs, options);
    if (!predicted.ok()) {
      return predicted.withContext(pass.model_text + " recommending top-" +
                                   std::to_string(targets.k) + where);
    }
    const Tensor* items = outputs.find(tensor_names::kItems);
    if (items == nullptr || items->dtype() != DType::kBytes || items->rank() != 2 ||
        items->dim(0) != n) {
      return invalidArgument(pass.model_text + " gave no BYTES \"items\" output of shape [" +
                             std::to_string(n) + ", k] for a top-k request; a recommender must" +
                             where);
    }
    const Tensor* fallback = outputs.find(tensor_names::kFallback);
    const bool with_fallback =
        fallback != nullptr && fallback->dtype() == DType::kBool && fallback->numel() == n;
    const auto width = static_cast<std::size_t>(items->dim(1));
    const std::span<const std::string> lists(items->strings());
    for (std::size_t u = 0; u < ids.size(); ++u) {
      AIMASS_RETURN_IF_ERROR(metrics.add(lists.subspan(u * width, width), wanted[u],
                                         with_fallback && fallback->data<bool>()[u]));
    }
    phase.update(step + 1);
  }
  AIMASS_ASSIGN_OR_RETURN(RankingReport report, metrics.report());
  char summary[128];
  std::snprintf(summary, sizeof summary, "precision@k=%.4f recall@k=%.4f ndcg@k=%.4f map@k=%.4f",
                report.precision_at_k, report.recall_at_k, report.ndcg_at_k, report.map_at_k);
  phase.end(summary);
  return report;
}

}  // namespace

Expected<RecommendationReport> evaluateRecommendation(const EvaluationPass& pass) {
  const EvaluateTargets& targets = pass.targets;
  const DatasetSchema& schema = targets.dataset->schema();
  AIMASS_RETURN_IF_ERROR(checkInteractions(pass, schema));
  const bool ratings = schema.label_kind == LabelKind::kValue;
  RecommendationReport report;
  if (targets.relevance_threshold && !ratings) {
    pass.host.log(LogLevel::kWarning, pass.job,
                  "relevance_threshold is ignored: " + pass.data_text +
                      " has no ratings, so every item of a user's rows is relevant");
  } else {
    report.relevance_threshold = targets.relevance_threshold;
  }
  const IdText id_text(schema);
  std::map<std::int64_t, std::vector<std::int64_t>> relevant;  // user -> items, by user index
  RegressionMetrics errors(1, /*residuals=*/false);            // the report has no residual plots
  ProgressPhase phase(pass.progress, "evaluate " + targets.model_name + ": read interactions",
                      batchCount(pass));
  Status read = forEachBatch(
      pass, phase, 0, [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
        const std::span<const std::int64_t> ids = batch.features.span<std::int64_t>();
        const std::span<const float> rating =
            ratings ? batch.labels.span<float>() : std::span<const float>();
        const std::size_t n = end - begin;
        std::vector<std::string> users(ratings ? n : 0);
        std::vector<std::string> items(ratings ? n : 0);
        for (std::size_t r = 0; r < n; ++r) {
          for (std::size_t column = 0; column < 2; ++column) {
            Expected<std::string> id = id_text(column, ids[r * 2 + column]);
            if (!id.ok()) {
              return id.status().withContext("row " + std::to_string(begin + r) + " of " +
                                             pass.data_text);
            }
            if (ratings) {
              (column == 0 ? users : items)[r] = std::move(id).value();
            }
          }
          if (!report.relevance_threshold || rating[r] >= *report.relevance_threshold) {
            relevant[ids[r * 2]].push_back(ids[r * 2 + 1]);
          }
        }
        report.rows += n;
        if (!ratings) {
          return Status();
        }
        const std::string where = rowsText(pass, begin, end);
        return scorePairs(pass, std::move(users), std::move(items), rating, where, errors,
                          report.unknown_pairs);
      });
  AIMASS_RETURN_IF_ERROR(read);
  std::string read_summary = std::to_string(report.rows) + " interactions, " +
                             std::to_string(relevant.size()) + " users with relevant items";
  if (ratings) {
    AIMASS_ASSIGN_OR_RETURN(RegressionReport rating_errors, errors.report());
    report.rmse = rating_errors.rmse;
    report.mae = rating_errors.mae;
    char figures[64];
    std::snprintf(figures, sizeof figures, "; rating error rmse=%.4f mae=%.4f",
                  report.rmse.value_or(0), report.mae.value_or(0));
    read_summary += figures;
  }
  phase.end(read_summary);
  if (relevant.empty()) {
    return invalidArgument(pass.data_text + " has no user with a relevant item (rating >= " +
                           std::to_string(report.relevance_threshold.value_or(0)) +
                           "): nothing to rank");
  }
  AIMASS_ASSIGN_OR_RETURN(report.ranking, rankUsers(pass, id_text, relevant));
  return report;
}

}  // namespace aimass::core
