// SPDX-License-Identifier: Apache-2.0
// The annotation projects' routes (core/src/annotation/), served by a real frontend.http on
// 127.0.0.1 over a storage.fs store: who sees and does what, the answers' checks, reviews,
// agreement against hand-computed figures, the served model's ranking and suggestions,
// exports as registered dataset versions and files, and the records read back by a new node.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/host_services.h"
#include "aimass/core/serving.h"
#include "aimass/tensor_names.h"
#include "annotation/annotation_node.h"
#include "annotation_fixtures.h"
#include "authenticator.h"
#include "fs.h"
#include "http_call.h"
#include "http_frontend.h"
#include "record_text.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

using core::annotation::AnnotationNode;
using core::annotation::ContentKind;
using core::annotation::LabelTask;
using core::annotation::ProjectSettings;
using core::annotation::SelectionStrategy;
using Poco::JSON::Object;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string body;
  Object::Ptr json() const { return Poco::JSON::Parser().parse(body).extract<Object::Ptr>(); }
  std::string error() const { return json()->getValue<std::string>("error"); }
};

ProjectSettings shapesProject(LabelTask task = LabelTask::kClass) {
  ProjectSettings s;
  s.name = "shapes";
  s.labels.task = task;
  s.labels.choices = {"cat", "dog", "fox"};
  s.annotators = {"alice", "bob"};
  s.reviewers = {"carol"};
  s.dataset_name = "shapes.labels";
  return s;
}

class AnnotationApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    auto storage = plugins::storage::FsStorage::create(dir_.path() / "store", false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::shared_ptr<Storage>(std::move(storage).value());
  }
  void TearDown() override {
    if (frontend_) frontend_->stop();
    for (auto& p : projects_) p->stop();
  }

  std::shared_ptr<AnnotationNode> project(ProjectSettings s) {
    s.export_dir = dir_.path() / "exports";
    auto layout =
        core::annotation::makeContentLayout(data_->schema(), s.show, s.image_width, s.text_column);
    EXPECT_TRUE(layout.ok()) << layout.status().toString();
    auto node =
        std::make_shared<AnnotationNode>(std::move(s), *layout, data_, storage_, nullptr, host_);
    return node;
  }

  /// Starts the projects behind a frontend that knows alice, bob (annotators), carol (an
  /// annotator-role reviewer), mallory (an annotator of nothing), rita (reader), olga (operator).
  void start(std::vector<ProjectSettings> settings) {
    for (auto& s : settings) projects_.push_back(project(std::move(s)));
    ASSERT_TRUE(core::annotation::addAnnotationRoutes(host_, projects_).ok());
    for (auto& p : projects_) ASSERT_TRUE(p->start(&host_.servingRuntime()).ok());
    HttpFrontendOptions options;
    options.port = 0;
    AuthOptions auth;
    auth.mode = AuthMode::kOn;
    for (const char* who : {"alice", "bob", "carol", "mallory"}) {
      auth.api_keys.push_back({who, Role::kAnnotator, sha256Hex(std::string(who) + "-key")});
    }
    auth.api_keys.push_back({"rita", Role::kReader, sha256Hex("rita-key")});
    auth.api_keys.push_back({"olga", Role::kOperator, sha256Hex("olga-key")});
    options.auth = std::move(auth);
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  Reply call(const std::string& who, const std::string& method, const std::string& target,
             const std::string& body = "") {
    auto r = testing::httpCall(port_, method, target, body, who.empty() ? "" : who + "-key");
    return {r.status, r.body};
  }
  Reply get(const std::string& who, const std::string& target) { return call(who, "GET", target); }
  Reply answer(const std::string& who, std::uint64_t task, const std::string& body,
               const std::string& name = "shapes") {
    return call(
        who, "PUT",
        "/api/v1/annotation/projects/" + name + "/tasks/" + std::to_string(task) + "/annotation",
        body);
  }
  Reply decide(const std::string& who, std::uint64_t task, const std::string& body) {
    return call(who, "POST",
                "/api/v1/annotation/projects/shapes/tasks/" + std::to_string(task) + "/review",
                body);
  }

  testing::TempDir dir_{"aimass-annotation-api"};
  std::shared_ptr<Storage> storage_;
  std::shared_ptr<const Dataset> data_ = std::make_shared<Shapes>();
  core::HostServices host_{".", 1};
  std::vector<std::shared_ptr<AnnotationNode>> projects_;
  std::unique_ptr<HttpFrontend> frontend_;
  std::uint16_t port_ = 0;
};

TEST_F(AnnotationApiTest, AnnotatorsSeeOnlyTheProjectsTheyAreAssigned) {
  start({shapesProject()});
  EXPECT_EQ(get("", "/api/v1/annotation/projects").status, 401);
  Reply mine = get("alice", "/api/v1/annotation/projects");
  ASSERT_EQ(mine.status, 200) << mine.body;
  auto listed = mine.json()->getArray("projects");
  ASSERT_EQ(listed->size(), 1u);
  auto summary = listed->getObject(0);
  EXPECT_EQ(summary->getValue<std::string>("name"), "shapes");
  EXPECT_EQ(summary->getValue<std::string>("task"), "class");
  EXPECT_EQ(summary->getValue<std::string>("show"), "image");
  EXPECT_TRUE(summary->getValue<bool>("may_annotate"));
  EXPECT_FALSE(summary->getValue<bool>("may_review"));
  EXPECT_EQ(summary->getObject("counts")->getValue<int>("tasks"), 12);

  Reply other = get("mallory", "/api/v1/annotation/projects");
  ASSERT_EQ(other.status, 200);
  EXPECT_EQ(other.json()->getArray("projects")->size(), 0u);
  Reply hidden = get("mallory", "/api/v1/annotation/projects/shapes");
  EXPECT_EQ(hidden.status, 404);
  EXPECT_THAT(hidden.error(), HasSubstr("no annotation project 'shapes'"));
  EXPECT_EQ(get("mallory", "/api/v1/annotation/projects/shapes/next").status, 404);
  EXPECT_EQ(answer("mallory", 0, R"({"label": "cat"})").status, 404);

  // A reader sees the project and its agreement but labels nothing; an operator may label.
  EXPECT_EQ(get("rita", "/api/v1/annotation/projects/shapes").status, 200);
  EXPECT_EQ(get("rita", "/api/v1/annotation/projects/shapes/agreement").status, 200);
  Reply reader = get("rita", "/api/v1/annotation/projects/shapes/next");
  EXPECT_EQ(reader.status, 403);
  EXPECT_THAT(reader.error(), HasSubstr("'rita' is not an annotator of this project"));
  EXPECT_EQ(get("olga", "/api/v1/annotation/projects/shapes/next").status, 200);
  // An annotator sees no agreement figures of others, and reviews nothing.
  EXPECT_EQ(get("alice", "/api/v1/annotation/projects/shapes/agreement").status, 403);
  EXPECT_EQ(get("alice", "/api/v1/annotation/projects/shapes/review/next").status, 403);
  // The annotator role opens nothing but annotation.
  EXPECT_EQ(get("alice", "/v2").status, 403);
}

TEST_F(AnnotationApiTest, TheNextTaskIsShownAsAnImageAndHeldForItsAnnotator) {
  start({shapesProject()});
  Reply next = get("alice", "/api/v1/annotation/projects/shapes/next");
  ASSERT_EQ(next.status, 200) << next.body;
  const auto task = next.json()->getValue<std::uint64_t>("task");
  auto content = next.json()->getObject("content");
  EXPECT_EQ(content->getValue<std::string>("kind"), "image");
  EXPECT_EQ(content->getValue<int>("width"), 4);
  EXPECT_EQ(content->getValue<int>("height"), 4);
  EXPECT_FALSE(next.json()->has("suggestion"));  // no model
  // The same task again until answered; bob (per_task 1) gets another.
  EXPECT_EQ(get("alice", "/api/v1/annotation/projects/shapes/next")
                .json()
                ->getValue<std::uint64_t>("task"),
            task);
  EXPECT_NE(
      get("bob", "/api/v1/annotation/projects/shapes/next").json()->getValue<std::uint64_t>("task"),
      task);

  Reply png = get("alice", content->getValue<std::string>("image"));
  ASSERT_EQ(png.status, 200);
  ASSERT_GE(png.body.size(), 33u);
  EXPECT_EQ(png.body.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.body.substr(12, 4), "IHDR");
  EXPECT_EQ(png.body.substr(16, 8), std::string("\0\0\0\4\0\0\0\4", 8));  // 4 x 4

  ASSERT_EQ(answer("alice", task, R"({"label": "dog", "seconds": 2.5})").status, 200);
  const auto after = get("alice", "/api/v1/annotation/projects/shapes/next");
  EXPECT_NE(after.json()->getValue<std::uint64_t>("task"), task);
  // Every task answered: none left.
  for (std::uint64_t row = 0; row < kShapeRows; ++row) answer("olga", row, R"({"label": "cat"})");
  Reply none = get("bob", "/api/v1/annotation/projects/shapes/next");
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(none.json()->isNull("task"));
}

TEST_F(AnnotationApiTest, BadAnswersAreRefusedWithWhatWasWrong) {
  start({shapesProject()});
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"label": "wolf"})", 400, "label 'wolf' is not one of the project's classes"},
      {R"({"label": 3})", 400, "label must be a string"},
      {R"({})", 400, "the answer needs 'label'"},
      {R"({"label": "cat", "colour": 1})", 400, "unknown member 'colour'"},
      {R"({"label": "cat", "seconds": -1})", 400, "seconds must be"},
      {R"({"label": "cat",)", 400, "not one JSON object"},
      {R"(["cat"])", 400, "not one JSON object"},
  };
  for (const auto& c : cases) {
    Reply reply = answer("alice", 0, c.body);
    EXPECT_EQ(reply.status, c.status) << c.body;
    EXPECT_THAT(reply.error(), HasSubstr(c.message)) << c.body;
  }
  Reply missing = answer("alice", 99, R"({"label": "cat"})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_THAT(missing.error(), HasSubstr("has no task 99"));
  EXPECT_EQ(answer("alice", 0, R"({"label": "cat"})").status, 200);
  Reply closed = answer("bob", 0, R"({"label": "dog"})");
  EXPECT_EQ(closed.status, 409);
  EXPECT_THAT(closed.error(), HasSubstr("task 0 is accepted"));
  Reply not_a_task = get("alice", "/api/v1/annotation/projects/shapes/tasks/x");
  EXPECT_EQ(not_a_task.status, 400);
  EXPECT_THAT(not_a_task.error(), HasSubstr("task 'x' is not a task number"));
}

TEST_F(AnnotationApiTest, ReviewersAcceptRejectAndCorrect) {
  auto s = shapesProject();
  s.review = true;
  start({s});
  ASSERT_EQ(answer("alice", 1, R"({"label": "cat"})").status, 200);
  ASSERT_EQ(answer("alice", 2, R"({"label": "dog"})").status, 200);
  ASSERT_EQ(answer("bob", 3, R"({"label": "fox"})").status, 200);
  EXPECT_EQ(get("alice", "/api/v1/annotation/projects/shapes/tasks/1")
                .json()
                ->getValue<std::string>("state"),
            "awaiting_review");

  Reply next = get("carol", "/api/v1/annotation/projects/shapes/review/next");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json()->getValue<std::uint64_t>("task"), 1u);  // the oldest first
  EXPECT_EQ(next.json()->getArray("annotations")->getObject(0)->getValue<std::string>("annotator"),
            "alice");

  ASSERT_EQ(decide("carol", 1, R"({"decision": "accept"})").status, 200);
  Reply rejected = decide("carol", 2, R"({"decision": "reject"})");
  ASSERT_EQ(rejected.status, 200) << rejected.body;
  EXPECT_EQ(rejected.json()->getValue<std::string>("state"), "open");
  Reply corrected = decide("carol", 3, R"({"decision": "correct", "label": "cat"})");
  ASSERT_EQ(corrected.status, 200) << corrected.body;

  auto task1 = get("carol", "/api/v1/annotation/projects/shapes/tasks/1").json();
  EXPECT_EQ(task1->getValue<std::string>("state"), "accepted");
  EXPECT_EQ(task1->getObject("accepted")->getValue<std::string>("label"), "cat");
  auto task2 = get("alice", "/api/v1/annotation/projects/shapes/tasks/2").json();
  EXPECT_EQ(task2->getValue<std::string>("state"), "open");
  EXPECT_EQ(task2->getValue<int>("rejections"), 1);
  EXPECT_EQ(task2->getArray("annotations")->size(), 0u);
  EXPECT_EQ(answer("alice", 2, R"({"label": "fox"})").status, 200);  // answered again
  auto task3 = get("carol", "/api/v1/annotation/projects/shapes/tasks/3").json();
  EXPECT_EQ(task3->getObject("accepted")->getValue<std::string>("label"), "cat");
  EXPECT_EQ(task3->getObject("review")->getValue<std::string>("decision"), "correct");
  // An annotator reads only its own answers.
  EXPECT_EQ(get("alice", "/api/v1/annotation/projects/shapes/tasks/3")
                .json()
                ->getArray("annotations")
                ->size(),
            0u);

  Reply twice = decide("carol", 1, R"({"decision": "accept"})");
  EXPECT_EQ(twice.status, 409);
  EXPECT_THAT(twice.error(), HasSubstr("only a task awaiting review can be decided"));
  EXPECT_EQ(decide("carol", 5, R"({"decision": "maybe"})").status, 400);
  EXPECT_EQ(decide("alice", 2, R"({"decision": "accept"})").status, 403);
  // An operator reviews too, but never its own answer.
  ASSERT_EQ(answer("olga", 6, R"({"label": "dog"})").status, 200);
  Reply own = decide("olga", 6, R"({"decision": "accept"})");
  EXPECT_EQ(own.status, 409);
  EXPECT_THAT(own.error(), HasSubstr("'olga' annotated task 6 and cannot review it"));
}

TEST_F(AnnotationApiTest, AgreementIsCohensAndFleissKappaOfTheAnswers) {
  auto s = shapesProject();
  s.per_task = 2;
  start({s});
  // alice: cat dog cat fox; bob: cat dog dog fox.
  const char* alice[] = {"cat", "dog", "cat", "fox"};
  const char* bob[] = {"cat", "dog", "dog", "fox"};
  for (std::uint64_t t = 0; t < 4; ++t) {
    ASSERT_EQ(answer("alice", t, std::string(R"({"label": ")") + alice[t] + "\"}").status, 200);
    ASSERT_EQ(answer("bob", t, std::string(R"({"label": ")") + bob[t] + "\"}").status, 200);
  }
  Reply reply = get("carol", "/api/v1/annotation/projects/shapes/agreement");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto project = reply.json()->getObject("project");
  EXPECT_EQ(project->getValue<std::string>("measure"), "fleiss_kappa");
  EXPECT_EQ(project->getValue<int>("tasks"), 4);
  // P = (1 + 1 + 0 + 1) / 4 = 0.75; p = (3/8, 3/8, 2/8), P_e = 22/64; (0.75 - 22/64) / (42/64).
  EXPECT_NEAR(project->getValue<double>("value"), 26.0 / 42.0, 1e-9);
  auto annotators = reply.json()->getArray("annotators");
  ASSERT_EQ(annotators->size(), 2u);
  auto a = annotators->getObject(0);
  EXPECT_EQ(a->getValue<std::string>("annotator"), "alice");
  EXPECT_EQ(a->getObject("with_others")->getValue<std::string>("measure"), "cohen_kappa");
  // p_o = 3/4; p_e = (2*1 + 1*2 + 1*1) / 16 = 5/16; (12/16 - 5/16) / (11/16) = 7/11.
  EXPECT_NEAR(a->getObject("with_others")->getValue<double>("value"), 7.0 / 11.0, 1e-9);
  // Task 2's answers disagree: it awaits a reviewer; the three others are accepted, and
  // alice got all three of them.
  EXPECT_EQ(a->getObject("with_accepted")->getValue<int>("tasks"), 3);
  EXPECT_NEAR(a->getObject("with_accepted")->getValue<double>("value"), 1.0, 1e-12);
  auto counts = get("carol", "/api/v1/annotation/projects/shapes").json()->getObject("counts");
  EXPECT_EQ(counts->getValue<int>("accepted"), 3);
  EXPECT_EQ(counts->getValue<int>("awaiting_review"), 1);
  Reply accept = decide("carol", 2, R"({"decision": "accept"})");
  EXPECT_EQ(accept.status, 409);
  EXPECT_THAT(accept.error(), HasSubstr("disagree"));
  EXPECT_EQ(decide("carol", 2, R"({"decision": "correct", "label": "dog"})").status, 200);
}

TEST_F(AnnotationApiTest, TheServedModelRanksTheTasksAndSuggestsAnswers) {
  host_.servingRuntime().add("guesser", "1", std::make_shared<Guesser>());
  auto s = shapesProject();
  s.ranking.strategy = SelectionStrategy::kLeastConfidence;
  s.ranking.model = "guesser";
  start({s});
  ASSERT_TRUE(projects_[0]->runOnce().ok());
  auto summary = get("alice", "/api/v1/annotation/projects/shapes").json();
  auto ranking = summary->getObject("ranking");
  EXPECT_EQ(ranking->getValue<std::string>("strategy"), "least_confidence");
  EXPECT_EQ(ranking->getValue<std::string>("version"), "1");
  // The least sure row (11) first, then 10, ...
  Reply next = get("alice", "/api/v1/annotation/projects/shapes/next");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json()->getValue<std::uint64_t>("task"), 11u);
  EXPECT_NEAR(next.json()->getValue<double>("score"), 11.0 / 24.0, 1e-6);
  auto suggestion = next.json()->getObject("suggestion");
  EXPECT_EQ(suggestion->getValue<std::string>("model"), "guesser");
  EXPECT_EQ(suggestion->getObject("answer")->getValue<std::string>("label"), "cat");
  EXPECT_NEAR(suggestion->getValue<double>("score"), 1.0 - 11.0 / 24.0, 1e-6);
  EXPECT_EQ(
      get("bob", "/api/v1/annotation/projects/shapes/next").json()->getValue<std::uint64_t>("task"),
      10u);
  ASSERT_EQ(answer("alice", 11, R"({"label": "cat", "suggested": true})").status, 200);
  EXPECT_TRUE(get("olga", "/api/v1/annotation/projects/shapes/tasks/11")
                  .json()
                  ->getArray("annotations")
                  ->getObject(0)
                  ->getValue<bool>("suggested"));
}

TEST_F(AnnotationApiTest, ExportsBecomeADatasetVersionACsvAndCoco) {
  auto boxes = shapesProject(LabelTask::kBoxes);
  boxes.name = "outlines";
  boxes.dataset_name = "outlines.labels";
  start({shapesProject(), boxes});
  EXPECT_EQ(
      call("olga", "POST", "/api/v1/annotation/projects/shapes/exports", R"({"format": "dataset"})")
          .status,
      409);  // nothing accepted yet
  ASSERT_EQ(answer("alice", 4, R"({"label": "dog"})").status, 200);
  ASSERT_EQ(answer("bob", 7, R"({"label": "fox"})").status, 200);
  EXPECT_EQ(call("alice", "POST", "/api/v1/annotation/projects/shapes/exports",
                 R"({"format": "dataset"})")
                .status,
            403);
  Reply exported = call("olga", "POST", "/api/v1/annotation/projects/shapes/exports",
                        R"({"format": "dataset"})");
  ASSERT_EQ(exported.status, 201) << exported.body;
  EXPECT_EQ(exported.json()->getValue<std::string>("dataset"), "shapes.labels/1");
  EXPECT_EQ(exported.json()->getValue<int>("rows"), 2);
  std::ifstream file(exported.json()->getValue<std::string>("path"));
  std::stringstream text;
  text << file.rdbuf();
  std::string header = "x0";
  for (int i = 1; i < 16; ++i) header += ",x" + std::to_string(i);
  header += ",note,label\n";
  EXPECT_EQ(text.str().substr(0, header.size()), header);
  EXPECT_THAT(text.str(), HasSubstr(",Ada <b>met</b> Bö in row 4,dog\n"));
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "exports" / "shapes.labels.csv"));
  auto version = core::DatasetRegistry(*storage_).getVersion("shapes.labels", 1);
  ASSERT_TRUE(version.ok()) << version.status().toString();
  EXPECT_EQ(version->rows, 2u);
  EXPECT_EQ(version->type, "dataset.csv");
  EXPECT_THAT(version->source, HasSubstr("annotation project 'shapes'"));
  EXPECT_TRUE(storage_->get("annotation/shapes/exports/" + core::record::versionSegment(1)).ok());
  // The same labels again are the same version; csv answers the file itself.
  EXPECT_EQ(
      call("olga", "POST", "/api/v1/annotation/projects/shapes/exports", R"({"format": "dataset"})")
          .json()
          ->getValue<std::string>("dataset"),
      "shapes.labels/1");
  Reply csv =
      call("rita", "POST", "/api/v1/annotation/projects/shapes/exports", R"({"format": "csv"})");
  EXPECT_EQ(csv.status, 403);  // exports are an operator's
  csv = call("olga", "POST", "/api/v1/annotation/projects/shapes/exports", R"({"format": "csv"})");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.body, text.str());
  Reply coco =
      call("olga", "POST", "/api/v1/annotation/projects/shapes/exports", R"({"format": "coco"})");
  EXPECT_EQ(coco.status, 400);
  EXPECT_THAT(coco.error(), HasSubstr("COCO JSON holds boxes"));

  // Boxes: checked against the image, exported as COCO.
  Reply outside = answer(
      "alice", 0, R"({"boxes": [{"x": 1, "y": 1, "w": 4, "h": 1, "label": "cat"}]})", "outlines");
  EXPECT_EQ(outside.status, 400);
  EXPECT_THAT(outside.error(), HasSubstr("boxes[0] leaves the image, which is 4x4 pixels"));
  ASSERT_EQ(answer("alice", 0, R"({"boxes": [{"x": 1, "y": 0.5, "w": 2, "h": 3, "label": "fox"}]})",
                   "outlines")
                .status,
            200);
  coco =
      call("olga", "POST", "/api/v1/annotation/projects/outlines/exports", R"({"format": "coco"})");
  ASSERT_EQ(coco.status, 200) << coco.body;
  auto doc = coco.json();
  auto box = doc->getArray("annotations")->getObject(0);
  EXPECT_EQ(box->getValue<int>("image_id"), 0);
  EXPECT_EQ(box->getValue<int>("category_id"), 3);
  EXPECT_EQ(box->getArray("bbox")->getElement<double>(1), 0.5);
  EXPECT_EQ(box->getValue<double>("area"), 6.0);
  EXPECT_EQ(doc->getArray("categories")->getObject(2)->getValue<std::string>("name"), "fox");
}

TEST_F(AnnotationApiTest, SpansAreCountedInCharactersOfTheText) {
  auto spans = shapesProject(LabelTask::kSpans);
  spans.name = "notes";
  spans.labels.choices = {"person"};
  spans.text_column = "note";
  start({spans});
  Reply next = get("alice", "/api/v1/annotation/projects/notes/next");
  ASSERT_EQ(next.status, 200) << next.body;
  const auto task = next.json()->getValue<std::uint64_t>("task");
  auto content = next.json()->getObject("content");
  EXPECT_EQ(content->getValue<std::string>("kind"), "text");
  const std::string text = "Ada <b>met</b> Bö in row " + std::to_string(task);
  EXPECT_EQ(content->getValue<std::string>("text"), text);
  const int characters = next.json()->getValue<int>("characters");
  EXPECT_EQ(characters, static_cast<int>(text.size()) - 1);  // ö is two bytes, one character
  Reply past = answer("alice", task,
                      R"({"spans": [{"start": 0, "end": )" + std::to_string(characters + 1) +
                          R"(, "label": "person"}]})",
                      "notes");
  EXPECT_EQ(past.status, 400);
  EXPECT_THAT(past.error(), HasSubstr("spans[0] ends past the text"));
  EXPECT_EQ(
      answer("alice", task, R"({"spans": [{"start": 2, "end": 2, "label": "person"}]})", "notes")
          .status,
      400);
  ASSERT_EQ(
      answer(
          "alice", task,
          R"({"spans": [{"start": 14, "end": 16, "label": "person"}, {"start": 0, "end": 3, "label": "person"}]})",
          "notes")
          .status,
      200);
  auto saved =
      get("alice", "/api/v1/annotation/projects/notes/tasks/" + std::to_string(task)).json();
  auto first = saved->getObject("accepted")->getArray("spans")->getObject(0);
  EXPECT_EQ(first->getValue<int>("start"), 0);  // sorted
  EXPECT_EQ(first->getValue<int>("end"), 3);
}

TEST_F(AnnotationApiTest, ANewNodeReadsTheRecordsBack) {
  auto s = shapesProject();
  s.review = true;
  start({s});
  ASSERT_EQ(answer("alice", 5, R"({"label": "fox", "seconds": 4})").status, 200);
  ASSERT_EQ(answer("bob", 6, R"({"label": "dog"})").status, 200);
  ASSERT_EQ(decide("carol", 6, R"({"decision": "reject"})").status, 200);
  ASSERT_EQ(answer("bob", 6, R"({"label": "cat"})").status, 200);
  ASSERT_EQ(decide("carol", 6, R"({"decision": "correct", "label": "fox"})").status, 200);

  auto again = project(s);
  ASSERT_TRUE(again->start(nullptr).ok());
  const auto before = projects_[0]->book().counts();
  const auto after = again->book().counts();
  EXPECT_EQ(after.accepted, 1u);
  EXPECT_EQ(after.awaiting_review, 1u);
  EXPECT_EQ(after.rejected_rounds, 1u);
  EXPECT_EQ(after.by_annotator, before.by_annotator);
  EXPECT_EQ(again->book().task(5).annotations.at(0).seconds, 4.0);
  EXPECT_EQ(again->book().accepted(6), projects_[0]->book().accepted(6));
  again->stop();
}

}  // namespace
}  // namespace aimass::plugins::frontend
