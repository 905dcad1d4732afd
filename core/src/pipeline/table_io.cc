// SPDX-License-Identifier: Apache-2.0
#include "pipeline/table_io.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "aimass/tensor_names.h"
#include "param_conversion.h"

namespace aimass::core {
namespace {

/// The columns of a text input of `rows` rows: [rows] or [rows, 1].
bool textShapeFits(const Tensor& t) {
  return t.dtype() == DType::kBytes &&
         (t.rank() == 1 || (t.rank() == 2 && t.dim(1) == 1));
}

/// Text columns, each {rows}, side by side as one BYTES {rows, columns} block.
Tensor interleave(const std::vector<const std::vector<std::string>*>& columns, std::size_t rows) {
  std::vector<std::string> cells;
  cells.reserve(rows * columns.size());
  for (std::size_t r = 0; r < rows; ++r) {
    for (const auto* column : columns) {
      cells.push_back((*column)[r]);
    }
  }
  return Tensor::fromStrings(std::move(cells))
      .reshaped({static_cast<std::int64_t>(rows), static_cast<std::int64_t>(columns.size())});
}

}  // namespace

Expected<TableColumns> rawColumns(const DatasetSchema& schema) {
  if (schema.feature_dtype != DType::kFloat32) {
    return invalidArgument(
        "preprocess takes tables of numbers and text; this data's features are " +
        std::string(dtypeName(schema.feature_dtype)) + " (ids or tokens)");
  }
  std::int64_t width = 1;
  for (std::int64_t d : schema.row_shape) {
    if (d < 0) {
      return invalidArgument("preprocess takes rows of a fixed width; this data's rows are " +
                             shapeToString(schema.row_shape));
    }
    width *= d;
  }
  TableColumns columns;
  if (schema.feature_names.size() == static_cast<std::size_t>(width)) {
    columns.numeric = schema.feature_names;
  } else {
    for (std::int64_t i = 0; i < width; ++i) {
      columns.numeric.push_back(std::to_string(i));
    }
  }
  columns.strings = schema.string_feature_names;
  return columns;
}

Expected<Table> batchTable(const Batch& batch, const TableColumns& columns) {
  Table table;
  table.columns = columns;
  const auto rows = static_cast<std::int64_t>(batch.rows());
  const auto width = static_cast<std::int64_t>(columns.numeric.size());
  if (batch.features.dtype() != DType::kFloat32 || batch.features.numel() != rows * width) {
    return invalidArgument("the data gave features of " +
                           std::string(dtypeName(batch.features.dtype())) + " " +
                           shapeToString(batch.features.shape()) + " where " +
                           std::to_string(width) + " FP32 columns were expected");
  }
  table.numeric = batch.features.reshaped({rows, width});
  if (!columns.strings.empty()) {
    const auto text = static_cast<std::int64_t>(columns.strings.size());
    if (batch.strings.dtype() != DType::kBytes || batch.strings.numel() != rows * text) {
      return invalidArgument("the data gave no text block of " + std::to_string(rows) + " x " +
                             std::to_string(text) + " for its text columns (" +
                             joinNames(columns.strings) + ")");
    }
    table.strings = batch.strings.reshaped({rows, text});
  }
  return table;
}

std::vector<TensorSpec> rawInputSpecs(const TableColumns& columns) {
  std::vector<TensorSpec> specs;
  if (!columns.numeric.empty()) {
    specs.emplace_back(std::string(tensor_names::kInput), DType::kFloat32,
                       Shape{-1, static_cast<std::int64_t>(columns.numeric.size())}, false,
                       false, columns.numeric);
  }
  for (const auto& name : columns.strings) {
    specs.emplace_back(name, DType::kBytes, Shape{-1});
  }
  return specs;
}

Expected<Table> inputsTable(const TensorMap& inputs, const TableColumns& columns) {
  const std::string expected = [&] {
    std::string out;
    for (const auto& spec : rawInputSpecs(columns)) {
      out += (out.empty() ? "" : ", ") + spec.name + " " + std::string(dtypeName(spec.dtype)) +
             " " + shapeToString(spec.shape);
    }
    return out;
  }();
  for (const auto& [name, tensor] : inputs) {
    bool known = !columns.numeric.empty() && name == tensor_names::kInput;
    for (const auto& text : columns.strings) {
      known = known || name == text;
    }
    if (!known) {
      return invalidArgument("unknown input '" + name + "': the model takes " + expected);
    }
  }
  Table table;
  table.columns = columns;
  std::optional<std::int64_t> rows;
  if (!columns.numeric.empty()) {
    const Tensor* block = inputs.find(tensor_names::kInput);
    const auto width = static_cast<std::int64_t>(columns.numeric.size());
    if (block == nullptr) {
      return invalidArgument("missing input 'input' (FP32 [-1, " + std::to_string(width) +
                             "]): the model takes " + expected);
    }
    if (block->dtype() != DType::kFloat32 || block->rank() != 2 || block->dim(1) != width ||
        block->device() != Device::kCpu) {
      return invalidArgument("input 'input' must be FP32 [-1, " + std::to_string(width) +
                             "], got " + std::string(dtypeName(block->dtype())) + " " +
                             shapeToString(block->shape()));
    }
    table.numeric = *block;
    rows = block->dim(0);
  } else {
    table.numeric = Tensor(DType::kFloat32, {0, 0});
  }
  std::vector<const std::vector<std::string>*> text;
  for (const auto& name : columns.strings) {
    const Tensor* column = inputs.find(name);
    if (column == nullptr) {
      return invalidArgument("missing input '" + name + "' (BYTES [-1]): the model takes " +
                             expected);
    }
    if (!textShapeFits(*column)) {
      return invalidArgument("input '" + name + "' must be BYTES [-1] (or [-1, 1]), got " +
                             std::string(dtypeName(column->dtype())) + " " +
                             shapeToString(column->shape()));
    }
    if (rows && column->dim(0) != *rows) {
      return invalidArgument("input '" + name + "' has " + std::to_string(column->dim(0)) +
                             " rows but " + (columns.numeric.empty() ? "'" + columns.strings[0] + "'"
                                                                     : std::string("'input'")) +
                             " has " + std::to_string(*rows));
    }
    rows = column->dim(0);
    text.push_back(&column->strings());
  }
  if (columns.numeric.empty()) {
    table.numeric = Tensor(DType::kFloat32, {rows.value_or(0), 0});
  }
  if (!text.empty()) {
    table.strings = interleave(text, static_cast<std::size_t>(*rows));
  }
  return table;
}

void setTextInputs(const ModelSchema& schema, const std::vector<std::string>& names,
                   const Tensor& strings, TensorMap& inputs) {
  if (names.empty() || strings.dtype() != DType::kBytes || strings.rank() != 2 ||
      strings.dim(1) != static_cast<std::int64_t>(names.size())) {
    return;
  }
  const auto rows = static_cast<std::size_t>(strings.dim(0));
  const auto& cells = strings.strings();
  for (std::size_t c = 0; c < names.size(); ++c) {
    bool taken = false;
    for (const auto& spec : schema.inputs) {
      taken = taken || (spec.name == names[c] && spec.dtype == DType::kBytes);
    }
    if (!taken) {
      continue;
    }
    std::vector<std::string> column;
    column.reserve(rows);
    for (std::size_t r = 0; r < rows; ++r) {
      column.push_back(cells[r * names.size() + c]);
    }
    inputs.set(names[c], Tensor::fromStrings(std::move(column)));
  }
}

Expected<Table> applySteps(const std::vector<PreprocessStep>& steps, Table table) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const PreprocessStep& step = steps[i];
    const std::string where =
        "preprocess step " + std::to_string(i + 1) + " (" + step.type + ")";
    const TableColumns wanted = step.transform->inputColumns();
    if (table.columns != wanted) {
      return failedPrecondition(where + " was fitted on the columns [" +
                                joinNames(wanted.numeric) + "] and text [" +
                                joinNames(wanted.strings) + "] but got [" +
                                joinNames(table.columns.numeric) + "] and text [" +
                                joinNames(table.columns.strings) + "]");
    }
    Table out;
    Status status = guard(where, [&] { return step.transform->apply(table, out); });
    if (!status.ok()) {
      return status.withContext(where);
    }
    if (table.rows() != 0 && out.rows() != table.rows()) {
      return internalError(where + " gave " + std::to_string(out.rows()) + " rows for " +
                           std::to_string(table.rows()));
    }
    table = std::move(out);
  }
  return table;
}

DatasetSchema preprocessedSchema(const DatasetSchema& schema, const TableColumns& columns) {
  DatasetSchema out = schema;
  out.feature_names = columns.numeric;
  out.feature_dtype = DType::kFloat32;
  out.row_shape = {static_cast<std::int64_t>(columns.numeric.size())};
  out.string_feature_names.clear();
  out.cardinalities.clear();
  out.id_names.clear();
  return out;
}

}  // namespace aimass::core
