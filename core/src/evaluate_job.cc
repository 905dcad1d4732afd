// SPDX-License-Identifier: Apache-2.0
#include "evaluate_job.h"

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <utility>
#include <vector>

#include "aimass/core/cli.h"
#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/runtime.h"
#include "aimass/core/tracking.h"
#include "evaluate_tasks.h"
#include "evaluation_record.h"
#include "file_whole.h"
#include "pipeline/table_io.h"
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

/// Classification and regression: compares the model's "label" (and "probabilities") or
/// "prediction" outputs with the data's labels.
Status evaluateSupervised(const EvaluationPass& pass, EvaluationReport& report) {
  const EvaluateTargets& targets = pass.targets;
  const DatasetSchema& data_schema = targets.dataset->schema();
  const ModelSchema model_schema = targets.model->schema();
  const std::string& model_text = pass.model_text;
  const std::string& data_text = pass.data_text;
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
  const auto classes = static_cast<std::int64_t>(data_schema.class_names.size());

  ClassificationMetrics class_metrics(data_schema.class_names);
  RegressionMetrics value_metrics(std::max<std::int64_t>(data_schema.num_targets, 1));
  TensorMap inputs;
  TensorMap outputs;
  ProgressPhase phase(pass.progress, "evaluate " + targets.model_name, batchCount(pass));
  Status scored = forEachBatch(
      pass, phase, 0, [&](std::uint64_t begin, std::uint64_t end, const Batch& batch) -> Status {
        setModelInputs(model_schema, batch.features, batch.lengths, inputs);
        setTextInputs(model_schema, data_schema.string_feature_names, batch.strings, inputs);
        Status predicted = targets.model->predict(inputs, outputs, targets.predict_options);
        if (!predicted.ok()) {
          return predicted.withContext(model_text + " predicting rows " + std::to_string(begin) +
                                       ".." + std::to_string(end - 1));
        }
        const auto n = static_cast<std::int64_t>(end - begin);
        Status added;
        if (classification) {
          const Tensor* labels = outputs.find(tensor_names::kLabel);
          if (labels == nullptr || labels->dtype() != DType::kInt64 || labels->numel() != n) {
            return invalidArgument(model_text +
                                   " gave no INT64 \"label\" output with one class per row; a "
                                   "classifier must");
          }
          const Tensor* probabilities = outputs.find(tensor_names::kProbabilities);
          std::span<const float> p;
          if (probabilities != nullptr && probabilities->dtype() == DType::kFloat32 &&
              probabilities->numel() == n * classes) {
            p = probabilities->span<float>();
          }
          added =
              class_metrics.add(batch.labels.span<std::int64_t>(), labels->span<std::int64_t>(), p);
        } else {
          const Tensor* prediction = outputs.find(tensor_names::kPrediction);
          if (prediction == nullptr || prediction->dtype() != DType::kFloat32 ||
              prediction->numel() != batch.labels.numel()) {
            return invalidArgument(model_text + " gave no FP32 \"prediction\" output of shape " +
                                   shapeToString(batch.labels.shape()) +
                                   "; a regression model must");
          }
          added = value_metrics.add(batch.labels.span<float>(), prediction->span<float>());
        }
        return added.ok() ? Status() : added.withContext("scoring" + rowsText(pass, begin, end));
      });
  AIMASS_RETURN_IF_ERROR(scored);
  char summary[96];
  if (classification) {
    AIMASS_ASSIGN_OR_RETURN(ClassificationReport result, class_metrics.report());
    std::snprintf(summary, sizeof summary, "accuracy=%.4f macro_f1=%.4f", result.accuracy,
                  result.macro_f1);
    report.classification = std::move(result);
  } else {
    AIMASS_ASSIGN_OR_RETURN(RegressionReport result, value_metrics.report());
    std::snprintf(summary, sizeof summary, "rmse=%.4f mae=%.4f r2=%.4f", result.rmse, result.mae,
                  result.r2);
    report.regression = std::move(result);
  }
  phase.end(summary);
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
    if (Status written = writeFileWhole(targets_.output, evaluationJson(report)); !written.ok()) {
      return invalidArgument("cannot write the evaluation report to '" +
                             targets_.output.string() + "': " + written.message());
    }
    host.log(LogLevel::kInfo, name_, "wrote the report to '" + targets_.output.string() + "'");
  }
  if (targets_.storage) {
    AIMASS_RETURN_IF_ERROR(record(host, report));
  }
  report_ = std::move(report);
  return Status();
}

Status EvaluateJob::record(Host& host, const EvaluationReport& report) {
  Storage& storage = *targets_.storage;
  EvaluationRecording what;
  what.experiment = targets_.experiment;
  what.job = name_;
  what.model = targets_.model_name;
  what.dataset = targets_.dataset_name;
  auto recorded = [&]() -> Expected<std::int64_t> {
    AIMASS_ASSIGN_OR_RETURN(what.version,
                            registeredModelVersion(storage, targets_.model_name, *targets_.model));
    if (what.version > 0) {
      what.model_version = targets_.model_name;
    }
    AIMASS_ASSIGN_OR_RETURN(
        what.dataset_version,
        registeredDatasetVersion(storage, targets_.dataset_name, *targets_.dataset));
    return recordEvaluation(storage, what, report);
  };
  auto run = recorded();
  if (!run.ok()) {
    return run.status().withContext("job.evaluate '" + name_ +
                                    "' computed its report but could "
                                    "not record it in " +
                                    storage.describe());
  }
  host.log(LogLevel::kInfo, name_,
           "recorded the evaluation as run " + std::to_string(*run) + " of experiment '" +
               what.experiment + "'" +
               (what.version > 0 ? ", of model version " + what.model_version + "/" +
                                       std::to_string(what.version)
                                 : std::string()) +
               " (aimass runs show " + std::to_string(*run) + ")");
  return Status();
}

Status EvaluateJob::evaluate(Host& host, JobProgress& progress, EvaluationReport& report) {
  const Model& model = *targets_.model;
  const EvaluationPass pass{host,
                            progress,
                            targets_,
                            name_,
                            "model '" + targets_.model_name + "'",
                            "dataset '" + targets_.dataset_name + "'"};
  if (!model.ready()) {
    return failedPrecondition(pass.model_text +
                              " is neither trained nor loaded: train it with a job.train first "
                              "(set `after:` to that job so it runs before this one)");
  }
  if (targets_.dataset->size() == 0) {
    return invalidArgument(pass.data_text + " has no rows to evaluate on");
  }
  switch (model.schema().task) {
    case Task::kClustering: {
      AIMASS_ASSIGN_OR_RETURN(report.clustering, evaluateClustering(pass));
      return Status();
    }
    case Task::kRecommendation: {
      AIMASS_ASSIGN_OR_RETURN(report.recommendation, evaluateRecommendation(pass));
      return Status();
    }
    case Task::kSequence: {
      AIMASS_ASSIGN_OR_RETURN(report.language_model, evaluateLanguageModel(pass));
      return Status();
    }
    default: {
      const DatasetSchema& data = targets_.dataset->schema();
      if (model.schema().task == Task::kRegression && data.label_kind == LabelKind::kValue &&
          data.row_shape.size() == 2 && data.feature_dtype == DType::kFloat32) {
        AIMASS_ASSIGN_OR_RETURN(report.forecast, evaluateForecast(pass));
        return Status();
      }
      return evaluateSupervised(pass, report);
    }
  }
}

std::uint64_t batchCount(const EvaluationPass& pass) {
  const std::uint64_t batch_size = pass.targets.batch_size;
  return (pass.targets.dataset->size() + batch_size - 1) / batch_size;
}

std::string rowsText(const EvaluationPass& pass, std::uint64_t begin, std::uint64_t end) {
  return " (rows " + std::to_string(begin) + ".." + std::to_string(end - 1) + " of " +
         pass.data_text + ")";
}

Status forEachBatch(const EvaluationPass& pass, ProgressPhase& phase, std::uint64_t done_before,
                    const BatchVisit& visit) {
  const std::uint64_t total = pass.targets.dataset->size();
  const std::uint64_t batch_size = pass.targets.batch_size;
  const std::uint64_t batches = batchCount(pass);
  std::vector<std::uint64_t> rows;
  Batch batch;
  for (std::uint64_t step = 0; step < batches; ++step) {
    if (pass.host.stopRequested()) {
      phase.end("stopped");
      return cancelled("evaluation of " + pass.model_text + " was stopped");
    }
    const std::uint64_t begin = step * batch_size;
    const std::uint64_t end = std::min(total, begin + batch_size);
    rows.resize(end - begin);
    for (std::uint64_t r = begin; r < end; ++r) {
      rows[r - begin] = r;
    }
    Status read = pass.targets.dataset->read(rows, batch);
    if (!read.ok()) {
      return read.withContext("reading " + pass.data_text);
    }
    AIMASS_RETURN_IF_ERROR(visit(begin, end, batch));
    phase.update(done_before + step + 1);
  }
  return Status();
}

NodeType evaluateJobNodeType() {
  NodeType type;
  type.type = kEvaluateType;
  type.kind = NodeKind::kJob;
  type.summary =
      "Scores a trained model on a dataset: accuracy, precision/recall/F1, confusion matrix, "
      "log-loss, ROC-AUC; RMSE/MAE/R²; inertia, silhouette, Davies-Bouldin, ARI, NMI for "
      "clustering; RMSE/MAE and precision/recall/NDCG/MAP at k for recommenders; "
      "perplexity and bits per character for language models; MAE/RMSE/MAPE against a "
      "naive-seasonal baseline for forecasters";
  type.params = {
      ParamSpec::ref("model", NodeKind::kModel,
                     "The model to evaluate; it must be trained (by an earlier job) or loaded."),
      ParamSpec::ref("dataset", NodeKind::kDataset,
                     "Data to score it on, ideally rows it was not trained on: labelled for a "
                     "classifier or regressor; for a clustering model labels are optional "
                     "(class labels add the adjusted Rand index and NMI); for a recommender "
                     "(user, item) rows, with ratings optional (they add RMSE and MAE); for a "
                     "language model token streams with next-token labels (dataset.text); for "
                     "a forecaster windows of a series (dataset.series)."),
      ParamSpec::ref("after", NodeKind::kJob,
                     "A job that must run first, typically the job.train of the model.")
          .optional(),
      ParamSpec::path("output",
                      "Also write the report as JSON to this file (relative to the config "
                      "file's folder).")
          .optional(),
      ParamSpec::ref("storage", NodeKind::kStorage,
                     "Record the evaluation in this storage's experiment tracking: a finished "
                     "run of the `experiment` (params job, model, dataset, task, and "
                     "model_version and dataset_version when the registry holds the model's "
                     "exact weights and the dataset's fingerprint; the headline metrics as its "
                     "metrics) with the whole report attached, served by GET "
                     "/api/v1/runs/{id}/evaluation and listed per model version by GET "
                     "/api/v1/models/{name}/versions/{version}/evaluations. Not recorded when "
                     "absent; a storage error fails the job.")
          .optional(),
      ParamSpec::string("experiment",
                        "The experiment of the recorded run (letters, digits, '.', '_', '-'); "
                        "with a storage only.")
          .withDefault(std::string("evaluation")),
      ParamSpec::integer("batch_size", "Rows (recommenders' top-k: users) per predict() call.")
          .withDefault(std::int64_t{256})
          .atLeast(1),
      ParamSpec::integer("k",
                         "Recommenders: the length of the top-k lists that precision, recall, "
                         "NDCG and MAP at k rank (the model leaves out the items each user "
                         "interacted with in training).")
          .withDefault(std::int64_t{10})
          .atLeast(1),
      ParamSpec::number("relevance_threshold",
                        "Recommenders on rated data: only a user's items rated at least this "
                        "count as relevant (unset: every item of the user's rows). Ignored, "
                        "with a warning, for data without ratings.")
          .optional(),
      ParamSpec::integer("silhouette_sample",
                         "Clustering: the silhouette is computed on at most this many rows, "
                         "chosen at random (its cost grows with the square of the rows); 0: "
                         "every row.")
          .withDefault(std::int64_t{5000})
          .atLeast(0),
      ParamSpec::integer("seed",
                         "Clustering: seeds the choice of the silhouette sample; the same seed "
                         "picks the same rows.")
          .withDefault(std::int64_t{0})
          .atLeast(0),
      ParamSpec::integer("season",
                         "Forecasting: the naive-seasonal baseline forecasts each step with the "
                         "value this many steps (or a multiple of them) earlier, the last one the "
                         "input window holds; 1 repeats the last value, 24 the same hour of the "
                         "previous day for hourly data. The windows must hold at least this "
                         "many steps.")
          .withDefault(std::int64_t{1})
          .atLeast(1),
      ParamSpec::integer("forecast_targets",
                         "Forecasting: how many series are forecast, i.e. the first this many "
                         "features of each input step (dataset.series puts its target_columns "
                         "first); the labels are horizon x this many values.")
          .withDefault(std::int64_t{1})
          .atLeast(1),
      ParamSpec::string("precision",
                        "Classification and regression: the precision the model predicts in, "
                        "passed as its 'precision' request parameter: fp32; bf16 (model.mlp: "
                        "bf16 products, an error on a CPU without AVX512-BF16); auto (bf16 "
                        "where the CPU has it). Models that have one precision ignore it. "
                        "`aimass eval --precision` overrides it.")
          .withDefault(std::string("fp32"))
          .oneOf({"fp32", "bf16", "auto"}),
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
      targets.k = config.getInt("k");
      if (config.has("relevance_threshold")) {
        targets.relevance_threshold = config.getFloat("relevance_threshold");
      }
      targets.silhouette_sample = static_cast<std::uint64_t>(config.getInt("silhouette_sample"));
      targets.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      targets.season = config.getInt("season");
      targets.forecast_targets = config.getInt("forecast_targets");
      if (const std::string precision = config.getString("precision"); precision != "fp32") {
        targets.predict_options.parameters.emplace_back("precision", precision);
      }
      if (config.has("output")) {
        targets.output = config.getPath("output");
      }
      if (config.has("storage")) {
        targets.storage = config.getRef<Storage>("storage");
      }
      targets.experiment = config.getString("experiment");
      AIMASS_RETURN_IF_ERROR(Tracking::validateName(targets.experiment, "experiment"));
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

int runEvaluation(Graph& graph, HostServices& host, bool json, std::ostream& out, std::ostream& err,
                  const std::string& precision) {
  if (!precision.empty()) {
    graph.overrideParam(kEvaluateType, "precision", ParamValue(precision));
  }
  std::vector<std::string> evaluations;
  for (const GraphNode& node : graph.nodes()) {
    if (node.type != nullptr && node.type->type.type == kEvaluateType) {
      evaluations.push_back(node.decl.name);
    }
  }
  if (evaluations.empty()) {
    err << "aimass: the configuration has no job.evaluate node: add one naming the model and "
           "a dataset to score it on\n";
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
