// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/serving.h"
#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// The serving settings of one model, from one `model_settings` entry of frontend.http:
///
///     "iris max_batch_size=32 preferred_batch_sizes=8,16 max_queue_delay_us=200
///      max_queue_size=256 queue_timeout_ms=1000 version_policy=latest:2"
///
/// The model name comes first, then key=value pairs separated by spaces; keys left out take
/// the frontend's own value.
struct ModelSettings {
  std::string model;
  BatchingOptions batching;
  std::optional<VersionPolicy> version_policy;
};

/// Parses `entry` on top of `defaults` (the frontend's batching). kInvalidArgument naming the
/// entry and what is wrong: no model name, a pair without '=', an unknown key (with the known
/// ones), a value that is not a whole number in its range, a bad version policy.
Expected<ModelSettings> parseModelSettings(std::string_view entry, const BatchingOptions& defaults);

/// Checks batching values: max_batch_size >= 0, preferred sizes from 1 to max_batch_size,
/// max_queue_delay_us >= 0, max_queue_size >= 1, queue_timeout_ms >= 0. `where` prefixes
/// the message.
Status validateBatching(const BatchingOptions& options, std::string_view where);

}  // namespace aimass::plugins::frontend
