// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>

#include "aimass/model.h"
#include "aimass/status.h"
#include "json_document.h"
#include "predict_options_builder.h"

namespace aimass::plugins::frontend {

/// The OIP request's top-level "parameters" object (node `parameters` of `doc`;
/// JsonDocument::kNone when the request has none) through PredictOptionsBuilder. Errors start
/// "the request: parameter ...".
Expected<PredictOptions> readPredictOptions(const JsonDocument& doc, std::size_t parameters);

}  // namespace aimass::plugins::frontend
