// SPDX-License-Identifier: Apache-2.0
// A project's inter-annotator agreement (agreement.h's measures over its book): one figure for
// the project, and per annotator how it agrees with the others and with what was accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aimass/util/json_writer.h"
#include "annotation/project_book.h"

namespace aimass::core::annotation {

/// One figure: its measure, its value (nullopt when it is undefined here, `note` saying why)
/// and how many tasks it stands on.
struct AgreementFigure {
  std::string measure;
  std::optional<double> value;
  std::uint64_t tasks = 0;
  std::string note;
};

struct AnnotatorAgreement {
  std::string annotator;
  std::uint64_t annotations = 0;  ///< of current rounds
  /// The mean over the other annotators it shares tasks with of the pairwise measure: Cohen's
  /// kappa (class; classes: its mean over the labels), Krippendorff's alpha (value), mean
  /// matched IoU (boxes, spans).
  AgreementFigure with_others;
  /// Against the accepted answers of the tasks it answered: the share it got right (class,
  /// classes: the same set), the mean absolute error (value), the mean matched IoU (boxes,
  /// spans).
  AgreementFigure with_accepted;
};

struct AgreementReport {
  /// Fleiss' kappa (class, over the tasks with annotations_per_task >= 2 answers), the mean of
  /// the labels' Fleiss' kappas (classes), Krippendorff's alpha (value), the mean matched IoU
  /// of every pair of answers to a task (boxes, spans).
  AgreementFigure project;
  std::vector<AnnotatorAgreement> annotators;  ///< by name
};

AgreementReport agreementOf(const ProjectBook& book);
void writeAgreement(JsonWriter& json, const AgreementReport& report);

}  // namespace aimass::core::annotation
