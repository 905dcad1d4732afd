// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>

#include "aimass/model.h"
#include "aimass/status.h"
#include "json_document.h"

namespace aimass::plugins::frontend {

/// The largest "top_k" a request may ask for.
inline constexpr std::int64_t kMaxTopK = 10000;

/// The Open Inference Protocol request's top-level "parameters" object (node `parameters` of
/// `doc`; JsonDocument::kNone when the request has none) as PredictOptions:
///
///   - "top_k": a whole number from 0 to kMaxTopK (PredictOptions::top_k);
///   - "exclude_seen": true or false (PredictOptions::exclude_seen);
///   - "binary_data_output": the binary tensor data extension's, read by the decoder; left out;
///   - every other parameter goes to PredictOptions::parameters as text: a number as written,
///     a string without its quotes, true/false; a null one is left out. Sorted by name, the
///     last one winning when a name repeats (as JSON objects read into a map do).
///
/// kInvalidArgument naming the parameter for a top_k that is not such a number, an
/// exclude_seen that is not a boolean, and a list or object value (no model takes one). Time
/// and memory are linear in the parameters' size (n log n for the sort). Never throws except
/// std::bad_alloc.
Expected<PredictOptions> readPredictOptions(const JsonDocument& doc, std::size_t parameters);

}  // namespace aimass::plugins::frontend
