// SPDX-License-Identifier: Apache-2.0
#include "mlflow_tables.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>
#include <unordered_map>
#include <utility>

#include "infer_codec.h"

namespace aimass::plugins::frontend::mlflow {

std::string inputNames(const ModelSchema& schema) {
  std::string out;
  for (const auto& s : schema.inputs) {
    out += (out.empty() ? "" : ", ") + s.name;
  }
  return out;
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

Scalar jsonScalar(const JsonReader& reader, JsonReader::Token token) {
  return {token, reader.text(), &reader, false};
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

bool equalsLower(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() &&
         std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

/// A CSV field as the JSON scalar it stands for: true/false in any case, else a number (with at
/// most one leading '+'); what is neither reads as a number and fails the element check.
JsonDocument::Node csvNode(std::string_view field) {
  JsonDocument::Node node;
  const std::string_view text = trimmed(field);
  if (text.empty()) {
    node.kind = JsonDocument::Kind::kNull;
    return node;
  }
  if (equalsLower(text, "true") || equalsLower(text, "false")) {
    node.kind = equalsLower(text, "true") ? JsonDocument::Kind::kTrue : JsonDocument::Kind::kFalse;
    return node;
  }
  node.kind = JsonDocument::Kind::kNumber;
  node.text = text.starts_with('+') ? text.substr(1) : text;
  return node;
}

/// A short rendering of a scalar for error messages.
std::string describeScalar(const Scalar& s) {
  const auto clipped = [](std::string text) {
    return text.size() > 40 ? text.substr(0, 40) + "..." : text;
  };
  if (s.csv) {
    const std::string_view text = trimmed(s.text);
    if (text.empty()) {
      return "an empty field";
    }
    if (equalsLower(text, "true") || equalsLower(text, "false")) {
      return equalsLower(text, "true") ? "true" : "false";
    }
    double number = 0;
    const std::string_view digits = text.starts_with('+') ? text.substr(1) : text;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
    if (!digits.empty() && error == std::errc() && end == digits.data() + digits.size()) {
      return clipped(std::string(text));
    }
    return "\"" + clipped(std::string(s.text)) + "\"";
  }
  switch (s.token) {
    case JsonReader::Token::kBeginObject:
      return "an object";
    case JsonReader::Token::kString:
      return "\"" + clipped(s.reader->string()) + "\"";
    default:
      return clipped(std::string(s.text));
  }
}

namespace {

/// What a table by name can have as columns, for messages: each input with its datatype and
/// shape, and the named columns of a block input (the first 20).
std::string describeTakes(const ModelSchema& schema) {
  std::string out;
  for (const auto& spec : schema.inputs) {
    out +=
        (out.empty() ? "" : "; ") + ("'" + spec.name + "' (" + std::string(dtypeName(spec.dtype)) +
                                     " " + shapeToString(spec.shape) + ")");
    if (!spec.columns.empty()) {
      out += " or by column: ";
      const std::size_t shown = std::min<std::size_t>(spec.columns.size(), 20);
      for (std::size_t c = 0; c < shown; ++c) {
        out += (c ? ", '" : "'") + spec.columns[c] + "'";
      }
      if (shown < spec.columns.size()) {
        out += " and " + std::to_string(spec.columns.size() - shown) + " more";
      }
    }
  }
  return out;
}

}  // namespace

Expected<TableSink> TableSink::make(const std::vector<std::string>& columns,
                                    const ModelSchema& schema, const std::string& where, bool csv,
                                    std::size_t max_depth) {
  TableSink sink;
  sink.where_ = where;
  sink.csv_ = csv;
  sink.max_depth_ = max_depth;
  const bool all_inputs =
      !columns.empty() && std::all_of(columns.begin(), columns.end(), [&](const std::string& c) {
        return findInput(schema, c) != nullptr;
      });
  const bool has_blocks = std::any_of(schema.inputs.begin(), schema.inputs.end(),
                                      [](const TensorSpec& s) { return !s.columns.empty(); });
  if (!columns.empty() && (all_inputs || has_blocks)) {
    AIMASS_RETURN_IF_ERROR(sink.mapColumns(columns, schema));
    return sink;
  }
  const TensorSpec* spec = singleInput(schema);
  if (!spec) {
    std::string names;
    for (const auto& c : columns) {
      names += (names.empty() ? "" : ", ") + c;
    }
    return invalidArgument(where + ": the columns (" + (names.empty() ? "unnamed" : names) +
                           ") must be named after the model's inputs (" + inputNames(schema) +
                           "); only a single-input model takes a table as one matrix");
  }
  sink.positional_ = true;
  sink.builders_.emplace_back(*spec, where);
  sink.inputs_.push_back(spec->name);
  AIMASS_RETURN_IF_ERROR(sink.builders_.back().open());
  return sink;
}

Status TableSink::mapColumns(const std::vector<std::string>& columns, const ModelSchema& schema) {
  // Hash maps keep the mapping linear in the columns and the model's column names.
  std::unordered_map<std::string_view, std::size_t> input_index;
  std::unordered_map<std::string_view, std::pair<std::size_t, std::size_t>> block_column;
  for (std::size_t i = 0; i < schema.inputs.size(); ++i) {
    input_index.emplace(schema.inputs[i].name, i);
    for (std::size_t p = 0; p < schema.inputs[i].columns.size(); ++p) {
      block_column.emplace(schema.inputs[i].columns[p], std::make_pair(i, p));
    }
  }
  block_of_.assign(schema.inputs.size(), kWhole);
  std::vector<char> whole(schema.inputs.size(), 0);
  std::unordered_map<std::string_view, std::size_t> seen;
  std::vector<char> filled;  // per slot
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::string& name = columns[c];
    if (!seen.emplace(name, c).second) {
      return invalidArgument(where_ + ": column '" + name + "' is given twice");
    }
    if (auto in = input_index.find(name); in != input_index.end()) {
      whole[in->second] = 1;
      builders_.emplace_back(schema.inputs[in->second], where_ + " column '" + name + "'");
      inputs_.push_back(name);
      AIMASS_RETURN_IF_ERROR(builders_.back().open());
      targets_.push_back(Target{.builder = builders_.size() - 1, .slot = kWhole});
      continue;
    }
    auto at = block_column.find(name);
    if (at == block_column.end()) {
      return invalidArgument(where_ + ": column '" + name +
                             "' is neither an input of the model nor a column of one; the model "
                             "takes " +
                             describeTakes(schema));
    }
    AIMASS_ASSIGN_OR_RETURN(std::size_t b, blockFor(schema, at->second.first));
    const std::size_t slot = blocks_[b].first_slot + at->second.second;
    slot_names_[slot] = name;
    filled.resize(cells_.size(), 0);
    filled[slot] = 1;
    targets_.push_back(Target{.builder = blocks_[b].builder, .slot = slot});
  }
  for (std::size_t i = 0; i < schema.inputs.size(); ++i) {
    const TensorSpec& spec = schema.inputs[i];
    if (whole[i] && block_of_[i] != kWhole) {
      return invalidArgument(where_ + ": column '" + spec.name + "' gives the whole input '" +
                             spec.name +
                             "' but other columns fill it by column name; give one "
                             "or the other");
    }
    if (whole[i] || spec.columns.empty() || (block_of_[i] == kWhole && spec.optional)) {
      continue;
    }
    const std::size_t first = block_of_[i] == kWhole ? 0 : blocks_[block_of_[i]].first_slot;
    for (std::size_t p = 0; p < spec.columns.size(); ++p) {
      if (block_of_[i] == kWhole || !filled[first + p]) {
        return invalidArgument(where_ + " lacks the column '" + spec.columns[p] + "' (position " +
                               std::to_string(p) + " of the model's input '" + spec.name +
                               "', which takes " + std::to_string(spec.columns.size()) +
                               " named columns)");
      }
    }
  }
  return Status();
}

Expected<std::size_t> TableSink::blockFor(const ModelSchema& schema, std::size_t input) {
  if (block_of_[input] != kWhole) {
    return block_of_[input];
  }
  const TensorSpec& spec = schema.inputs[input];
  builders_.emplace_back(spec, where_ + " columns of input '" + spec.name + "'");
  inputs_.push_back(spec.name);
  AIMASS_RETURN_IF_ERROR(builders_.back().open());
  blocks_.push_back(Block{
      .builder = builders_.size() - 1, .first_slot = cells_.size(), .width = spec.columns.size()});
  cells_.resize(cells_.size() + spec.columns.size());
  slot_names_.resize(cells_.size());
  block_of_[input] = blocks_.size() - 1;
  return blocks_.size() - 1;
}

Status TableSink::feedJson(std::size_t c, JsonReader& reader, JsonReader::Token first,
                           std::string_view text) {
  if (positional_) {
    return builders_.front().feed(reader, first);
  }
  const Target& target = targets_[c];
  if (target.slot == kWhole) {
    return builders_[target.builder].feed(reader, first);
  }
  const std::size_t begin = reader.tokenBegin();
  AIMASS_RETURN_IF_ERROR(reader.skip(first));
  cells_[target.slot] = text.substr(begin, reader.position() - begin);
  return Status();
}

Status TableSink::addCsv(std::size_t c, std::string_view field) {
  Scalar cell;
  cell.text = field;
  cell.csv = true;
  if (positional_) {
    return builders_.front().add(cell);
  }
  const Target& target = targets_[c];
  if (target.slot == kWhole) {
    return builders_[target.builder].add(cell);
  }
  cells_[target.slot] = field;
  return Status();
}

Status TableSink::replay(TensorBuilder& builder, std::size_t slot) {
  Status status;
  if (csv_) {
    Scalar cell;
    cell.text = cells_[slot];
    cell.csv = true;
    status = builder.add(cell);
  } else {
    JsonReader reader(cells_[slot], max_depth_);
    status = builder.feed(reader, reader.next());
  }
  if (!status.ok()) {
    return invalidArgument(where_ + " column '" + slot_names_[slot] + "', row " +
                           std::to_string(rows_) + ": " + status.message());
  }
  return Status();
}

Status TableSink::endRow() {
  if (positional_) {
    ++rows_;
    return builders_.front().close();
  }
  for (const Block& block : blocks_) {
    TensorBuilder& builder = builders_[block.builder];
    AIMASS_RETURN_IF_ERROR(builder.open());
    for (std::size_t slot = block.first_slot; slot < block.first_slot + block.width; ++slot) {
      AIMASS_RETURN_IF_ERROR(replay(builder, slot));
    }
    AIMASS_RETURN_IF_ERROR(builder.close());
  }
  ++rows_;
  return Status();
}

Expected<TensorMap> TableSink::finish(const ModelSchema& schema) {
  TensorMap inputs;
  for (std::size_t b = 0; b < builders_.size(); ++b) {
    AIMASS_RETURN_IF_ERROR(builders_[b].close());
    AIMASS_ASSIGN_OR_RETURN(Tensor tensor, builders_[b].finish());
    inputs.set(inputs_[b], std::move(tensor));
  }
  if (!positional_) {
    AIMASS_RETURN_IF_ERROR(checkRequiredInputs(schema, inputs));
  }
  return inputs;
}

}  // namespace aimass::plugins::frontend::mlflow
