// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>

#include "aimass/model.h"
#include "aimass/status.h"

namespace aimass::plugins::frontend {

/// The largest "top_k" a request may ask for.
inline constexpr std::int64_t kMaxTopK = 10000;

/// A request's parameters (OIP's top-level "parameters" over HTTP or gRPC, MLflow's "params")
/// gathered one by one into PredictOptions:
///
///   - "top_k": a whole number from 0 to kMaxTopK (PredictOptions::top_k);
///   - "exclude_seen": true or false (PredictOptions::exclude_seen);
///   - "binary_data_output": the binary tensor data extension's, read by the OIP decoder; left
///     out;
///   - every other parameter goes to PredictOptions::parameters as text: a number as written,
///     a string without its quotes, true/false; a null one is left out. Sorted by name, the
///     last one winning when a name repeats (as JSON objects read into a map do).
///
/// kInvalidArgument naming the parameter for a top_k that is not such a number, an
/// exclude_seen that is not a boolean, and a list or object value (no model takes one; the
/// Open Inference Protocol allows strings, numbers and booleans). Time and memory are linear in
/// the parameters' size (n log n for the sort). Never throws except std::bad_alloc.
class PredictOptionsBuilder {
 public:
  /// What a parameter's value is.
  enum class Kind : std::uint8_t { kNull, kBool, kNumber, kString, kList, kObject };

  /// Adds parameter `name` whose value is of `kind` with `text`: the number as written, the
  /// decoded string, "true"/"false"; ignored for null, lists and objects.
  Status add(std::string name, Kind kind, std::string text);
  /// The options, sorted and without repeated names. Call once.
  PredictOptions finish() &&;

 private:
  PredictOptions options_;
};

}  // namespace aimass::plugins::frontend
