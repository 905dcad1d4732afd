// SPDX-License-Identifier: Apache-2.0
#pragma once

// Tables (aimass/transform.h) to and from what datasets give (Batch) and what a served model
// takes (named tensors), and the fitted steps of a model's `preprocess:` run over one.

#include <memory>
#include <string>
#include <vector>

#include "aimass/dataset.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/transform.h"

namespace aimass::core {

/// One fitted transform of a model's preprocessing, with the node type that made it (saved in
/// the artifact so that loading can make it again).
struct PreprocessStep {
  std::string type;  ///< "transform.standardize"
  std::shared_ptr<Transform> transform;
};

/// The raw columns of data of `schema`: its feature_names as numbers (or "0", "1", ... when it
/// names none) and its string_feature_names as text. kInvalidArgument for data that is not a
/// table of FP32 rows (images of rank > 1 are flattened: {28, 28} gives 784 columns).
Expected<TableColumns> rawColumns(const DatasetSchema& schema);

/// The rows of `batch` (of data whose raw columns are `columns`) as a table; shares the
/// batch's buffers (features reshaped to {rows, numeric}).
Expected<Table> batchTable(const Batch& batch, const TableColumns& columns);

/// The model inputs that take raw columns: "input" FP32 [-1, n] naming the numeric columns in
/// TensorSpec::columns (left out when there are none), then one BYTES [-1] input per text
/// column, named after it.
std::vector<TensorSpec> rawInputSpecs(const TableColumns& columns);

/// A request's inputs (as rawInputSpecs() describes them) as a table. A text column may come
/// as [rows] or [rows, 1]. kInvalidArgument naming an unknown, missing or mis-shaped input, or
/// text columns whose row count differs from the numbers'.
Expected<Table> inputsTable(const TensorMap& inputs, const TableColumns& columns);

/// Adds to `inputs` each text column of a batch (`strings`, BYTES {rows, names.size()}, of
/// data whose string_feature_names are `names`) that `schema` takes as an input of that name,
/// as BYTES {rows}: how evaluation and validation feed a model with preprocessing the raw row.
void setTextInputs(const ModelSchema& schema, const std::vector<std::string>& names,
                   const Tensor& strings, TensorMap& inputs);

/// Runs `steps` over `table` in order, checking that each gets the columns it was fitted on.
/// Errors name the step (by its position and type) and keep the transform's message.
Expected<Table> applySteps(const std::vector<PreprocessStep>& steps, Table table);

/// `schema` as the model behind the preprocessing sees it: the numbers of `columns` only.
DatasetSchema preprocessedSchema(const DatasetSchema& schema, const TableColumns& columns);

}  // namespace aimass::core
