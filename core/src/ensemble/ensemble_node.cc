// SPDX-License-Identifier: Apache-2.0
// The `model.ensemble` node type: parameters, documentation and factory.
#include <memory>
#include <utility>

#include "aimass/core/serving.h"
#include "ensemble/ensemble_model.h"

namespace aimass::core {
namespace {

std::vector<EnsembleMember> membersOf(const NodeConfig& config, const std::string& param) {
  std::vector<EnsembleMember> members;
  if (!config.has(param)) {
    return members;
  }
  const auto models = config.getRefs<Model>(param);
  const auto& names = config.refNames(param);
  const auto& types = config.refTypes(param);
  for (std::size_t i = 0; i < models.size(); ++i) {
    members.push_back(
        {i < names.size() ? names[i] : param, i < types.size() ? types[i] : "", models[i], false});
  }
  return members;
}

Expected<std::unique_ptr<Node>> makeEnsemble(const NodeConfig& config,
                                             const TypeRegistry& registry) {
  EnsembleSettings settings;
  AIMASS_ASSIGN_OR_RETURN(settings.method, parseEnsembleMethod(config.getString("method")));
  if (config.has("weights")) {
    settings.weights = config.getFloatList("weights");
  }
  settings.folds = static_cast<std::uint64_t>(config.getInt("folds"));
  if (config.has("seed")) {
    settings.seed = static_cast<std::uint64_t>(config.getInt("seed"));
  }
  settings.passthrough = config.getBool("passthrough");

  std::vector<EnsembleMember> members = membersOf(config, "members");
  std::vector<EnsembleMember> metas = membersOf(config, "meta");
  std::optional<EnsembleMember> meta;
  if (!metas.empty()) {
    meta = std::move(metas.front());
  }
  EnsembleTrainer trainer;
  trainer.host = &config.host();
  trainer.factory = typeRegistryModelFactory(registry, config.host());
  trainer.epochs = static_cast<std::uint64_t>(config.getInt("epochs"));
  trainer.batch_size = static_cast<std::uint64_t>(config.getInt("batch_size"));
  if (config.has("registered")) {
    trainer.registered = config.getStringList("registered");
  }
  if (config.has("storage")) {
    trainer.storage = config.getRef<Storage>("storage");
  }
  if (config.has("optimizer")) {
    auto optimizer = config.getRef<Optimizer>("optimizer");
    if (optimizer && optimizer->style() != OptimizerStyle::kGradient) {
      return invalidArgument("optimizer '" + config.refNames("optimizer").front() +
                             "' is a search optimizer; model.ensemble trains members with a "
                             "gradient optimizer such as optimizer.adam");
    }
    trainer.optimizer = std::static_pointer_cast<GradientOptimizer>(optimizer);
    trainer.optimizer_type = config.refTypes("optimizer").front();
  }

  // Configuration errors that need no data, reported when the graph is built.
  const std::size_t count = members.size() + trainer.registered.size();
  if (settings.method == EnsembleMethod::kStack && !meta) {
    return invalidArgument(
        "method stack needs `meta`: the model node that learns from the "
        "members' outputs (e.g. a model.softmax or model.linear)");
  }
  if (settings.method != EnsembleMethod::kStack && meta) {
    return invalidArgument("`meta` is only used by method stack, not " +
                           std::string(ensembleMethodName(settings.method)));
  }
  if (!trainer.registered.empty() && !trainer.storage) {
    return invalidArgument(
        "`registered` members need `storage`: the storage whose model "
        "registry holds them");
  }
  if (!settings.weights.empty() && settings.weights.size() != count) {
    return invalidArgument(std::to_string(settings.weights.size()) + " weights for " +
                           std::to_string(count) +
                           " members: give one per member (members, then registered)");
  }
  for (std::size_t i = 0; i < settings.weights.size(); ++i) {
    if (!(settings.weights[i] > 0)) {
      return invalidArgument("weights[" + std::to_string(i) + "] must be > 0");
    }
  }
  for (const EnsembleMember& member : members) {
    if (meta && member.model == meta->model) {
      return invalidArgument("model '" + member.name + "' is both a member and the meta model");
    }
  }
  return std::unique_ptr<Node>(std::make_unique<EnsembleModel>(
      std::move(settings), std::move(members), std::move(meta), std::move(trainer)));
}

}  // namespace

NodeType ensembleModelNodeType(const TypeRegistry& registry) {
  NodeType type;
  type.type = "model.ensemble";
  type.kind = NodeKind::kModel;
  type.summary = "Combines models: soft or hard voting, averaging, or stacking with a meta model";
  type.params = {
      ParamSpec::refList("members", NodeKind::kModel,
                         "Model nodes of the graph, trained by the ensemble's own fit (on all "
                         "rows; for stacking also once per fold).")
          .optional(),
      ParamSpec::list("registered", ParamType::kStringList,
                      "Registered models of `storage`'s registry (NAME, NAME/VERSION or "
                      "NAME@ALIAS), loaded when the ensemble is trained and never retrained; "
                      "they come after `members`.")
          .optional(),
      ParamSpec::ref("storage", NodeKind::kStorage,
                     "The storage whose model registry holds the `registered` members.")
          .optional(),
      ParamSpec::string("method",
                        "soft_vote: weighted mean of the members' probabilities; hard_vote: "
                        "weighted majority of their labels (ties: the lowest class index; "
                        "probabilities are the vote shares); average: weighted mean of "
                        "regression predictions; stack: the `meta` model, trained on "
                        "out-of-fold member outputs, predicts.")
          .withDefault(std::string("soft_vote"))
          .oneOf({"soft_vote", "hard_vote", "average", "stack"}),
      ParamSpec::list("weights", ParamType::kFloatList,
                      "One weight > 0 per member (members, then registered) for voting and "
                      "averaging; default: equal.")
          .optional(),
      ParamSpec::ref("meta", NodeKind::kModel,
                     "stack: the model trained on the members' class probabilities "
                     "(classification) or predictions (regression), concatenated in member "
                     "order; required for stack.")
          .optional(),
      ParamSpec::integer("folds", "stack: k of the k-fold out-of-fold predictions.")
          .withDefault(std::int64_t{5})
          .atLeast(2),
      ParamSpec::ref("optimizer", NodeKind::kOptimizer,
                     "The gradient optimizer that trains gradient-trained members and meta "
                     "model; required when there is one.")
          .optional(),
      ParamSpec::integer("epochs", "Passes over the rows for gradient-trained members.")
          .withDefault(std::int64_t{10})
          .atLeast(1),
      ParamSpec::integer("batch_size", "Rows per optimizer step for gradient-trained members.")
          .withDefault(std::int64_t{32})
          .atLeast(1),
      ParamSpec::integer("seed",
                         "Seeds the members' training and the folds; default: job.train's "
                         "seed.")
          .optional()
          .atLeast(0),
      ParamSpec::boolean("passthrough",
                         "stack: also give the meta model the original features, after the "
                         "members' outputs.")
          .withDefault(false),
  };
  type.factory = [&registry](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    std::unique_ptr<Node> node;
    Status status = guard("model.ensemble", [&]() -> Status {
      AIMASS_ASSIGN_OR_RETURN(node, makeEnsemble(config, registry));
      return Status();
    });
    if (!status.ok()) {
      return status;
    }
    return node;
  };
  return type;
}

}  // namespace aimass::core
