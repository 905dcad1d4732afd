// SPDX-License-Identifier: Apache-2.0
// The built-in `service.annotation` node: one annotation project (docs/annotation.md). It
// points at unlabelled rows through a dataset node and keeps what annotators and reviewers say
// of them in a storage node (project_book.h). Its routes, under /api/v1/annotation/projects/
// <name> (annotation_routes.cc), hand annotators their next task, take answers and decisions,
// report agreement and export the accepted labels as a registered dataset version, a CSV or
// COCO JSON (annotation_export.h).
//
// Which task comes next is the model's choice: a ranker (ranking.h) scores every row of the
// pool with the served model the project names (uncertainty or diversity sampling, or a
// seeded random order), and ranks again whenever serving answers with another version of it.
// With retrain_after_labels, the node's loop exports the accepted labels after every that
// many new ones and submits retrain_graph to the job service (the monitor's policy, policy.h);
// when the job has registered a new version, serving loads it and the pool is ranked again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/host.h"
#include "aimass/http.h"
#include "aimass/node.h"
#include "aimass/plugin.h"
#include "aimass/storage.h"
#include "annotation/label_config.h"
#include "annotation/project_book.h"
#include "annotation/ranking.h"
#include "annotation/task_content.h"
#include "monitoring/policy.h"
#include "periodic_loop.h"

namespace aimass {
class JobService;
}

namespace aimass::core {
class ServingRuntime;
}

namespace aimass::core::annotation {

inline constexpr char kAnnotationServiceType[] = "service.annotation";

/// A project's configuration, checked.
struct ProjectSettings {
  std::string name;  ///< the node's name: the project's name in routes and storage
  LabelConfig labels;
  std::size_t per_task = 1;
  bool review = false;
  std::vector<std::string> annotators;  ///< principals who label; empty: operators only
  std::vector<std::string> reviewers;   ///< principals who review; operators and admins may too
  std::string show = "auto";            ///< image, text, table or auto (task_content.h)
  std::int64_t image_width = 0;
  std::string text_column;
  RankingSettings ranking;
  std::int64_t lease_ms = 10 * 60 * 1000;  ///< how long a task handed out is held for its annotator
  std::filesystem::path export_dir;        ///< where exported files are written
  std::string dataset_name;                ///< the registered dataset of exports
  RetrainTriggers triggers;                ///< new_labelled_rows: retrain_after_labels
  std::string retrain_graph, retrain_graph_name, queue = "default";
  std::int64_t retrain_threads = 1;
  std::string alias;  ///< what serving loads after a retraining (empty: by version policy)
  std::int64_t interval_ms = 2000;
};

/// The node. Threading: start() and stop() on the host's main thread; the loop on its own; the
/// routes from any thread.
class AnnotationNode final : public Node {
 public:
  /// `layout` is makeContentLayout()'s for the dataset (the factory checks it fits the task).
  AnnotationNode(ProjectSettings settings, ContentLayout layout,
                 std::shared_ptr<const Dataset> data, std::shared_ptr<Storage> storage,
                 std::shared_ptr<JobService> jobs, Host& host);
  ~AnnotationNode() override;

  NodeKind kind() const noexcept override { return NodeKind::kService; }
  /// Reads the project's records and starts the loop; `serving` answers the ranker's and the
  /// suggestions' predictions (null: random order, no suggestions).
  Status start(ServingRuntime* serving);
  void stop();
  /// One pass of the loop on the calling thread (tests): ranks again when the model moved,
  /// retrains when the policy says so.
  Status runOnce();

  const ProjectSettings& settings() const noexcept { return settings_; }
  const Dataset& data() const noexcept { return *data_; }
  const ContentLayout& layout() const noexcept { return layout_; }
  ProjectBook& book() noexcept { return book_; }
  const ProjectBook& book() const noexcept { return book_; }
  Storage& storage() const noexcept { return *storage_; }

  /// Whether `request`'s caller may see the project (assigned, or reader and above), label
  /// (assigned annotator, or operator and above), review (assigned reviewer, or operator and
  /// above).
  bool maySee(const HttpRequest& request) const;
  bool mayAnnotate(const HttpRequest& request) const;
  bool mayReview(const HttpRequest& request) const;

  /// The next task for `annotator`: the task it holds, else the best-ranked open task it has
  /// not answered and that others do not already cover; the task is then held for it for
  /// lease_ms. nullopt when none is left.
  std::optional<std::uint64_t> nextTask(const std::string& annotator);
  /// The oldest task awaiting review that `reviewer` did not answer.
  std::optional<std::uint64_t> nextReview(const std::string& reviewer) const;
  /// Lets go of the task held for `annotator` (after its answer).
  void release(std::uint64_t row, const std::string& annotator);

  /// One row as the annotator sees it.
  Expected<Batch> readRow(std::uint64_t row) const;
  /// The served model's answer to `row`, as a suggestion: writes "suggestion" members
  /// ({"model", "version", "answer", "score"}) into `json`'s open object; nothing when the
  /// project has no model, the model is not served, or it cannot answer.
  void writeSuggestion(JsonWriter& json, const Batch& row) const;
  /// The ranking's summary: {"strategy", "model", "version", "unix_ms", "rows", "note"}.
  void writeRanking(JsonWriter& json) const;
  /// The loop's retraining state: {"every", "since", "job", "retrains", "last_error"}.
  void writeLoop(JsonWriter& json) const;
  /// The task's score in the current ranking, NaN when not scored.
  double score(std::uint64_t row) const;

 private:
  Status rankIfModelMoved();
  Status retrainIfDue();

  ProjectSettings settings_;
  std::shared_ptr<const Dataset> data_;
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<JobService> jobs_;
  Host& host_;
  ContentLayout layout_;
  ProjectBook book_;
  ServingRuntime* serving_ = nullptr;

  mutable std::mutex ranking_mutex_;
  std::shared_ptr<const Ranking> ranking_;
  mutable std::mutex lease_mutex_;
  /// Who holds which task until when (unix ms).
  std::map<std::uint64_t, std::map<std::string, std::int64_t>> leases_;

  mutable std::mutex loop_mutex_;  ///< the loop's state below
  std::uint64_t accepted_at_last_retrain_ = 0;
  std::int64_t last_retrain_ms_ = 0;
  std::int64_t retrain_job_ = 0;
  std::uint64_t retrains_ = 0;
  std::string last_error_;

  PeriodicLoop loop_;  ///< last: stopped (by the destructor) before the state it reads goes
};

/// The `service.annotation` node type.
NodeType annotationNodeType();

/// Adds the routes of every project node to the host's route table (annotation_routes.cc):
/// GET /api/v1/annotation/projects and the routes under /api/v1/annotation/projects/{project}.
Status addAnnotationRoutes(Host& host, std::vector<std::shared_ptr<AnnotationNode>> projects);

}  // namespace aimass::core::annotation
