// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "aimass/transform.h"
#include "aimass/util/table_transform.h"

namespace aimass::plugins::transform {

struct SelectParams {
  bool keep = true;                ///< true: keep `names`; false: drop them
  std::vector<std::string> names;  ///< numeric or text columns
};

/// What fit() learnt: the positions of the columns that stay, in table order.
struct SelectLearnt {
  std::vector<std::size_t> numeric;
  std::vector<std::size_t> strings;
};

/// transform.select: keeps or drops columns by name. Never reorders: the columns that stay keep
/// the table's order, numbers and text alike. kInvalidArgument at fit naming a listed column
/// the table lacks. Threading as TableTransform.
class SelectTransform final : public TableTransform<SelectParams, SelectLearnt> {
 public:
  /// kInvalidArgument when `names` is empty (nothing to keep, or nothing to drop).
  static Expected<std::unique_ptr<SelectTransform>> create(SelectParams params);

 private:
  explicit SelectTransform(SelectParams params);
  Expected<TableColumns> learn(const SelectParams& params, const Table& rows,
                               SelectLearnt& learnt) const override;
  Status map(const SelectParams& params, const SelectLearnt& learnt, const Table& in,
             Table& out) const override;
  void writeState(const SelectParams& params, const SelectLearnt& learnt,
                  ByteWriter& writer) const override;
  bool readState(ByteReader& reader, const TableColumns& input, const TableColumns& output,
                 SelectParams& params, SelectLearnt& learnt) const override;
};

}  // namespace aimass::plugins::transform
