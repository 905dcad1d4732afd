// SPDX-License-Identifier: Apache-2.0
#include "evaluation_record.h"

#include <cmath>
#include <cstdlib>
#include <utility>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/sha256.h"
#include "aimass/core/tracking.h"
#include "record_text.h"

namespace aimass::core {
namespace {

constexpr std::string_view kEvaluationsPrefix = "tracking/evaluations/";
constexpr std::string_view kVersionIndexPrefix = "tracking/model-evaluations/";

std::string versionIndexPrefix(std::string_view model, std::int64_t version) {
  return std::string(kVersionIndexPrefix) + std::string(model) + "/" +
         record::versionSegment(version) + "/";
}

std::string_view taskOf(const EvaluationReport& report) {
  if (report.classification) return "classification";
  if (report.regression) return "regression";
  if (report.clustering) return "clustering";
  if (report.recommendation) return "recommendation";
  if (report.language_model) return "language_model";
  if (report.forecast) return "forecasting";
  return "none";
}

void putIf(std::map<std::string, double>& out, const char* name, const std::optional<double>& v) {
  if (v) {
    out[name] = *v;
  }
}

/// A registry lookup's failure: an unknown name (or one the registry cannot hold) means no
/// registered version, 0; anything else is an error.
Expected<std::int64_t> unregistered(const Status& status) {
  if (status.code() == StatusCode::kNotFound || status.code() == StatusCode::kInvalidArgument) {
    return std::int64_t{0};
  }
  return status;
}

}  // namespace

std::string evaluationKey(std::int64_t run) {
  return std::string(kEvaluationsPrefix) + record::versionSegment(run);
}

std::map<std::string, double> headlineMetrics(const EvaluationReport& report) {
  std::map<std::string, double> m;
  if (const auto& c = report.classification) {
    m = {{"accuracy", c->accuracy},
         {"macro_precision", c->macro_precision},
         {"macro_recall", c->macro_recall},
         {"macro_f1", c->macro_f1}};
    putIf(m, "log_loss", c->log_loss);
    putIf(m, "roc_auc", c->roc_auc);
    if (c->curves) {
      m["average_precision"] = c->curves->average_precision;
    }
  } else if (const auto& r = report.regression) {
    m = {{"rmse", r->rmse}, {"mae", r->mae}, {"r2", r->r2}};
  } else if (const auto& k = report.clustering) {
    m = {{"inertia", k->inertia}};
    putIf(m, "silhouette", k->silhouette);
    putIf(m, "davies_bouldin", k->davies_bouldin);
    putIf(m, "adjusted_rand", k->adjusted_rand);
    putIf(m, "nmi", k->nmi);
  } else if (const auto& rec = report.recommendation) {
    putIf(m, "rmse", rec->rmse);
    putIf(m, "mae", rec->mae);
    m["precision_at_k"] = rec->ranking.precision_at_k;
    m["recall_at_k"] = rec->ranking.recall_at_k;
    m["ndcg_at_k"] = rec->ranking.ndcg_at_k;
    m["map_at_k"] = rec->ranking.map_at_k;
  } else if (const auto& lm = report.language_model) {
    m = {{"loss", lm->loss},
         {"perplexity", lm->perplexity},
         {"bits_per_char", lm->bits_per_token},
         {"token_accuracy", lm->token_accuracy}};
  } else if (const auto& f = report.forecast) {
    m = {{"mae", f->mae}, {"rmse", f->rmse}};
    putIf(m, "mape", f->mape);
    putIf(m, "mase", f->mase);
  }
  std::erase_if(m, [](const auto& entry) { return !std::isfinite(entry.second); });
  return m;
}

Expected<std::int64_t> recordEvaluation(Storage& storage, const EvaluationRecording& what,
                                        const EvaluationReport& report) {
  NewRun run;
  run.experiment = what.experiment;
  run.node = what.job;
  run.node_type = "job.evaluate";
  run.params = {{"job", what.job},
                {"model", what.model},
                {"dataset", what.dataset},
                {"task", std::string(taskOf(report))}};
  if (!what.model_version.empty()) {
    run.params["model_version"] = what.model_version + "/" + std::to_string(what.version);
  }
  if (what.dataset_version > 0) {
    run.params["dataset_version"] = std::to_string(what.dataset_version);
  }
  Tracking tracking(storage);
  AIMASS_ASSIGN_OR_RETURN(auto logger, tracking.startRun(run));
  const std::int64_t id = logger->id();
  // Everything after the start either completes or ends the run as failed with the error, so
  // no run of job.evaluate stays "running" or finishes without its report.
  Status written = [&]() -> Status {
    for (const auto& [name, value] : headlineMetrics(report)) {
      AIMASS_RETURN_IF_ERROR(logger->log(name, 0, value));
    }
    const std::string key = evaluationKey(id);
    Status put = storage.put(key, evaluationJson(report));
    if (!put.ok()) {
      return put.withContext("writing the report to '" + key + "' in " + storage.describe());
    }
    if (!what.model_version.empty()) {
      const std::string index =
          versionIndexPrefix(what.model_version, what.version) + record::versionSegment(id);
      put = storage.put(index, "");
      if (!put.ok()) {
        return put.withContext("writing '" + index + "' in " + storage.describe());
      }
      logger->setArtifact("model_version", what.model_version + "/" + std::to_string(what.version));
    }
    logger->setArtifact("evaluation", key);
    return Status();
  }();
  if (!written.ok()) {
    (void)logger->finish(RunStatus::kFailed, written.toString());
    return written;
  }
  AIMASS_RETURN_IF_ERROR(logger->finish(RunStatus::kFinished));
  return id;
}

Expected<std::int64_t> registeredModelVersion(Storage& storage, const std::string& name,
                                              const Model& model) {
  auto versions = ModelRegistry(storage).listVersions(name);
  if (!versions.ok()) {
    return unregistered(versions.status());
  }
  // Encoded once per type (versions of one model share it, so usually once).
  std::map<std::string, std::string> hashes;
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    auto hash = hashes.find(it->node_type);
    if (hash == hashes.end()) {
      auto bytes = encodeModelArtifact(model, it->node_type);
      hash = hashes.emplace(it->node_type, bytes.ok() ? Sha256::of(*bytes) : "").first;
    }
    if (!hash->second.empty() && hash->second == it->sha256) {
      return it->version;
    }
  }
  return 0;
}

Expected<std::int64_t> registeredDatasetVersion(Storage& storage, const std::string& name,
                                                const Dataset& data) {
  const std::string fingerprint = data.fingerprint();
  if (fingerprint.empty()) {
    return 0;
  }
  auto versions = DatasetRegistry(storage).listVersions(name);
  if (!versions.ok()) {
    return unregistered(versions.status());
  }
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    if (it->fingerprint == fingerprint && it->rows == data.size()) {
      return it->version;
    }
  }
  return 0;
}

Expected<std::string> storedEvaluation(Storage& storage, std::int64_t id) {
  AIMASS_RETURN_IF_ERROR(Tracking(storage).getRun(id).status());
  const std::string key = evaluationKey(id);
  auto report = storage.get(key);
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kNotFound) {
      return notFound("run " + std::to_string(id) +
                      " has no evaluation: only runs of job.evaluate with a storage have one");
    }
    return report.status().withContext("reading '" + key + "' in " + storage.describe());
  }
  return report;
}

Expected<std::vector<VersionEvaluation>> versionEvaluations(Storage& storage,
                                                            const std::string& model,
                                                            std::int64_t version) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry(storage).getVersion(model, version).status());
  const std::string prefix = versionIndexPrefix(model, version);
  auto keys = storage.list(prefix);
  if (!keys.ok()) {
    return keys.status().withContext("listing '" + prefix + "' in " + storage.describe());
  }
  Tracking tracking(storage);
  std::vector<VersionEvaluation> out;
  // Keys sort by run id, so newest first is the list backwards.
  for (auto key = keys->rbegin(); key != keys->rend(); ++key) {
    const std::string digits = key->substr(prefix.size());
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 18) {
      continue;
    }
    const std::int64_t id = std::stoll(digits);
    auto run = tracking.getRun(id);
    if (!run.ok()) {
      if (run.status().code() == StatusCode::kNotFound) continue;  // a half-written entry
      return run.status();
    }
    if (run->status != RunStatus::kFinished) continue;  // its report may be missing
    VersionEvaluation e;
    e.run_id = id;
    auto dataset = run->params.find("dataset");
    e.dataset = dataset == run->params.end() ? std::string() : dataset->second;
    if (auto v = run->params.find("dataset_version"); v != run->params.end()) {
      e.dataset_version = std::strtoll(v->second.c_str(), nullptr, 10);
    }
    e.unix_ms = run->end_unix_ms != 0 ? run->end_unix_ms : run->start_unix_ms;
    e.metrics = std::move(run->metrics);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace aimass::core
