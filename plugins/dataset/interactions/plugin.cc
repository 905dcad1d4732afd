// SPDX-License-Identifier: Apache-2.0
// dataset.interactions: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "interactions.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::dataset::Holdout;
using aimass::plugins::dataset::InteractionsOptions;
using aimass::plugins::dataset::InteractionsPart;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("dataset.interactions registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "dataset.interactions";
    type.kind = aimass::NodeKind::kDataset;
    type.summary =
        "User-item interactions (ratings or implicit feedback) from a CSV file, with a per-user "
        "held-out split";
    // No example for `path`: no sample file is installed with the plugin (see README).
    type.params.push_back(ParamSpec::path(
        "path",
        "The CSV file, with a header. Relative paths resolve against the config file's "
        "folder."));
    type.params.push_back(ParamSpec::string("user_column", "The column of user ids (any text).")
                              .withDefault(std::string("user")));
    type.params.push_back(ParamSpec::string("item_column", "The column of item ids (any text).")
                              .withDefault(std::string("item")));
    type.params.push_back(
        ParamSpec::string("rating_column",
                          "The column of explicit ratings (numbers): they become FP32 labels. "
                          "Leave out for implicit feedback (no labels).")
            .optional());
    type.params.push_back(
        ParamSpec::string("timestamp_column",
                          "A numeric time per interaction; needed by holdout: last.")
            .optional());
    type.params.push_back(
        ParamSpec::string("holdout",
                          "Per-user held-out split: 'none'; 'last': each user's holdout_count "
                          "latest interactions by timestamp (ties: the later row); 'random': "
                          "drawn at random, seeded by seed and the user.")
            .withDefault(std::string("none"))
            .oneOf({"none", "last", "random"}));
    type.params.push_back(
        ParamSpec::integer("holdout_count",
                           "Interactions held out per user. Users with fewer than "
                           "holdout_count + 1 interactions stay entirely in the training part.")
            .withDefault(std::int64_t{1})
            .atLeast(1));
    type.params.push_back(
        ParamSpec::string("part",
                          "Which rows this node serves: 'all', 'train' (without the held-out "
                          "rows) or 'test' (only them). Two nodes over one file with the same "
                          "holdout settings give a disjoint train/test pair with shared ids.")
            .withDefault(std::string("all"))
            .oneOf({"all", "train", "test"}));
    type.params.push_back(
        ParamSpec::integer("seed", "Seed of holdout: random.").withDefault(std::int64_t{0}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      InteractionsOptions options;
      options.path = config.getPath("path");
      options.user_column = config.getString("user_column");
      options.item_column = config.getString("item_column");
      if (config.has("rating_column")) {
        options.rating_column = config.getString("rating_column");
      }
      if (config.has("timestamp_column")) {
        options.timestamp_column = config.getString("timestamp_column");
      }
      const std::string& holdout = config.getString("holdout");
      options.holdout = holdout == "last"     ? Holdout::kLast
                        : holdout == "random" ? Holdout::kRandom
                                              : Holdout::kNone;
      options.holdout_count = config.getInt("holdout_count");
      const std::string& part = config.getString("part");
      options.part = part == "train"  ? InteractionsPart::kTrain
                     : part == "test" ? InteractionsPart::kTest
                                      : InteractionsPart::kAll;
      options.seed = static_cast<std::uint64_t>(config.getInt("seed"));
      auto data = aimass::plugins::dataset::InteractionsDataset::open(options);
      if (!data.ok()) {
        return data.status();
      }
      return std::unique_ptr<aimass::Node>(std::move(data).value());
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("dataset.interactions", "1.0.0", "User-item interaction datasets", &registerTypes)
