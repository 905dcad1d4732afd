// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/serving.h"
#include "aimass/params.h"
#include "aimass/serving.h"
#include "aimass/status.h"

namespace aimass::core {

/// The serving settings of one model: one entry of the `serving.runtime` node's `models` map,
///
///     models:
///       iris: {max_batch_size: 32, preferred_batch_sizes: [8, 16], max_queue_delay_us: 200,
///              max_queue_size: 256, queue_timeout_ms: 1000, version_policy: "latest:2",
///              precision: bf16, input_validation: reject, input_margin: 0.2,
///              outlier_scores: on,
///              payload_sample: 0.1, payload_exclude: [customer_name]}
///
/// Fields left out take the node's own value.
struct ModelSettings {
  std::string model;
  BatchingOptions batching;
  std::optional<VersionPolicy> version_policy;
  std::optional<std::string> precision;  ///< fp32, bf16 or auto (ServingRuntime::setPrecision)
  /// off, warn or reject, and the margin (ServingRuntime::setInputValidation); unset: the
  /// node's own
  std::optional<InputPolicy> input_validation;
  std::optional<double> input_margin;
  /// outlier_scores on (true) or off (ServingRuntime::setOutlierScores); unset: the node's own
  std::optional<bool> outlier_scores;
  /// Payload logging (ServingRuntime::setPayloadLogging()); unset: the node's own. The
  /// model's payload_exclude adds to the node's (PayloadLogging::model_exclude).
  std::optional<double> payload_sample;
  std::vector<std::string> payload_exclude;
  std::optional<std::int64_t> payload_max_rows;
  std::optional<std::int64_t> payload_max_age_s;
  /// "FILE:LINE:COL: models.iris.payload_sample" when the entry sets payload_sample, for errors
  /// about it the node finds (no payload storage).
  std::string payload_place;
};

/// The fields of a per-model settings record (max_batch_size, preferred_batch_sizes,
/// max_queue_delay_us, max_queue_size, queue_timeout_ms, version_policy, precision,
/// input_validation, input_margin, outlier_scores, payload_sample, payload_exclude, payload_max_rows,
/// payload_max_age_s), each optional
/// with no default, with the ranges the host checks. Any node that keeps per-model serving settings
/// declares its map with these.
std::vector<ParamSpec> modelSettingsFields();

/// The same settings as a node's own parameters, with the defaults a model without an entry
/// gets (no batching, 500 us delay, 1024 queued, no timeout, version policy "latest", fp32,
/// input validation off with margin 0.1, outlier scores off, payload logging off with 100000 rows and 7 days
/// kept).
std::vector<ParamSpec> servingDefaultsParams();

/// The settings of `model` from its `record` (of modelSettingsFields()) on top of `defaults`
/// (the node's own batching). kInvalidArgument naming the record's place in the config
/// ("FILE:LINE:COL: models.iris") for what the field ranges cannot express: preferred
/// batch sizes above max_batch_size, a malformed version policy, an empty payload_exclude
/// name.
Expected<ModelSettings> modelSettingsFromRecord(const std::string& model, const ParamRecord& record,
                                                const BatchingOptions& defaults);

/// Checks batching values: max_batch_size >= 0, preferred sizes from 1 to max_batch_size,
/// max_queue_delay_us >= 0, max_queue_size >= 1, queue_timeout_ms >= 0. `where` prefixes
/// the message.
Status validateBatching(const BatchingOptions& options, std::string_view where);

/// Checks payload_exclude names: none empty. `where` prefixes the message.
Status validatePayloadExclude(const std::vector<std::string>& names, std::string_view where);

}  // namespace aimass::core
