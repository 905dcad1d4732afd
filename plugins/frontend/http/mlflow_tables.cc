// SPDX-License-Identifier: Apache-2.0
#include "mlflow_tables.h"

#include <algorithm>
#include <cctype>
#include <charconv>

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

}  // namespace aimass::plugins::frontend::mlflow
