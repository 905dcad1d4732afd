// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/status.h"
#include "aimass/storage.h"
#include "monitoring/labelled_rows.h"

/// Ground truth: the real outcomes of requests served earlier, posted by request id
/// (POST /v2/models/{name}/ground_truth), kept in storage for the monitor to join with the
/// logged payloads (payload_record.h) and measure live accuracy or RMSE.
///
/// Layout: one record per accepted post, under
///   monitoring/<model>/truth/<20-digit unix ns>-<8 hex digits>
/// (the time it was accepted and a random tag, so concurrent posts never share a key), the
/// text record of encodeGroundTruth().
namespace aimass::core {

/// The outcome of one request: one label (classification: a class name, or its index as
/// digits) or one value (regression) per row it held.
struct GroundTruth {
  std::string request_id;
  std::vector<std::string> labels;  ///< classification
  std::vector<double> values;       ///< regression
  std::int64_t unix_ns = 0;         ///< when it was accepted
};

/// Most outcomes one post may hold.
inline constexpr std::size_t kMaxGroundTruthPerPost = 10000;

/// What one post to POST /v2/models/<model>/ground_truth holds.
struct FeedbackPost {
  std::vector<GroundTruth> outcomes;  ///< "ground_truth": outcomes of served requests
  std::vector<LabelledRow> rows;      ///< "rows": new labelled rows (labelled_rows.h)
};

/// Parses a post's body, which holds "ground_truth", "rows" or both:
///   {"ground_truth": [{"id": "req-1", "label": "leak"},
///                     {"id": "req-2", "labels": ["ok", 2]},
///                     {"id": "req-3", "value": 4.2}, {"id": "req-4", "values": [1, 2.5]}],
///    "rows": [{"input": [0.1, null, 3], "label": "ok"},
///             {"features": {"pressure": 2.5, "site": "north"}, "value": 1.5}]}
/// A label is a string or a whole number (a class index); a value a finite number. Each
/// outcome has "id" (a non-empty string) and exactly one of label, labels, value, values; each
/// row has "input" and/or "features" and exactly one of label, value. kInvalidArgument naming
/// the element and field of the first mistake; linear in the body.
Expected<FeedbackPost> parseFeedbackBody(std::string_view body);

/// The record of one post (record_text.h): "aimass-ground-truth 1", then per outcome
/// "label ID NS L1 L2 ..." or "value ID NS V1 V2 ...".
std::string encodeGroundTruth(const std::vector<GroundTruth>& outcomes);
/// kDataLoss naming what is malformed.
Expected<std::vector<GroundTruth>> decodeGroundTruth(std::string_view text);

/// "monitoring/<model>/truth/".
std::string groundTruthPrefix(std::string_view model);

/// Stores one post's outcomes as one record (stamping them with the time now) and returns
/// its key.
Expected<std::string> appendGroundTruth(Storage& storage, std::string_view model,
                                        std::vector<GroundTruth> outcomes);

/// The outcomes of the records after `cursor` (a key; empty: from the first) and stored before
/// `until_ns`, oldest first, at most `max_records` records; `cursor` moves to the last record
/// read. Records are never rewritten, so reading on from the cursor never misses or repeats
/// one. A record that cannot be read or decoded fails the call naming its key.
Expected<std::vector<GroundTruth>> readGroundTruth(const Storage& storage, std::string_view model,
                                                   std::string& cursor, std::size_t max_records,
                                                   std::int64_t until_ns);

}  // namespace aimass::core
