// SPDX-License-Identifier: Apache-2.0
// transform.onehot, transform.ordinal: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <vector>

#include "encode.h"

namespace {

using aimass::ParamSpec;
using aimass::ParamType;
using aimass::plugins::transform::EncodeMode;
using aimass::plugins::transform::EncodeParams;
using aimass::plugins::transform::EncodeTransform;

/// The words of the `unknown` and `missing` choices: {refuse, lenient} and {lenient, category}.
struct Choices {
  std::string unknown_lenient;
  std::string unknown_doc;
  std::string missing_lenient;
  std::string missing_doc;
};

aimass::NodeType encodeType(EncodeMode mode, std::string summary, const Choices& words) {
  aimass::NodeType type;
  type.type = aimass::plugins::transform::encodeTypeName(mode);
  type.kind = aimass::NodeKind::kTransform;
  type.summary = std::move(summary);
  type.params.push_back(ParamSpec::list("columns", ParamType::kStringList,
                                        "The text columns to encode; empty: every text column. "
                                        "Naming a numeric column or one the data lacks fails "
                                        "at fit.")
                            .withDefault(std::vector<std::string>{}));
  type.params.push_back(ParamSpec::integer("max_categories",
                                           "Keep only this many categories per column, the most "
                                           "frequent in training (ties: byte order); the others "
                                           "encode like an unseen value without an error. 0: "
                                           "keep all.")
                            .withDefault(std::int64_t{0})
                            .atLeast(0));
  type.params.push_back(ParamSpec::string("unknown", words.unknown_doc)
                            .withDefault(std::string("error"))
                            .oneOf({"error", words.unknown_lenient}));
  type.params.push_back(ParamSpec::string("missing", words.missing_doc)
                            .withDefault(words.missing_lenient)
                            .oneOf({words.missing_lenient, "category"}));
  type.factory =
      [mode](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
    EncodeParams params;
    params.mode = mode;
    params.columns = config.getStringList("columns");
    params.max_categories = static_cast<std::uint64_t>(config.getInt("max_categories"));
    params.unknown_error = config.getString("unknown") == "error";
    params.missing_category = config.getString("missing") == "category";
    AIMASS_ASSIGN_OR_RETURN(auto made, EncodeTransform::create(std::move(params)));
    return std::unique_ptr<aimass::Node>(std::move(made));
  };
  return type;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("transform.encode registration", [&]() -> aimass::Status {
    AIMASS_RETURN_IF_ERROR(registrar.add(encodeType(
        EncodeMode::kOneHot,
        "One-hot encodes text columns into numeric 0/1 columns named <col>=<value>",
        {"zeros",
         "A value not seen in training at apply: error (kInvalidArgument naming the column, "
         "row and value) or zeros (all of the column's one-hot columns 0).",
         "zeros",
         "A missing (empty) value: zeros (every column 0) or category (its own column "
         "<col>=)."})));
    return registrar.add(encodeType(
        EncodeMode::kOrdinal,
        "Encodes each text column as one numeric column of category codes 0..k-1 (byte order)",
        {"minus_one",
         "A value not seen in training at apply: error (kInvalidArgument naming the column, "
         "row and value) or minus_one (code -1).",
         "nan",
         "A missing (empty) value: nan (a missing number, for transform.impute) or category "
         "(its own code; the empty value sorts first, so code 0)."}));
  });
}

}  // namespace

AIMASS_PLUGIN("transform.encode", "1.0.0", "One-hot and ordinal encoding of text columns",
              &registerTypes)
