// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The tensor names of each task's convention (model.h's Task): what a model that follows it
/// takes and gives, what the evaluator, the trainer's validation and the
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

// Clustering (Task::kClustering): takes kInput, gives:
/// The nearest (k-means) or most probable (mixture) cluster index: INT64 [-1].
inline constexpr char kCluster[] = "cluster";
/// Euclidean distance from each row to each cluster centre: FP32 [-1, clusters].
inline constexpr char kDistances[] = "distances";
/// A mixture model's posterior probability of each cluster per row: FP32 [-1, clusters].
inline constexpr char kResponsibilities[] = "responsibilities";

// Recommendation (Task::kRecommendation). Users and items are named by their original ids as
// BYTES, so a client never needs the model's internal indices.
/// The users asked about: BYTES [-1].
inline constexpr char kUser[] = "user";
/// With kUser, the items to score, one per user (pair scoring): BYTES [-1].
inline constexpr char kItem[] = "item";
/// Top-k only: the items to choose from for every user of the request (a request-wide filter;
/// without it every item is a candidate): BYTES [-1].
inline constexpr char kCandidates[] = "candidates";
/// Pair scoring: the predicted score of each (user, item) pair: FP32 [-1].
inline constexpr char kScore[] = "score";
/// Pair scoring: false where the user or the item was not seen in training and the score fell
/// back to what the model knows without it (biases, the global mean): BOOL [-1].
inline constexpr char kKnown[] = "known";
/// Top-k: the k best items per user, best first: BYTES [-1, k].
inline constexpr char kItems[] = "items";
/// Top-k: their scores: FP32 [-1, k].
inline constexpr char kScores[] = "scores";
/// Top-k: true where the user is unknown and got the model's fallback (popular items): BOOL [-1].
inline constexpr char kFallback[] = "fallback";
/// Feedback (OnlineLearning): an explicit rating per (user, item) interaction: FP32 [-1].
inline constexpr char kRating[] = "rating";

// Sequences (Task::kSequence).
/// Token ids, padded to the longest row: INT64 [-1, -1].
inline constexpr char kTokens[] = "tokens";
/// With kTokens, each row's true length: INT64 [-1].
inline constexpr char kLengths[] = "lengths";
/// Text in (a language model's prompt) or out (what it generated): BYTES [-1].
inline constexpr char kText[] = "text";
/// A recurrent model's carried state, in (optional: continue from it) and out (to continue
/// later): FP32 [-1, state size]. The serving runtime keeps it per sequence id for clients that
/// continue a sequence (the request parameter "sequence_id").
inline constexpr char kState[] = "state";

}  // namespace aimass::tensor_names
