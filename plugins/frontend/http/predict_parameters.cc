// SPDX-License-Identifier: Apache-2.0
#include "predict_parameters.h"

#include <cstdint>
#include <utility>

namespace aimass::plugins::frontend {
namespace {

using Kind = PredictOptionsBuilder::Kind;

Kind kindOf(JsonDocument::Kind kind) {
  switch (kind) {
    case JsonDocument::Kind::kNull:
      return Kind::kNull;
    case JsonDocument::Kind::kFalse:
    case JsonDocument::Kind::kTrue:
      return Kind::kBool;
    case JsonDocument::Kind::kNumber:
      return Kind::kNumber;
    case JsonDocument::Kind::kString:
      return Kind::kString;
    case JsonDocument::Kind::kArray:
      return Kind::kList;
    case JsonDocument::Kind::kObject:
      return Kind::kObject;
  }
  return Kind::kNull;
}

}  // namespace

Expected<PredictOptions> readPredictOptions(const JsonDocument& doc, std::size_t parameters) {
  PredictOptionsBuilder builder;
  if (parameters != JsonDocument::kNone) {
    const std::uint32_t count = doc.node(parameters).size;
    std::size_t key = parameters + 1;
    for (std::uint32_t member = 0; member < count; ++member) {
      const std::size_t value = key + 1;
      const JsonDocument::Node& node = doc.node(value);
      const Kind kind = kindOf(node.kind);
      Status added =
          builder.add(doc.string(key), kind,
                      kind == Kind::kString ? doc.string(value) : std::string(node.text));
      if (!added.ok()) {
        return invalidArgument("the request: " + added.message());
      }
      key = node.end;
    }
  }
  return std::move(builder).finish();
}

}  // namespace aimass::plugins::frontend
