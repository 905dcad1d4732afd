// SPDX-License-Identifier: Apache-2.0
#include "annotation/agreement_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "annotation/agreement.h"

namespace aimass::core::annotation {
namespace {

/// The answers of one task, by annotator, with its accepted label.
struct TaskAnswers {
  std::uint64_t row = 0;
  std::map<std::string, Label> by;
  std::optional<Label> accepted;
};

std::vector<LabelledBox> boxesOf(const Label& label) {
  std::vector<LabelledBox> out;
  for (const auto& b : label.boxes) out.push_back({{b.x, b.y, b.w, b.h}, std::to_string(b.label)});
  return out;
}

std::vector<LabelledSpan> spansOf(const Label& label) {
  std::vector<LabelledSpan> out;
  for (const auto& s : label.spans) out.push_back({s.start, s.end, std::to_string(s.label)});
  return out;
}

/// The pairwise measure of two annotators over the tasks both answered.
Expected<double> pairwise(const LabelConfig& labels, const std::vector<const Label*>& a,
                          const std::vector<const Label*>& b) {
  switch (labels.task) {
    case LabelTask::kClass: {
      std::vector<std::int64_t> x, y;
      for (std::size_t i = 0; i < a.size(); ++i) {
        x.push_back(a[i]->classes.at(0));
        y.push_back(b[i]->classes.at(0));
      }
      return cohenKappa(x, y);
    }
    case LabelTask::kClasses: {
      double sum = 0;
      std::size_t n = 0;
      for (std::size_t c = 0; c < labels.choices.size(); ++c) {
        std::vector<std::int64_t> x, y;
        auto has = [&](const Label* l) {
          return std::find(l->classes.begin(), l->classes.end(), static_cast<int>(c)) !=
                         l->classes.end()
                     ? 1
                     : 0;
        };
        std::set<std::int64_t> seen;
        for (std::size_t i = 0; i < a.size(); ++i) {
          x.push_back(has(a[i]));
          y.push_back(has(b[i]));
          seen.insert(x.back());
          seen.insert(y.back());
        }
        if (seen.size() < 2) continue;  // nobody used the label, or both always: no evidence
        AIMASS_ASSIGN_OR_RETURN(double k, cohenKappa(x, y));
        sum += k;
        ++n;
      }
      return n == 0 ? 1.0 : sum / static_cast<double>(n);
    }
    case LabelTask::kValue: {
      std::vector<std::vector<double>> units;
      for (std::size_t i = 0; i < a.size(); ++i) units.push_back({a[i]->value, b[i]->value});
      return krippendorffAlphaInterval(units);
    }
    case LabelTask::kBoxes:
    case LabelTask::kSpans: {
      if (a.empty()) return invalidArgument("no shared task");
      double sum = 0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (labels.task == LabelTask::kBoxes) {
          AIMASS_ASSIGN_OR_RETURN(double iou, meanMatchedBoxIou(boxesOf(*a[i]), boxesOf(*b[i])));
          sum += iou;
        } else {
          AIMASS_ASSIGN_OR_RETURN(double iou, meanMatchedSpanIou(spansOf(*a[i]), spansOf(*b[i])));
          sum += iou;
        }
      }
      return sum / static_cast<double>(a.size());
    }
  }
  return invalidArgument("unknown task");
}

const char* pairMeasure(LabelTask task) {
  switch (task) {
    case LabelTask::kClass:
      return "cohen_kappa";
    case LabelTask::kClasses:
      return "mean_label_cohen_kappa";
    case LabelTask::kValue:
      return "krippendorff_alpha_interval";
    case LabelTask::kBoxes:
    case LabelTask::kSpans:
      return "mean_matched_iou";
  }
  return "";
}

AgreementFigure projectFigure(const BookRules& rules, const std::vector<TaskAnswers>& tasks) {
  const LabelConfig& labels = rules.labels;
  AgreementFigure f;
  std::vector<const TaskAnswers*> full;
  for (const auto& t : tasks) {
    if (t.by.size() >= 2) full.push_back(&t);
  }
  f.tasks = full.size();
  Expected<double> value = invalidArgument("no task has two answers yet");
  if (labels.task == LabelTask::kClass || labels.task == LabelTask::kClasses) {
    // Fleiss' kappa wants the same number of raters per task: the tasks with per_task answers.
    std::erase_if(full, [&](const TaskAnswers* t) { return t->by.size() != rules.per_task; });
    f.tasks = full.size();
    const std::size_t k = labels.choices.size();
    std::vector<std::uint32_t> counts(full.size() * k, 0);
    for (std::size_t i = 0; i < full.size(); ++i) {
      for (const auto& [who, label] : full[i]->by) {
        for (int c : label.classes) ++counts[i * k + static_cast<std::size_t>(c)];
      }
    }
    if (labels.task == LabelTask::kClass) {
      f.measure = "fleiss_kappa";
      if (rules.per_task >= 2) value = fleissKappa(counts, full.size(), k);
    } else {
      f.measure = "mean_label_fleiss_kappa";
      if (rules.per_task >= 2) {
        auto multi =
            multiLabelKappa(counts, full.size(), k, static_cast<std::uint32_t>(rules.per_task));
        value = multi.ok() ? Expected<double>(multi->mean) : Expected<double>(multi.status());
      }
    }
    if (rules.per_task < 2)
      value = invalidArgument("each task needs one answer: nothing to compare");
  } else if (labels.task == LabelTask::kValue) {
    f.measure = "krippendorff_alpha_interval";
    std::vector<std::vector<double>> units;
    for (const auto* t : full) {
      units.emplace_back();
      for (const auto& [who, label] : t->by) units.back().push_back(label.value);
    }
    if (!units.empty()) value = krippendorffAlphaInterval(units);
  } else {
    f.measure = "mean_matched_iou";
    double sum = 0;
    std::size_t pairs = 0;
    for (const auto* t : full) {
      for (auto a = t->by.begin(); a != t->by.end(); ++a) {
        for (auto b = std::next(a); b != t->by.end(); ++b) {
          auto iou = pairwise(labels, {&a->second}, {&b->second});
          if (iou.ok()) {
            sum += *iou;
            ++pairs;
          }
        }
      }
    }
    if (pairs > 0) value = sum / static_cast<double>(pairs);
  }
  if (value.ok()) {
    f.value = *value;
  } else {
    f.note = value.status().message();
  }
  return f;
}

AgreementFigure againstAccepted(const LabelConfig& labels, const std::string& who,
                                const std::vector<TaskAnswers>& tasks) {
  AgreementFigure f;
  f.measure = labels.task == LabelTask::kValue
                  ? "mean_absolute_error"
                  : (labels.task == LabelTask::kBoxes || labels.task == LabelTask::kSpans
                         ? "mean_matched_iou"
                         : "share_correct");
  double sum = 0;
  for (const auto& t : tasks) {
    auto mine = t.by.find(who);
    if (mine == t.by.end() || !t.accepted) continue;
    ++f.tasks;
    if (labels.task == LabelTask::kValue) {
      sum += std::fabs(mine->second.value - t.accepted->value);
    } else if (labels.task == LabelTask::kBoxes || labels.task == LabelTask::kSpans) {
      auto iou = pairwise(labels, {&mine->second}, {&*t.accepted});
      sum += iou.ok() ? *iou : 0.0;
    } else {
      sum += mine->second.classes == t.accepted->classes ? 1 : 0;
    }
  }
  if (f.tasks > 0) {
    f.value = sum / static_cast<double>(f.tasks);
  } else {
    f.note = "no task it answered is accepted yet";
  }
  return f;
}

AgreementFigure withOthers(const LabelConfig& labels, const std::string& who,
                           const std::set<std::string>& everyone,
                           const std::vector<TaskAnswers>& tasks) {
  AgreementFigure f;
  f.measure = pairMeasure(labels.task);
  double sum = 0;
  std::size_t others = 0;
  std::set<const TaskAnswers*> shared_tasks;
  std::string last_error;
  for (const auto& other : everyone) {
    if (other == who) continue;
    std::vector<const Label*> a, b;
    for (const auto& t : tasks) {
      auto x = t.by.find(who), y = t.by.find(other);
      if (x == t.by.end() || y == t.by.end()) continue;
      a.push_back(&x->second);
      b.push_back(&y->second);
      shared_tasks.insert(&t);
    }
    if (a.empty()) continue;
    auto value = pairwise(labels, a, b);
    if (!value.ok()) {
      last_error = other + ": " + value.status().message();
      continue;
    }
    sum += *value;
    ++others;
  }
  f.tasks = shared_tasks.size();
  if (others > 0) {
    f.value = sum / static_cast<double>(others);
  } else {
    f.note = last_error.empty() ? "it shares no task with another annotator" : last_error;
  }
  return f;
}

void writeFigure(JsonWriter& json, const AgreementFigure& f) {
  json.beginObject().key("measure").value(f.measure).key("value");
  if (f.value) {
    json.value(*f.value);
  } else {
    json.null();
  }
  json.key("tasks").value(f.tasks);
  if (!f.note.empty()) json.key("note").value(f.note);
  json.endObject();
}

}  // namespace

AgreementReport agreementOf(const ProjectBook& book) {
  std::vector<TaskAnswers> tasks;
  std::map<std::string, std::uint64_t> answered;
  book.forEachTask([&](std::uint64_t row, const TaskRecord& record, TaskState) {
    if (record.annotations.empty()) return;
    TaskAnswers t;
    t.row = row;
    for (const auto& a : record.annotations) {
      t.by.emplace(a.annotator, a.label);
      ++answered[a.annotator];
    }
    tasks.push_back(std::move(t));
  });
  // Accepted answers are read after the walk: acceptedLabels() takes the book's lock itself.
  const auto accepted = book.acceptedLabels();
  for (auto& t : tasks) {
    auto it = accepted.find(t.row);
    if (it != accepted.end()) t.accepted = it->second;
  }
  AgreementReport report;
  const BookRules& rules = book.rules();
  report.project = projectFigure(rules, tasks);
  std::set<std::string> everyone;
  for (const auto& [who, n] : answered) everyone.insert(who);
  for (const auto& [who, n] : answered) {
    AnnotatorAgreement a;
    a.annotator = who;
    a.annotations = n;
    a.with_others = withOthers(rules.labels, who, everyone, tasks);
    a.with_accepted = againstAccepted(rules.labels, who, tasks);
    report.annotators.push_back(std::move(a));
  }
  return report;
}

void writeAgreement(JsonWriter& json, const AgreementReport& report) {
  json.beginObject().key("project");
  writeFigure(json, report.project);
  json.key("annotators").beginArray();
  for (const auto& a : report.annotators) {
    json.beginObject().key("annotator").value(a.annotator);
    json.key("annotations").value(a.annotations).key("with_others");
    writeFigure(json, a.with_others);
    json.key("with_accepted");
    writeFigure(json, a.with_accepted);
    json.endObject();
  }
  json.endArray().endObject();
}

}  // namespace aimass::core::annotation
