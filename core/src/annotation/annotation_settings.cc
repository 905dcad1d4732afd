// SPDX-License-Identifier: Apache-2.0
// The `service.annotation` node type: its parameters and the checks that turn them into
// ProjectSettings.

#include "aimass/core/registry.h"
#include "annotation/annotation_node.h"
#include "jobs/jobs_node.h"
#include "retrain_job.h"

namespace aimass::core::annotation {
namespace {

std::vector<ParamSpec> projectParams() {
  return {
      ParamSpec::ref("dataset", NodeKind::kDataset,
                     "The rows to label (any dataset node: dataset.idx images, dataset.csv "
                     "rows and texts, ...); row numbers are task ids."),
      ParamSpec::ref("repository", NodeKind::kStorage,
                     "Where the project's annotations and reviews are kept, and exports "
                     "registered (usually the graph's registry storage)."),
      ParamSpec::string("task",
                        "What is labelled: class (one class), classes (multi-label), "
                        "value (a number), boxes (on images) or spans (of texts).")
          .oneOf({"class", "classes", "value", "boxes", "spans"})
          .withDefault(std::string("class")),
      ParamSpec::list("choices", ParamType::kStringList,
                      "The classes an annotator picks from (keys 1-9 pick the first nine). "
                      "Default: the dataset's class names.")
          .optional(),
      ParamSpec::number("value_min", "value: the least value accepted.").withDefault(0.0),
      ParamSpec::number("value_max", "value: the greatest value accepted.").withDefault(1.0),
      ParamSpec::integer("annotations_per_task",
                         "How many annotators answer each task before it is complete.")
          .range(1, 20)
          .withDefault(std::int64_t{1}),
      ParamSpec::boolean("review",
                         "Whether every complete task needs a reviewer's decision "
                         "(accept, reject or correct); without it a task is "
                         "accepted when its answers agree.")
          .withDefault(false),
      ParamSpec::list("annotators", ParamType::kStringList,
                      "The principals who label this project (API key names, JWT subjects); "
                      "operators and admins may too. Nobody else sees it but readers.")
          .withDefault(std::vector<std::string>{}),
      ParamSpec::list("reviewers", ParamType::kStringList,
                      "The principals who review this project; operators and admins may too.")
          .withDefault(std::vector<std::string>{}),
      ParamSpec::string("show",
                        "How a row is shown: image, text, table, or auto (text with "
                        "text_column, an image for square unnamed rows, else a table).")
          .oneOf({"auto", "image", "text", "table"})
          .withDefault(std::string("auto")),
      ParamSpec::integer("image_width",
                         "image: pixels per image row; 0: the square root of "
                         "the row's size.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::string("text_column", "text: the dataset's text column shown (and spanned).")
          .withDefault(std::string()),
  };
}

std::vector<ParamSpec> learningParams() {
  return {
      ParamSpec::string("sampling",
                        "Which task comes next: least_confidence, margin, entropy "
                        "(uncertainty of the served model), diversity (k-means "
                        "over the most uncertain rows' features) or random.")
          .oneOf({"least_confidence", "margin", "entropy", "diversity", "random"})
          .withDefault(std::string("random")),
      ParamSpec::string("model",
                        "The served model that ranks the tasks and suggests answers "
                        "(pre-annotation); empty: random order, no suggestions.")
          .withDefault(std::string()),
      ParamSpec::string("alias",
                        "What serving loads after a retraining: the model at this "
                        "alias; empty: by the model's version policy (the newest).")
          .withDefault(std::string()),
      ParamSpec::integer("seed", "Seeds the random order and diversity's k-means.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::integer("query_batch", "diversity: rows chosen together.")
          .range(1, 10000)
          .withDefault(std::int64_t{100}),
      ParamSpec::integer("lease_s",
                         "How long a task handed to an annotator is kept from "
                         "others.")
          .range(10, 86400)
          .withDefault(std::int64_t{600}),
      ParamSpec::path("export_dir",
                      "Where exports are written (relative: to this "
                      "configuration's folder).")
          .withDefault(std::string("annotation-exports")),
      ParamSpec::string("dataset_name",
                        "The registered dataset exports become versions of; "
                        "default: <project>.labels.")
          .withDefault(std::string()),
      ParamSpec::ref("jobs", NodeKind::kService,
                     "The service.jobs node retrainings run on; needed with "
                     "retrain_after_labels.")
          .optional(),
      ParamSpec::integer("retrain_after_labels",
                         "Export and retrain after this many newly accepted labels; 0: never.")
          .atLeast(0)
          .withDefault(std::int64_t{0}),
      ParamSpec::string("retrain_graph",
                        "The graph a retraining submits to the job service "
                        "(relative: to this configuration's folder); it "
                        "trains on the exported CSV and registers the model.")
          .withDefault(std::string()),
      ParamSpec::integer("interval_ms",
                         "How often the loop looks for a new model version "
                         "and counts new labels.")
          .range(100, 3600000)
          .withDefault(std::int64_t{2000}),
  };
}

Status readLabels(const NodeConfig& config, const Dataset& data, ProjectSettings& s) {
  AIMASS_ASSIGN_OR_RETURN(s.labels.task, parseLabelTask(config.getString("task")));
  if (config.has("choices")) {
    s.labels.choices = config.getStringList("choices");
  } else if (s.labels.task != LabelTask::kValue) {
    s.labels.choices = data.schema().class_names;
  }
  s.labels.min = config.getFloat("value_min");
  s.labels.max = config.getFloat("value_max");
  return s.labels.validate();
}

Status readLoop(const NodeConfig& config, ProjectSettings& s) {
  const auto every = config.getInt("retrain_after_labels");
  const std::string& graph = config.getString("retrain_graph");
  if (every == 0) {
    return graph.empty() ? Status()
                         : invalidArgument("retrain_graph is set but retrain_after_labels is 0");
  }
  if (graph.empty() || !config.has("jobs")) {
    return invalidArgument(
        "retrain_after_labels is set, so retrain_graph (the graph that "
        "retrains) and jobs (the service.jobs node) must be set");
  }
  if (s.ranking.model.empty()) {
    return invalidArgument(
        "retrain_after_labels is set, so model must name the served model "
        "the retraining registers");
  }
  s.triggers.new_labelled_rows = static_cast<std::uint64_t>(every);
  s.triggers.cooldown_ms = 0;
  AIMASS_ASSIGN_OR_RETURN(RetrainGraph read, readRetrainGraph(config, graph));
  s.retrain_graph = std::move(read.text);
  s.retrain_graph_name = std::move(read.path);
  s.queue = config.getString("queue");
  s.retrain_threads = config.getInt("retrain_threads");
  return Status();
}

Expected<std::unique_ptr<Node>> makeProject(const NodeConfig& config) {
  ProjectSettings s;
  s.name = config.nodeName();
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.name, "annotation project"));
  auto data = config.getRef<const Dataset>("dataset");
  auto storage = config.getRef<Storage>("repository");
  AIMASS_RETURN_IF_ERROR(readLabels(config, *data, s));
  s.per_task = static_cast<std::size_t>(config.getInt("annotations_per_task"));
  s.review = config.getBool("review");
  s.annotators = config.getStringList("annotators");
  s.reviewers = config.getStringList("reviewers");
  s.show = config.getString("show");
  s.image_width = config.getInt("image_width");
  s.text_column = config.getString("text_column");
  if (s.labels.task == LabelTask::kSpans && s.text_column.empty()) {
    return invalidArgument("a spans task needs text_column, the text the spans mark");
  }
  AIMASS_ASSIGN_OR_RETURN(s.ranking.strategy, parseSelectionStrategy(config.getString("sampling")));
  s.ranking.model = config.getString("model");
  if (!s.ranking.model.empty()) {
    AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.ranking.model, "model"));
  }
  s.alias = config.getString("alias");
  if (!s.alias.empty()) AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.alias, "alias"));
  s.ranking.seed = static_cast<std::uint64_t>(config.getInt("seed"));
  s.ranking.batch = static_cast<std::size_t>(config.getInt("query_batch"));
  s.lease_ms = config.getInt("lease_s") * 1000;
  s.export_dir = config.getPath("export_dir");
  if (s.export_dir.is_relative()) s.export_dir = config.host().baseDir() / s.export_dir;
  s.dataset_name = config.getString("dataset_name");
  if (s.dataset_name.empty()) s.dataset_name = s.name + ".labels";
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(s.dataset_name, "dataset_name"));
  s.interval_ms = config.getInt("interval_ms");
  AIMASS_RETURN_IF_ERROR(readLoop(config, s));
  std::shared_ptr<JobService> jobs;
  if (config.has("jobs")) {
    if (config.refTypes("jobs").front() != jobs::kJobsServiceType) {
      return invalidArgument("jobs must name a service.jobs node, not a " +
                             config.refTypes("jobs").front());
    }
    jobs = config.getRef<jobs::JobsServiceNode>("jobs");
  }
  AIMASS_ASSIGN_OR_RETURN(ContentLayout layout,
                          makeContentLayout(data->schema(), s.show, s.image_width, s.text_column));
  if ((s.labels.task == LabelTask::kBoxes && layout.kind != ContentKind::kImage) ||
      (s.labels.task == LabelTask::kSpans && layout.kind != ContentKind::kText)) {
    return invalidArgument("a " + std::string(labelTaskName(s.labels.task)) +
                           " task needs rows shown as " +
                           (s.labels.task == LabelTask::kBoxes ? "images" : "texts"));
  }
  return std::unique_ptr<Node>(std::make_unique<AnnotationNode>(
      std::move(s), layout, std::move(data), std::move(storage), std::move(jobs), config.host()));
}

}  // namespace

NodeType annotationNodeType() {
  NodeType type;
  type.type = kAnnotationServiceType;
  type.kind = NodeKind::kService;
  type.summary =
      "An annotation project (docs/annotation.md): annotators label a dataset's rows in the "
      "console, reviewers decide, the served model picks the next task (active learning) and "
      "suggests answers; accepted labels export as a registered dataset version";
  for (auto* group : {projectParams, learningParams, retrainJobParams}) {
    for (auto& spec : group()) type.params.push_back(std::move(spec));
  }
  type.factory = [](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    auto made = makeProject(config);
    if (!made.ok()) return made.status().withContext(config.nodeName());
    return made;
  };
  return type;
}

}  // namespace aimass::core::annotation
