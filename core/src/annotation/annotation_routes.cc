// SPDX-License-Identifier: Apache-2.0
// The annotation projects' JSON API (docs/annotation.md, docs/openapi.yaml). Every route needs
// at least the annotator role; each then checks the caller's part in the project: a project
// the caller may not see answers 404 like one that does not exist, an action it may not take
// 403.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <charconv>
#include <cmath>
#include <exception>

#include "aimass/util/http_text.h"
#include "aimass/util/json_writer.h"
#include "annotation/agreement_report.h"
#include "annotation/annotation_export.h"
#include "annotation/annotation_node.h"
#include "json_check.h"
#include "record_text.h"

namespace aimass::core::annotation {
namespace {

using Projects = std::vector<std::shared_ptr<AnnotationNode>>;
using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

constexpr std::size_t kMaxBody = 1 << 20;

/// Who the caller is in records: its principal, "anonymous" where nobody authenticates.
std::string callerName(const HttpRequest& request) {
  return request.principal.empty() ? std::string("anonymous") : request.principal;
}

void answerJson(HttpResponse& response, std::string body, int status = 200) {
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
}

void answerError(HttpResponse& response, const Status& status) {
  jsonError(response, httpStatusFor(status), status.message());
}

/// The project named in the path, if the caller may see it.
AnnotationNode* projectOf(const Projects& projects, const HttpRequest& request,
                          HttpResponse& response) {
  auto it = request.path_params.find("project");
  const std::string name = it == request.path_params.end() ? std::string() : it->second;
  for (const auto& p : projects) {
    if (p->settings().name == name && p->maySee(request)) return p.get();
  }
  jsonError(response, 404, "no annotation project '" + name.substr(0, 100) + "'");
  return nullptr;
}

/// The task number in the path.
Expected<std::uint64_t> taskOf(const AnnotationNode& project, const HttpRequest& request) {
  auto it = request.path_params.find("task");
  const std::string text = it == request.path_params.end() ? std::string() : it->second;
  std::uint64_t row = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), row);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return invalidArgument("task '" + text.substr(0, 40) + "' is not a task number");
  }
  if (row >= project.data().size()) {
    return notFound("project '" + project.settings().name + "' has no task " + text + " (it has " +
                    std::to_string(project.data().size()) + ")");
  }
  return row;
}

Expected<Poco::JSON::Object::Ptr> bodyObject(const HttpRequest& request) {
  if (request.body.size() > kMaxBody) {
    return Status(StatusCode::kResourceExhausted, "the body is over 1 MiB");
  }
  if (!isJsonObjectText(request.body)) {
    return invalidArgument("the body is not one JSON object");
  }
  try {
    auto parsed = Poco::JSON::Parser().parse(request.body);
    return parsed.extract<Poco::JSON::Object::Ptr>();
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return invalidArgument(std::string("the body is not JSON: ") + e.what());
  }
}

void writeCounts(JsonWriter& json, const BookCounts& c, std::uint64_t tasks) {
  json.beginObject().key("tasks").value(tasks).key("annotated").value(c.annotated);
  json.key("awaiting_review").value(c.awaiting_review).key("accepted").value(c.accepted);
  json.key("rejected_rounds").value(c.rejected_rounds).key("annotations").value(c.annotations);
  json.key("by_annotator").beginObject();
  for (const auto& [who, n] : c.by_annotator) json.key(who).value(n);
  json.endObject().key("by_reviewer").beginObject();
  for (const auto& [who, n] : c.by_reviewer) json.key(who).value(n);
  json.endObject().endObject();
}

void writeSummary(JsonWriter& json, const AnnotationNode& p, const HttpRequest& request) {
  const ProjectSettings& s = p.settings();
  json.beginObject().key("name").value(s.name).key("task").value(labelTaskName(s.labels.task));
  if (s.labels.task == LabelTask::kValue) {
    json.key("min").value(s.labels.min).key("max").value(s.labels.max);
  } else {
    json.key("choices").beginArray();
    for (const auto& c : s.labels.choices) json.value(c);
    json.endArray();
  }
  const char* shown = p.layout().kind == ContentKind::kImage
                          ? "image"
                          : (p.layout().kind == ContentKind::kText ? "text" : "table");
  json.key("show")
      .value(shown)
      .key("annotations_per_task")
      .value(static_cast<std::uint64_t>(s.per_task));
  json.key("review").value(s.review).key("model").value(s.ranking.model);
  json.key("sampling").value(selectionStrategyName(s.ranking.strategy));
  json.key("dataset_name").value(s.dataset_name);
  json.key("may_annotate")
      .value(p.mayAnnotate(request))
      .key("may_review")
      .value(p.mayReview(request));
  json.key("may_export").value(request.role >= Role::kOperator);
  json.key("counts");
  writeCounts(json, p.book().counts(), p.data().size());
  json.key("ranking");
  p.writeRanking(json);
  json.key("loop");
  p.writeLoop(json);
  json.endObject();
}

/// A task as `request`'s caller may see it: content, suggestion, score and the answers it may
/// read (reviewers and operators all; an annotator its own).
Expected<std::string> taskJson(const AnnotationNode& p, std::uint64_t row,
                               const HttpRequest& request) {
  AIMASS_ASSIGN_OR_RETURN(Batch batch, p.readRow(row));
  const TaskRecord record = p.book().task(row);
  const bool sees_all = p.mayReview(request);
  const std::string me = callerName(request);
  JsonWriter json;
  json.beginObject().key("task").value(row).key("state").value(taskStateName(p.book().state(row)));
  json.key("content").beginObject();
  writeContent(json, p.layout(), p.data().schema(), batch);
  if (p.layout().kind == ContentKind::kImage) {
    json.key("image").value("/api/v1/annotation/projects/" + p.settings().name + "/tasks/" +
                            std::to_string(row) + "/image");
  }
  json.endObject();
  if (p.layout().kind == ContentKind::kText) {
    json.key("characters").value(codePoints(contentText(p.layout(), batch)));
  }
  p.writeSuggestion(json, batch);
  const double score = p.score(row);
  json.key("score");
  if (std::isfinite(score)) {
    json.value(score);
  } else {
    json.null();
  }
  json.key("rejections").value(static_cast<std::uint64_t>(record.rejections));
  json.key("annotations").beginArray();
  for (const auto& a : record.annotations) {
    if (sees_all || a.annotator == me) writeAnnotationRecord(json, p.settings().labels, a);
  }
  json.endArray();
  if (record.review) {
    json.key("review").beginObject().key("reviewer").value(record.review->reviewer);
    json.key("decision").value(decisionName(record.review->decision));
    json.key("unix_ms").value(record.review->unix_ms);
    if (record.review->label) {
      json.key("answer").beginObject();
      writeLabelMembers(json, p.settings().labels, *record.review->label);
      json.endObject();
    }
    json.endObject();
  }
  if (auto accepted = p.book().accepted(row)) {
    json.key("accepted").beginObject();
    writeLabelMembers(json, p.settings().labels, *accepted);
    json.endObject();
  }
  json.endObject();
  return json.str();
}

/// What an answer is checked against: the image's size, the text's length.
Expected<TaskBounds> boundsOf(const AnnotationNode& p, std::uint64_t row) {
  TaskBounds bounds;
  bounds.width = p.layout().width;
  bounds.height = p.layout().height;
  if (p.layout().kind == ContentKind::kText) {
    AIMASS_ASSIGN_OR_RETURN(Batch batch, p.readRow(row));
    bounds.characters = codePoints(contentText(p.layout(), batch));
  }
  return bounds;
}

Expected<std::string> annotate(AnnotationNode& p, std::uint64_t row, const HttpRequest& request) {
  AIMASS_ASSIGN_OR_RETURN(auto body, bodyObject(request));
  for (const auto& [key, value] : *body) {
    static constexpr std::string_view kKnown[] = {"label", "labels",  "value",    "boxes",
                                                  "spans", "seconds", "suggested"};
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      return invalidArgument("the body has an unknown member '" + key.substr(0, 40) + "'");
    }
  }
  AIMASS_ASSIGN_OR_RETURN(TaskBounds bounds, boundsOf(p, row));
  Annotation a;
  AIMASS_ASSIGN_OR_RETURN(a.label, readLabel(p.settings().labels, *body, bounds));
  a.annotator = callerName(request);
  a.unix_ms = record::nowUnixMs();
  if (body->has("seconds")) {
    const auto seconds = body->get("seconds");
    if (!seconds.isNumeric() || seconds.isBoolean() || !std::isfinite(seconds.convert<double>()) ||
        seconds.convert<double>() < 0) {
      return invalidArgument("seconds must be a number of seconds, 0 or more");
    }
    a.seconds = seconds.convert<double>();
  }
  if (body->has("suggested")) {
    if (!body->get("suggested").isBoolean())
      return invalidArgument("suggested must be true or false");
    a.suggested = body->getValue<bool>("suggested");
  }
  const std::string who = a.annotator;
  AIMASS_ASSIGN_OR_RETURN(TaskState state, p.book().annotate(row, std::move(a)));
  p.release(row, who);
  JsonWriter json;
  json.beginObject().key("task").value(row).key("state").value(taskStateName(state)).endObject();
  return json.str();
}

Expected<std::string> review(AnnotationNode& p, std::uint64_t row, const HttpRequest& request) {
  AIMASS_ASSIGN_OR_RETURN(auto body, bodyObject(request));
  if (!body->has("decision") || !body->get("decision").isString()) {
    return invalidArgument("the body needs 'decision': accept, reject or correct");
  }
  Review r;
  AIMASS_ASSIGN_OR_RETURN(r.decision, parseDecision(body->getValue<std::string>("decision")));
  r.reviewer = callerName(request);
  r.unix_ms = record::nowUnixMs();
  if (r.decision == Decision::kCorrect) {
    AIMASS_ASSIGN_OR_RETURN(TaskBounds bounds, boundsOf(p, row));
    AIMASS_ASSIGN_OR_RETURN(r.label, readLabel(p.settings().labels, *body, bounds));
  }
  AIMASS_ASSIGN_OR_RETURN(TaskState state, p.book().review(row, std::move(r)));
  JsonWriter json;
  json.beginObject().key("task").value(row).key("state").value(taskStateName(state)).endObject();
  return json.str();
}

/// The answer of a "next" route: the task, or {"task": null, "note"} when none is left.
void answerNext(HttpResponse& response, const AnnotationNode& p, std::optional<std::uint64_t> row,
                const HttpRequest& request, const char* none) {
  if (!row) {
    JsonWriter json;
    json.beginObject().key("task").null().key("note").value(none).endObject();
    answerJson(response, json.str());
    return;
  }
  auto body = taskJson(p, *row, request);
  body.ok() ? answerJson(response, std::move(*body)) : answerError(response, body.status());
}

/// Adds the routes. The handlers outlive this object: they hold the projects themselves.
class Routes {
 public:
  Routes(Host& host, Projects projects)
      : host_(host), projects_(std::make_shared<const Projects>(std::move(projects))) {}

  void add(const char* method, const std::string& path, std::string summary, Handler handler) {
    Route route;
    route.method = method;
    route.pattern = "/api/v1/annotation/projects" + path;
    route.summary = std::move(summary);
    route.role = Role::kAnnotator;
    route.owner = "aimass";
    route.handler = [handler = std::move(handler)](const HttpRequest& request,
                                                   HttpResponse& response) {
      try {
        handler(request, response);
      } catch (const std::exception& e) {
        jsonError(response, 500, std::string("annotation API failure: ") + e.what());
      }
    };
    Status added = host_.routes().add(std::move(route));
    if (first_error_.ok() && !added.ok()) first_error_ = added;
  }

  /// A route on one project's task: the project and task found, then `act`.
  void addTask(
      const char* method, const std::string& path, std::string summary,
      std::function<void(AnnotationNode&, std::uint64_t, const HttpRequest&, HttpResponse&)> act) {
    add(method, "/{project}/tasks/{task}" + path, std::move(summary),
        [projects = projects_, act = std::move(act)](const HttpRequest& request,
                                                     HttpResponse& response) {
          AnnotationNode* p = projectOf(*projects, request, response);
          if (p == nullptr) return;
          auto row = taskOf(*p, request);
          if (!row.ok()) return answerError(response, row.status());
          act(*p, *row, request, response);
        });
  }

  void addAll();
  const Status& firstError() const { return first_error_; }

 private:
  void addReads();
  void addActions();

  Host& host_;
  std::shared_ptr<const Projects> projects_;
  Status first_error_;
};

void Routes::addReads() {
  add("GET", "", "The annotation projects the caller takes part in (readers: all)",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        JsonWriter json;
        json.beginObject().key("projects").beginArray();
        for (const auto& p : *projects) {
          if (p->maySee(request)) writeSummary(json, *p, request);
        }
        json.endArray().endObject();
        answerJson(response, json.str());
      });
  add("GET", "/{project}", "One annotation project: labels, progress, ranking, loop",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        if (AnnotationNode* p = projectOf(*projects, request, response)) {
          JsonWriter json;
          writeSummary(json, *p, request);
          answerJson(response, json.str());
        }
      });
  add("GET", "/{project}/agreement",
      "Inter-annotator agreement of the project and of each annotator (reviewers, readers)",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        AnnotationNode* p = projectOf(*projects, request, response);
        if (p == nullptr) return;
        if (!p->mayReview(request) && request.role < Role::kReader) {
          return jsonError(response, 403, "only reviewers and readers see the agreement");
        }
        JsonWriter json;
        writeAgreement(json, agreementOf(p->book()));
        answerJson(response, json.str());
      });
  addTask(
      "GET", "",
      "One task: its content, the model's suggestion, the answers the caller "
      "may read",
      [](AnnotationNode& p, std::uint64_t row, const HttpRequest& request, HttpResponse& response) {
        if (!p.mayAnnotate(request) && !p.mayReview(request)) {
          return jsonError(
              response, 403,
              "'" + callerName(request) + "' neither annotates nor reviews this project");
        }
        auto body = taskJson(p, row, request);
        body.ok() ? answerJson(response, std::move(*body)) : answerError(response, body.status());
      });
  addTask(
      "GET", "/image", "One task's image (PNG)",
      [](AnnotationNode& p, std::uint64_t row, const HttpRequest& request, HttpResponse& response) {
        if (!p.mayAnnotate(request) && !p.mayReview(request)) {
          return jsonError(
              response, 403,
              "'" + callerName(request) + "' neither annotates nor reviews this project");
        }
        if (p.layout().kind != ContentKind::kImage) {
          return jsonError(response, 404, "project '" + p.settings().name + "' shows no images");
        }
        auto batch = p.readRow(row);
        if (!batch.ok()) return answerError(response, batch.status());
        response.status = 200;
        response.content_type = "image/png";
        response.headers.emplace_back("Cache-Control", "private, max-age=3600");
        response.body = imagePng(p.layout(), *batch);
      });
}

void Routes::addActions() {
  add("GET", "/{project}/next", "The next task for the caller to label (the model's choice)",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        AnnotationNode* p = projectOf(*projects, request, response);
        if (p == nullptr) return;
        if (!p->mayAnnotate(request)) {
          return jsonError(response, 403,
                           "'" + callerName(request) + "' is not an annotator of this project");
        }
        answerNext(response, *p, p->nextTask(callerName(request)), request,
                   "every task is answered or held by others");
      });
  add("GET", "/{project}/review/next", "The next task awaiting the caller's review",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        AnnotationNode* p = projectOf(*projects, request, response);
        if (p == nullptr) return;
        if (!p->mayReview(request)) {
          return jsonError(response, 403,
                           "'" + callerName(request) + "' is not a reviewer of this project");
        }
        answerNext(response, *p, p->nextReview(callerName(request)), request,
                   "no task awaits your review");
      });
  addTask(
      "PUT", "/annotation", "The caller's answer to a task (replaces its earlier one)",
      [](AnnotationNode& p, std::uint64_t row, const HttpRequest& request, HttpResponse& response) {
        if (!p.mayAnnotate(request)) {
          return jsonError(response, 403,
                           "'" + callerName(request) + "' is not an annotator of this project");
        }
        auto body = annotate(p, row, request);
        body.ok() ? answerJson(response, std::move(*body)) : answerError(response, body.status());
      });
  addTask(
      "POST", "/review", "A reviewer's decision: accept, reject or correct (with an answer)",
      [](AnnotationNode& p, std::uint64_t row, const HttpRequest& request, HttpResponse& response) {
        if (!p.mayReview(request)) {
          return jsonError(response, 403,
                           "'" + callerName(request) + "' is not a reviewer of this project");
        }
        auto body = review(p, row, request);
        body.ok() ? answerJson(response, std::move(*body)) : answerError(response, body.status());
      });
  add("POST", "/{project}/exports",
      "Export the accepted labels: {\"format\": \"dataset\"} registers a dataset version; csv "
      "and coco answer the file",
      [projects = projects_](const HttpRequest& request, HttpResponse& response) {
        AnnotationNode* p = projectOf(*projects, request, response);
        if (p == nullptr) return;
        if (request.role < Role::kOperator) {
          return jsonError(response, 403, "exporting needs the operator role");
        }
        auto body = bodyObject(request);
        if (!body.ok()) return answerError(response, body.status());
        const std::string name = (*body)->optValue<std::string>("format", "dataset");
        auto format = parseExportFormat(name);
        if (!format.ok()) return answerError(response, format.status());
        auto exported = exportLabels(*p, *format, callerName(request));
        if (!exported.ok()) return answerError(response, exported.status());
        if (*format != ExportFormat::kDataset) {
          response.status = 200;
          response.content_type = exported->content_type;
          response.headers.emplace_back(
              "Content-Disposition",
              "attachment; filename=\"" + p->settings().name +
                  (*format == ExportFormat::kCoco ? ".coco.json\"" : ".csv\""));
          response.body = std::move(exported->body);
          return;
        }
        JsonWriter json;
        json.beginObject().key("dataset").value(exported->dataset);
        json.key("path").value(exported->path).key("rows").value(exported->rows);
        json.key("sha256").value(exported->sha256).endObject();
        answerJson(response, json.str(), 201);
      });
}

void Routes::addAll() {
  addReads();
  addActions();
}

}  // namespace

Status addAnnotationRoutes(Host& host, std::vector<std::shared_ptr<AnnotationNode>> projects) {
  Routes routes(host, std::move(projects));
  routes.addAll();
  return routes.firstError();
}

}  // namespace aimass::core::annotation
