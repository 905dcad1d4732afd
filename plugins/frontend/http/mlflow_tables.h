// SPDX-License-Identifier: Apache-2.0
#pragma once

// The tables of the MLflow scoring protocol (mlflow_codec.h) on their way into tensors: one
// input's tensor built as its values stream by (TensorBuilder) and rows of cells mapped onto a
// model's inputs (TableSink), shared by the JSON formats and CSV.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/tensor.h"
#include "json_document.h"
#include "json_numbers.h"
#include "json_reader.h"
#include "tensor_elements.h"

namespace aimass::plugins::frontend::mlflow {

/// The model's input names, comma-separated, for messages.
std::string inputNames(const ModelSchema& schema);

/// The input named `name`; null when the model has none.
const TensorSpec* findInput(const ModelSchema& schema, std::string_view name);

/// kInvalidArgument naming the first required input missing from `inputs`.
Status checkRequiredInputs(const ModelSchema& schema, const TensorMap& inputs);

/// The only input a model takes (or the only one it requires); null when there are several.
const TensorSpec* singleInput(const ModelSchema& schema);

/// A scalar on its way into a tensor: a JSON token (kString, kNumber, kTrue, kFalse, kNull, or
/// kBeginObject for an object where a value belongs), or a CSV field read per the datatype.
struct Scalar {
  JsonReader::Token token = JsonReader::Token::kString;
  std::string_view text;               ///< the JSON token (string characters as written) or field
  const JsonReader* reader = nullptr;  ///< JSON: decodes an escaped string
  bool csv = false;
};

/// The token `reader` is at, as a Scalar.
Scalar jsonScalar(const JsonReader& reader, JsonReader::Token token);

/// `text` without leading and trailing white space.
std::string_view trimmed(std::string_view text);

/// Whether `text` equals the lower-case `lower`, ignoring case.
bool equalsLower(std::string_view text, std::string_view lower);

/// A CSV field as the JSON scalar it stands for: true/false in any case, null (a missing value)
/// when empty or all white space, else a number (with at most one leading '+'); what is none of
/// these reads as a number and fails the element check.
JsonDocument::Node csvNode(std::string_view field);

/// A short rendering of a scalar for error messages.
std::string describeScalar(const Scalar& s);

/// One input's tensor, built as its values stream by: the shape follows the nesting of the
/// first entry at each depth (as nested lists give it), every later list must match it, and
/// each scalar is converted into the tensor's buffer as it arrives. Once the data can no
/// longer fit the model's input (a rank or fixed dimension that differs) nothing more is
/// stored; the walk goes on only to name the shape in the error. So the memory is the tensor's
/// (its buffer grows by doubling) whatever the client sends.
class TensorBuilder {
 public:
  TensorBuilder(const TensorSpec& spec, std::string where)
      : spec_(&spec), where_(std::move(where)) {}

  Status open() {
    const std::size_t d = depth_;
    if (rank_ && d >= *rank_) {
      return invalidArgument(where_ +
                             ": the lists are nested unevenly (a list where the first row has a "
                             "value, at depth " +
                             std::to_string(d) + ")");
    }
    enter(d);
    if (d == dims_.size()) {
      dims_.push_back(-1);
      counts_.push_back(0);
    }
    counts_[d] = 0;
    ++depth_;
    return Status();
  }

  Status close() {
    const std::size_t d = --depth_;
    const std::int64_t n = counts_[d];
    if (dims_[d] < 0) {
      dims_[d] = n;
      if (n == 0 && !rank_) {
        setRank(d + 1);
      }
      if (!countFits(d, n, /*exact=*/true)) {
        fits_ = false;
      }
    } else if (n != dims_[d]) {
      return invalidArgument(where_ + ": a list at depth " + std::to_string(d) + " has " +
                             std::to_string(n) + " entries but the first has " +
                             std::to_string(dims_[d]));
    }
    return Status();
  }

  Status add(const Scalar& s) {
    const std::size_t d = depth_;
    if (!rank_) {
      setRank(d);
    } else if (d != *rank_) {
      return invalidArgument(where_ +
                             ": the lists are nested unevenly (a value where the first row has a "
                             "list, at depth " +
                             std::to_string(d) + ")");
    }
    enter(d);
    const std::int64_t index = elements_++;
    return fits_ ? store(s, index) : Status();
  }

  /// A JSON value whose first token `first` the reader has just given.
  Status feed(JsonReader& reader, JsonReader::Token first) {
    std::size_t depth = 0;
    for (JsonReader::Token t = first;; t = reader.next()) {
      switch (t) {
        case JsonReader::Token::kEnd:
          return reader.status().ok() ? invalidArgument("malformed JSON") : reader.status();
        case JsonReader::Token::kBeginArray:
          AIMASS_RETURN_IF_ERROR(open());
          ++depth;
          break;
        case JsonReader::Token::kEndArray:
          AIMASS_RETURN_IF_ERROR(close());
          --depth;
          break;
        default:  // a scalar, or an object, which no element can be
          AIMASS_RETURN_IF_ERROR(add(jsonScalar(reader, t)));
          break;
      }
      if (depth == 0) {
        return Status();
      }
    }
  }

  /// The tensor, once every list opened has closed.
  Expected<Tensor> finish() {
    Shape shape(dims_.begin(), dims_.begin() + static_cast<std::ptrdiff_t>(rank_.value_or(0)));
    const Shape& expected = spec_->shape;
    if (shape.size() + 1 == expected.size() && (expected.back() == 1 || expected.back() < 0)) {
      shape.push_back(1);
    } else if (shape.size() == expected.size() + 1 && shape.back() == 1) {
      shape.pop_back();
    }
    if (!fits_ || !shapeFits(shape, expected)) {
      return invalidArgument(where_ + " has shape " + shapeToString(shape) +
                             " but the model's input '" + spec_->name + "' is " +
                             std::string(dtypeName(spec_->dtype)) + " " + shapeToString(expected) +
                             " (-1: any size)");
    }
    if (spec_->dtype == DType::kBytes) {
      return Tensor::fromStrings(std::move(strings_)).reshaped(std::move(shape));
    }
    if (elements_ == 0) {
      return Tensor(spec_->dtype, std::move(shape));
    }
    auto owner = std::make_shared<Tensor>(std::move(buffer_));
    return Tensor::wrap(spec_->dtype, std::move(shape), owner->raw(), owner);
  }

 private:
  void setRank(std::size_t rank) {
    rank_ = rank;
    const Shape& expected = spec_->shape;
    const std::size_t s = expected.size();
    if (!(rank == s || (rank + 1 == s && (expected.back() == 1 || expected.back() < 0)) ||
          rank == s + 1)) {
      fits_ = false;
    }
  }

  /// Whether `n` entries at depth `d` can fit the model's input: at most (with `exact`,
  /// exactly) its fixed dimension there, or 1 for the trailing dimension of [n, 1] data for an
  /// [n] input.
  bool countFits(std::size_t d, std::int64_t n, bool exact) const {
    const Shape& expected = spec_->shape;
    const std::int64_t fixed = d < expected.size() ? expected[d] : d == expected.size() ? 1 : 0;
    return fixed < 0 || (exact ? n == fixed : n <= fixed);
  }

  /// Counts an entry at depth `d` in the list that holds it.
  void enter(std::size_t d) {
    if (d == 0) {
      return;
    }
    const std::int64_t n = ++counts_[d - 1];
    if (dims_[d - 1] >= 0 ? n > dims_[d - 1] : !countFits(d - 1, n, /*exact=*/false)) {
      fits_ = false;
    }
  }

  Status store(const Scalar& s, std::int64_t index) {
    const DType dtype = spec_->dtype;
    if (dtype == DType::kBytes) {
      if (!s.csv && s.token == JsonReader::Token::kNull) {
        strings_.emplace_back();  // a missing text value
        return Status();
      }
      if (!s.csv && s.token != JsonReader::Token::kString) {
        return badElement(s, index);
      }
      strings_.push_back(s.csv ? std::string(s.text) : s.reader->string());
      return Status();
    }
    const std::size_t size = dtypeSize(dtype);
    if (index == capacity_) {
      const std::int64_t capacity = std::max<std::int64_t>(64, 2 * capacity_);
      Tensor grown(dtype, {capacity});
      if (index > 0) {
        std::memcpy(grown.raw(), buffer_.raw(), static_cast<std::size_t>(index) * size);
      }
      buffer_ = std::move(grown);
      capacity_ = capacity;
    }
    JsonDocument::Node node;
    if (s.csv) {
      node = csvNode(s.text);
    } else {
      switch (s.token) {
        case JsonReader::Token::kNumber:
          node.kind = JsonDocument::Kind::kNumber;
          break;
        case JsonReader::Token::kTrue:
          node.kind = JsonDocument::Kind::kTrue;
          break;
        case JsonReader::Token::kFalse:
          node.kind = JsonDocument::Kind::kFalse;
          break;
        case JsonReader::Token::kNull:
          node.kind = JsonDocument::Kind::kNull;  // a missing value: NaN for a float
          break;
        default:  // a string or an object: no element of a numeric or BOOL datatype
          return badElement(s, index);
      }
      node.text = s.text;
    }
    if (node.kind == JsonDocument::Kind::kNumber && node.text.empty()) {
      return badElement(s, index);
    }
    auto* out = static_cast<std::byte*>(buffer_.raw()) + static_cast<std::size_t>(index) * size;
    return jsonScalarToElement(node, dtype, out) ? Status() : badElement(s, index);
  }

  Status badElement(const Scalar& s, std::int64_t index) const {
    return invalidArgument("input '" + spec_->name + "': element " + std::to_string(index) +
                           " is " + describeScalar(s) + ", not a valid " +
                           std::string(dtypeName(spec_->dtype)) + " value");
  }

  const TensorSpec* spec_;
  std::string where_;
  std::vector<std::int64_t> dims_;    ///< the first list's entries at each depth; -1 while open
  std::vector<std::int64_t> counts_;  ///< entries so far of the open list at each depth
  std::size_t depth_ = 0;             ///< lists open
  std::optional<std::size_t> rank_;   ///< the depth of the scalars, once known
  bool fits_ = true;                  ///< false once the data cannot fit the model's input
  std::int64_t elements_ = 0;
  std::int64_t capacity_ = 0;
  Tensor buffer_;
  std::vector<std::string> strings_;  ///< BYTES elements
};

/// Rows of cells with optional column names (dataframe_split, dataframe_records, CSV) mapped
/// onto the model's inputs as decodeMlflowRequest() says. By name, when every column names an
/// input or the model has an input with named columns (TensorSpec::columns, a "block" input):
/// a column named after an input feeds that input, each cell an entry; a column named after a
/// column of a block input fills that position of each row of the block's [rows, n] matrix, in
/// whatever order the table has them. Otherwise the single input takes each row as a list of
/// the cells (positional). Cells of whole-input columns stream into their tensors; a block
/// input's cells are held as views of the request text (one row's: O(columns)) until the row
/// ends and then go in in the block's order. Not thread-safe; one per request.
class TableSink {
 public:
  /// The sink for a table with the column names `columns` (empty: nameless), for messages
  /// starting with `where`. Cells arrive as JSON values (read with `max_depth`) or, with `csv`,
  /// as CSV fields. kInvalidArgument naming the column for a column given twice, a name that
  /// matches neither an input nor a column of one (listing what the model takes), a block
  /// column left unfilled, or an input given whole and by its columns; naming the columns and
  /// inputs when a multi-input model gets a table that is not by name.
  static Expected<TableSink> make(const std::vector<std::string>& columns,
                                  const ModelSchema& schema, const std::string& where, bool csv,
                                  std::size_t max_depth);

  Status beginRow() { return positional_ ? builders_.front().open() : Status(); }

  /// The JSON cell of column `c` whose first token `first` the reader has just given; `text` is
  /// the reader's whole text. For a positional table any `c` goes to the single input.
  Status feedJson(std::size_t c, JsonReader& reader, JsonReader::Token first,
                  std::string_view text);

  /// The CSV field of column `c`; it must stay alive until endRow().
  Status addCsv(std::size_t c, std::string_view field);

  Status endRow();

  /// The tensors, once every row has ended; for a table by name, kInvalidArgument naming a
  /// required input that no column gave.
  Expected<TensorMap> finish(const ModelSchema& schema);

 private:
  static constexpr std::size_t kWhole = static_cast<std::size_t>(-1);

  /// Where a column's cells go: builders_[builder], a whole input's column (slot kWhole) or
  /// position slot - blocks_[...].first_slot of a block input's rows.
  struct Target {
    std::size_t builder = 0;
    std::size_t slot = kWhole;
  };
  /// A block input: its builder and its row's cells, slots [first_slot, first_slot + width).
  struct Block {
    std::size_t builder = 0;
    std::size_t first_slot = 0;
    std::size_t width = 0;
  };

  Status mapColumns(const std::vector<std::string>& columns, const ModelSchema& schema);
  /// The block of the model's input `input` (its index), made on first use.
  Expected<std::size_t> blockFor(const ModelSchema& schema, std::size_t input);
  /// Feeds a held cell of `slot` into `builder`, naming its column on error.
  Status replay(TensorBuilder& builder, std::size_t slot);

  std::string where_;
  bool csv_ = false;
  std::size_t max_depth_ = 64;
  bool positional_ = false;
  std::size_t rows_ = 0;
  std::vector<TensorBuilder> builders_;
  std::vector<std::string> inputs_;      ///< the input name of each builder
  std::vector<Target> targets_;          ///< by name: each column's
  std::vector<Block> blocks_;            ///< by name: the block inputs some column fills
  std::vector<std::size_t> block_of_;    ///< per model input: its index in blocks_, or kWhole
  std::vector<std::string_view> cells_;  ///< per slot: this row's cell (JSON text or CSV field)
  std::vector<std::string> slot_names_;  ///< per slot: the column name, for messages
};

}  // namespace aimass::plugins::frontend::mlflow
