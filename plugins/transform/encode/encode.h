// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "aimass/transform.h"
#include "aimass/util/table_transform.h"

namespace aimass::plugins::transform {

enum class EncodeMode : std::uint8_t {
  kOneHot,   ///< one numeric 0/1 column `<col>=<value>` per category
  kOrdinal,  ///< one numeric column `<col>` holding the category's index
};

struct EncodeParams {
  EncodeMode mode = EncodeMode::kOneHot;
  std::vector<std::string> columns;  ///< empty: every text column
  std::uint64_t max_categories = 0;  ///< 0: keep every category; else the most frequent ones
  /// An unseen value at apply: kInvalidArgument (true), or all zeros / code -1 (false).
  bool unknown_error = true;
  /// A missing (empty) value: its own category `<col>=` / a code (true), or all zeros / NaN.
  bool missing_category = false;
};

/// What fit() learnt for each encoded text column: its categories in byte order (with "" first
/// when missing values are a category) and the values max_categories left out.
struct EncodeLearnt {
  std::vector<std::size_t> positions;
  std::vector<std::vector<std::string>> categories;
  std::vector<std::vector<std::string>> infrequent;
  std::vector<std::size_t> kept_text;  ///< the text columns that pass through, in order
};

/// transform.onehot and transform.ordinal: text columns to numbers.
///
/// Output columns: the numeric input columns unchanged, then the encoded columns of each text
/// column in the order of `columns` (or of the table): onehot gives `<col>=<value>` per
/// category in byte order, ordinal one column named `<col>` (codes 0..k-1 in byte order); then
/// the text columns that were not encoded, in order. A value max_categories left out encodes
/// as all zeros (onehot) or -1 (ordinal), never as an error. Threading as TableTransform.
class EncodeTransform final : public TableTransform<EncodeParams, EncodeLearnt> {
 public:
  /// Always succeeds; the parameters' names were checked by the host.
  static Expected<std::unique_ptr<EncodeTransform>> create(EncodeParams params);

 private:
  explicit EncodeTransform(EncodeParams params);
  Expected<TableColumns> learn(const EncodeParams& params, const Table& rows,
                               EncodeLearnt& learnt) const override;
  Status map(const EncodeParams& params, const EncodeLearnt& learnt, const Table& in,
             Table& out) const override;
  void writeState(const EncodeParams& params, const EncodeLearnt& learnt,
                  ByteWriter& writer) const override;
  bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                 EncodeParams& params, EncodeLearnt& learnt) const override;
};

/// "transform.onehot", "transform.ordinal".
const char* encodeTypeName(EncodeMode mode);

}  // namespace aimass::plugins::transform
