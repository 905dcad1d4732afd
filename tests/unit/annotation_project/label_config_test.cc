// SPDX-License-Identifier: Apache-2.0
#include "annotation/label_config.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "compact_json.h"

namespace aimass::core::annotation {
namespace {

using ::testing::HasSubstr;

Poco::JSON::Object::Ptr json(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

LabelConfig config(LabelTask task) {
  LabelConfig c;
  c.task = task;
  c.choices = {"cat", "dog", "fox"};
  c.min = -1;
  c.max = 10;
  return c;
}

Expected<Label> read(LabelTask task, const std::string& text, TaskBounds bounds = {8, 6, 20}) {
  return readLabel(config(task), *json(text), bounds);
}

std::string error(LabelTask task, const std::string& text) {
  auto label = read(task, text);
  EXPECT_FALSE(label.ok()) << text;
  return label.ok() ? "" : label.status().message();
}

TEST(LabelConfig, ChecksItsChoicesAndRange) {
  EXPECT_TRUE(config(LabelTask::kClass).validate().ok());
  LabelConfig none = config(LabelTask::kBoxes);
  none.choices.clear();
  EXPECT_THAT(none.validate().message(), HasSubstr("a boxes task needs choices"));
  LabelConfig twice = config(LabelTask::kClass);
  twice.choices.push_back("dog");
  EXPECT_THAT(twice.validate().message(), HasSubstr("choice 'dog' is given twice"));
  LabelConfig empty = config(LabelTask::kClass);
  empty.choices.push_back("");
  EXPECT_FALSE(empty.validate().ok());
  LabelConfig range = config(LabelTask::kValue);
  range.min = 3;
  range.max = 3;
  EXPECT_THAT(range.validate().message(), HasSubstr("value_min < value_max"));
  EXPECT_THAT(parseLabelTask("polygon").status().message(),
              HasSubstr("'polygon' is not class, classes, value, boxes or spans"));
  EXPECT_EQ(*parseLabelTask("spans"), LabelTask::kSpans);
}

TEST(LabelConfig, ReadsEachTaskAndWritesItBackTheSame) {
  const std::vector<std::pair<LabelTask, std::string>> answers = {
      {LabelTask::kClass, R"({"label":"dog"})"},
      {LabelTask::kClasses, R"({"labels":["cat","fox"]})"},
      {LabelTask::kValue, R"({"value":2.5})"},
      {LabelTask::kBoxes, R"({"boxes":[{"x":1,"y":0.5,"w":2,"h":3,"label":"fox"}]})"},
      {LabelTask::kSpans, R"({"spans":[{"start":0,"end":4,"label":"cat"}]})"},
  };
  for (const auto& [task, text] : answers) {
    auto label = read(task, text);
    ASSERT_TRUE(label.ok()) << text << ": " << label.status().toString();
    EXPECT_EQ(compact(labelJson(config(task), *label)), text);
  }
  // Classes come out sorted; spans by where they start.
  EXPECT_EQ(read(LabelTask::kClasses, R"({"labels":["fox","cat"]})")->classes,
            (std::vector<int>{0, 2}));
  auto spans = read(LabelTask::kSpans, R"({"spans":[{"start":5,"end":9,"label":"dog"},
                                                   {"start":1,"end":3,"label":"cat"}]})");
  ASSERT_TRUE(spans.ok());
  EXPECT_EQ(spans->spans.front().start, 1);
}

TEST(LabelConfig, NamesWhatIsWrongWithAnAnswer) {
  EXPECT_THAT(error(LabelTask::kClass, R"({})"), HasSubstr("the answer needs 'label'"));
  EXPECT_THAT(error(LabelTask::kClass, R"({"label":"owl"})"),
              HasSubstr("label 'owl' is not one of the project's classes"));
  EXPECT_THAT(error(LabelTask::kClass, R"({"label":null})"), HasSubstr("label must be a string"));
  EXPECT_THAT(error(LabelTask::kClasses, R"({"labels":"cat"})"), HasSubstr("'labels', an array"));
  EXPECT_THAT(error(LabelTask::kClasses, R"({"labels":["cat","cat"]})"),
              HasSubstr("labels[1] repeats 'cat'"));
  EXPECT_THAT(error(LabelTask::kValue, R"({"value":"2"})"), HasSubstr("value must be a number"));
  EXPECT_THAT(error(LabelTask::kValue, R"({"value":true})"), HasSubstr("value must be a number"));
  EXPECT_THAT(error(LabelTask::kValue, R"({"value":11})"),
              HasSubstr("outside [-1.000000, 10.000000]"));
  EXPECT_THAT(error(LabelTask::kBoxes, R"({"boxes":[{"x":1,"y":1,"w":0,"h":1,"label":"cat"}]})"),
              HasSubstr("boxes[0] is empty"));
  EXPECT_THAT(error(LabelTask::kBoxes, R"({"boxes":[{"x":7,"y":1,"w":2,"h":1,"label":"cat"}]})"),
              HasSubstr("boxes[0] leaves the image, which is 8x6 pixels"));
  EXPECT_THAT(error(LabelTask::kBoxes, R"({"boxes":[{"x":-1,"y":1,"w":2,"h":1,"label":"cat"}]})"),
              HasSubstr("leaves the image"));
  EXPECT_THAT(error(LabelTask::kBoxes, R"({"boxes":[{"x":1,"y":1,"w":2,"label":"cat"}]})"),
              HasSubstr("boxes[0] lacks 'h'"));
  EXPECT_THAT(
      error(LabelTask::kBoxes, R"({"boxes":[{"x":1,"y":1,"w":2,"h":1,"label":"cat","z":0}]})"),
      HasSubstr("boxes[0] has an unknown member 'z'"));
  EXPECT_THAT(error(LabelTask::kBoxes, R"({"boxes":[3]})"),
              HasSubstr("boxes[0] must be an object"));
  EXPECT_THAT(error(LabelTask::kSpans, R"({"spans":[{"start":3,"end":3,"label":"cat"}]})"),
              HasSubstr("spans[0] is empty"));
  EXPECT_THAT(error(LabelTask::kSpans, R"({"spans":[{"start":3,"end":21,"label":"cat"}]})"),
              HasSubstr("spans[0] ends past the text, which has 20 characters"));
  EXPECT_THAT(error(LabelTask::kSpans, R"({"spans":[{"start":1.5,"end":4,"label":"cat"}]})"),
              HasSubstr("spans[0].start must be a whole number"));
  std::string many = R"({"boxes":[)";
  for (std::size_t i = 0; i <= kMaxRegions; ++i) {
    many += std::string(i ? "," : "") + R"({"x":0,"y":0,"w":1,"h":1,"label":"cat"})";
  }
  EXPECT_THAT(error(LabelTask::kBoxes, many + "]}"), HasSubstr("at most 1000"));
}

}  // namespace
}  // namespace aimass::core::annotation
