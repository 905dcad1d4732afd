// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/registry.h"
#include "aimass/core/tracking.h"
#include "aimass/registry_service.h"
#include "aimass/storage.h"

namespace aimass::core {

// The registry, dataset registry and tracking as the SDK's typed services
// (aimass/registry_service.h), and the readings the command line shares with them, so that
// `aimass models|datasets|runs ... --json` and a frontend's answers come from the same code.

/// `v` with the names of the aliases pointing at it.
ModelVersionInfo modelVersionInfo(const ModelVersion& v, std::vector<std::string> aliases);
/// Every model: version count, latest version, aliases (`models list`).
Expected<std::vector<ModelSummary>> modelSummaries(const ModelRegistry& registry);
/// One model's versions and aliases (`models show NAME`); kInvalidArgument for a bad name.
Expected<ModelInfo> modelInfo(const ModelRegistry& registry, std::string_view name);
/// "NAME/3" or "NAME@ALIAS" after re-hashing its artifact (`models show NAME/3`): kDataLoss,
/// naming the key, when the artifact is missing or no longer matches.
Expected<ModelVersionInfo> verifiedModelVersion(const ModelRegistry& registry,
                                                std::string_view reference);
/// The model's history (`models history NAME`): its events as `query` selects; kNotFound for a
/// model with neither versions, aliases nor events.
Expected<std::vector<ModelEventInfo>> modelEvents(const ModelRegistry& registry,
                                                  std::string_view model,
                                                  const ModelEventQuery& query);
/// The training-data profile of one version as a JSON object (data_profile_json.h); kNotFound
/// when the version has none.
Expected<std::string> versionProfileJson(const ModelRegistry& registry, std::string_view model,
                                         std::int64_t version);

DatasetVersionInfo datasetVersionInfo(const DatasetVersion& v);
/// Every dataset with its latest version (`datasets list`).
Expected<std::vector<DatasetSummary>> datasetSummaries(const DatasetRegistry& registry);

RunInfo runInfo(const RunRecord& run);
/// `query` in the tracking's own terms.
RunQuery runQuery(const RunListQuery& query);
/// The runs matching `query` (`runs list`).
Expected<RunListing> runListing(const Tracking& tracking, const RunQuery& query);
/// One run with its metric summaries (`runs show ID`).
Expected<RunDetails> runDetails(const Tracking& tracking, std::int64_t id);
/// A page of one metric's values (`runs metric ID NAME`), as TrackingService::metricHistory()
/// describes it.
Expected<RunMetricHistory> metricHistory(const Tracking& tracking, const RunMetricQuery& query);

/// The model registry of one storage, as Host::registry() offers it.
///
/// Ownership: shares `storage`, which stays alive as long as the service. Threading: every
/// method may run on many threads at once; the service holds no state besides the storage.
class StorageModelRegistry final : public ModelRegistryService {
 public:
  explicit StorageModelRegistry(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

  Status validateName(std::string_view name, std::string_view what) const override;
  Expected<std::vector<ModelSummary>> listModels() const override;
  Expected<ModelInfo> model(std::string_view name) const override;
  Expected<ModelVersionInfo> version(std::string_view model, std::int64_t version) const override;
  Status deleteVersion(std::string_view model, std::int64_t version, bool force) override;
  Expected<ModelVersionInfo> setTags(std::string_view model, std::int64_t version,
                                     const std::map<std::string, std::string>& set,
                                     const std::vector<std::string>& remove) override;
  Expected<ModelVersionInfo> replaceTags(std::string_view model, std::int64_t version,
                                         const std::map<std::string, std::string>& tags) override;
  Expected<ModelAliasInfo> promote(std::string_view model, std::string_view alias,
                                   std::int64_t version) override;
  Expected<ModelAliasInfo> rollback(std::string_view model, std::string_view alias) override;
  Expected<std::vector<ModelEventInfo>> events(std::string_view model,
                                               const ModelEventQuery& query) const override;
  Expected<std::string> profile(std::string_view model, std::int64_t version) const override;
  Expected<ModelAliasInfo> promoteAs(std::string_view model, std::string_view alias,
                                     std::int64_t version, std::string_view actor) override;
  Expected<ModelAliasInfo> rollbackAs(std::string_view model, std::string_view alias,
                                      std::string_view actor) override;
  Status deleteVersionAs(std::string_view model, std::int64_t version, bool force,
                         std::string_view actor) override;

 private:
  std::shared_ptr<Storage> storage_;
};

/// The dataset registry of one storage, as Host::datasets() offers it (ownership and threading
/// as StorageModelRegistry).
class StorageDatasetRegistry final : public DatasetRegistryService {
 public:
  explicit StorageDatasetRegistry(std::shared_ptr<Storage> storage)
      : storage_(std::move(storage)) {}

  Expected<std::vector<DatasetSummary>> listDatasets() const override;
  Expected<std::vector<DatasetVersionInfo>> versions(std::string_view name) const override;
  Expected<DatasetVersionInfo> version(std::string_view name, std::int64_t version) const override;

 private:
  std::shared_ptr<Storage> storage_;
};

/// The tracking of one storage, as Host::tracking() offers it (ownership and threading as
/// StorageModelRegistry).
class StorageTracking final : public TrackingService {
 public:
  explicit StorageTracking(std::shared_ptr<Storage> storage) : storage_(std::move(storage)) {}

  Status validateName(std::string_view name, std::string_view what) const override;
  Expected<std::vector<RunMetricFilter>> parseFilters(std::string_view text) const override;
  Expected<RunListing> listRuns(const RunListQuery& query) override;
  Expected<RunListing> listRunsFrom(const RunListQuery& query, std::size_t offset) override;
  Expected<RunDetails> run(std::int64_t id) override;
  Expected<RunMetricHistory> metricHistory(const RunMetricQuery& query) override;

 private:
  std::shared_ptr<Storage> storage_;
};

}  // namespace aimass::core
