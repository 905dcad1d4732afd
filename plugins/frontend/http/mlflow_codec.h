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
/// Tables (dataframe_*, CSV) map onto the model's inputs in one of two ways. By name, when
/// every column is named after an input or the model has an input with named columns
/// (TensorSpec::columns, as a model with preprocessing takes its raw numeric columns): a column
/// named after an input is that input (a column of scalars for a [-1] or [-1, 1] input, of lists
/// for wider ones), and a column named after a column of an input fills that position of the
/// input's [rows, n] matrix, the columns in any order. Otherwise (no column names, or names the
/// model does not know and no input has named columns) a model with a single input takes the
/// whole table as its [rows, columns] matrix, in column order. Shapes follow the nesting of the
/// values; values are read in the model's datatype (numbers for numeric inputs, strings for
/// BYTES, true/false for BOOL). Missing values: JSON null, and an empty CSV field, is NaN for a
/// floating datatype and the empty string for BYTES (an empty CSV field already is); for an
/// integer or BOOL input it is refused as a value not of the datatype. A CSV line of `""` is one
/// empty field; a blank line is skipped.
///
/// Every problem is kInvalidArgument naming the key, row, column or input at fault: malformed
/// JSON or CSV, nesting deeper than max_json_depth, zero or several format keys, ragged rows,
/// columns that name no input for a multi-input model, a column of a table by name that is
/// neither an input nor a column of one (the message lists what the model takes), a column
/// given twice, a named column of an input left out (unless the input is optional and none of
/// its columns is given), an input given both whole and by its columns, values not of the
/// datatype, shapes that do not fit the model. A table has at most one column per input plus
/// one per named column of an input (or a single input's width): a wider header is refused
/// before any row is read. Thread-safe; never throws.
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
