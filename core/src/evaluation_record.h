// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/evaluation.h"
#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

/// job.evaluate's reports, kept beside the tracked run that recorded them (tracking.h), in
/// the same key style (<run> and <version> as 10 digits):
///   tracking/evaluations/<run>                            the report, evaluationJson()
///   tracking/model-evaluations/<model>/<version>/<run>    index: the evaluations of a
///                                                         registered model version (empty)
/// The report is one put(), so it is there whole or not at all; it is written before the index
/// entry and both before the run is finished, so a finished run of job.evaluate has its report.
/// An index entry whose report is missing (a crash between the writes) is skipped when listed.

/// What one recording writes besides the report.
struct EvaluationRecording {
  std::string experiment;     ///< a valid experiment name (Tracking::validateName)
  std::string job;            ///< the job.evaluate node: the run's node
  std::string model;          ///< the model node
  std::string dataset;        ///< the dataset node
  std::string model_version;  ///< registered model name of the evaluated weights; empty: none
  std::int64_t version = 0;   ///< its version (with model_version)
  std::int64_t dataset_version = 0;  ///< the dataset's registered version; 0: none
};

/// One evaluation of a model version, as GET .../versions/{version}/evaluations lists it.
struct VersionEvaluation {
  std::int64_t run_id = 0;
  std::string dataset;
  std::int64_t dataset_version = 0;  ///< 0: the data was not a registered version
  std::int64_t unix_ms = 0;          ///< when the run ended (its start while running)
  std::map<std::string, double> metrics;
};

/// "tracking/evaluations/<run>".
std::string evaluationKey(std::int64_t run);

/// The report's numeric metrics that are set, by their evaluationJson() names (accuracy,
/// macro_f1, roc_auc, average_precision, rmse, mae, r2, silhouette, ...).
std::map<std::string, double> headlineMetrics(const EvaluationReport& report);

/// Records `report` as a tracked run of `storage`: starts it (params job, model, dataset,
/// task, and model_version "NAME/VERSION" and dataset_version when known), logs the headline
/// metrics at step 0, stores the report and the version index entry, and finishes it. Returns
/// the run id. On a storage error after the start the run is finished as failed with it.
Expected<std::int64_t> recordEvaluation(Storage& storage, const EvaluationRecording& what,
                                        const EvaluationReport& report);

/// The registered version of the model named `name` whose artifact is exactly `model`'s
/// weights (the SHA-256 of its encoded artifact equals the version's), newest first; 0 when
/// none is, or the registry has no such model. Encodes the model once in memory.
Expected<std::int64_t> registeredModelVersion(Storage& storage, const std::string& name,
                                              const Model& model);

/// The newest registered version of the dataset named `name` with `data`'s fingerprint and
/// row count; 0 when none is, when the reader has no fingerprint or the name is not
/// registered. Reads no rows.
Expected<std::int64_t> registeredDatasetVersion(Storage& storage, const std::string& name,
                                                const Dataset& data);

/// The stored report of run `id`. kNotFound naming the run when it does not exist, or saying
/// that it has no evaluation; other errors name the key.
Expected<std::string> storedEvaluation(Storage& storage, std::int64_t id);

/// The evaluations of `model` version `version`, newest first. kNotFound when the registry has
/// no such version; other errors name the key.
Expected<std::vector<VersionEvaluation>> versionEvaluations(Storage& storage,
                                                            const std::string& model,
                                                            std::int64_t version);

}  // namespace aimass::core
