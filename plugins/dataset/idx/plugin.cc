// SPDX-License-Identifier: Apache-2.0
// dataset.idx: entry point and registration.

#include "aimass/plugin.h"

#include <algorithm>
#include <memory>

#include "aimass/host.h"
#include "idx.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.idx registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.idx";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "Images (or any array) in IDX files as MNIST and Fashion-MNIST ship them, gzipped or "
        "plain, with class labels";
    // No examples: the data files are not installed with the plugin, so `aimass plugin check`
    // reports this type as skipped rather than testing a made-up file.
    type.params.push_back(
        ParamSpec::path("images",
                        "IDX file of the rows (e.g. train-images-idx3-ubyte.gz); "
                        "dimensions after the first are flattened into one row."));
    type.params.push_back(ParamSpec::path("labels",
                                          "IDX file of class labels in [0, 255], one per row. "
                                          "Leave out for unlabelled data.")
                              .optional());
    type.params.push_back(
        ParamSpec::string("normalize",
                          "'scale': value/255 (unsigned-byte images only); 'standardize': "
                          "(value - mean)/std with one mean and std over every value; 'none'.")
            .withDefault(std::string("scale"))
            .oneOf({"none", "scale", "standardize"}));
    type.params.push_back(
        ParamSpec::integer("offset",
                           "Skip the first N rows: the dataset is rows [offset, offset + "
                           "limit) of the file. Must be below the file's row count.")
            .withDefault(std::int64_t{0})
            .atLeast(0));
    type.params.push_back(
        ParamSpec::integer("limit",
                           "Read only N rows (from `offset`); 0 reads every row to the end.")
            .withDefault(std::int64_t{0})
            .atLeast(0));
    type.params.push_back(
        ParamSpec::list("classes", aimass::ParamType::kIntList,
                        "Keep only the rows (of those offset and limit select) whose label is "
                        "one of these, in this order: the classes are named after them and a "
                        "row's label becomes its class's position in the list ([5, 7]: class "
                        "'5' is 0, '7' is 1). Needs labels.")
            .optional());
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::dataset::IdxOptions options;
      options.images = config.getPath("images");
      if (config.has("labels")) {
        options.labels = config.getPath("labels");
      }
      const std::string& normalize = config.getString("normalize");
      options.normalize = normalize == "none" ? aimass::plugins::dataset::IdxNormalize::kNone
                          : normalize == "scale"
                              ? aimass::plugins::dataset::IdxNormalize::kScale
                              : aimass::plugins::dataset::IdxNormalize::kStandardize;
      options.offset = static_cast<std::uint64_t>(config.getInt("offset"));
      options.limit = static_cast<std::uint64_t>(config.getInt("limit"));
      if (config.has("classes")) {
        options.classes = config.getIntList("classes");
      }
      options.threads = std::max(1, config.host().threads());
      auto data = aimass::plugins::dataset::IdxDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.idx", "1.0.0", "IDX (MNIST format) datasets", &registerTypes)
