// SPDX-License-Identifier: Apache-2.0
// job.evaluate for sequence models: language models (next-token distributions over token
// streams) and forecasters (windows of a series), plus the token inputs sequence classifiers
// take.
#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "evaluate_tasks.h"

namespace aimass::core {
namespace {

bool hasInput(const ModelSchema& schema, std::string_view name) {
  return std::any_of(schema.inputs.begin(), schema.inputs.end(),
                     [&](const TensorSpec& spec) { return spec.name == name; });
}

/// Whether the dataset's vocabulary is the 256 bytes (dataset.text's `vocabulary: bytes`).
bool byteVocabulary(const DatasetSchema& schema) {
  if (schema.id_names.empty()) {
    return !schema.cardinalities.empty() && schema.cardinalities.front() == 256;
  }
  const auto& names = schema.id_names.front();
  return names.size() == 256 &&
         std::all_of(names.begin(), names.end(), [](const std::string& s) { return s.size() == 1; });
}

/// Dataset token id -> the model's, by symbol, when the model names its vocabulary (class_names)
/// and the dataset names its ids; empty (ids used as they are) otherwise.
std::vector<std::int64_t> vocabularyMap(const ModelSchema& model, const DatasetSchema& data) {
  std::vector<std::int64_t> map;
  if (model.class_names.empty() || data.id_names.empty() || data.id_names.front().empty()) {
    return map;
  }
  std::unordered_map<std::string, std::int64_t> model_ids;
  for (std::size_t i = 0; i < model.class_names.size(); ++i) {
    model_ids.emplace(model.class_names[i], static_cast<std::int64_t>(i));
  }
  for (const std::string& symbol : data.id_names.front()) {
    auto it = model_ids.find(symbol);
    // -1: unknown to the model, an error only if the text uses it (bytes name all 256).
    map.push_back(it == model_ids.end() ? -1 : it->second);
  }
  return map;
}

/// Rewrites ids through `map`; an id the model does not know is an error naming the symbol.
Status mapTokens(const std::vector<std::int64_t>& map, const DatasetSchema& data, Tensor& tokens,
                 const EvaluationPass& pass) {
  for (std::int64_t& id : tokens.span<std::int64_t>()) {
    const std::int64_t mapped =
        id >= 0 && static_cast<std::size_t>(id) < map.size() ? map[static_cast<std::size_t>(id)]
                                                             : -1;
    if (mapped < 0) {
      const bool named = id >= 0 && static_cast<std::size_t>(id) < data.id_names.front().size();
      return invalidArgument(pass.data_text + " has the token " +
                             (named ? "'" + data.id_names.front()[static_cast<std::size_t>(id)] +
                                          "'"
                                    : std::to_string(id)) +
                             " that " + pass.model_text + " does not have in its vocabulary");
    }
    id = mapped;
  }
  return Status();
}

}  // namespace

std::string tokenInputName(const ModelSchema& schema) {
  if (hasInput(schema, tensor_names::kTokens)) {
    return tensor_names::kTokens;
  }
  return schema.inputs.empty() ? std::string(tensor_names::kInput) : schema.inputs.front().name;
}

void setModelInputs(const ModelSchema& schema, const Tensor& features, const Tensor& lengths,
                    TensorMap& inputs) {
  inputs.set(tokenInputName(schema), features);
  if (!hasInput(schema, tensor_names::kLengths) || features.rank() < 2) {
    return;
  }
  if (lengths.rank() == 1 && lengths.dim(0) == features.dim(0)) {
    inputs.set(tensor_names::kLengths, lengths);
    return;
  }
  Tensor full(DType::kInt64, {features.dim(0)});
  std::fill(full.span<std::int64_t>().begin(), full.span<std::int64_t>().end(), features.dim(1));
  inputs.set(tensor_names::kLengths, std::move(full));
}

Expected<LanguageModelReport> evaluateLanguageModel(const EvaluationPass& pass) {
  const EvaluateTargets& targets = pass.targets;
  const DatasetSchema& data = targets.dataset->schema();
  const ModelSchema model = targets.model->schema();
  if (data.label_kind != LabelKind::kNextToken || data.feature_dtype != DType::kInt64 ||
      data.row_shape.size() != 1) {
    return invalidArgument(pass.model_text +
                           " is a sequence model, evaluated on token streams with next-token "
                           "labels (dataset.text), but " +
                           pass.data_text + " is not one");
  }
  const std::vector<std::int64_t> map = vocabularyMap(model, data);
  PredictOptions options;
  options.parameters = {{"score", "true"}};
  TensorMap inputs;
  TensorMap outputs;
  Tensor tokens, next;
  std::optional<LanguageModelMetrics> metrics;
  ProgressPhase phase(pass.progress, "evaluate " + targets.model_name, batchCount(pass));
  Status scored = forEachBatch(
      pass, phase, 0, [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
        const std::string where = rowsText(pass, begin, end);
        tokens = batch.features;
        next = batch.labels;
        if (!map.empty()) {  // the model's ids for the dataset's symbols, in copies
          tokens = batch.features.clone();
          next = batch.labels.clone();
          AIMASS_RETURN_IF_ERROR(mapTokens(map, data, tokens, pass));
          AIMASS_RETURN_IF_ERROR(mapTokens(map, data, next, pass));
        }
        setModelInputs(model, tokens, batch.lengths, inputs);
        Status predicted = targets.model->predict(inputs, outputs, options);
        if (!predicted.ok()) {
          return predicted.withContext(pass.model_text + " scoring" + where);
        }
        const Tensor* p = outputs.find(tensor_names::kProbabilities);
        const auto n = static_cast<std::int64_t>(end - begin);
        const std::int64_t steps = batch.features.dim(1);
        if (p == nullptr || p->dtype() != DType::kFloat32 || p->rank() != 3 || p->dim(0) != n ||
            p->dim(1) != steps || p->dim(2) < 1) {
          return invalidArgument(
              pass.model_text + " gave no FP32 \"probabilities\" output of shape [" +
              std::to_string(n) + ", " + std::to_string(steps) +
              ", vocabulary] for the request parameter score=true; a language model gives the "
              "next-token distribution at every position" +
              where);
        }
        if (!metrics) {
          metrics.emplace(p->dim(2));
        }
        Status added =
            metrics->add(next.span<std::int64_t>(), p->span<float>(), static_cast<std::uint64_t>(n));
        return added.ok() ? Status() : added.withContext("scoring" + where);
      });
  AIMASS_RETURN_IF_ERROR(scored);
  AIMASS_ASSIGN_OR_RETURN(LanguageModelReport report, metrics->report(byteVocabulary(data)));
  char summary[128];
  std::snprintf(summary, sizeof summary, "loss=%.4f perplexity=%.4f bits_per_%s=%.4f",
                report.loss, report.perplexity, report.byte_tokens ? "byte" : "char",
                report.bits_per_token);
  phase.end(summary);
  return report;
}

Expected<ForecastReport> evaluateForecast(const EvaluationPass& pass) {
  const EvaluateTargets& targets = pass.targets;
  const DatasetSchema& data = targets.dataset->schema();
  const ModelSchema model = targets.model->schema();
  const std::int64_t window = data.row_shape.at(0), features = data.row_shape.at(1);
  const std::int64_t series = targets.forecast_targets;
  if (series < 1 || series > features || data.num_targets % series != 0) {
    return invalidArgument(pass.data_text + " has " + std::to_string(data.num_targets) +
                           " label values per window and " + std::to_string(features) +
                           " features per step, which do not fit forecast_targets = " +
                           std::to_string(series) +
                           " (the labels are horizon x forecast_targets values)");
  }
  if (targets.season > window) {
    return invalidArgument("the naive-seasonal baseline with season " +
                           std::to_string(targets.season) + " needs the input windows of " +
                           pass.data_text + " to hold at least " + std::to_string(targets.season) +
                           " steps, but they hold " + std::to_string(window) +
                           "; lower `season` or widen the dataset's `window`");
  }
  ForecastMetrics metrics(window, features, data.num_targets / series, series, targets.season);
  const std::string input_name = model.inputs.empty() ? std::string(tensor_names::kInput)
                                                      : model.inputs.front().name;
  TensorMap inputs;
  TensorMap outputs;
  ProgressPhase phase(pass.progress, "evaluate " + targets.model_name, batchCount(pass));
  Status scored = forEachBatch(
      pass, phase, 0, [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
        const std::string where = rowsText(pass, begin, end);
        inputs.set(input_name, batch.features);
        Status predicted = targets.model->predict(inputs, outputs, PredictOptions{});
        if (!predicted.ok()) {
          return predicted.withContext(pass.model_text + " predicting" + where);
        }
        const Tensor* prediction = outputs.find(tensor_names::kPrediction);
        if (prediction == nullptr || prediction->dtype() != DType::kFloat32 ||
            prediction->numel() != batch.labels.numel()) {
          return invalidArgument(pass.model_text + " gave no FP32 \"prediction\" output of shape " +
                                 shapeToString(batch.labels.shape()) +
                                 "; a forecaster gives horizon x targets values per window" +
                                 where);
        }
        Status added = metrics.add(batch.features.span<float>(), batch.labels.span<float>(),
                                   prediction->span<float>());
        return added.ok() ? Status() : added.withContext("scoring" + where);
      });
  AIMASS_RETURN_IF_ERROR(scored);
  AIMASS_ASSIGN_OR_RETURN(ForecastReport report, metrics.report());
  char summary[128];
  std::snprintf(summary, sizeof summary, "mae=%.4f rmse=%.4f baseline_mae=%.4f", report.mae,
                report.rmse, report.baseline_mae);
  phase.end(summary);
  return report;
}

}  // namespace aimass::core
