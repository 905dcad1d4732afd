// SPDX-License-Identifier: Apache-2.0
#include "monitoring/gate.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "aimass/util/json_writer.h"

namespace aimass::core {
namespace {

/// What a report says, read from its JSON (the one place metric names are defined).
struct ReportFacts {
  std::string task;
  std::uint64_t rows = 0;
  Poco::JSON::Object::Ptr metrics;
};

ReportFacts factsOf(const EvaluationReport& report) {
  Poco::JSON::Parser parser;
  auto root = parser.parse(evaluationJson(report)).extract<Poco::JSON::Object::Ptr>();
  ReportFacts facts;
  facts.task = root->optValue<std::string>("task", "");
  facts.rows = root->optValue<std::uint64_t>("rows", 0);
  facts.metrics = root->getObject("metrics");
  return facts;
}

/// The metric's value, or an error naming the metrics the report has.
Expected<double> metricOf(const ReportFacts& facts, const std::string& metric,
                          std::string_view which) {
  if (facts.metrics && facts.metrics->has(metric) && !facts.metrics->isNull(metric)) {
    auto value = facts.metrics->get(metric);
    if (value.isNumeric()) {
      return value.convert<double>();
    }
  }
  std::string known;
  if (facts.metrics) {
    for (const auto& [name, value] : *facts.metrics) {
      if (!value.isEmpty() && value.isNumeric()) {
        known += (known.empty() ? "" : ", ") + name;
      }
    }
  }
  return invalidArgument("the gate's metric '" + metric + "' is not in the " +
                         std::string(which) + "'s " + facts.task + " report (it has: " +
                         (known.empty() ? std::string("none") : known) + ")");
}

/// Fills report.classes and fails the gate on the worst recall drop beyond the bound.
Status judgeClasses(const EvaluationReport& champion, const EvaluationReport& challenger,
                    GateReport& report) {
  if (!champion.classification || !challenger.classification) {
    return invalidArgument("the gate's max_class_regression needs a classification task");
  }
  const auto& old_classes = champion.classification->classes;
  const auto& new_classes = challenger.classification->classes;
  if (old_classes.size() != new_classes.size()) {
    return invalidArgument("the champion has " + std::to_string(old_classes.size()) +
                           " classes and the challenger " + std::to_string(new_classes.size()));
  }
  double worst = 0;
  std::string worst_name;
  for (std::size_t i = 0; i < old_classes.size(); ++i) {
    GateClass c{old_classes[i].name, old_classes[i].recall, new_classes[i].recall,
                old_classes[i].support};
    if (old_classes[i].name != new_classes[i].name) {
      return invalidArgument("class " + std::to_string(i) + " is '" + old_classes[i].name +
                             "' for the champion and '" + new_classes[i].name +
                             "' for the challenger");
    }
    const double drop = c.champion_recall - c.challenger_recall;
    if (c.support > 0 && drop > worst) {
      worst = drop;
      worst_name = c.name;
    }
    report.classes.push_back(std::move(c));
  }
  if (report.passed && worst > *report.max_class_regression) {
    report.passed = false;
    report.reason += "; but class '" + worst_name + "' recall falls by " + decisionNumber(worst) +
                     " > max_class_regression " + decisionNumber(*report.max_class_regression);
  }
  return Status();
}

}  // namespace

std::string decisionNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

bool gateLowerIsBetter(const std::string& metric) {
  static constexpr std::array<std::string_view, 10> kLower = {
      "log_loss", "rmse", "mae", "mape", "mase", "loss", "perplexity", "bits_per_char",
      "inertia", "davies_bouldin"};
  for (std::string_view name : kLower) {
    if (metric == name) {
      return true;
    }
  }
  return metric.starts_with("baseline_");
}

Status validateGateSpec(const GateSpec& spec, const std::string& where) {
  if (spec.metric.empty()) {
    return invalidArgument(where + ": metric must name a job.evaluate metric (e.g. accuracy)");
  }
  if (!std::isfinite(spec.margin) || spec.margin < 0) {
    return invalidArgument(where + ": margin must be a number >= 0, got " +
                           decisionNumber(spec.margin));
  }
  if (spec.max_class_regression &&
      (!std::isfinite(*spec.max_class_regression) || *spec.max_class_regression < 0 ||
       *spec.max_class_regression > 1)) {
    return invalidArgument(where + ": max_class_regression must be from 0 to 1, got " +
                           decisionNumber(*spec.max_class_regression));
  }
  return Status();
}

Expected<GateReport> judgeGate(const EvaluationReport& champion,
                               const EvaluationReport& challenger, const GateSpec& spec) {
  AIMASS_RETURN_IF_ERROR(validateGateSpec(spec, "the gate"));
  const ReportFacts old_facts = factsOf(champion), new_facts = factsOf(challenger);
  if (old_facts.task != new_facts.task || old_facts.rows != new_facts.rows) {
    return invalidArgument("the gate compares reports on the same rows of the same task; got " +
                           old_facts.task + " on " + std::to_string(old_facts.rows) +
                           " rows (champion) and " + new_facts.task + " on " +
                           std::to_string(new_facts.rows) + " rows (challenger)");
  }
  GateReport report;
  report.metric = spec.metric;
  report.lower_is_better = gateLowerIsBetter(spec.metric);
  report.margin = spec.margin;
  report.max_class_regression = spec.max_class_regression;
  report.rows = old_facts.rows;
  AIMASS_ASSIGN_OR_RETURN(report.champion, metricOf(old_facts, spec.metric, "champion"));
  AIMASS_ASSIGN_OR_RETURN(report.challenger, metricOf(new_facts, spec.metric, "challenger"));
  report.improvement = report.lower_is_better ? report.champion - report.challenger
                                              : report.challenger - report.champion;
  report.passed = report.improvement >= spec.margin;
  report.reason = spec.metric + " " + decisionNumber(report.challenger) + " (challenger) vs " +
                  decisionNumber(report.champion) + " (champion): " +
                  (report.improvement >= 0 ? "+" : "") + decisionNumber(report.improvement) +
                  (report.passed ? " >= " : " < ") + "margin " + decisionNumber(spec.margin);
  if (spec.max_class_regression) {
    AIMASS_RETURN_IF_ERROR(judgeClasses(champion, challenger, report));
  }
  return report;
}

std::string GateReport::json(const GateReport* shadow) const {
  JsonWriter json;
  json.beginObject().key("passed").value(passed).key("metric").value(metric);
  json.key("lower_is_better").value(lower_is_better);
  json.key("champion").value(champion).key("challenger").value(challenger);
  json.key("improvement").value(improvement).key("margin").value(margin);
  json.key("max_class_regression");
  if (max_class_regression) {
    json.value(*max_class_regression);
  } else {
    json.null();
  }
  json.key("rows").value(rows).key("classes").beginArray();
  for (const auto& c : classes) {
    json.beginObject().key("name").value(c.name);
    json.key("champion_recall").value(c.champion_recall);
    json.key("challenger_recall").value(c.challenger_recall);
    json.key("support").value(c.support).endObject();
  }
  json.endArray().key("reason").value(reason);
  if (shadow != nullptr) {
    json.key("shadow").json(shadow->json());
  }
  json.endObject();
  return json.str();
}

}  // namespace aimass::core
