// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/registry_services.h"

#include <map>
#include <utility>

#include "aimass/core/model_events.h"
#include "data_profile.h"
#include "data_profile_json.h"

namespace aimass::core {
namespace {

ModelAliasInfo modelAliasInfo(const ModelAlias& alias) {
  return ModelAliasInfo{alias.model, alias.alias, alias.version, alias.history};
}

/// Alias names per version of one model.
std::map<std::int64_t, std::vector<std::string>> aliasesByVersion(
    const std::vector<ModelAlias>& aliases) {
  std::map<std::int64_t, std::vector<std::string>> out;
  for (const auto& alias : aliases) {
    out[alias.version].push_back(alias.alias);
  }
  return out;
}

std::vector<std::pair<std::string, std::int64_t>> aliasTargets(
    const std::vector<ModelAlias>& aliases) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  for (const auto& alias : aliases) {
    out.emplace_back(alias.alias, alias.version);
  }
  return out;
}

/// `v` with the aliases of its model that point at it.
Expected<ModelVersionInfo> withAliases(const ModelRegistry& registry, const ModelVersion& v) {
  AIMASS_ASSIGN_OR_RETURN(auto aliases, registry.listAliases(v.model));
  return modelVersionInfo(v, aliasesByVersion(aliases)[v.version]);
}

// The SDK's run states and filter operators list the tracking's own in the same order, so
// they convert by value.
static_assert(static_cast<int>(RunState::kRunning) == static_cast<int>(RunStatus::kRunning) &&
              static_cast<int>(RunState::kFinished) == static_cast<int>(RunStatus::kFinished) &&
              static_cast<int>(RunState::kFailed) == static_cast<int>(RunStatus::kFailed) &&
              static_cast<int>(RunState::kKilled) == static_cast<int>(RunStatus::kKilled));

RunState runState(RunStatus status) { return static_cast<RunState>(static_cast<int>(status)); }

RunStatus runStatus(RunState state) { return static_cast<RunStatus>(static_cast<int>(state)); }

static_assert(static_cast<int>(MetricFilter::Op::kLess) ==
                  static_cast<int>(RunMetricFilter::Op::kLess) &&
              static_cast<int>(MetricFilter::Op::kNotEqual) ==
                  static_cast<int>(RunMetricFilter::Op::kNotEqual));

}  // namespace

ModelVersionInfo modelVersionInfo(const ModelVersion& v, std::vector<std::string> aliases) {
  ModelVersionInfo info;
  info.model = v.model;
  info.version = v.version;
  info.artifact_key = v.artifact_key;
  info.sha256 = v.sha256;
  info.node = v.node;
  info.node_type = v.node_type;
  info.dataset_fingerprint = v.dataset_fingerprint;
  info.dataset_name = v.dataset_name;
  info.dataset_version = v.dataset_version;
  info.dataset_sha256 = v.dataset_sha256;
  info.code_version = v.code_version;
  info.created_by = v.created_by;
  info.created_unix_ms = v.created_unix_ms;
  info.metrics = v.metrics;
  info.tags = v.tags;
  info.aliases = std::move(aliases);
  info.parent = v.parent;
  info.profile_key = v.profile_key;
  return info;
}

Expected<std::vector<ModelSummary>> modelSummaries(const ModelRegistry& registry) {
  AIMASS_ASSIGN_OR_RETURN(auto models, registry.listModels());
  std::vector<ModelSummary> out;
  for (const auto& model : models) {
    AIMASS_ASSIGN_OR_RETURN(auto versions, registry.listVersions(model));
    AIMASS_ASSIGN_OR_RETURN(auto aliases, registry.listAliases(model));
    ModelSummary summary;
    summary.model = model;
    summary.versions = versions.size();
    summary.latest = versions.empty() ? 0 : versions.back().version;
    summary.aliases = aliasTargets(aliases);
    out.push_back(std::move(summary));
  }
  return out;
}

Expected<ModelInfo> modelInfo(const ModelRegistry& registry, std::string_view name) {
  AIMASS_RETURN_IF_ERROR(ModelRegistry::validateName(name, "model"));
  AIMASS_ASSIGN_OR_RETURN(auto versions, registry.listVersions(name));
  AIMASS_ASSIGN_OR_RETURN(auto aliases, registry.listAliases(name));
  auto by_version = aliasesByVersion(aliases);
  ModelInfo info;
  info.model = std::string(name);
  info.aliases = aliasTargets(aliases);
  for (const auto& v : versions) {
    info.versions.push_back(modelVersionInfo(v, by_version[v.version]));
  }
  return info;
}

Expected<ModelVersionInfo> verifiedModelVersion(const ModelRegistry& registry,
                                                std::string_view reference) {
  AIMASS_ASSIGN_OR_RETURN(ModelVersion version, registry.resolve(reference));
  // Show only what is intact: an artifact whose bytes no longer match the recorded SHA-256 (or
  // that is gone) is reported as data loss, naming its key.
  if (Status verified = registry.verifyArtifact(version); !verified.ok()) {
    return verified.code() == StatusCode::kNotFound
               ? dataLoss("artifact '" + version.artifact_key + "' of " + version.model + "/" +
                          std::to_string(version.version) + " is missing from the store")
               : verified;
  }
  return withAliases(registry, version);
}

Expected<std::vector<ModelEventInfo>> modelEvents(const ModelRegistry& registry,
                                                  std::string_view model,
                                                  const ModelEventQuery& query) {
  const Storage& storage = registry.storage();
  ModelEventFilter filter{query.after_sequence, query.limit, query.kind};
  AIMASS_ASSIGN_OR_RETURN(auto events, readModelEvents(storage, model, filter));
  if (events.empty()) {
    AIMASS_ASSIGN_OR_RETURN(bool any, modelHasEvents(storage, model));
    if (!any) {
      // A model known to the registry with no history yet (registered before events existed)
      // has an empty history; an unknown one is not found.
      AIMASS_RETURN_IF_ERROR(registry.listVersions(model).status());
    }
  }
  std::vector<ModelEventInfo> out;
  out.reserve(events.size());
  for (auto& e : events) {
    out.push_back(ModelEventInfo{std::move(e.model), e.sequence, e.unix_ms, std::move(e.kind),
                                 e.version, std::move(e.alias), std::move(e.actor),
                                 std::move(e.message), std::move(e.details)});
  }
  return out;
}

Expected<std::string> versionProfileJson(const ModelRegistry& registry, std::string_view model,
                                         std::int64_t version) {
  AIMASS_ASSIGN_OR_RETURN(ModelVersion record, registry.getVersion(model, version));
  if (record.profile_key.empty()) {
    return notFound("version " + std::to_string(version) + " of model '" + std::string(model) +
                    "' has no training-data profile (it was registered without one)");
  }
  AIMASS_ASSIGN_OR_RETURN(auto profile, readDataProfile(registry.storage(), record.profile_key));
  return dataProfileJson(*profile);
}

DatasetVersionInfo datasetVersionInfo(const DatasetVersion& v) {
  return DatasetVersionInfo{v.name, v.version,     v.type,       v.source,         v.sha256,
                            v.rows, v.fingerprint, v.created_by, v.created_unix_ms};
}

Expected<std::vector<DatasetSummary>> datasetSummaries(const DatasetRegistry& registry) {
  AIMASS_ASSIGN_OR_RETURN(auto names, registry.listDatasets());
  std::vector<DatasetSummary> out;
  for (const auto& name : names) {
    auto versions = registry.listVersions(name);
    if (!versions.ok() && versions.status().code() == StatusCode::kNotFound) {
      continue;  // its only record was a losing duplicate, removed since the listing
    }
    AIMASS_RETURN_IF_ERROR(versions.status());
    out.push_back({name, versions->size(), datasetVersionInfo(versions->back())});
  }
  return out;
}

RunInfo runInfo(const RunRecord& run) {
  RunInfo info;
  info.id = run.id;
  info.experiment = run.experiment;
  info.state = runState(run.status);
  info.node = run.node;
  info.node_type = run.node_type;
  info.start_unix_ms = run.start_unix_ms;
  info.end_unix_ms = run.end_unix_ms;
  info.error = run.error;
  info.pid = run.pid;
  info.host = run.host;
  info.params = run.params;
  info.artifacts = run.artifacts;
  info.metrics = run.metrics;
  return info;
}

RunQuery runQuery(const RunListQuery& query) {
  RunQuery out;
  out.experiment = query.experiment;
  for (const auto& filter : query.filters) {
    MetricFilter converted;
    converted.metric = filter.metric;
    converted.op = static_cast<MetricFilter::Op>(filter.op);
    converted.value = filter.value;
    out.filters.push_back(std::move(converted));
  }
  if (query.state) {
    out.status = runStatus(*query.state);
  }
  out.sort_metric = query.sort_metric;
  out.descending = query.descending;
  out.limit = query.limit;
  return out;
}

Expected<RunListing> runListing(const Tracking& tracking, const RunQuery& query) {
  AIMASS_ASSIGN_OR_RETURN(RunList list, tracking.listRuns(query));
  RunListing listing;
  listing.matched = list.matched;
  for (const auto& run : list.runs) {
    listing.runs.push_back(runInfo(run));
  }
  return listing;
}

Expected<RunDetails> runDetails(const Tracking& tracking, std::int64_t id) {
  AIMASS_ASSIGN_OR_RETURN(RunRecord run, tracking.getRun(id));
  AIMASS_ASSIGN_OR_RETURN(auto points, tracking.metricPoints(id));
  RunDetails details;
  details.run = runInfo(run);
  for (const auto& s : Tracking::summarize(points)) {
    details.metrics.push_back({s.name, s.last, s.last_step, s.min, s.max, s.points});
  }
  return details;
}

Expected<RunMetricHistory> metricHistory(const Tracking& tracking, const RunMetricQuery& query) {
  AIMASS_RETURN_IF_ERROR(Tracking::validateName(query.metric, "metric"));
  AIMASS_ASSIGN_OR_RETURN(auto points, tracking.metricPoints(query.run));  // kNotFound: no run
  RunMetricHistory history;
  history.run = query.run;
  history.metric = query.metric;
  // metricPoints() orders by name, then step, then logging order.
  for (const MetricPoint& p : points) {
    if (p.name != query.metric) {
      continue;
    }
    ++history.total;
    if (query.after_step && p.step <= *query.after_step) {
      continue;
    }
    // A full page ends with a whole step, so that asking again after its last step loses
    // nothing.
    if (query.limit > 0 && history.points.size() >= query.limit &&
        p.step != history.points.back().step) {
      history.more = true;
      continue;
    }
    history.points.push_back({p.step, p.value, p.unix_ms});
  }
  return history;
}

// --- StorageModelRegistry --------------------------------------------------------------------

Status StorageModelRegistry::validateName(std::string_view name, std::string_view what) const {
  return ModelRegistry::validateName(name, what);
}

Expected<std::vector<ModelSummary>> StorageModelRegistry::listModels() const {
  return modelSummaries(ModelRegistry(*storage_));
}

Expected<ModelInfo> StorageModelRegistry::model(std::string_view name) const {
  return modelInfo(ModelRegistry(*storage_), name);
}

Expected<ModelVersionInfo> StorageModelRegistry::version(std::string_view model,
                                                         std::int64_t version) const {
  return verifiedModelVersion(ModelRegistry(*storage_),
                              std::string(model) + "/" + std::to_string(version));
}

Status StorageModelRegistry::deleteVersion(std::string_view model, std::int64_t version,
                                           bool force) {
  return ModelRegistry(*storage_).deleteVersion(model, version, force);
}

Expected<ModelVersionInfo> StorageModelRegistry::setTags(
    std::string_view model, std::int64_t version, const std::map<std::string, std::string>& set,
    const std::vector<std::string>& remove) {
  ModelRegistry registry(*storage_);
  AIMASS_ASSIGN_OR_RETURN(ModelVersion tagged, registry.setTags(model, version, set, remove));
  return withAliases(registry, tagged);
}

Expected<ModelVersionInfo> StorageModelRegistry::replaceTags(
    std::string_view model, std::int64_t version, const std::map<std::string, std::string>& tags) {
  AIMASS_ASSIGN_OR_RETURN(ModelVersion current,
                          ModelRegistry(*storage_).getVersion(model, version));
  std::vector<std::string> remove;
  for (const auto& [key, value] : current.tags) {
    if (tags.count(key) == 0) {
      remove.push_back(key);
    }
  }
  return setTags(model, version, tags, remove);
}

Expected<ModelAliasInfo> StorageModelRegistry::promote(std::string_view model,
                                                       std::string_view alias,
                                                       std::int64_t version) {
  AIMASS_ASSIGN_OR_RETURN(ModelAlias moved,
                          ModelRegistry(*storage_).promote(model, alias, version));
  return modelAliasInfo(moved);
}

Expected<ModelAliasInfo> StorageModelRegistry::rollback(std::string_view model,
                                                        std::string_view alias) {
  AIMASS_ASSIGN_OR_RETURN(ModelAlias moved, ModelRegistry(*storage_).rollback(model, alias));
  return modelAliasInfo(moved);
}

Expected<ModelAliasInfo> StorageModelRegistry::promoteAs(std::string_view model,
                                                         std::string_view alias,
                                                         std::int64_t version,
                                                         std::string_view actor) {
  AIMASS_ASSIGN_OR_RETURN(
      ModelAlias moved,
      ModelRegistry(*storage_, std::string(actor)).promote(model, alias, version));
  return modelAliasInfo(moved);
}

Expected<ModelAliasInfo> StorageModelRegistry::rollbackAs(std::string_view model,
                                                          std::string_view alias,
                                                          std::string_view actor) {
  AIMASS_ASSIGN_OR_RETURN(ModelAlias moved,
                          ModelRegistry(*storage_, std::string(actor)).rollback(model, alias));
  return modelAliasInfo(moved);
}

Status StorageModelRegistry::deleteVersionAs(std::string_view model, std::int64_t version,
                                             bool force, std::string_view actor) {
  return ModelRegistry(*storage_, std::string(actor)).deleteVersion(model, version, force);
}

Expected<std::vector<ModelEventInfo>> StorageModelRegistry::events(
    std::string_view model, const ModelEventQuery& query) const {
  return modelEvents(ModelRegistry(*storage_), model, query);
}

Expected<std::string> StorageModelRegistry::profile(std::string_view model,
                                                    std::int64_t version) const {
  return versionProfileJson(ModelRegistry(*storage_), model, version);
}

// --- StorageDatasetRegistry ------------------------------------------------------------------

Expected<std::vector<DatasetSummary>> StorageDatasetRegistry::listDatasets() const {
  return datasetSummaries(DatasetRegistry(*storage_));
}

Expected<std::vector<DatasetVersionInfo>> StorageDatasetRegistry::versions(
    std::string_view name) const {
  AIMASS_ASSIGN_OR_RETURN(auto versions, DatasetRegistry(*storage_).listVersions(name));
  std::vector<DatasetVersionInfo> out;
  for (const auto& v : versions) {
    out.push_back(datasetVersionInfo(v));
  }
  return out;
}

Expected<DatasetVersionInfo> StorageDatasetRegistry::version(std::string_view name,
                                                             std::int64_t version) const {
  AIMASS_ASSIGN_OR_RETURN(
      DatasetVersion found,
      DatasetRegistry(*storage_).resolve(std::string(name) + "/" + std::to_string(version)));
  return datasetVersionInfo(found);
}

// --- StorageTracking ---------------------------------------------------------------------------

Status StorageTracking::validateName(std::string_view name, std::string_view what) const {
  return Tracking::validateName(name, what);
}

Expected<std::vector<RunMetricFilter>> StorageTracking::parseFilters(std::string_view text) const {
  AIMASS_ASSIGN_OR_RETURN(auto filters, parseMetricFilters(text));
  std::vector<RunMetricFilter> out;
  for (const auto& filter : filters) {
    out.push_back({filter.metric, static_cast<RunMetricFilter::Op>(filter.op), filter.value});
  }
  return out;
}

Expected<RunListing> StorageTracking::listRuns(const RunListQuery& query) {
  Tracking tracking(*storage_);
  // Runs whose process died are marked failed first, as `aimass runs` does, so both agree.
  (void)tracking.recoverAbandonedRuns();
  return runListing(tracking, runQuery(query));
}

Expected<RunListing> StorageTracking::listRunsFrom(const RunListQuery& query, std::size_t offset) {
  Tracking tracking(*storage_);
  (void)tracking.recoverAbandonedRuns();
  RunQuery paged = runQuery(query);
  paged.offset = offset;
  return runListing(tracking, paged);
}

Expected<RunDetails> StorageTracking::run(std::int64_t id) {
  Tracking tracking(*storage_);
  (void)tracking.recoverAbandonedRuns();
  return runDetails(tracking, id);
}

Expected<RunMetricHistory> StorageTracking::metricHistory(const RunMetricQuery& query) {
  Tracking tracking(*storage_);
  (void)tracking.recoverAbandonedRuns();
  return core::metricHistory(tracking, query);
}

}  // namespace aimass::core
