// SPDX-License-Identifier: Apache-2.0
#include "annotation/project_book.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <mutex>

namespace aimass::core::annotation {
namespace {

using ::testing::HasSubstr;

/// A store in a map, whose writes can be made to fail.
class MapStorage final : public Storage {
 public:
  std::string describe() const override { return "map:"; }
  Status put(std::string_view key, std::string_view value) override {
    if (failing) return unavailable("the store is down");
    std::lock_guard lock(mutex_);
    values[std::string(key)] = std::string(value);
    return Status();
  }
  Expected<std::string> get(std::string_view key) const override {
    std::lock_guard lock(mutex_);
    auto it = values.find(std::string(key));
    if (it == values.end()) return notFound("no key '" + std::string(key) + "'");
    return it->second;
  }
  Expected<std::vector<std::string>> list(std::string_view prefix) const override {
    std::lock_guard lock(mutex_);
    std::vector<std::string> keys;
    for (const auto& [key, value] : values) {
      if (key.rfind(prefix, 0) == 0) keys.push_back(key);
    }
    return keys;
  }
  Status remove(std::string_view key) override {
    if (failing) return unavailable("the store is down");
    std::lock_guard lock(mutex_);
    return values.erase(std::string(key)) ? Status() : notFound(std::string(key));
  }
  Expected<bool> compareAndSet(std::string_view, std::optional<std::string_view>,
                               std::string_view) override {
    return unimplemented("not needed");
  }

  bool failing = false;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> values;
};

Label cls(int c) {
  Label label;
  label.classes = {c};
  return label;
}

Annotation by(const std::string& who, Label label, std::int64_t ms = 1) {
  Annotation a;
  a.annotator = who;
  a.label = std::move(label);
  a.unix_ms = ms;
  return a;
}

BookRules rules(LabelTask task, std::size_t per_task, bool review) {
  BookRules r;
  r.project = "p";
  r.labels.task = task;
  r.labels.choices = {"a", "b", "c"};
  r.labels.min = 0;
  r.labels.max = 10;
  r.per_task = per_task;
  r.review = review;
  return r;
}

TEST(ProjectBook, AMajorityAcceptsATaskAndATieWaitsForAReviewer) {
  auto store = std::make_shared<MapStorage>();
  ProjectBook book(store, rules(LabelTask::kClass, 3, false));
  ASSERT_TRUE(book.load().ok());
  EXPECT_EQ(*book.annotate(0, by("ann", cls(1))), TaskState::kOpen);
  EXPECT_EQ(*book.annotate(0, by("bea", cls(2))), TaskState::kOpen);
  EXPECT_EQ(*book.annotate(0, by("cid", cls(1))), TaskState::kAccepted);
  EXPECT_EQ(book.accepted(0)->classes, std::vector<int>{1});
  // Two of three disagreeing with each other and the third: no majority.
  ASSERT_TRUE(book.annotate(1, by("ann", cls(0))).ok());
  ASSERT_TRUE(book.annotate(1, by("bea", cls(1))).ok());
  EXPECT_EQ(*book.annotate(1, by("cid", cls(2))), TaskState::kAwaitingReview);
  EXPECT_FALSE(book.accepted(1));
  // A closed task takes no more answers, not even a changed one.
  auto late = book.annotate(0, by("ann", cls(2)));
  EXPECT_EQ(late.status().code(), StatusCode::kAborted);
  EXPECT_THAT(late.status().message(), HasSubstr("task 0 is accepted"));
  const BookCounts c = book.counts();
  EXPECT_EQ(c.accepted, 1u);
  EXPECT_EQ(c.awaiting_review, 1u);
  EXPECT_EQ(c.annotations, 6u);
  EXPECT_EQ(c.by_annotator.at("bea"), 2u);
}

TEST(ProjectBook, ValuesAreAveragedAndRegionsMustAgreeExactly) {
  auto store = std::make_shared<MapStorage>();
  ProjectBook values(store, rules(LabelTask::kValue, 2, false));
  Label three, four;
  three.value = 3;
  four.value = 4;
  ASSERT_TRUE(values.annotate(0, by("ann", three)).ok());
  EXPECT_EQ(*values.annotate(0, by("bea", four)), TaskState::kAccepted);
  EXPECT_DOUBLE_EQ(values.accepted(0)->value, 3.5);

  ProjectBook boxes(store, rules(LabelTask::kBoxes, 2, false));
  Label one, other;
  one.boxes = {{1, 1, 2, 2, 0}};
  other.boxes = {{1, 1, 2, 3, 0}};
  ASSERT_TRUE(boxes.annotate(0, by("ann", one)).ok());
  EXPECT_EQ(*boxes.annotate(0, by("bea", one)), TaskState::kAccepted);
  ASSERT_TRUE(boxes.annotate(1, by("ann", one)).ok());
  EXPECT_EQ(*boxes.annotate(1, by("bea", other)), TaskState::kAwaitingReview);
}

TEST(ProjectBook, ReviewAcceptsCorrectsOrRejectsIntoANewRound) {
  auto store = std::make_shared<MapStorage>();
  ProjectBook book(store, rules(LabelTask::kClass, 1, true));
  EXPECT_EQ(*book.annotate(0, by("ann", cls(0))), TaskState::kAwaitingReview);
  EXPECT_EQ(*book.annotate(1, by("ann", cls(1))), TaskState::kAwaitingReview);
  EXPECT_EQ(*book.annotate(2, by("ann", cls(2))), TaskState::kAwaitingReview);

  Review mine{"ann", Decision::kAccept, std::nullopt, 5};
  EXPECT_THAT(book.review(0, mine).status().message(), HasSubstr("'ann' annotated task 0"));
  EXPECT_EQ(*book.review(0, {"rev", Decision::kAccept, std::nullopt, 5}), TaskState::kAccepted);
  EXPECT_EQ(*book.review(1, {"rev", Decision::kCorrect, cls(2), 6}), TaskState::kAccepted);
  EXPECT_EQ(book.accepted(1)->classes, std::vector<int>{2});
  EXPECT_EQ(*book.review(2, {"rev", Decision::kReject, std::nullopt, 7}), TaskState::kOpen);
  EXPECT_EQ(book.task(2).rejections, 1u);
  EXPECT_TRUE(book.task(2).annotations.empty());
  EXPECT_EQ(book.review(2, {"rev", Decision::kAccept, std::nullopt, 8}).status().code(),
            StatusCode::kAborted);
  // The rejected round is archived; the task takes a new answer.
  EXPECT_TRUE(
      store->get("annotation/p/tasks/00000000000000000002/rejected/00000000000000000000").ok());
  EXPECT_EQ(*book.annotate(2, by("bea", cls(0), 9)), TaskState::kAwaitingReview);

  // A new book on the same store reads it all back.
  ProjectBook again(store, rules(LabelTask::kClass, 1, true));
  ASSERT_TRUE(again.load().ok());
  EXPECT_EQ(again.acceptedLabels(), book.acceptedLabels());
  EXPECT_EQ(again.task(2).rejections, 1u);
  EXPECT_EQ(again.task(2).annotations.at(0).annotator, "bea");
  EXPECT_EQ(again.task(1).review->decision, Decision::kCorrect);
  EXPECT_EQ(again.counts().by_reviewer, book.counts().by_reviewer);
}

TEST(ProjectBook, AFailedWriteChangesNothingAndABadRecordIsNamed) {
  auto store = std::make_shared<MapStorage>();
  ProjectBook book(store, rules(LabelTask::kClass, 1, false));
  store->failing = true;
  auto failed = book.annotate(0, by("ann", cls(0)));
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(book.task(0).annotations.empty());
  EXPECT_EQ(book.state(0), TaskState::kOpen);
  store->failing = false;
  ASSERT_TRUE(book.annotate(0, by("odd/name%", cls(0))).ok());
  EXPECT_TRUE(store->get("annotation/p/tasks/00000000000000000000/by/odd%2Fname%25").ok());

  store->values["annotation/p/tasks/00000000000000000003/by/x"] = "{not json";
  ProjectBook again(store, rules(LabelTask::kClass, 1, false));
  Status loaded = again.load();
  EXPECT_EQ(loaded.code(), StatusCode::kDataLoss);
  EXPECT_THAT(loaded.message(),
              HasSubstr("annotation record 'annotation/p/tasks/00000000000000000003/by/x'"));
  store->values["annotation/p/tasks/00000000000000000003/by/x"] =
      R"({"annotator":"x","unix_ms":1,"answer":{"label":"zebra"}})";
  EXPECT_THAT(again.load().message(), HasSubstr("'zebra' is not one of the project's classes"));
}

TEST(ProjectBook, KeySegmentsKeepAnyPrincipalInOneSegment) {
  EXPECT_EQ(keySegment("alice@example.org"), "alice@example.org");
  EXPECT_EQ(keySegment("a b/c"), "a%20b%2Fc");
  EXPECT_EQ(keySegment(".."), "%2E%2E");
  EXPECT_EQ(keySegment("ö"), "%C3%B6");
}

}  // namespace
}  // namespace aimass::core::annotation
