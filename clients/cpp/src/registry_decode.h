// SPDX-License-Identifier: Apache-2.0
// Typed structs (registry.hpp) from the C library's JSON documents. A missing member reads
// as its default; a document of the wrong shape (not an object where one is needed) throws
// Error(kProtocol).
#pragma once

#include <vector>

#include "aimass/client/registry.hpp"
#include "aimass_client.h"

namespace aimass::client::detail {

ServerMetadata serverMetadataOf(const aimass_client_json* doc);
ModelMetadata modelMetadataOf(const aimass_client_json* doc);
std::vector<ModelSummary> modelSummariesOf(const aimass_client_value* v);
ModelVersion modelVersionOf(const aimass_client_value* v);
RegisteredModel registeredModelOf(const aimass_client_value* v);
ModelAlias modelAliasOf(const aimass_client_value* v);
std::vector<DatasetSummary> datasetSummariesOf(const aimass_client_value* v);
RegisteredDataset registeredDatasetOf(const aimass_client_value* v);
RunList runListOf(const aimass_client_value* v);
Run runOf(const aimass_client_value* v);

}  // namespace aimass::client::detail
