// SPDX-License-Identifier: Apache-2.0
#include "mlflow_codec.h"

#include <Poco/Dynamic/Var.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/ParseHandler.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "infer_codec.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

constexpr const char* kFormats[] = {"dataframe_split", "dataframe_records", "instances", "inputs"};

bool isArray(const Var& v) { return v.type() == typeid(Array::Ptr); }
bool isObject(const Var& v) { return v.type() == typeid(Object::Ptr); }

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

std::string inputNames(const ModelSchema& schema) {
  std::string out;
  for (const auto& s : schema.inputs) {
    out += (out.empty() ? "" : ", ") + s.name;
  }
  return out;
}

bool shapeFits(const Shape& actual, const Shape& expected) {
  if (actual.size() != expected.size()) {
    return false;
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (expected[i] >= 0 && actual[i] != expected[i]) {
      return false;
    }
  }
  return true;
}

/// Gathers the scalars of nested lists whose sizes are `dims`, checking every list has the size
/// its depth calls for. The caller bounds the nesting (max_json_depth), so recursion is safe.
Status flatten(const Var& value, const Shape& dims, std::size_t depth, const std::string& where,
               std::vector<const Var*>& leaves) {
  if (depth == dims.size()) {
    if (isArray(value)) {
      return invalidArgument(where +
                             ": the lists are nested unevenly (a list where the first "
                             "row has a value, at depth " +
                             std::to_string(depth) + ")");
    }
    leaves.push_back(&value);
    return Status();
  }
  if (!isArray(value)) {
    return invalidArgument(where +
                           ": the lists are nested unevenly (a value where the first "
                           "row has a list, at depth " +
                           std::to_string(depth) + ")");
  }
  const Array& array = *value.extract<Array::Ptr>();
  if (static_cast<std::int64_t>(array.size()) != dims[depth]) {
    return invalidArgument(where + ": a list at depth " + std::to_string(depth) + " has " +
                           std::to_string(array.size()) + " entries but the first has " +
                           std::to_string(dims[depth]));
  }
  for (const auto& item : array) {
    AIMASS_RETURN_IF_ERROR(flatten(item, dims, depth + 1, where, leaves));
  }
  return Status();
}

/// The tensor for `spec` from nested lists; the shape follows the nesting. A column of
/// scalars fits a [-1, 1] input and a [n, 1] table fits a [-1] input.
Expected<Tensor> nestedToTensor(const Var& value, const TensorSpec& spec,
                                const std::string& where) {
  Shape shape;
  const Var* cursor = &value;
  while (isArray(*cursor)) {
    const Array& array = *cursor->extract<Array::Ptr>();
    shape.push_back(static_cast<std::int64_t>(array.size()));
    if (array.size() == 0) {
      break;
    }
    cursor = &*array.begin();
  }
  std::vector<const Var*> leaves;
  AIMASS_RETURN_IF_ERROR(flatten(value, shape, 0, where, leaves));
  if (shape.size() + 1 == spec.shape.size() && (spec.shape.back() == 1 || spec.shape.back() < 0)) {
    shape.push_back(1);
  } else if (shape.size() == spec.shape.size() + 1 && shape.back() == 1) {
    shape.pop_back();
  }
  if (!shapeFits(shape, spec.shape)) {
    return invalidArgument(where + " has shape " + shapeToString(shape) +
                           " but the model's input '" + spec.name + "' is " +
                           std::string(dtypeName(spec.dtype)) + " " + shapeToString(spec.shape) +
                           " (-1: any size)");
  }
  return tensorFromJsonValues(leaves, spec.dtype, std::move(shape), spec.name);
}

const TensorSpec* findInput(const ModelSchema& schema, std::string_view name) {
  for (const auto& s : schema.inputs) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

Status checkRequiredInputs(const ModelSchema& schema, const TensorMap& inputs) {
  for (const auto& spec : schema.inputs) {
    if (!spec.optional && !inputs.find(spec.name)) {
      return invalidArgument("missing input '" + spec.name + "' (" +
                             std::string(dtypeName(spec.dtype)) + " " + shapeToString(spec.shape) +
                             ")");
    }
  }
  return Status();
}

/// The only input a model takes (or the only one it requires); null when there are several.
const TensorSpec* singleInput(const ModelSchema& schema) {
  if (schema.inputs.size() == 1) {
    return &schema.inputs.front();
  }
  const TensorSpec* found = nullptr;
  for (const auto& s : schema.inputs) {
    if (!s.optional) {
      if (found) {
        return nullptr;
      }
      found = &s;
    }
  }
  return found;
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
/// key, "params", ...).
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

/// The most columns a CSV table can have for `schema`: one per input when they are named after
/// the inputs, or the width of a single input's matrix ([n, k] or [n, k, 1] take k, [n] one);
/// kUnbounded when that width is variable.
std::size_t csvColumnLimit(const ModelSchema& schema) {
  std::size_t limit = schema.inputs.size();
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

/// A CSV field as a JSON-like value of the input's datatype: text stays text for BYTES, and
/// numbers and true/false are read for the others (anything else stays text, which the
/// element check then names).
Var csvValue(const std::string& text, DType dtype) {
  if (dtype == DType::kBytes) {
    return Var(text);
  }
  std::string lower = lowerTrimmed(text);
  if (lower == "true" || lower == "false") {
    return Var(lower == "true");
  }
  const char* begin = lower.data();
  const char* end = begin + lower.size();
  if (!lower.empty() && *begin == '+') {
    ++begin;
  }
  Poco::Int64 integer = 0;
  auto parsed = std::from_chars(begin, end, integer);
  if (begin != end && parsed.ec == std::errc() && parsed.ptr == end) {
    return Var(integer);
  }
  double number = 0;
  auto real = std::from_chars(begin, end, number);
  if (begin != end && real.ec == std::errc() && real.ptr == end) {
    return Var(number);
  }
  return Var(text);
}

/// Rows of cells with optional column names, from dataframe_split, dataframe_records or CSV.
struct Table {
  std::vector<std::string> columns;  ///< empty when the columns have no names
  std::vector<std::vector<Var>> rows;
  bool text = false;  ///< cells are CSV text, read per the datatype of their input
};

Var cellFor(const Table& table, const Var& cell, DType dtype) {
  return table.text ? csvValue(cell.extract<std::string>(), dtype) : cell;
}

/// Maps a table onto the model's inputs (see decodeMlflowRequest).
Expected<TensorMap> tableToInputs(const Table& table, const ModelSchema& schema,
                                  const std::string& where) {
  TensorMap inputs;
  bool named = !table.columns.empty() &&
               std::all_of(table.columns.begin(), table.columns.end(),
                           [&](const std::string& c) { return findInput(schema, c) != nullptr; });
  if (named) {
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const TensorSpec& spec = *findInput(schema, table.columns[c]);
      if (inputs.find(spec.name)) {
        return invalidArgument(where + ": column '" + spec.name + "' is given twice");
      }
      Array::Ptr column = new Array;
      for (const auto& row : table.rows) {
        column->add(cellFor(table, row[c], spec.dtype));
      }
      AIMASS_ASSIGN_OR_RETURN(
          Tensor tensor, nestedToTensor(Var(column), spec, where + " column '" + spec.name + "'"));
      inputs.set(spec.name, std::move(tensor));
    }
    AIMASS_RETURN_IF_ERROR(checkRequiredInputs(schema, inputs));
    return inputs;
  }
  const TensorSpec* spec = singleInput(schema);
  if (!spec) {
    std::string columns;
    for (const auto& c : table.columns) {
      columns += (columns.empty() ? "" : ", ") + c;
    }
    return invalidArgument(where + ": the columns (" + (columns.empty() ? "unnamed" : columns) +
                           ") must be named after the model's inputs (" + inputNames(schema) +
                           "); only a single-input model takes a table as one matrix");
  }
  Array::Ptr matrix = new Array;
  for (const auto& row : table.rows) {
    Array::Ptr cells = new Array;
    for (const auto& cell : row) {
      cells->add(cellFor(table, cell, spec->dtype));
    }
    matrix->add(Var(cells));
  }
  AIMASS_ASSIGN_OR_RETURN(Tensor tensor, nestedToTensor(Var(matrix), *spec, where));
  inputs.set(spec->name, std::move(tensor));
  return inputs;
}

Expected<std::vector<std::string>> columnNames(const Var& value, const std::string& where) {
  std::vector<std::string> out;
  if (value.isEmpty()) {
    return out;
  }
  if (!isArray(value)) {
    return invalidArgument(where + ": \"columns\" must be a list of names");
  }
  for (const auto& c : *value.extract<Array::Ptr>()) {
    if (!c.isString()) {
      return invalidArgument(where + ": \"columns\" must be a list of names (strings)");
    }
    out.push_back(c.extract<std::string>());
  }
  return out;
}

Expected<TensorMap> fromDataframeSplit(const Var& value, const ModelSchema& schema) {
  const std::string where = "dataframe_split";
  if (!isObject(value)) {
    return invalidArgument(where + " must be an object {\"columns\": [...], \"data\": [[...]]}");
  }
  const Object& split = *value.extract<Object::Ptr>();
  Table table;
  AIMASS_ASSIGN_OR_RETURN(table.columns, columnNames(split.get("columns"), where));
  Var data = split.get("data");
  if (!isArray(data)) {
    return invalidArgument(where + " needs a \"data\" list of rows");
  }
  std::size_t r = 0;
  for (const auto& row : *data.extract<Array::Ptr>()) {
    const std::string at = where + " row " + std::to_string(r++);
    std::vector<Var> cells;
    if (isArray(row)) {
      for (const auto& cell : *row.extract<Array::Ptr>()) {
        cells.push_back(cell);
      }
    } else {
      cells.push_back(row);  // pandas writes a one-column frame's rows as lists; tolerate scalars
    }
    std::size_t width = table.columns.empty()
                            ? (table.rows.empty() ? cells.size() : table.rows.front().size())
                            : table.columns.size();
    if (cells.size() != width) {
      return invalidArgument(at + " has " + std::to_string(cells.size()) + " values but " +
                             (table.columns.empty() ? "row 0 has " : "there are ") +
                             std::to_string(width) + (table.columns.empty() ? "" : " columns"));
    }
    table.rows.push_back(std::move(cells));
  }
  return tableToInputs(table, schema, where);
}

Expected<TensorMap> fromDataframeRecords(const Var& value, const ModelSchema& schema) {
  const std::string where = "dataframe_records";
  if (!isArray(value)) {
    return invalidArgument(where + " must be a list of {\"column\": value} objects");
  }
  Table table;
  std::size_t r = 0;
  for (const auto& item : *value.extract<Array::Ptr>()) {
    const std::string at = where + " record " + std::to_string(r++);
    if (!isObject(item)) {
      return invalidArgument(at + " must be an object");
    }
    const Object& record = *item.extract<Object::Ptr>();
    if (table.rows.empty()) {
      record.getNames(table.columns);
      if (table.columns.empty()) {
        return invalidArgument(at + " has no columns");
      }
    }
    if (record.size() != table.columns.size()) {
      return invalidArgument(at + " has " + std::to_string(record.size()) +
                             " columns but record 0 has " + std::to_string(table.columns.size()));
    }
    std::vector<Var> cells;
    for (const auto& column : table.columns) {
      if (!record.has(column)) {
        return invalidArgument(at + " lacks the column '" + column + "'");
      }
      cells.push_back(record.get(column));
    }
    table.rows.push_back(std::move(cells));
  }
  return tableToInputs(table, schema, where);
}

/// `{"input": tensor, ...}` (the columnar `inputs` form, or `instances` turned into columns).
Expected<TensorMap> fromNamedTensors(const Object& named, const ModelSchema& schema,
                                     const std::string& where) {
  TensorMap inputs;
  std::vector<std::string> names;
  named.getNames(names);
  for (const auto& name : names) {
    const TensorSpec* spec = findInput(schema, name);
    if (!spec) {
      return invalidArgument(where + ": unknown input '" + name +
                             "'; the model takes: " + inputNames(schema));
    }
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor,
                            nestedToTensor(named.get(name), *spec, where + " '" + name + "'"));
    inputs.set(name, std::move(tensor));
  }
  AIMASS_RETURN_IF_ERROR(checkRequiredInputs(schema, inputs));
  return inputs;
}

Expected<TensorMap> fromSingleTensor(const Var& value, const ModelSchema& schema,
                                     const std::string& where) {
  const TensorSpec* spec = singleInput(schema);
  if (!spec) {
    return invalidArgument(where + ": the model takes several inputs (" + inputNames(schema) +
                           "); give them by name");
  }
  AIMASS_ASSIGN_OR_RETURN(Tensor tensor, nestedToTensor(value, *spec, where));
  TensorMap inputs;
  inputs.set(spec->name, std::move(tensor));
  return inputs;
}

Expected<TensorMap> fromInstances(const Var& value, const ModelSchema& schema) {
  const std::string where = "instances";
  if (!isArray(value)) {
    return invalidArgument(where + " must be a list of rows");
  }
  const Array& rows = *value.extract<Array::Ptr>();
  if (rows.size() == 0 || !isObject(*rows.begin())) {
    return fromSingleTensor(value, schema, where);
  }
  // A list of {"input": value} objects becomes {"input": [value, ...]}.
  Object columns(Poco::JSON_PRESERVE_KEY_ORDER);
  std::vector<std::string> names;
  rows.begin()->extract<Object::Ptr>()->getNames(names);
  std::size_t r = 0;
  for (const auto& name : names) {
    columns.set(name, Array::Ptr(new Array));
  }
  for (const auto& row : rows) {
    const std::string at = where + " row " + std::to_string(r++);
    if (!isObject(row)) {
      return invalidArgument(at + " must be an object like row 0");
    }
    const Object& instance = *row.extract<Object::Ptr>();
    if (instance.size() != names.size()) {
      return invalidArgument(at + " has " + std::to_string(instance.size()) +
                             " inputs but row 0 has " + std::to_string(names.size()));
    }
    for (const auto& name : names) {
      if (!instance.has(name)) {
        return invalidArgument(at + " lacks the input '" + name + "'");
      }
      columns.getArray(name)->add(instance.get(name));
    }
  }
  return fromNamedTensors(columns, schema, where);
}

Expected<TensorMap> fromInputs(const Var& value, const ModelSchema& schema) {
  if (isObject(value)) {
    return fromNamedTensors(*value.extract<Object::Ptr>(), schema, "inputs");
  }
  return fromSingleTensor(value, schema, "inputs");
}

Expected<TensorMap> decodeJson(std::string_view body, const ModelSchema& schema,
                               std::size_t max_json_depth) {
  // Poco makes a heap object of every value, and recurses per level, so the body is measured
  // before it is parsed.
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
  // With a variable dimension the body bounds the values, so their structure must not outgrow
  // the scalars that can become elements (`[[],[],...]` would be all structure).
  const std::size_t structure_limit = mlflowStructurePerScalar(schema) * outline.scalars() + 4096;
  if (outline.values > structure_limit) {
    return invalidArgument(
        "the request holds " + std::to_string(outline.values) + " JSON values but only " +
        std::to_string(outline.scalars()) +
        " of them can be tensor elements; the model's inputs (" + describeInputs(schema.inputs) +
        ") need at most " + std::to_string(mlflowStructurePerScalar(schema)) +
        " per element (with its row, column name and lists) and 4096 more");
  }
  Var root;
  try {
    // Key order matters: dataframe_records columns keep the order the client wrote.
    Poco::JSON::Parser parser(new Poco::JSON::ParseHandler(/*preserveObjectOrder=*/true));
    root = parser.parse(std::string(body));
  } catch (const Poco::Exception& e) {
    return invalidArgument("malformed JSON: " + e.displayText());
  }
  std::string found;
  const char* format = nullptr;
  if (isObject(root)) {
    const Object& request = *root.extract<Object::Ptr>();
    for (const char* key : kFormats) {
      if (request.has(key)) {
        found += (found.empty() ? "" : ", ") + std::string(key);
        format = key;
      }
    }
  }
  if (!isObject(root) || found.empty() || found.find(',') != std::string::npos) {
    return invalidArgument(
        "the input must be a JSON object with exactly one of dataframe_split, dataframe_records, "
        "instances or inputs" +
        (isObject(root) ? " (found " + (found.empty() ? std::string("none") : found) + ")"
                        : std::string(" (found ") + (isArray(root) ? "a list" : "a value") + ")"));
  }
  const Var value = root.extract<Object::Ptr>()->get(format);
  std::string_view key = format;
  if (key == "dataframe_split") {
    return fromDataframeSplit(value, schema);
  }
  if (key == "dataframe_records") {
    return fromDataframeRecords(value, schema);
  }
  if (key == "instances") {
    return fromInstances(value, schema);
  }
  return fromInputs(value, schema);
}

/// RFC 4180 records: fields separated by commas, optionally double-quoted (a quote inside doubled),
/// records ended by LF or CRLF; blank lines are skipped. `on_record` gets each record (the
/// header first) and may take its fields. The first record may have at most `max_columns`
/// fields, every later one exactly as many as the first, and those at most `max_cells` fields in
/// all: the parse stops at the first field past a limit, so a long line costs no more than the
/// limit.
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
    AIMASS_RETURN_IF_ERROR(endField());
    if (record.size() == 1 && record.front().empty()) {  // blank lines are skipped
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
    on_record(record);
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
  // The header is checked against the model before any row is read, and each row's cells are
  // moved into the table as it ends.
  Table table;
  table.text = true;
  bool header = true;
  AIMASS_RETURN_IF_ERROR(parseCsv(body, schema, csvColumnLimit(schema), csvCellLimit(schema),
                                  [&](std::vector<std::string>& record) {
                                    if (header) {
                                      table.columns = std::move(record);
                                      header = false;
                                      return;
                                    }
                                    std::vector<Var> cells;
                                    cells.reserve(record.size());
                                    for (auto& field : record) {
                                      cells.emplace_back(std::move(field));
                                    }
                                    table.rows.push_back(std::move(cells));
                                  }));
  if (header) {
    return invalidArgument("the CSV body is empty; it needs a header row of column names");
  }
  return tableToInputs(table, schema, "CSV");
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
                                        const ModelSchema& schema, std::size_t max_json_depth) {
  try {
    return format == MlflowFormat::kJson ? decodeJson(body, schema, max_json_depth)
                                         : decodeCsv(body, schema);
  } catch (const std::bad_alloc&) {
    return resourceExhausted("the request is too large to decode");
  } catch (const Poco::Exception& e) {
    return invalidArgument("malformed request: " + e.displayText());
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
