// SPDX-License-Identifier: Apache-2.0
#include "mlflow_codec.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "infer_codec.h"
#include "json_document.h"
#include "json_reader.h"
#include "mlflow_tables.h"
#include "predict_parameters.h"

namespace aimass::plugins::frontend {
namespace {

using mlflow::checkRequiredInputs;
using mlflow::findInput;
using mlflow::inputNames;
using mlflow::Scalar;
using mlflow::singleInput;
using mlflow::TableSink;
using mlflow::TensorBuilder;

constexpr const char* kFormats[] = {"dataframe_split", "dataframe_records", "instances", "inputs"};

std::string lowerTrimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

constexpr std::size_t kUnbounded = static_cast<std::size_t>(-1);

std::size_t saturatingAdd(std::size_t a, std::uint64_t b) {
  return b >= kUnbounded - a ? kUnbounded : a + static_cast<std::size_t>(b);
}

/// The most JSON values (every value and member name) an MLflow body for `schema` can
/// legitimately hold; kUnbounded when an input has a variable dimension (the body's size bounds
/// those). Every element of an input costs at most four: itself, its column's name in a
/// dataframe_records row, the list of a one-value row ([n, 1] for an [n] input) and its name in
/// "columns"; every list of nested data one more; and 4096 are left for the rest (the format
/// key, "params", ...). An element of a block input given by column (TensorSpec::columns)
/// costs less: itself, its column's name in a record, and its name once in "columns".
std::size_t mlflowValueLimit(const ModelSchema& schema) {
  std::size_t total = 4096;
  for (const auto& spec : schema.inputs) {
    auto capacity = inputCapacity(spec);
    if (!capacity || capacity->elements > kUnbounded / 8 || capacity->lists > kUnbounded / 8) {
      return kUnbounded;
    }
    total = saturatingAdd(total, 4 * capacity->elements + capacity->lists + 32);
  }
  return total;
}

/// The most JSON values an MLflow body needs per scalar that can become an element: the
/// scalar, its column name and row object in dataframe_records or instances, and a list per
/// dimension below the first (the lists of [n, 1, 1] data); three at least.
std::size_t mlflowStructurePerScalar(const ModelSchema& schema) {
  std::size_t rank = 1;
  for (const auto& spec : schema.inputs) {
    rank = std::max(rank, spec.shape.size());
  }
  return rank + 2;
}

/// The most columns a table (CSV, dataframe_split, dataframe_records) can have for `schema`:
/// one per input and one per named column of an input (TensorSpec::columns) when they are named
/// after those, or the width of a single input's matrix ([n, k] or [n, k, 1] take k, [n] one);
/// kUnbounded when that width is variable.
std::size_t csvColumnLimit(const ModelSchema& schema) {
  std::size_t limit = schema.inputs.size();
  for (const auto& spec : schema.inputs) {
    limit = saturatingAdd(limit, spec.columns.size());
  }
  if (const TensorSpec* spec = singleInput(schema)) {
    std::size_t width = 1;
    if (spec->shape.size() >= 2) {
      width = spec->shape[1] < 0 ? kUnbounded : static_cast<std::size_t>(spec->shape[1]);
    }
    limit = std::max(limit, width);
  }
  return limit;
}

/// The most CSV cells below the header for `schema`: one per element of its inputs;
/// kUnbounded when an input has a variable dimension.
std::size_t csvCellLimit(const ModelSchema& schema) {
  std::size_t total = 0;
  for (const auto& spec : schema.inputs) {
    auto capacity = inputCapacity(spec);
    if (!capacity) {
      return kUnbounded;
    }
    total = saturatingAdd(total, capacity->elements);
  }
  return total;
}

Status tooManyColumns(const std::string& what, std::size_t limit, const ModelSchema& schema) {
  return invalidArgument(what + " more than " + std::to_string(limit) +
                         " columns but the model takes at most " + std::to_string(limit) + " (" +
                         describeInputs(schema.inputs) + ")");
}

/// The "columns" of the dataframe_split object starting at `split` (which pass 1 checked).
Expected<std::vector<std::string>> splitColumns(std::string_view split, const ModelSchema& schema,
                                                std::size_t max_depth, const std::string& where) {
  std::vector<std::string> columns;
  JsonReader reader(split, max_depth);
  reader.next();  // the object
  for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next()) {
    const bool wanted = reader.text() == "columns";
    const auto value = reader.next();
    if (!wanted || value == JsonReader::Token::kNull) {
      AIMASS_RETURN_IF_ERROR(reader.skip(value));
      if (wanted) {
        columns.clear();
      }
      continue;
    }
    if (value != JsonReader::Token::kBeginArray) {
      return invalidArgument(where + ": \"columns\" must be a list of names");
    }
    columns.clear();
    const std::size_t limit = csvColumnLimit(schema);
    for (auto c = reader.next(); c != JsonReader::Token::kEndArray; c = reader.next()) {
      if (c != JsonReader::Token::kString) {
        return invalidArgument(where + ": \"columns\" must be a list of names (strings)");
      }
      if (columns.size() == limit) {
        return tooManyColumns(where + " has", limit, schema);
      }
      columns.push_back(reader.string());
    }
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  return columns;
}

Expected<TensorMap> fromDataframeSplit(JsonReader& reader, JsonReader::Token first,
                                       std::string_view body, const ModelSchema& schema,
                                       std::size_t max_depth) {
  const std::string where = "dataframe_split";
  if (first != JsonReader::Token::kBeginObject) {
    return invalidArgument(where + " must be an object");
  }
  // The columns decide where each cell goes, and a client may write them after the data.
  AIMASS_ASSIGN_OR_RETURN(std::vector<std::string> columns,
                          splitColumns(body.substr(reader.tokenBegin()), schema, max_depth, where));
  std::optional<TableSink> sink;
  for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next()) {
    const bool data = reader.text() == "data";
    const auto value = reader.next();
    if (!data) {
      AIMASS_RETURN_IF_ERROR(reader.skip(value));
      continue;
    }
    if (value != JsonReader::Token::kBeginArray) {
      return invalidArgument(where + " needs a \"data\" list of rows");
    }
    AIMASS_ASSIGN_OR_RETURN(sink, TableSink::make(columns, schema, where, false, max_depth));
    std::optional<std::size_t> width;
    if (!columns.empty()) {
      width = columns.size();
    }
    std::size_t r = 0;
    for (auto row = reader.next(); row != JsonReader::Token::kEndArray; row = reader.next(), ++r) {
      AIMASS_RETURN_IF_ERROR(sink->beginRow());
      std::size_t cells = 0;
      if (row == JsonReader::Token::kBeginArray) {
        for (auto cell = reader.next(); cell != JsonReader::Token::kEndArray;
             cell = reader.next(), ++cells) {
          if (width && cells >= *width) {
            AIMASS_RETURN_IF_ERROR(reader.skip(cell));  // counted for the message only
          } else {
            AIMASS_RETURN_IF_ERROR(sink->feedJson(cells, reader, cell, body));
          }
        }
      } else {
        // pandas writes a one-column frame's rows as lists; tolerate scalars
        AIMASS_RETURN_IF_ERROR(sink->feedJson(0, reader, row, body));
        cells = 1;
      }
      if (!width) {
        width = cells;
      }
      if (cells != *width) {
        return invalidArgument(where + " row " + std::to_string(r) + " has " +
                               std::to_string(cells) + " values but " +
                               (columns.empty() ? "row 0 has " : "there are ") +
                               std::to_string(*width) + (columns.empty() ? "" : " columns"));
      }
      AIMASS_RETURN_IF_ERROR(sink->endRow());
    }
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  if (!sink) {
    return invalidArgument(where + " needs a \"data\" list of rows");
  }
  return sink->finish(schema);
}

Expected<TensorMap> fromDataframeRecords(JsonReader& reader, JsonReader::Token first,
                                         std::string_view body, const ModelSchema& schema,
                                         std::size_t max_depth) {
  const std::string where = "dataframe_records";
  if (first != JsonReader::Token::kBeginArray) {
    return invalidArgument(where + " must be a list of {\"column\": value} objects");
  }
  // Each record's values are kept as their text (O(columns)) until the record ends, so that
  // they go to the inputs in record 0's column order whatever order the record has. A hash map
  // finds each key's column, so a record costs time linear in its columns, however many the
  // model's named columns allow.
  std::vector<std::string> columns;
  std::unordered_map<std::string, std::size_t> column_index;
  std::vector<std::string_view> cells;
  std::optional<TableSink> sink;
  const std::size_t limit = csvColumnLimit(schema);
  std::size_t r = 0;
  for (auto item = reader.next(); item != JsonReader::Token::kEndArray; item = reader.next(), ++r) {
    const std::string at = where + " record " + std::to_string(r);
    if (item != JsonReader::Token::kBeginObject) {
      return invalidArgument(at + " must be an object");
    }
    std::fill(cells.begin(), cells.end(), std::string_view());
    std::size_t count = 0;
    for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next(), ++count) {
      std::string name = reader.string();
      const auto value = reader.next();
      const std::size_t begin = reader.tokenBegin();
      AIMASS_RETURN_IF_ERROR(reader.skip(value));
      const std::string_view text = body.substr(begin, reader.position() - begin);
      if (r == 0) {
        if (column_index.contains(name)) {
          return invalidArgument(at + " has the column '" + name + "' twice");
        }
        if (columns.size() == limit) {
          return tooManyColumns(at + " has", limit, schema);
        }
        column_index.emplace(name, columns.size());
        columns.push_back(std::move(name));
        cells.push_back(text);
        continue;
      }
      auto found = column_index.find(name);
      if (found == column_index.end()) {
        continue;  // counted: the record then has too many columns or lacks one
      }
      std::string_view& cell = cells[found->second];
      if (!cell.empty()) {
        return invalidArgument(at + " has the column '" + name + "' twice");
      }
      cell = text;
    }
    AIMASS_RETURN_IF_ERROR(reader.status());
    if (r == 0) {
      if (columns.empty()) {
        return invalidArgument(at + " has no columns");
      }
      AIMASS_ASSIGN_OR_RETURN(sink, TableSink::make(columns, schema, where, false, max_depth));
    }
    if (count != columns.size()) {
      return invalidArgument(at + " has " + std::to_string(count) + " columns but record 0 has " +
                             std::to_string(columns.size()));
    }
    AIMASS_RETURN_IF_ERROR(sink->beginRow());
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (cells[c].empty()) {
        return invalidArgument(at + " lacks the column '" + columns[c] + "'");
      }
      JsonReader cell(cells[c], max_depth);
      AIMASS_RETURN_IF_ERROR(sink->feedJson(c, cell, cell.next(), cells[c]));
    }
    AIMASS_RETURN_IF_ERROR(sink->endRow());
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  if (!sink) {
    AIMASS_ASSIGN_OR_RETURN(sink, TableSink::make(columns, schema, where, false, max_depth));
  }
  return sink->finish(schema);
}

Expected<TensorMap> fromSingleTensor(JsonReader& reader, JsonReader::Token first,
                                     const ModelSchema& schema, const std::string& where) {
  const TensorSpec* spec = singleInput(schema);
  if (!spec) {
    return invalidArgument(where + ": the model takes several inputs (" + inputNames(schema) +
                           "); give them by name");
  }
  TensorBuilder builder(*spec, where);
  AIMASS_RETURN_IF_ERROR(builder.feed(reader, first));
  AIMASS_ASSIGN_OR_RETURN(Tensor tensor, builder.finish());
  TensorMap inputs;
  inputs.set(spec->name, std::move(tensor));
  return inputs;
}

const TensorSpec* namedInput(const ModelSchema& schema, const std::string& name,
                             const std::string& where, Status& error) {
  const TensorSpec* spec = findInput(schema, name);
  if (!spec) {
    error = invalidArgument(where + ": unknown input '" + name +
                            "'; the model takes: " + inputNames(schema));
  }
  return spec;
}

Expected<TensorMap> fromInstances(JsonReader& reader, JsonReader::Token first,
                                  const ModelSchema& schema) {
  const std::string where = "instances";
  if (first != JsonReader::Token::kBeginArray) {
    return invalidArgument(where + " must be a list of rows");
  }
  auto row = reader.next();
  if (row != JsonReader::Token::kBeginObject) {
    const TensorSpec* spec = singleInput(schema);
    if (!spec) {
      return invalidArgument(where + ": the model takes several inputs (" + inputNames(schema) +
                             "); give them by name");
    }
    TensorBuilder builder(*spec, where);
    AIMASS_RETURN_IF_ERROR(builder.open());
    for (; row != JsonReader::Token::kEndArray; row = reader.next()) {
      AIMASS_RETURN_IF_ERROR(builder.feed(reader, row));
    }
    AIMASS_RETURN_IF_ERROR(builder.close());
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, builder.finish());
    TensorMap inputs;
    inputs.set(spec->name, std::move(tensor));
    return inputs;
  }
  // A list of {"input": value} objects: each input's values, row by row, make its tensor.
  std::vector<std::string> names;
  std::vector<TensorBuilder> builders;
  std::vector<char> seen;
  for (std::size_t r = 0; row != JsonReader::Token::kEndArray; row = reader.next(), ++r) {
    const std::string at = where + " row " + std::to_string(r);
    if (row != JsonReader::Token::kBeginObject) {
      return invalidArgument(at + " must be an object like row 0");
    }
    std::fill(seen.begin(), seen.end(), 0);
    std::size_t count = 0;
    for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next(), ++count) {
      std::string name = reader.string();
      const auto value = reader.next();
      auto found = std::find(names.begin(), names.end(), name);
      if (r == 0) {
        if (found != names.end()) {
          return invalidArgument(at + " has the input '" + name + "' twice");
        }
        Status error;
        const TensorSpec* spec = namedInput(schema, name, where, error);
        AIMASS_RETURN_IF_ERROR(error);
        builders.emplace_back(*spec, where + " '" + name + "'");
        AIMASS_RETURN_IF_ERROR(builders.back().open());
        names.push_back(std::move(name));
        seen.push_back(1);
        found = names.end() - 1;
      } else if (found == names.end()) {
        AIMASS_RETURN_IF_ERROR(reader.skip(value));  // counted: the row lacks another input
        continue;
      } else if (seen[static_cast<std::size_t>(found - names.begin())]) {
        return invalidArgument(at + " has the input '" + name + "' twice");
      }
      const auto index = static_cast<std::size_t>(found - names.begin());
      seen[index] = 1;
      AIMASS_RETURN_IF_ERROR(builders[index].feed(reader, value));
    }
    AIMASS_RETURN_IF_ERROR(reader.status());
    if (count != names.size()) {
      return invalidArgument(at + " has " + std::to_string(count) + " inputs but row 0 has " +
                             std::to_string(names.size()));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!seen[i]) {
        return invalidArgument(at + " lacks the input '" + names[i] + "'");
      }
    }
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  TensorMap inputs;
  for (std::size_t i = 0; i < names.size(); ++i) {
    AIMASS_RETURN_IF_ERROR(builders[i].close());
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, builders[i].finish());
    inputs.set(names[i], std::move(tensor));
  }
  AIMASS_RETURN_IF_ERROR(checkRequiredInputs(schema, inputs));
  return inputs;
}

Expected<TensorMap> fromInputs(JsonReader& reader, JsonReader::Token first,
                               const ModelSchema& schema) {
  const std::string where = "inputs";
  if (first != JsonReader::Token::kBeginObject) {
    return fromSingleTensor(reader, first, schema, where);
  }
  TensorMap inputs;
  for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next()) {
    const std::string name = reader.string();
    Status error;
    const TensorSpec* spec = namedInput(schema, name, where, error);
    AIMASS_RETURN_IF_ERROR(error);
    if (inputs.find(name)) {
      return invalidArgument(where + ": input '" + name + "' is given twice");
    }
    TensorBuilder builder(*spec, where + " '" + name + "'");
    AIMASS_RETURN_IF_ERROR(builder.feed(reader, reader.next()));
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, builder.finish());
    inputs.set(name, std::move(tensor));
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  AIMASS_RETURN_IF_ERROR(checkRequiredInputs(schema, inputs));
  return inputs;
}

/// MLflow's "params" object, the reader just past its key, through PredictOptionsBuilder
/// (predict_parameters.h); null is no parameters.
Expected<PredictOptions> readParams(JsonReader& reader) {
  using Kind = PredictOptionsBuilder::Kind;
  PredictOptionsBuilder builder;
  const auto first = reader.next();
  if (first == JsonReader::Token::kNull) {
    return std::move(builder).finish();
  }
  if (first != JsonReader::Token::kBeginObject) {
    AIMASS_RETURN_IF_ERROR(reader.status());
    return invalidArgument("\"params\" must be an object of parameter names and values");
  }
  for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next()) {
    std::string name = reader.string();
    const auto value = reader.next();
    Kind kind = Kind::kNull;
    std::string text;
    switch (value) {
      case JsonReader::Token::kBeginArray:
        kind = Kind::kList;
        break;
      case JsonReader::Token::kBeginObject:
        kind = Kind::kObject;
        break;
      case JsonReader::Token::kString:
        kind = Kind::kString;
        text = reader.string();
        break;
      case JsonReader::Token::kNumber:
        kind = Kind::kNumber;
        text = std::string(reader.text());
        break;
      case JsonReader::Token::kTrue:
      case JsonReader::Token::kFalse:
        kind = Kind::kBool;
        text = std::string(reader.text());
        break;
      default:
        break;
    }
    AIMASS_RETURN_IF_ERROR(reader.status());
    Status added = builder.add(std::move(name), kind, std::move(text));
    if (!added.ok()) {
      return invalidArgument("params: " + added.message());
    }
    AIMASS_RETURN_IF_ERROR(reader.skip(value));  // the rest of a list or object left out
  }
  AIMASS_RETURN_IF_ERROR(reader.status());
  return std::move(builder).finish();
}

Expected<TensorMap> decodeJson(std::string_view body, const ModelSchema& schema,
                               std::size_t max_json_depth, PredictOptions* options) {
  // A first count refuses, without reading a value, bodies with more values than the model's
  // fixed shapes can take, or with structure that no element can fill.
  const std::size_t value_limit = mlflowValueLimit(schema);
  const JsonOutline outline = jsonOutline(body, max_json_depth, value_limit);
  if (outline.depth > max_json_depth) {
    return invalidArgument("the JSON is nested deeper than " + std::to_string(max_json_depth) +
                           " levels (max_json_depth)");
  }
  if (outline.values > value_limit) {
    return invalidArgument("the request holds more than " + std::to_string(value_limit) +
                           " JSON values, more than the model's inputs can take (" +
                           describeInputs(schema.inputs) +
                           "). Send at most the shapes the model accepts");
  }
  const std::size_t structure_limit = mlflowStructurePerScalar(schema) * outline.scalars() + 4096;
  if (outline.values > structure_limit) {
    return invalidArgument("the request holds " + std::to_string(outline.values) +
                           " JSON values but only " + std::to_string(outline.scalars()) +
                           " of them can be tensor elements; the model's inputs (" +
                           describeInputs(schema.inputs) + ") need at most " +
                           std::to_string(mlflowStructurePerScalar(schema)) +
                           " per element (with its row, column name and lists) and 4096 more");
  }
  // Pass 1 checks the whole text and finds the format key; pass 2 streams that key's value
  // into the tensors. Neither builds anything of the JSON.
  JsonReader check(body, max_json_depth);
  const auto root = check.next();
  std::string found;
  std::string_view format;
  std::size_t occurrences = 0;  // of the format key: the last one counts, as in a map
  if (root == JsonReader::Token::kBeginObject) {
    for (auto t = check.next(); t == JsonReader::Token::kKey; t = check.next()) {
      const std::string key = check.string();
      if (key == "params" && options != nullptr) {
        AIMASS_ASSIGN_OR_RETURN(*options, readParams(check));  // the last "params" counts
        continue;
      }
      for (const char* name : kFormats) {
        if (key != name) {
          continue;
        }
        if (found.find(name) == std::string::npos) {
          found += (found.empty() ? "" : ", ") + key;
        }
        occurrences = format == name ? occurrences + 1 : 1;
        format = name;
      }
      AIMASS_RETURN_IF_ERROR(check.skip(check.next()));
    }
  } else {
    AIMASS_RETURN_IF_ERROR(check.skip(root));
  }
  check.next();
  AIMASS_RETURN_IF_ERROR(check.status());
  const bool object = root == JsonReader::Token::kBeginObject;
  if (!object || found.empty() || found.find(',') != std::string::npos) {
    return invalidArgument(
        "the input must be a JSON object with exactly one of dataframe_split, dataframe_records, "
        "instances or inputs" +
        (object ? " (found " + (found.empty() ? std::string("none") : found) + ")"
                : std::string(" (found ") +
                      (root == JsonReader::Token::kBeginArray ? "a list" : "a value") + ")"));
  }
  JsonReader reader(body, max_json_depth);
  reader.next();
  for (auto t = reader.next(); t == JsonReader::Token::kKey; t = reader.next()) {
    const bool wanted = reader.string() == format && --occurrences == 0;
    const auto value = reader.next();
    if (!wanted) {
      AIMASS_RETURN_IF_ERROR(reader.skip(value));
      continue;
    }
    if (format == "dataframe_split") {
      return fromDataframeSplit(reader, value, body, schema, max_json_depth);
    }
    if (format == "dataframe_records") {
      return fromDataframeRecords(reader, value, body, schema, max_json_depth);
    }
    if (format == "instances") {
      return fromInstances(reader, value, schema);
    }
    return fromInputs(reader, value, schema);
  }
  return internalError("the format key went missing between two reads of the request");
}

/// RFC 4180 records: fields separated by commas, optionally double-quoted (a quote inside doubled),
/// records ended by LF or CRLF; blank lines are skipped (a line of "" is one empty field).
/// `on_record` gets each record (the header first) and may take its fields. The first record may
/// have at most `max_columns` fields, every later one exactly as many as the first, and those at
/// most `max_cells` fields in all: the parse stops at the first field past a limit, so a long line
/// costs no more than the limit.
template <typename OnRecord>
Status parseCsv(std::string_view text, const ModelSchema& schema, std::size_t max_columns,
                std::size_t max_cells, OnRecord on_record) {
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  std::size_t line = 1;
  std::size_t records = 0;
  std::size_t columns = 0;  // of the header
  std::size_t cells = 0;    // below the header
  auto endField = [&]() -> Status {
    if (records == 0 && record.size() == max_columns) {
      return invalidArgument("the CSV header has more than " + std::to_string(max_columns) +
                             " columns but the model takes at most " + std::to_string(max_columns) +
                             " (" + describeInputs(schema.inputs) + ")");
    }
    if (records > 0 && record.size() == columns) {
      return invalidArgument("CSV row " + std::to_string(records) +
                             " has more fields than the header's " + std::to_string(columns));
    }
    if (records > 0 && cells++ == max_cells) {
      return invalidArgument("the CSV has more than " + std::to_string(max_cells) +
                             " values, more than the model's inputs can take (" +
                             describeInputs(schema.inputs) + ")");
    }
    record.push_back(std::move(field));
    field.clear();
    was_quoted = false;
    return Status();
  };
  auto endRecord = [&]() -> Status {
    const bool quoted_field = was_quoted;
    AIMASS_RETURN_IF_ERROR(endField());
    // Blank lines are skipped; a line of "" is a record with one empty (missing) field.
    if (record.size() == 1 && record.front().empty() && !quoted_field) {
      cells -= records > 0 ? 1 : 0;
      record.clear();
      return Status();
    }
    if (records == 0) {
      columns = record.size();
    } else if (record.size() != columns) {
      return invalidArgument("CSV row " + std::to_string(records) + " has " +
                             std::to_string(record.size()) + " fields but the header has " +
                             std::to_string(columns));
    }
    ++records;
    AIMASS_RETURN_IF_ERROR(on_record(record));
    record.clear();
    return Status();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        line += c == '\n' ? 1 : 0;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) {
        return invalidArgument("CSV line " + std::to_string(line) +
                               ": a quote inside an unquoted field");
      }
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      AIMASS_RETURN_IF_ERROR(endField());
    } else if (c == '\n') {
      AIMASS_RETURN_IF_ERROR(endRecord());
      ++line;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      continue;
    } else {
      if (was_quoted) {
        return invalidArgument("CSV line " + std::to_string(line) + ": text after a closing quote");
      }
      field += c;
    }
  }
  if (quoted) {
    return invalidArgument("CSV line " + std::to_string(line) + ": a quoted field is not closed");
  }
  if (!field.empty() || !record.empty() || was_quoted) {
    AIMASS_RETURN_IF_ERROR(endRecord());
  }
  return Status();
}

Expected<TensorMap> decodeCsv(std::string_view body, const ModelSchema& schema) {
  // The header is checked against the model before any row is read, and each row's cells go
  // straight into the tensors as the row ends: the rows cost one row's fields.
  std::optional<TableSink> sink;
  AIMASS_RETURN_IF_ERROR(parseCsv(body, schema, csvColumnLimit(schema), csvCellLimit(schema),
                                  [&](const std::vector<std::string>& record) -> Status {
                                    if (!sink) {
                                      AIMASS_ASSIGN_OR_RETURN(
                                          sink, TableSink::make(record, schema, "CSV", true, 0));
                                      return Status();
                                    }
                                    AIMASS_RETURN_IF_ERROR(sink->beginRow());
                                    for (std::size_t c = 0; c < record.size(); ++c) {
                                      AIMASS_RETURN_IF_ERROR(sink->addCsv(c, record[c]));
                                    }
                                    return sink->endRow();
                                  }));
  if (!sink) {
    return invalidArgument("the CSV body is empty; it needs a header row of column names");
  }
  return sink->finish(schema);
}

void appendNested(std::string& out, const Tensor& t, std::size_t dim, std::int64_t offset) {
  if (dim == t.rank()) {
    appendTensorElement(out, t, offset);
    return;
  }
  std::int64_t stride = 1;
  for (std::size_t d = dim + 1; d < t.rank(); ++d) {
    stride *= t.dim(d);
  }
  out += '[';
  for (std::int64_t i = 0; i < t.dim(dim); ++i) {
    if (i) {
      out += ',';
    }
    appendNested(out, t, dim + 1, offset + i * stride);
  }
  out += ']';
}

const char* errorCode(int status) {
  switch (status) {
    case 400:
    case 413:
    case 415:
      return "BAD_REQUEST";
    case 404:
      return "RESOURCE_DOES_NOT_EXIST";
    case 503:
      return "TEMPORARILY_UNAVAILABLE";
    default:
      return "INTERNAL_ERROR";
  }
}

}  // namespace

Expected<MlflowFormat> mlflowFormat(std::string_view content_type) {
  std::string_view rest = content_type;
  auto semicolon = rest.find(';');
  std::string media = lowerTrimmed(rest.substr(0, semicolon));
  auto bad = [&](std::string why) {
    return invalidArgument("Content-Type '" + std::string(content_type.substr(0, 100)) + "' " +
                           why + "; /invocations takes application/json or text/csv");
  };
  if (media.empty()) {
    return invalidArgument(
        "the request has no Content-Type; /invocations takes application/json or text/csv");
  }
  MlflowFormat format;
  if (media == "application/json") {
    format = MlflowFormat::kJson;
  } else if (media == "text/csv") {
    format = MlflowFormat::kCsv;
  } else {
    return bad("is not supported");
  }
  while (semicolon != std::string_view::npos) {
    rest = rest.substr(semicolon + 1);
    semicolon = rest.find(';');
    std::string parameter = lowerTrimmed(rest.substr(0, semicolon));
    if (parameter.empty()) {
      continue;
    }
    if (parameter != "charset=utf-8" && parameter != "charset=\"utf-8\"") {
      return bad("has the parameter '" + parameter + "' (only charset=utf-8 is accepted)");
    }
  }
  return format;
}

Expected<TensorMap> decodeMlflowRequest(MlflowFormat format, std::string_view body,
                                        const ModelSchema& schema, std::size_t max_json_depth,
                                        PredictOptions* options) {
  try {
    return format == MlflowFormat::kJson ? decodeJson(body, schema, max_json_depth, options)
                                         : decodeCsv(body, schema);
  } catch (const std::bad_alloc&) {
    return resourceExhausted("the request is too large to decode");
  } catch (const std::exception& e) {
    return invalidArgument(std::string("malformed request: ") + e.what());
  }
}

Expected<std::string> encodeMlflowPredictions(const TensorMap& outputs) {
  std::string out;
  Status status = guard("encoding the predictions", [&] {
    out = "{\"predictions\":";
    if (outputs.size() == 1) {
      appendNested(out, outputs.begin()->second, 0, 0);
      out += '}';
      return;
    }
    std::optional<std::int64_t> rows;
    bool records = !outputs.empty();
    for (const auto& [name, tensor] : outputs) {
      if (tensor.rank() == 0 || (rows && *rows != tensor.dim(0))) {
        records = false;
      }
      if (tensor.rank() > 0) {
        rows = tensor.dim(0);
      }
    }
    if (records) {
      out += '[';
      for (std::int64_t r = 0; r < *rows; ++r) {
        out += r ? ",{" : "{";
        bool first = true;
        for (const auto& [name, tensor] : outputs) {
          out += first ? "" : ",";
          first = false;
          appendJsonString(out, name);
          out += ':';
          appendNested(out, tensor, 1, r * (tensor.numel() / *rows));
        }
        out += '}';
      }
      out += "]}";
      return;
    }
    out += '{';
    bool first = true;
    for (const auto& [name, tensor] : outputs) {
      out += first ? "" : ",";
      first = false;
      appendJsonString(out, name);
      out += ':';
      appendNested(out, tensor, 0, 0);
    }
    out += "}}";
  });
  if (!status.ok()) {
    return status;
  }
  return out;
}

void mlflowError(HttpResponse& response, int status, std::string_view message) {
  response.status = status;
  response.content_type = "application/json";
  std::string escaped = jsonEscape(message);
  response.body = std::string("{\"error_code\":\"") + errorCode(status) + "\",\"message\":\"" +
                  escaped + "\",\"error\":\"" + escaped + "\"}";
}

}  // namespace aimass::plugins::frontend
