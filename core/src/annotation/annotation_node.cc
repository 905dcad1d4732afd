// SPDX-License-Identifier: Apache-2.0
// The annotation node's life: its records, its ranking, the tasks it hands out and its loop.
#include "annotation/annotation_node.h"

#include <algorithm>
#include <cmath>
#include <exception>

#include "aimass/core/serving.h"
#include "aimass/job_service.h"
#include "aimass/tensor_names.h"
#include "annotation/annotation_export.h"
#include "record_text.h"

namespace aimass::core::annotation {
namespace {

bool listed(const std::vector<std::string>& names, const std::string& name) {
  return !name.empty() && std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

AnnotationNode::AnnotationNode(ProjectSettings settings, ContentLayout layout,
                               std::shared_ptr<const Dataset> data,
                               std::shared_ptr<Storage> storage, std::shared_ptr<JobService> jobs,
                               Host& host)
    : settings_(std::move(settings)),
      data_(std::move(data)),
      storage_(std::move(storage)),
      jobs_(std::move(jobs)),
      host_(host),
      layout_(layout),
      book_(storage_,
            BookRules{settings_.name, settings_.labels, settings_.per_task, settings_.review}) {
  ranking_ = randomRanking(data_->size(), settings_.ranking.seed,
                           settings_.ranking.model.empty() ? "" : "the model has not ranked yet");
}

AnnotationNode::~AnnotationNode() { stop(); }

Status AnnotationNode::start(ServingRuntime* serving) {
  serving_ = serving;
  AIMASS_RETURN_IF_ERROR(book_.load());
  {
    std::lock_guard lock(loop_mutex_);
    accepted_at_last_retrain_ = book_.counts().accepted;
  }
  loop_.start(host_,
              {std::chrono::milliseconds(settings_.interval_ms), settings_.name, "annotation: "},
              [this] { return runOnce(); });
  return Status();
}

void AnnotationNode::stop() { loop_.stop(); }

Status AnnotationNode::runOnce() {
  Status ranked = rankIfModelMoved();
  Status retrained = retrainIfDue();
  {
    std::lock_guard lock(loop_mutex_);
    last_error_ = !ranked.ok() ? ranked.message() : retrained.message();
  }
  return ranked.ok() ? retrained : ranked;
}

Status AnnotationNode::rankIfModelMoved() {
  if (settings_.ranking.model.empty() || serving_ == nullptr) return Status();
  auto served = serving_->find(settings_.ranking.model, "");
  if (!served.ok()) return Status();  // not served (yet): the random order stands
  {
    std::lock_guard lock(ranking_mutex_);
    if (ranking_->version == served->version && ranking_->model == settings_.ranking.model) {
      return Status();
    }
  }
  if (settings_.ranking.strategy == SelectionStrategy::kRandom) {
    std::lock_guard lock(ranking_mutex_);
    auto same = std::make_shared<Ranking>(*ranking_);
    same->model = settings_.ranking.model;
    same->version = served->version;
    same->note.clear();
    ranking_ = std::move(same);
    return Status();
  }
  auto ranked = modelRanking(
      *data_, *served->model, settings_.ranking, served->version, [this](std::uint64_t row) {
        return book_.state(row) == TaskState::kOpen && book_.task(row).annotations.empty();
      });
  std::lock_guard lock(ranking_mutex_);
  if (!ranked.ok()) {
    auto fallback = std::make_shared<Ranking>(*ranking_);
    fallback->model = settings_.ranking.model;
    fallback->version = served->version;  // tried once per version, not every cycle
    fallback->note = "model " + settings_.ranking.model + " version " + served->version +
                     " could not rank the pool: " + ranked.status().message();
    ranking_ = std::move(fallback);
    return ranked.status();
  }
  ranking_ = *ranked;
  host_.log(LogLevel::kInfo, settings_.name,
            "annotation: tasks ranked by " + settings_.ranking.model + " version " +
                served->version + " (" +
                std::string(selectionStrategyName(settings_.ranking.strategy)) + ")");
  return Status();
}

Status AnnotationNode::retrainIfDue() {
  if (!settings_.triggers.new_labelled_rows || !jobs_) return Status();
  std::lock_guard lock(loop_mutex_);
  if (retrain_job_ != 0) {
    AIMASS_ASSIGN_OR_RETURN(JobInfo job, jobs_->get(retrain_job_));
    if (job.state == "queued" || job.state == "running") return Status();
    retrain_job_ = 0;
    if (job.state != "succeeded") {
      return internalError("retraining job " + std::to_string(job.id) + " ended " + job.state);
    }
    if (serving_ != nullptr) {
      const std::string reference =
          settings_.ranking.model + (settings_.alias.empty() ? "" : "@" + settings_.alias);
      AIMASS_RETURN_IF_ERROR(
          serving_->load(reference).withContext("serving could not load " + reference +
                                                " after retraining job " + std::to_string(job.id)));
    }
    return Status();
  }
  PolicySignals signals;
  signals.now_ms = record::nowUnixMs();
  signals.last_retrain_ms = last_retrain_ms_;
  const std::uint64_t accepted = book_.counts().accepted;
  signals.labelled_rows_since =
      accepted > accepted_at_last_retrain_ ? accepted - accepted_at_last_retrain_ : 0;
  const RetrainDecision decision = decideRetrain(settings_.triggers, signals);
  if (!decision.retrain) return Status();
  last_retrain_ms_ = signals.now_ms;
  accepted_at_last_retrain_ = accepted;
  AIMASS_ASSIGN_OR_RETURN(ExportResult exported,
                          exportLabels(*this, ExportFormat::kDataset, "annotation loop"));
  JobSubmitRequest request;
  request.config = settings_.retrain_graph;
  request.config_name = settings_.retrain_graph_name;
  request.queue = settings_.queue;
  request.owner = "annotation:" + settings_.name;
  request.resources.threads = settings_.retrain_threads;
  AIMASS_ASSIGN_OR_RETURN(JobInfo job, jobs_->submit(request));
  retrain_job_ = job.id;
  ++retrains_;
  host_.log(LogLevel::kInfo, settings_.name,
            "annotation: " + decision.reason + "; exported " + exported.dataset + " (" +
                std::to_string(exported.rows) + " rows), retraining as job " +
                std::to_string(job.id));
  return Status();
}

bool AnnotationNode::maySee(const HttpRequest& request) const {
  return request.role >= Role::kReader || listed(settings_.annotators, request.principal) ||
         listed(settings_.reviewers, request.principal);
}

bool AnnotationNode::mayAnnotate(const HttpRequest& request) const {
  return request.role >= Role::kOperator || listed(settings_.annotators, request.principal);
}

bool AnnotationNode::mayReview(const HttpRequest& request) const {
  return request.role >= Role::kOperator || listed(settings_.reviewers, request.principal);
}

std::optional<std::uint64_t> AnnotationNode::nextTask(const std::string& annotator) {
  std::shared_ptr<const Ranking> ranking;
  {
    std::lock_guard lock(ranking_mutex_);
    ranking = ranking_;
  }
  const std::int64_t now = record::nowUnixMs();
  std::lock_guard lock(lease_mutex_);
  // Expired leases go; a task this annotator holds and may still answer comes back first.
  for (auto it = leases_.begin(); it != leases_.end();) {
    std::erase_if(it->second, [&](const auto& held) { return held.second <= now; });
    it = it->second.empty() ? leases_.erase(it) : std::next(it);
  }
  auto answered = [&](const TaskRecord& record) {
    return std::any_of(record.annotations.begin(), record.annotations.end(),
                       [&](const Annotation& a) { return a.annotator == annotator; });
  };
  for (auto& [row, holders] : leases_) {
    if (holders.count(annotator) && book_.state(row) == TaskState::kOpen &&
        !answered(book_.task(row))) {
      holders[annotator] = now + settings_.lease_ms;
      return row;
    }
  }
  for (std::uint64_t row : ranking->order) {
    if (book_.state(row) != TaskState::kOpen) continue;
    const TaskRecord record = book_.task(row);
    if (answered(record)) continue;
    auto held = leases_.find(row);
    const std::size_t holders = held == leases_.end() ? 0 : held->second.size();
    if (record.annotations.size() + holders >= settings_.per_task) continue;
    leases_[row][annotator] = now + settings_.lease_ms;
    return row;
  }
  return std::nullopt;
}

void AnnotationNode::release(std::uint64_t row, const std::string& annotator) {
  std::lock_guard lock(lease_mutex_);
  auto it = leases_.find(row);
  if (it == leases_.end()) return;
  it->second.erase(annotator);
  if (it->second.empty()) leases_.erase(it);
}

std::optional<std::uint64_t> AnnotationNode::nextReview(const std::string& reviewer) const {
  std::optional<std::uint64_t> best;
  std::int64_t best_ms = 0;
  book_.forEachTask([&](std::uint64_t row, const TaskRecord& record, TaskState state) {
    if (state != TaskState::kAwaitingReview) return;
    std::int64_t completed = 0;
    for (const auto& a : record.annotations) {
      if (a.annotator == reviewer) return;
      completed = std::max(completed, a.unix_ms);
    }
    if (!best || completed < best_ms) {
      best = row;
      best_ms = completed;
    }
  });
  return best;
}

Expected<Batch> AnnotationNode::readRow(std::uint64_t row) const {
  if (row >= data_->size()) {
    return notFound("project '" + settings_.name + "' has no task " + std::to_string(row) +
                    " (its dataset has " + std::to_string(data_->size()) + " rows)");
  }
  Batch batch;
  const std::uint64_t rows[1] = {row};
  AIMASS_RETURN_IF_ERROR(data_->read(rows, batch));
  return batch;
}

void AnnotationNode::writeSuggestion(JsonWriter& json, const Batch& row) const {
  if (settings_.ranking.model.empty() || serving_ == nullptr) return;
  if (settings_.labels.task != LabelTask::kClass && settings_.labels.task != LabelTask::kValue) {
    return;
  }
  auto served = serving_->find(settings_.ranking.model, "");
  if (!served.ok()) return;
  const Model& model = *served->model;
  if (settings_.labels.task == LabelTask::kClass) {
    std::size_t classes = 0;
    auto p = classProbabilities(model, row, classes);
    const auto names = model.schema().class_names;
    if (!p.ok() || classes == 0 || names.size() != classes) return;
    const auto best = static_cast<std::size_t>(std::max_element(p->begin(), p->end()) - p->begin());
    if (settings_.labels.choiceIndex(names[best]) < 0) return;  // a class the project lacks
    json.key("suggestion").beginObject().key("model").value(settings_.ranking.model);
    json.key("version").value(served->version).key("answer").beginObject();
    json.key("label").value(names[best]).endObject();
    json.key("score").value(static_cast<double>((*p)[best])).endObject();
    return;
  }
  TensorMap inputs, outputs;
  const ModelSchema schema = model.schema();
  if (schema.inputs.empty() || row.features.dtype() != DType::kFloat32) return;
  inputs.set(schema.inputs.front().name, row.features.reshaped({1, row.features.numel()}));
  if (!model.predict(inputs, outputs, PredictOptions{}).ok()) return;
  const Tensor* value = outputs.find(tensor_names::kPrediction);
  if (value == nullptr || value->dtype() != DType::kFloat32 || value->numel() < 1) return;
  const double v = std::clamp(static_cast<double>(value->data<float>()[0]), settings_.labels.min,
                              settings_.labels.max);
  json.key("suggestion").beginObject().key("model").value(settings_.ranking.model);
  json.key("version").value(served->version).key("answer").beginObject();
  json.key("value").value(v).endObject().endObject();
}

void AnnotationNode::writeRanking(JsonWriter& json) const {
  std::shared_ptr<const Ranking> ranking;
  {
    std::lock_guard lock(ranking_mutex_);
    ranking = ranking_;
  }
  const bool by_model = !ranking->scores.empty();
  json.beginObject()
      .key("strategy")
      .value(by_model ? selectionStrategyName(ranking->strategy) : std::string_view("random"));
  json.key("model").value(ranking->model).key("version").value(ranking->version);
  json.key("unix_ms").value(ranking->unix_ms);
  json.key("rows").value(static_cast<std::uint64_t>(ranking->order.size()));
  json.key("note").value(ranking->note).endObject();
}

void AnnotationNode::writeLoop(JsonWriter& json) const {
  std::lock_guard lock(loop_mutex_);
  json.beginObject().key("every").value(settings_.triggers.new_labelled_rows.value_or(0));
  const std::uint64_t accepted = book_.counts().accepted;
  json.key("since").value(accepted > accepted_at_last_retrain_
                              ? accepted - accepted_at_last_retrain_
                              : std::uint64_t{0});
  json.key("job").value(retrain_job_).key("retrains").value(retrains_);
  json.key("last_error").value(last_error_).endObject();
}

double AnnotationNode::score(std::uint64_t row) const {
  std::lock_guard lock(ranking_mutex_);
  return row < ranking_->scores.size() ? static_cast<double>(ranking_->scores[row]) : std::nan("");
}

}  // namespace aimass::core::annotation
