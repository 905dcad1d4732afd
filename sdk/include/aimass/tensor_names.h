// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The tensor names of the classification/regression convention (model.h's TaskKind): what a
/// model that follows it takes and gives, what the evaluator, the trainer's validation and the
/// frontends look for, and what a request names. Constants only: they change no layout, and
/// the names are part of the wire contract, so they never change within a major version.
namespace aimass::tensor_names {

/// The one input: FP32 [-1, features] (see featureInput() in model.h).
inline constexpr char kInput[] = "input";
/// A classifier's class probabilities: FP32 [-1, classes], each row summing to 1.
inline constexpr char kProbabilities[] = "probabilities";
/// A classifier's most probable class index: INT64 [-1].
inline constexpr char kLabel[] = "label";
/// A classifier's most probable class name: BYTES [-1].
inline constexpr char kClass[] = "class";
/// A regressor's predicted values: FP32 [-1, targets].
inline constexpr char kPrediction[] = "prediction";

}  // namespace aimass::tensor_names
