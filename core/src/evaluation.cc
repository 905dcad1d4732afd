// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/evaluation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <utility>

#include "aimass/util/json_writer.h"

namespace aimass::core {
namespace {

/// Clip bound of log-loss, as scikit-learn's classic eps.
constexpr double kLogLossEpsilon = 1e-15;

/// Area under the ROC curve of `scores` for rows where positive[i] is true: the Mann-Whitney
/// statistic with tied scores sharing their mean rank, which equals the trapezoidal area
/// scikit-learn computes. nullopt when either side has no rows.
std::optional<double> rocAuc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  double positive_rank_sum = 0;
  std::uint64_t positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      ++j;
    }
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2;
    for (std::size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        positive_rank_sum += mean_rank;
        ++positives;
      }
    }
    i = j;
  }
  const std::uint64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) {
    return std::nullopt;
  }
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

std::string fixed(double v, int decimals = 4) {
  if (!std::isfinite(v)) {
    return "n/a";
  }
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string pad(std::string text, std::size_t width, bool left = false) {
  if (text.size() >= width) {
    return text;
  }
  return left ? text + std::string(width - text.size(), ' ')
              : std::string(width - text.size(), ' ') + text;
}

void writeOptional(JsonWriter& json, std::string_view key, const std::optional<double>& v) {
  json.key(key);
  if (v) {
    json.value(*v);
  } else {
    json.null();
  }
}

void writeClustering(JsonWriter& json, const ClusteringReport& c) {
  json.key("task").value("clustering");
  json.key("rows").value(c.rows);
  json.key("metrics").beginObject();
  json.key("inertia").value(c.inertia);
  writeOptional(json, "silhouette", c.silhouette);
  writeOptional(json, "davies_bouldin", c.davies_bouldin);
  writeOptional(json, "adjusted_rand", c.adjusted_rand);
  writeOptional(json, "nmi", c.nmi);
  json.key("clusters").value(c.clusters);
  json.key("clusters_used").value(c.clusters_used);
  json.key("silhouette_rows").value(c.silhouette_rows);
  json.key("inertia_from").value(c.inertia_from_distances ? "distances" : "centroids");
  json.endObject();
}

void writeRecommendation(JsonWriter& json, const RecommendationReport& r) {
  json.key("task").value("recommendation");
  json.key("rows").value(r.rows);
  json.key("metrics").beginObject();
  writeOptional(json, "rmse", r.rmse);
  writeOptional(json, "mae", r.mae);
  json.key("precision_at_k").value(r.ranking.precision_at_k);
  json.key("recall_at_k").value(r.ranking.recall_at_k);
  json.key("ndcg_at_k").value(r.ranking.ndcg_at_k);
  json.key("map_at_k").value(r.ranking.map_at_k);
  json.key("k").value(r.ranking.k);
  json.key("users").value(r.ranking.users);
  json.key("fallback_users").value(r.ranking.fallback_users);
  json.key("unknown_pairs").value(r.unknown_pairs);
  writeOptional(json, "relevance_threshold", r.relevance_threshold);
  json.endObject();
}

void writeLanguageModel(JsonWriter& json, const LanguageModelReport& r) {
  json.key("task").value("language_model");
  json.key("rows").value(r.rows);
  json.key("metrics").beginObject();
  json.key("loss").value(r.loss);
  json.key("perplexity").value(r.perplexity);
  json.key("bits_per_char").value(r.bits_per_token);
  json.key("token_accuracy").value(r.token_accuracy);
  json.key("tokens").value(r.tokens);
  json.key("vocabulary").value(r.vocabulary);
  json.key("token_unit").value(r.byte_tokens ? "byte" : "char");
  json.endObject();
}

void writeForecast(JsonWriter& json, const ForecastReport& r) {
  json.key("task").value("forecasting");
  json.key("rows").value(r.rows);
  json.key("metrics").beginObject();
  json.key("mae").value(r.mae);
  json.key("rmse").value(r.rmse);
  writeOptional(json, "mape", r.mape);
  json.key("mape_rows").value(r.mape_values);
  json.key("mape_skipped").value(r.mape_skipped);
  json.key("baseline_mae").value(r.baseline_mae);
  json.key("baseline_rmse").value(r.baseline_rmse);
  writeOptional(json, "mase", r.mase);
  json.key("season").value(r.season);
  json.key("horizon").value(r.horizon);
  json.key("targets").value(r.targets);
  json.endObject();
}

/// A threshold of a curve: the start point's +infinity is null (JsonWriter's non-finite).
void writeCurves(JsonWriter& json, const BinaryCurves& curves, const std::string& positive) {
  auto column = [&](std::string_view key, const auto& points, auto field) {
    json.key(key).beginArray();
    for (const auto& point : points) {
      json.value(field(point));
    }
    json.endArray();
  };
  json.key("roc").beginObject();
  json.key("positive_class").value(positive);
  column("fpr", curves.roc, [](const RocPoint& p) { return p.fpr; });
  column("tpr", curves.roc, [](const RocPoint& p) { return p.tpr; });
  column("thresholds", curves.roc, [](const RocPoint& p) { return p.threshold; });
  json.key("distinct_thresholds").value(curves.distinct_thresholds);
  json.endObject();
  json.key("pr").beginObject();
  json.key("positive_class").value(positive);
  column("recall", curves.pr, [](const PrPoint& p) { return p.recall; });
  column("precision", curves.pr, [](const PrPoint& p) { return p.precision; });
  column("thresholds", curves.pr, [](const PrPoint& p) { return p.threshold; });
  json.key("distinct_thresholds").value(curves.distinct_thresholds);
  json.key("average_precision").value(curves.average_precision);
  json.endObject();
}

void writeResiduals(JsonWriter& json, const ResidualReport& r) {
  auto numbers = [&](std::string_view key, const auto& values) {
    json.key(key).beginArray();
    for (auto v : values) {
      json.value(v);
    }
    json.endArray();
  };
  json.key("residuals").beginObject();
  numbers("predicted", r.predicted);
  numbers("actual", r.actual);
  json.key("stride").value(r.stride);
  json.key("values").value(r.values);
  json.endObject();
  json.key("residual_histogram").beginObject();
  numbers("edges", r.edges);
  numbers("counts", r.counts);
  json.endObject();
}

void writeReport(JsonWriter& json, const EvaluationReport& report) {
  json.beginObject();
  json.key("job").value(report.job);
  json.key("model").value(report.model);
  json.key("dataset").value(report.dataset);
  if (report.classification) {
    const ClassificationReport& c = *report.classification;
    json.key("task").value("classification");
    json.key("rows").value(c.rows);
    json.key("metrics").beginObject();
    json.key("accuracy").value(c.accuracy);
    json.key("macro_precision").value(c.macro_precision);
    json.key("macro_recall").value(c.macro_recall);
    json.key("macro_f1").value(c.macro_f1);
    writeOptional(json, "log_loss", c.log_loss);
    writeOptional(json, "roc_auc", c.roc_auc);
    if (c.curves) {
      json.key("average_precision").value(c.curves->average_precision);
    } else if (c.classes.size() == 2) {
      json.key("average_precision").null();
    }
    json.endObject();
    if (c.curves && c.classes.size() == 2) {
      writeCurves(json, *c.curves, c.classes[1].name);
    }
    json.key("classes").beginArray();
    for (const auto& k : c.classes) {
      json.beginObject();
      json.key("name").value(k.name);
      json.key("precision").value(k.precision);
      json.key("recall").value(k.recall);
      json.key("f1").value(k.f1);
      json.key("support").value(k.support);
      json.endObject();
    }
    json.endArray();
    json.key("confusion_matrix").beginArray();
    for (const auto& row : c.confusion) {
      json.beginArray();
      for (auto n : row) {
        json.value(n);
      }
      json.endArray();
    }
    json.endArray();
  } else if (report.regression) {
    const RegressionReport& r = *report.regression;
    json.key("task").value("regression");
    json.key("rows").value(r.rows);
    json.key("metrics").beginObject();
    json.key("rmse").value(r.rmse);
    json.key("mae").value(r.mae);
    json.key("r2").value(r.r2);
    json.endObject();
    if (r.residuals) {
      writeResiduals(json, *r.residuals);
    }
  } else if (report.clustering) {
    writeClustering(json, *report.clustering);
  } else if (report.recommendation) {
    writeRecommendation(json, *report.recommendation);
  } else if (report.language_model) {
    writeLanguageModel(json, *report.language_model);
  } else if (report.forecast) {
    writeForecast(json, *report.forecast);
  }
  json.endObject();
}

std::string optionalFixed(const std::optional<double>& v) {
  return v ? fixed(*v) : std::string("n/a");
}

std::string formatClustering(const ClusteringReport& c) {
  std::string out;
  out += "  rows            " + std::to_string(c.rows) + "\n";
  out += "  clusters        " + std::to_string(c.clusters_used) + " used of " +
         std::to_string(c.clusters) + "\n";
  out += "  inertia         " + fixed(c.inertia) +
         (c.inertia_from_distances ? " (to the model's centres)\n"
                                   : " (to the evaluated rows' centroids)\n");
  out += "  silhouette      " + optionalFixed(c.silhouette) + " (" +
         std::to_string(c.silhouette_rows) + " rows)\n";
  out += "  Davies-Bouldin  " + optionalFixed(c.davies_bouldin) + "\n";
  if (c.adjusted_rand) {
    out += "  adjusted Rand   " + fixed(*c.adjusted_rand) + "\n";
  }
  if (c.nmi) {
    out += "  NMI             " + fixed(*c.nmi) + "\n";
  }
  return out;
}

std::string formatRecommendation(const RecommendationReport& r) {
  const std::string k = std::to_string(r.ranking.k);
  std::string out;
  out += "  rows            " + std::to_string(r.rows) + "\n";
  if (r.rmse) {
    out += "  rmse            " + fixed(*r.rmse) + "\n";
    out += "  mae             " + optionalFixed(r.mae) + "\n";
    out += "  unknown pairs   " + std::to_string(r.unknown_pairs) + "\n";
  }
  out += "  users           " + std::to_string(r.ranking.users) + " (" +
         std::to_string(r.ranking.fallback_users) + " unknown, given the fallback)\n";
  if (r.relevance_threshold) {
    out += "  relevant        rating >= " + fixed(*r.relevance_threshold, 2) + "\n";
  }
  out += pad("  precision@" + k, 18, true) + fixed(r.ranking.precision_at_k) + "\n";
  out += pad("  recall@" + k, 18, true) + fixed(r.ranking.recall_at_k) + "\n";
  out += pad("  NDCG@" + k, 18, true) + fixed(r.ranking.ndcg_at_k) + "\n";
  out += pad("  MAP@" + k, 18, true) + fixed(r.ranking.map_at_k) + "\n";
  return out;
}

std::string formatLanguageModel(const LanguageModelReport& r) {
  const std::string unit = r.byte_tokens ? "byte" : "char";
  std::string out;
  out += "  rows            " + std::to_string(r.rows) + "\n";
  out += "  tokens          " + std::to_string(r.tokens) + " (vocabulary of " +
         std::to_string(r.vocabulary) + ")\n";
  out += "  loss            " + fixed(r.loss) + " nats/" + unit + "\n";
  out += "  perplexity      " + fixed(r.perplexity) + "\n";
  out += pad("  bits/" + unit, 18, true) + fixed(r.bits_per_token) + "\n";
  out += "  token accuracy  " + fixed(r.token_accuracy) + "\n";
  return out;
}

std::string formatForecast(const ForecastReport& r) {
  std::string out;
  out += "  rows            " + std::to_string(r.rows) + " windows of " + std::to_string(r.horizon) +
         " step(s) x " + std::to_string(r.targets) + " series\n";
  out += "  mae             " + fixed(r.mae) + "\n";
  out += "  rmse            " + fixed(r.rmse) + "\n";
  out += "  mape            " + optionalFixed(r.mape) + " (" + std::to_string(r.mape_values) +
         " values; " + std::to_string(r.mape_skipped) + " with a true value of 0 left out)\n";
  out += "  baseline        naive-seasonal, season " + std::to_string(r.season) + "\n";
  out += "  baseline mae    " + fixed(r.baseline_mae) + "\n";
  out += "  baseline rmse   " + fixed(r.baseline_rmse) + "\n";
  out += "  mase            " + optionalFixed(r.mase) + " (model MAE / baseline MAE)\n";
  return out;
}

}  // namespace

ClassificationMetrics::ClassificationMetrics(std::vector<std::string> class_names)
    : class_names_(std::move(class_names)),
      confusion_(class_names_.size(), std::vector<std::uint64_t>(class_names_.size(), 0)) {}

Status ClassificationMetrics::add(std::span<const std::int64_t> truth,
                                  std::span<const std::int64_t> predicted,
                                  std::span<const float> probabilities) {
  const std::size_t n = truth.size();
  const std::size_t classes = class_names_.size();
  if (predicted.size() != n) {
    return invalidArgument(std::to_string(n) + " true labels but " +
                           std::to_string(predicted.size()) + " predictions");
  }
  const bool with = !probabilities.empty();
  if (with_probabilities_ && *with_probabilities_ != with) {
    return invalidArgument(with ? "probabilities given for this batch but not for earlier ones"
                                : "probabilities missing for this batch but given before");
  }
  if (with && probabilities.size() != n * classes) {
    return invalidArgument("probabilities hold " + std::to_string(probabilities.size()) +
                           " values, expected " + std::to_string(n) + " rows x " +
                           std::to_string(classes) + " classes");
  }
  for (std::size_t i = 0; i < n; ++i) {
    for (auto [what, v] : {std::pair{"true class", truth[i]}, {"predicted class", predicted[i]}}) {
      if (v < 0 || static_cast<std::size_t>(v) >= classes) {
        return invalidArgument("row " + std::to_string(i) + ": " + what + " " + std::to_string(v) +
                               " is outside [0, " + std::to_string(classes) + ")");
      }
    }
  }
  for (std::size_t k = 0; k < probabilities.size(); ++k) {
    if (!std::isfinite(probabilities[k]) || probabilities[k] < 0) {
      return invalidArgument("row " + std::to_string(k / classes) + ": probability " +
                             std::to_string(probabilities[k]) + " is not a finite number >= 0");
    }
  }
  with_probabilities_ = with;
  for (std::size_t i = 0; i < n; ++i) {
    ++confusion_[static_cast<std::size_t>(truth[i])][static_cast<std::size_t>(predicted[i])];
  }
  if (with) {
    for (std::size_t i = 0; i < n; ++i) {
      const float* row = probabilities.data() + i * classes;
      double sum = 0;
      for (std::size_t k = 0; k < classes; ++k) {
        sum += std::clamp<double>(row[k], kLogLossEpsilon, 1 - kLogLossEpsilon);
      }
      double p = std::clamp<double>(row[truth[i]], kLogLossEpsilon, 1 - kLogLossEpsilon) / sum;
      log_loss_sum_ -= std::log(p);
    }
    truth_.insert(truth_.end(), truth.begin(), truth.end());
    probabilities_.insert(probabilities_.end(), probabilities.begin(), probabilities.end());
  }
  rows_ += n;
  return Status();
}

Expected<ClassificationReport> ClassificationMetrics::report() const {
  if (rows_ == 0) {
    return failedPrecondition("no predictions to evaluate: no rows were added");
  }
  const std::size_t classes = class_names_.size();
  ClassificationReport r;
  r.rows = rows_;
  r.confusion = confusion_;
  std::uint64_t correct = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    correct += confusion_[c][c];
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(rows_);
  for (std::size_t c = 0; c < classes; ++c) {
    ClassScores s;
    s.name = class_names_[c];
    std::uint64_t predicted = 0;
    for (std::size_t t = 0; t < classes; ++t) {
      s.support += confusion_[c][t];
      predicted += confusion_[t][c];
    }
    const auto tp = static_cast<double>(confusion_[c][c]);
    s.precision = predicted ? tp / static_cast<double>(predicted) : 0;
    s.recall = s.support ? tp / static_cast<double>(s.support) : 0;
    s.f1 = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
    r.macro_precision += s.precision / static_cast<double>(classes);
    r.macro_recall += s.recall / static_cast<double>(classes);
    r.macro_f1 += s.f1 / static_cast<double>(classes);
    r.classes.push_back(std::move(s));
  }
  if (with_probabilities_.value_or(false)) {
    r.log_loss = log_loss_sum_ / static_cast<double>(rows_);
    std::vector<double> scores(truth_.size());
    std::vector<bool> positive(truth_.size());
    auto aucOf = [&](std::size_t c) {
      for (std::size_t i = 0; i < truth_.size(); ++i) {
        scores[i] = probabilities_[i * classes + c];
        positive[i] = static_cast<std::size_t>(truth_[i]) == c;
      }
      return rocAuc(scores, positive);
    };
    if (classes == 2) {
      std::vector<float> positive_scores(truth_.size());
      for (std::size_t i = 0; i < truth_.size(); ++i) {
        positive_scores[i] = probabilities_[i * 2 + 1];
        positive[i] = truth_[i] == 1;
      }
      r.curves = binaryCurves(positive_scores, positive);
      if (r.curves) {
        r.roc_auc = r.curves->roc_auc;
      }
    } else if (classes > 2) {
      double sum = 0;
      bool defined = true;
      for (std::size_t c = 0; c < classes && defined; ++c) {
        auto auc = aucOf(c);
        defined = auc.has_value();
        sum += auc.value_or(0);
      }
      if (defined) {
        r.roc_auc = sum / static_cast<double>(classes);
      }
    }
  }
  return r;
}

RegressionMetrics::RegressionMetrics(std::int64_t targets, bool residuals)
    : targets_(static_cast<std::size_t>(std::max<std::int64_t>(targets, 1))),
      keep_residuals_(residuals) {}

Status RegressionMetrics::add(std::span<const float> truth, std::span<const float> predicted) {
  const std::size_t t = targets_.size();
  if (truth.size() != predicted.size() || truth.size() % t != 0) {
    return invalidArgument(std::to_string(truth.size()) + " true values and " +
                           std::to_string(predicted.size()) + " predictions do not form rows of " +
                           std::to_string(t) + " targets");
  }
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (!std::isfinite(truth[i]) || !std::isfinite(predicted[i])) {
      return invalidArgument("row " + std::to_string(i / t) + ": " +
                             (std::isfinite(truth[i]) ? "prediction" : "true value") +
                             " is not finite");
    }
  }
  const std::size_t n = truth.size() / t;
  if (keep_residuals_) {
    predicted_.insert(predicted_.end(), predicted.begin(), predicted.end());
    actual_.insert(actual_.end(), truth.begin(), truth.end());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double count = static_cast<double>(rows_ + i + 1);
    for (std::size_t k = 0; k < t; ++k) {
      Target& target = targets_[k];
      const double y = truth[i * t + k];
      const double error = static_cast<double>(predicted[i * t + k]) - y;
      const double delta = y - target.mean;
      target.mean += delta / count;
      target.m2 += delta * (y - target.mean);
      target.squared_error += error * error;
      target.absolute_error += std::fabs(error);
    }
  }
  rows_ += n;
  return Status();
}

Expected<RegressionReport> RegressionMetrics::report() const {
  if (rows_ == 0) {
    return failedPrecondition("no predictions to evaluate: no rows were added");
  }
  RegressionReport r;
  r.rows = rows_;
  r.targets = static_cast<std::int64_t>(targets_.size());
  const double n = static_cast<double>(rows_);
  const double t = static_cast<double>(targets_.size());
  for (const Target& target : targets_) {
    r.rmse += std::sqrt(target.squared_error / n) / t;
    r.mae += target.absolute_error / n / t;
    double r2 = 0;
    if (target.m2 > 0) {
      r2 = 1 - target.squared_error / target.m2;
    } else {
      r2 = target.squared_error == 0 ? 1 : 0;
    }
    r.r2 += r2 / t;
  }
  r.residuals = residualReport(predicted_, actual_);
  return r;
}

RankingMetrics::RankingMetrics(std::int64_t k) : k_(k) {}

Status RankingMetrics::add(std::span<const std::string> recommended,
                           const std::unordered_set<std::string>& relevant, bool fallback) {
  if (k_ < 1) {
    return invalidArgument("k must be at least 1, got " + std::to_string(k_));
  }
  if (relevant.empty()) {
    return Status();
  }
  const auto k = static_cast<std::size_t>(k_);
  const std::size_t ranked = std::min(recommended.size(), k);
  std::unordered_set<std::string_view> counted;
  double hits = 0;
  double dcg = 0;
  double precision_sum = 0;
  for (std::size_t i = 0; i < ranked; ++i) {
    const std::string& item = recommended[i];
    if (item.empty() || !relevant.count(item) || !counted.insert(item).second) {
      continue;
    }
    hits += 1;
    dcg += 1 / std::log2(static_cast<double>(i) + 2);
    precision_sum += hits / static_cast<double>(i + 1);
  }
  const std::size_t ideal_hits = std::min(relevant.size(), k);
  double ideal = 0;
  for (std::size_t i = 0; i < ideal_hits; ++i) {
    ideal += 1 / std::log2(static_cast<double>(i) + 2);
  }
  precision_ += hits / static_cast<double>(k);
  recall_ += hits / static_cast<double>(relevant.size());
  ndcg_ += dcg / ideal;
  map_ += precision_sum / static_cast<double>(ideal_hits);
  ++users_;
  fallback_users_ += fallback ? 1 : 0;
  return Status();
}

Expected<RankingReport> RankingMetrics::report() const {
  if (users_ == 0) {
    return failedPrecondition("no user with a relevant item to rank for");
  }
  const double n = static_cast<double>(users_);
  RankingReport r;
  r.k = k_;
  r.users = users_;
  r.fallback_users = fallback_users_;
  r.precision_at_k = precision_ / n;
  r.recall_at_k = recall_ / n;
  r.ndcg_at_k = ndcg_ / n;
  r.map_at_k = map_ / n;
  return r;
}

std::string formatEvaluation(const EvaluationReport& report) {
  std::string out = "evaluation '" + report.job + "': model '" + report.model + "' on dataset '" +
                    report.dataset + "'\n";
  if (report.regression) {
    const RegressionReport& r = *report.regression;
    out += "  rows      " + std::to_string(r.rows) + "\n";
    out += "  rmse      " + fixed(r.rmse) + "\n";
    out += "  mae       " + fixed(r.mae) + "\n";
    out += "  r2        " + fixed(r.r2) + "\n";
    return out;
  }
  if (report.clustering) {
    return out + formatClustering(*report.clustering);
  }
  if (report.recommendation) {
    return out + formatRecommendation(*report.recommendation);
  }
  if (report.language_model) {
    return out + formatLanguageModel(*report.language_model);
  }
  if (report.forecast) {
    return out + formatForecast(*report.forecast);
  }
  if (!report.classification) {
    return out;
  }
  const ClassificationReport& c = *report.classification;
  out += "  rows      " + std::to_string(c.rows) + "\n";
  out += "  accuracy  " + fixed(c.accuracy) + "\n";
  out += "  macro F1  " + fixed(c.macro_f1) + "\n";
  out += "  log-loss  " + (c.log_loss ? fixed(*c.log_loss) : std::string("n/a")) + "\n";
  out += "  ROC-AUC   " + (c.roc_auc ? fixed(*c.roc_auc) : std::string("n/a")) + "\n";
  if (c.curves) {
    out += "  avg prec  " + fixed(c.curves->average_precision) + "\n";
  }
  out += "\n";

  std::size_t name_width = 11;  // "macro avg" and a margin
  for (const auto& k : c.classes) {
    name_width = std::max(name_width, k.name.size() + 2);
  }
  out += "  " + pad("class", name_width, true) + pad("precision", 11) + pad("recall", 9) +
         pad("f1", 9) + pad("support", 10) + "\n";
  for (const auto& k : c.classes) {
    out += "  " + pad(k.name, name_width, true) + pad(fixed(k.precision), 11) +
           pad(fixed(k.recall), 9) + pad(fixed(k.f1), 9) + pad(std::to_string(k.support), 10) +
           "\n";
  }
  out += "  " + pad("macro avg", name_width, true) + pad(fixed(c.macro_precision), 11) +
         pad(fixed(c.macro_recall), 9) + pad(fixed(c.macro_f1), 9) +
         pad(std::to_string(c.rows), 10) + "\n\n";

  out += "  confusion matrix (rows: true class, columns: predicted)\n";
  std::size_t cell = 4;
  for (const auto& row : c.confusion) {
    for (auto v : row) {
      cell = std::max(cell, std::to_string(v).size() + 1);
    }
  }
  for (const auto& k : c.classes) {
    cell = std::max(cell, k.name.size() + 1);
  }
  out += "  " + std::string(name_width, ' ');
  for (const auto& k : c.classes) {
    out += pad(k.name, cell);
  }
  out += "\n";
  for (std::size_t t = 0; t < c.confusion.size(); ++t) {
    out += "  " + pad(c.classes[t].name, name_width, true);
    for (auto v : c.confusion[t]) {
      out += pad(std::to_string(v), cell);
    }
    out += "\n";
  }
  return out;
}

std::string evaluationJson(const EvaluationReport& report) {
  JsonWriter json;
  writeReport(json, report);
  return json.str();
}

std::string evaluationsJson(const std::vector<EvaluationReport>& reports) {
  JsonWriter json;
  json.beginArray();
  for (const auto& report : reports) {
    writeReport(json, report);
  }
  json.endArray();
  return json.str();
}

}  // namespace aimass::core
