// SPDX-License-Identifier: Apache-2.0
// dataset.series: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "series.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::dataset::SeriesDataset;
using aimass::plugins::dataset::SeriesOptions;
using aimass::plugins::dataset::SeriesPart;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.series registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.series";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "Time series from a CSV file as sliding windows for forecasting, split by time into "
        "train, validation and test";
    type.params.push_back(ParamSpec::path("path",
                                          "The CSV file, rows in increasing time order. Relative "
                                          "paths resolve against the config file's folder."));
    type.params.push_back(
        ParamSpec::string("time_column",
                          "The time of each row: numbers, or ISO-8601 dates and times "
                          "(2024-03-01, 2024-03-01T13:00:00Z). Strictly increasing.")
            .withDefault(std::string("time")));
    type.params.push_back(ParamSpec::list("target_columns", aimass::ParamType::kStringList,
                                          "The series to forecast (one or more columns)."));
    type.params.push_back(
        ParamSpec::list("covariate_columns", aimass::ParamType::kStringList,
                        "Other columns given as input only (known up to the last input step).")
            .optional());
    type.params.push_back(
        ParamSpec::integer("window", "Input steps per row.").withDefault(std::int64_t{24}).atLeast(
            1));
    type.params.push_back(ParamSpec::integer("horizon", "Steps ahead to forecast per row.")
                              .withDefault(std::int64_t{1})
                              .atLeast(1));
    type.params.push_back(
        ParamSpec::integer("stride", "Steps between the starts of consecutive windows.")
            .withDefault(std::int64_t{1})
            .atLeast(1));
    type.params.push_back(
        ParamSpec::string("part",
                          "The windows served, by where their targets lie: 'train', "
                          "'validation' (the rows before the test rows), 'test' (the last rows) "
                          "or 'all'.")
            .withDefault(std::string("all"))
            .oneOf({"train", "validation", "test", "all"}));
    type.params.push_back(
        ParamSpec::number("validation_fraction",
                          "The share of rows, just before the test rows, whose targets form the "
                          "validation part.")
            .withDefault(0.0)
            .range(0.0, 0.9));
    type.params.push_back(
        ParamSpec::number("test_fraction", "The share of rows at the end that form the test part.")
            .withDefault(0.0)
            .range(0.0, 0.9));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      SeriesOptions options;
      options.path = config.getPath("path");
      options.time_column = config.getString("time_column");
      options.target_columns = config.getStringList("target_columns");
      if (config.has("covariate_columns")) {
        options.covariate_columns = config.getStringList("covariate_columns");
      }
      options.window = config.getInt("window");
      options.horizon = config.getInt("horizon");
      options.stride = config.getInt("stride");
      const std::string& part = config.getString("part");
      options.part = part == "train"        ? SeriesPart::kTrain
                     : part == "validation" ? SeriesPart::kValidation
                     : part == "test"       ? SeriesPart::kTest
                                            : SeriesPart::kAll;
      options.validation_fraction = config.getFloat("validation_fraction");
      options.test_fraction = config.getFloat("test_fraction");
      auto data = SeriesDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.series", "1.0.0", "Time series windows for forecasting", &registerTypes)
