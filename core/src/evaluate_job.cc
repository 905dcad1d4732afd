// SPDX-License-Identifier: Apache-2.0
#include "evaluate_job.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <system_error>
#include <utility>
#include <vector>

#include "aimass/core/cli.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/runtime.h"
#include "train_tracking.h"

namespace aimass::core {
namespace {

constexpr const char* kEvaluateType = "job.evaluate";

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  return names.size() > 12 ? out + ", ..." : out;
}

/// Writes `text` to `path` through a temporary file in the same folder, renamed over it, so
/// readers never see half a report.
Status writeWhole(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path temporary = path;
  temporary += ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) {
      return invalidArgument("cannot write the evaluation report to '" + path.string() +
                             "': cannot create '" + temporary.string() + "'");
    }
    file << text;
    file.flush();
    if (!file) {
      std::error_code ignored;
      std::filesystem::remove(temporary, ignored);
      return invalidArgument("cannot write the evaluation report to '" + path.string() + "'");
    }
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) {
    std::filesystem::remove(temporary, ec);
    return invalidArgument("cannot move the evaluation report to '" + path.string() + "'");
  }
  return Status();
}

}  // namespace

EvaluateJob::EvaluateJob(std::string name, EvaluateTargets targets)
    : name_(std::move(name)), targets_(std::move(targets)) {}

Status EvaluateJob::run(Host& host, JobProgress& progress) {
  EvaluationReport report;
  report.job = name_;
  report.model = targets_.model_name;
  report.dataset = targets_.dataset_name;
  AIMASS_RETURN_IF_ERROR(evaluate(host, progress, report));
  if (!targets_.output.empty()) {
    AIMASS_RETURN_IF_ERROR(writeWhole(targets_.output, evaluationJson(report)));
    host.log(LogLevel::kInfo, name_, "wrote the report to '" + targets_.output.string() + "'");
  }
  report_ = std::move(report);
  return Status();
}

Status EvaluateJob::evaluate(Host& host, JobProgress& progress, EvaluationReport& report) {
  const Model& model = *targets_.model;
  const Dataset& dataset = *targets_.dataset;
  const std::string model_text = "model '" + targets_.model_name + "'";
  const std::string data_text = "dataset '" + targets_.dataset_name + "'";
  if (!model.ready()) {
    return failedPrecondition(model_text +
                              " is neither trained nor loaded: train it with a job.train first "
                              "(set `after:` to that job so it runs before this one)");
  }
  const DatasetSchema& data_schema = dataset.schema();
  const ModelSchema model_schema = model.schema();
  const std::uint64_t total = dataset.size();
  if (total == 0) {
    return invalidArgument(data_text + " has no rows to evaluate on");
  }
  const bool classification = data_schema.label_kind == LabelKind::kClass;
  if (!classification && data_schema.label_kind != LabelKind::kValue) {
    return invalidArgument(data_text +
                           " has no labels (or labels that are not classes or values): "
                           "evaluation compares predictions with labels");
  }
  if (classification) {
    if (model_schema.task != Task::kClassification) {
      return invalidArgument(data_text + " has class labels but " + model_text + " is a " +
                             std::string(taskName(model_schema.task)) + " model");
    }
    if (!model_schema.class_names.empty() && model_schema.class_names != data_schema.class_names) {
      return invalidArgument(model_text + " knows the classes [" +
                             joined(model_schema.class_names) + "] but " + data_text + " has [" +
                             joined(data_schema.class_names) + "]");
    }
  } else if (model_schema.task != Task::kRegression) {
    return invalidArgument(data_text + " has value labels but " + model_text + " is a " +
                           std::string(taskName(model_schema.task)) + " model");
  }
  const std::string input_name = model_schema.inputs.empty() ? std::string(tensor_names::kInput)
                                                             : model_schema.inputs.front().name;
  const auto classes = static_cast<std::int64_t>(data_schema.class_names.size());

  ClassificationMetrics class_metrics(data_schema.class_names);
  RegressionMetrics value_metrics(std::max<std::int64_t>(data_schema.num_targets, 1));
  const std::uint64_t batch_size = targets_.batch_size;
  const std::uint64_t batches = (total + batch_size - 1) / batch_size;
  std::vector<std::uint64_t> rows;
  Batch batch;
  TensorMap inputs;
  TensorMap outputs;
  progress.begin("evaluate " + targets_.model_name, batches);
  auto fail = [&](Status status) {
    progress.end("failed");
    return status;
  };
  for (std::uint64_t step = 0; step < batches; ++step) {
    if (host.stopRequested()) {
      progress.end("stopped");
      return cancelled("evaluation of " + model_text + " was stopped");
    }
    const std::uint64_t begin = step * batch_size;
    const std::uint64_t end = std::min(total, begin + batch_size);
    rows.resize(end - begin);
    for (std::uint64_t r = begin; r < end; ++r) {
      rows[r - begin] = r;
    }
    Status read = dataset.read(rows, batch);
    if (!read.ok()) {
      return fail(read.withContext("reading " + data_text));
    }
    inputs.set(input_name, batch.features);
    Status predicted = model.predict(inputs, outputs, PredictOptions{});
    if (!predicted.ok()) {
      return fail(predicted.withContext(model_text + " predicting rows " + std::to_string(begin) +
                                        ".." + std::to_string(end - 1)));
    }
    const auto n = static_cast<std::int64_t>(rows.size());
    const std::string where = " (rows " + std::to_string(begin) + ".." + std::to_string(end - 1) +
                              " of " + data_text + ")";
    Status added;
    if (classification) {
      const Tensor* labels = outputs.find(tensor_names::kLabel);
      if (labels == nullptr || labels->dtype() != DType::kInt64 || labels->numel() != n) {
        return fail(invalidArgument(model_text + " gave no INT64 \"label\" output with one class "
                                                 "per row; a classifier must"));
      }
      const Tensor* probabilities = outputs.find(tensor_names::kProbabilities);
      std::span<const float> p;
      if (probabilities != nullptr && probabilities->dtype() == DType::kFloat32 &&
          probabilities->numel() == n * classes) {
        p = probabilities->span<float>();
      }
      added = class_metrics.add(batch.labels.span<std::int64_t>(), labels->span<std::int64_t>(), p);
    } else {
      const Tensor* prediction = outputs.find(tensor_names::kPrediction);
      if (prediction == nullptr || prediction->dtype() != DType::kFloat32 ||
          prediction->numel() != batch.labels.numel()) {
        return fail(invalidArgument(model_text + " gave no FP32 \"prediction\" output of shape " +
                                    shapeToString(batch.labels.shape()) +
                                    "; a regression model must"));
      }
      added = value_metrics.add(batch.labels.span<float>(), prediction->span<float>());
    }
    if (!added.ok()) {
      return fail(added.withContext("scoring" + where));
    }
    progress.update(step + 1, {});
  }
  if (classification) {
    auto result = class_metrics.report();
    if (!result.ok()) {
      return fail(result.status());
    }
    char summary[96];
    std::snprintf(summary, sizeof summary, "accuracy=%.4f macro_f1=%.4f", result->accuracy,
                  result->macro_f1);
    progress.end(summary);
    report.classification = std::move(result).value();
  } else {
    auto result = value_metrics.report();
    if (!result.ok()) {
      return fail(result.status());
    }
    char summary[96];
    std::snprintf(summary, sizeof summary, "rmse=%.4f mae=%.4f r2=%.4f", result->rmse, result->mae,
                  result->r2);
    progress.end(summary);
    report.regression = std::move(result).value();
  }
  return Status();
}

NodeType evaluateJobNodeType() {
  NodeType type;
  type.type = kEvaluateType;
  type.kind = NodeKind::kJob;
  type.summary =
      "Scores a trained model on a labelled dataset: accuracy, precision/recall/F1, confusion "
      "matrix, log-loss, ROC-AUC, or RMSE/MAE/R²";
  type.params = {
      ParamSpec::ref("model", NodeKind::kModel,
                     "The model to evaluate; it must be trained (by an earlier job) or loaded."),
      ParamSpec::ref("dataset", NodeKind::kDataset,
                     "Labelled data to score it on, ideally rows it was not trained on."),
      ParamSpec::ref("after", NodeKind::kJob,
                     "A job that must run first, typically the job.train of the model.")
          .optional(),
      ParamSpec::path("output",
                      "Also write the report as JSON to this file (relative to the config "
                      "file's folder).")
          .optional(),
      ParamSpec::integer("batch_size", "Rows per predict() call.")
          .withDefault(std::int64_t{256})
          .atLeast(1),
  };
  type.factory = [](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    std::unique_ptr<Node> node;
    Status status = guard(kEvaluateType, [&]() -> Status {
      EvaluateTargets targets;
      targets.model = config.getRef<Model>("model");
      targets.model_name = config.refNames("model").front();
      targets.dataset = config.getRef<Dataset>("dataset");
      targets.dataset_name = config.refNames("dataset").front();
      targets.batch_size = static_cast<std::uint64_t>(config.getInt("batch_size"));
      if (config.has("output")) {
        targets.output = config.getPath("output");
      }
      if (!targets.model || !targets.dataset) {
        return invalidArgument("job.evaluate needs a model and a dataset");
      }
      node = std::make_unique<EvaluateJob>(config.nodeName(), std::move(targets));
      return Status();
    });
    if (!status.ok()) {
      return status;
    }
    return node;
  };
  return type;
}

int runEvaluation(Graph& graph, HostServices& host, bool json, std::ostream& out,
                  std::ostream& err) {
  std::vector<std::string> evaluations;
  for (const GraphNode& node : graph.nodes()) {
    if (node.type != nullptr && node.type->type.type == kEvaluateType) {
      evaluations.push_back(node.decl.name);
    }
  }
  if (evaluations.empty()) {
    err << "aimass: the configuration has no job.evaluate node: add one naming the model and "
           "a labelled dataset\n";
    return kExitBadInput;
  }
  std::vector<EvaluationReport> reports;
  Runtime::Hooks hooks;
  hooks.progress = Runtime::consoleProgress(host, err);
  hooks.job_finished = [&](std::string_view name, Job& job) {
    if (std::find(evaluations.begin(), evaluations.end(), name) == evaluations.end()) {
      return;
    }
    if (const auto& report = static_cast<EvaluateJob&>(job).report()) {
      reports.push_back(*report);
    }
  };
  Runtime::Options options;
  options.serve = false;
  options.run_last = {kEvaluateType};
  Status status = Runtime(graph, host, std::move(hooks), std::move(options)).run();
  if (status.code() == StatusCode::kCancelled) {
    err << "cancelled\n";
    return kExitFailure;
  }
  if (!status.ok()) {
    err << "aimass: " << status.message() << "\n";
    return kExitFailure;
  }
  if (json) {
    out << evaluationsJson(reports);
  } else {
    for (std::size_t i = 0; i < reports.size(); ++i) {
      out << (i ? "\n" : "") << formatEvaluation(reports[i]);
    }
  }
  out.flush();
  return kExitOk;
}

}  // namespace aimass::core
