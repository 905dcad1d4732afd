// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/dataset.h"

namespace aimass::plugins::dataset {

/// Which interactions of each user dataset.interactions holds out for testing.
enum class Holdout {
  kNone,    ///< nothing: every row is a training row
  kLast,    ///< each user's latest interactions by timestamp (ties: the later row in the file)
  kRandom,  ///< each user's interactions drawn at random, seeded per user
};

/// Which rows a dataset.interactions node serves.
enum class InteractionsPart { kAll, kTrain, kTest };

/// How to read an interactions file. Mirrors the dataset.interactions parameters.
struct InteractionsOptions {
  std::filesystem::path path;
  std::string user_column = "user";
  std::string item_column = "item";
  /// Explicit ratings (FP32 labels); nullopt for implicit feedback (no labels).
  std::optional<std::string> rating_column;
  /// A numeric time per row; needed by Holdout::kLast.
  std::optional<std::string> timestamp_column;
  Holdout holdout = Holdout::kNone;
  /// Interactions held out per user; users with fewer than holdout_count + 1 interactions stay
  /// entirely in the training part.
  std::int64_t holdout_count = 1;
  InteractionsPart part = InteractionsPart::kAll;
  std::uint64_t seed = 0;
};

/// User-item interactions from a CSV file `user,item[,rating][,timestamp]`, read once into
/// memory. Features are INT64 [rows, 2]: the dense user and item index of each interaction.
///
/// Ids are texts of any form ("42", "u-17", "Émile"); each distinct user and item gets the next
/// index in order of first appearance over the whole file, whatever `part` is, so the training
/// and test parts of one file agree on every index. schema().id_names holds the texts and
/// cardinalities the counts, both over the whole file.
///
/// Duplicate (user, item) rows are kept as separate interactions (a user who played a song
/// twice interacted twice); models decide what repeated rows mean (model.mf: repeated ratings
/// are each fitted, repeated implicit interactions add up to a stronger preference).
///
/// The held-out split is per user, over the whole file: for `holdout: last` the user's
/// `holdout_count` latest rows by timestamp, for `random` as many rows drawn with a generator
/// seeded by `seed` and the user's index (so a user's split does not depend on other users).
/// Rows keep their file order within each part.
///
/// Parsing is strict: errors name the file, the line and the column (an empty id, a missing
/// field, a non-numeric or non-finite rating or timestamp, an unknown column). Quoted fields,
/// CRLF line ends, a byte-order mark and blank lines are handled; parsing is linear in the
/// file's size.
///
/// Threading: immutable after open(); read() may be called from many threads at once.
class InteractionsDataset final : public Dataset {
 public:
  /// Reads and parses the file: kNotFound / kPermissionDenied for the file, kInvalidArgument
  /// for its content or inconsistent options (holdout: last without a timestamp column).
  static Expected<std::unique_ptr<InteractionsDataset>> open(const InteractionsOptions& options);
  /// Parses text already in memory; `source` names it in errors.
  static Expected<std::unique_ptr<InteractionsDataset>> parse(std::string_view text,
                                                              std::string_view source,
                                                              const InteractionsOptions& options);

  const DatasetSchema& schema() const override { return schema_; }
  std::uint64_t size() const override { return users_.size(); }
  /// Features INT64 [n, 2] (user, item); labels FP32 [n, 1] with ratings, empty without.
  /// kOutOfRange naming the first index >= size(); `out` is untouched then.
  Status read(std::span<const std::uint64_t> rows, Batch& out) const override;
  /// FNV-1a of the file's bytes and of the options that choose the rows, 16 hex digits.
  std::string fingerprint() const override { return fingerprint_; }

 private:
  InteractionsDataset() = default;

  DatasetSchema schema_;
  std::vector<std::int64_t> users_;  // per row of this part
  std::vector<std::int64_t> items_;
  std::vector<float> ratings_;  // with a rating column
  std::string fingerprint_;
};

}  // namespace aimass::plugins::dataset
