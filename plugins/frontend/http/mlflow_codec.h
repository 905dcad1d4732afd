// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "aimass/http.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"

namespace aimass::plugins::frontend {

/// The body formats of MLflow's POST /invocations.
enum class MlflowFormat { kJson, kCsv };

/// The format a Content-Type header names: application/json or text/csv, with at most a
/// `charset=utf-8` parameter (MLflow's rule). kInvalidArgument naming the header otherwise;
/// the frontend answers 415 for it.
Expected<MlflowFormat> mlflowFormat(std::string_view content_type);

/// Decodes an MLflow scoring request into the model's inputs.
///
/// JSON bodies hold exactly one of:
///   - `dataframe_split`: `{"columns": [...], "data": [[row], ...]}` (pandas "split" orient);
///   - `dataframe_records`: `[{"col": value, ...}, ...]` (pandas "records" orient);
///   - `instances`: a list of rows (TF Serving row format), or of `{"input name": value}` objects;
///   - `inputs`: a tensor (nested lists) for a single-input model, or `{"input name": tensor}`;
/// plus an optional `params` object: with `options` non-null, read into it as the OIP request's
/// parameters are (predict_parameters.h: top_k, exclude_seen, the rest as text; a bad one, or
/// a list or object value, is refused naming it), else ignored. A CSV body is a header row of
/// column names and rows of values, like pandas' DataFrame.to_csv() without the index.
///
/// Tables (dataframe_*, CSV) map onto the model's inputs in one of two ways: when every column
/// is named after an input, each column is that input (a column of scalars for a [-1] or
/// [-1, 1] input, of lists for wider ones); otherwise a model with a single input takes the whole
/// table as its [rows, columns] matrix, in column order. Shapes follow the nesting of the
/// values; values are read in the model's datatype (numbers for numeric inputs, strings for
/// BYTES, true/false for BOOL).
///
/// Every problem is kInvalidArgument naming the key, row, column or input at fault: malformed
/// JSON or CSV, nesting deeper than max_json_depth, zero or several format keys, ragged rows,
/// columns that name no input for a multi-input model, values not of the datatype, shapes that
/// do not fit the model. Thread-safe; never throws.
Expected<TensorMap> decodeMlflowRequest(MlflowFormat format, std::string_view body,
                                        const ModelSchema& schema, std::size_t max_json_depth,
                                        PredictOptions* options = nullptr);

/// `{"predictions": P}`: for a single output, P is the tensor as nested lists; for several
/// outputs sharing their first dimension, P is one record per row
/// (`[{"label": 1, "class": "high"}, ...]`, like a DataFrame's to_dict("records")); otherwise
/// `{"output name": nested lists}`. Never throws.
Expected<std::string> encodeMlflowPredictions(const TensorMap& outputs);

/// An error in MLflow's shape that still carries the protocol-wide "error" member:
/// `{"error_code": "BAD_REQUEST", "message": "...", "error": "..."}` with `status`.
void mlflowError(HttpResponse& response, int status, std::string_view message);

}  // namespace aimass::plugins::frontend
