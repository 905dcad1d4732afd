// SPDX-License-Identifier: Apache-2.0
// dataset.csv: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "aimass/host.h"
#include "csv.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::dataset::CsvNormalize;
using aimass::plugins::dataset::CsvOptions;

constexpr const char* kNormalizeDeprecated =
    "normalize is deprecated: it computes the scaling from the file it reads, so the scaling is "
    "not part of the saved model and a served model gets unscaled values; leave it out and give "
    "the model preprocess: [..] with transform.standardize or transform.minmax instead (see "
    "docs/pipelines.md)";

/// The delimiter parameter as one byte: any single character, or "\t" / "tab" for a tab.
aimass::Expected<char> delimiterFrom(const std::string& text) {
  if (text == "\\t" || text == "tab") {
    return '\t';
  }
  if (text.size() != 1) {
    return aimass::invalidArgument("'delimiter' must be one character (or \"tab\"), got '" + text +
                                   "'");
  }
  return text[0];
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.csv registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.csv";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "Table of numbers and text from a CSV file, read into memory (classification, "
        "regression or unlabelled); missing values are NaN or empty";
    // No example for `path`: a sample file shipped with the sources is not installed, so
    // `aimass plugin check` reports this type as skipped rather than testing a made-up file.
    type.params.push_back(ParamSpec::path("path",
                                          "The CSV file. Relative paths resolve against "
                                          "the config file's folder."));
    type.params.push_back(
        ParamSpec::string("label", "The label column. Leave out for unlabelled data.").optional());
    type.params.push_back(
        ParamSpec::list("columns", aimass::ParamType::kStringList,
                        "Feature columns, in this order. Default: every column except the label.")
            .optional());
    type.params.push_back(
        ParamSpec::string("label_type",
                          "'class': labels name classes (text or integers); 'value': labels "
                          "are numeric regression targets.")
            .withDefault(std::string("class"))
            .oneOf({"class", "value"}));
    type.params.push_back(
        ParamSpec::string("delimiter", "Field separator: one character, or \"tab\".")
            .withDefault(std::string(",")));
    type.params.push_back(ParamSpec::boolean("header",
                                             "Whether the first line names the columns. Without "
                                             "a header, columns are named \"0\", \"1\", ...")
                              .withDefault(true));
    type.params.push_back(
        ParamSpec::list("text_columns", aimass::ParamType::kStringList,
                        "Feature columns to read as text (categories) even when every value "
                        "looks like a number, such as zip codes. Other columns are text when "
                        "one of their values is not a number.")
            .withDefault(std::vector<std::string>{}));
    type.params.push_back(
        ParamSpec::list("missing_values", aimass::ParamType::kStringList,
                        "Values that mean 'missing', compared exactly (case included) with "
                        "the field without surrounding spaces; an empty field is always "
                        "missing. Missing numbers read as NaN, missing text as \"\"; a missing "
                        "label is an error. Quote them in YAML: [\"NA\", \"null\"].")
            .withDefault(CsvOptions::defaultMissingValues()));
    type.params.push_back(
        ParamSpec::string("normalize",
                          "Deprecated: use a model's preprocess: [..] with transform.standardize "
                          "or transform.minmax, which the saved model keeps (docs/pipelines.md). "
                          "Rescales each numeric feature column once at load: 'standardize' to "
                          "mean 0 and standard deviation 1, 'minmax' to [0, 1], or 'none'. "
                          "Statistics come from this file's rows, ignoring missing values.")
            .withDefault(std::string("none"))
            .oneOf({"none", "standardize", "minmax"}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      CsvOptions options;
      options.path = config.getPath("path");
      if (config.has("label")) {
        options.label = config.getString("label");
      }
      if (config.has("columns")) {
        options.columns = config.getStringList("columns");
      }
      options.label_kind = config.getString("label_type") == "value" ? aimass::LabelKind::kValue
                                                                     : aimass::LabelKind::kClass;
      auto delimiter = delimiterFrom(config.getString("delimiter"));
      if (!delimiter.ok()) {
        return delimiter.status();
      }
      options.delimiter = *delimiter;
      options.header = config.getBool("header");
      options.text_columns = config.getStringList("text_columns");
      options.missing_values = config.getStringList("missing_values");
      const std::string& normalize = config.getString("normalize");
      options.normalize = normalize == "standardize" ? CsvNormalize::kStandardize
                          : normalize == "minmax"    ? CsvNormalize::kMinMax
                                                     : CsvNormalize::kNone;
      auto data = aimass::plugins::dataset::CsvDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      if (options.normalize != CsvNormalize::kNone) {
        config.host().log(aimass::LogLevel::kWarning, config.nodeName(), kNormalizeDeprecated);
      }
      for (const std::string& warning : (*data)->warnings()) {
        config.host().log(aimass::LogLevel::kWarning, config.nodeName(), warning);
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.csv", "1.1.0", "CSV file datasets", &registerTypes)
