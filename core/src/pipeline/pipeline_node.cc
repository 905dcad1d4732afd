// SPDX-License-Identifier: Apache-2.0
#include "pipeline/pipeline_node.h"

#include <utility>
#include <vector>

#include "aimass/core/diagnostics.h"
#include "aimass/core/graph.h"
#include "aimass/core/type_registry.h"
#include "aimass/transform.h"

namespace aimass::core {

ParamSpec preprocessParamSpec() {
  return ParamSpec::refList(
             "preprocess", NodeKind::kTransform,
             "Transforms (nodes of kind transform) fitted in this order on the training rows "
             "only, saved with the model and applied wherever it predicts, so that it takes the "
             "raw columns of the data (docs/pipelines.md). Added by the host to every model "
             "type.")
      .optional();
}

NodeMaker defaultNodeMaker(const TypeRegistry& registry, Host& host) {
  return [&registry, &host](const std::string& type) -> Expected<std::shared_ptr<Node>> {
    if (registry.find(type) == nullptr) {
      return notFound("no plugin offers the node type '" + type + "'");
    }
    NodeDecl decl;
    decl.name = "saved:" + type;
    decl.type = type;
    decl.where.file = "saved model";
    decl.type_where = decl.where;
    Diagnostics diagnostics;
    auto config = validateNode(decl, registry, host, diagnostics);
    if (!config) {
      return invalidArgument(
          "cannot make a '" + type + "' to load a saved one into: " +
          (diagnostics.empty() ? std::string("invalid parameters") : diagnostics.front().message));
    }
    return registry.instantiate(*config);
  };
}

NodeType pipelineModelNodeType(const TypeRegistry& registry) {
  NodeType type;
  type.type = PreprocessedModel::kType;
  type.kind = NodeKind::kModel;
  type.summary =
      "A model with its preprocessing, as a model node with `preprocess:` saves it; declare "
      "the model's own type with preprocess: [...] rather than this one";
  type.factory = [&registry](const NodeConfig& config) -> Expected<std::unique_ptr<Node>> {
    return std::unique_ptr<Node>(
        std::make_unique<PreprocessedModel>(defaultNodeMaker(registry, config.host())));
  };
  return type;
}

Expected<std::shared_ptr<Node>> wrapPreprocessed(const TypeRegistry& registry,
                                                 const NodeConfig& config,
                                                 std::shared_ptr<Node> model) {
  if (model->kind() != NodeKind::kModel || !config.has("preprocess") ||
      config.type() == PreprocessedModel::kType) {
    return model;
  }
  const auto transforms = config.getRefs<Transform>("preprocess");
  if (transforms.empty()) {
    return model;
  }
  const auto& types = config.refTypes("preprocess");
  std::vector<PreprocessStep> steps;
  for (std::size_t i = 0; i < transforms.size(); ++i) {
    steps.push_back({types.at(i), transforms[i]});
  }
  auto inner = std::static_pointer_cast<Model>(std::move(model));
  if (inner->onlineLearning() != nullptr || inner->streaming() != nullptr) {
    return invalidArgument("model '" + config.nodeName() + "' (" + config.type() +
                           ") learns while served or streams its answers, which preprocess does "
                           "not carry through; preprocess applies to models of one 'input' "
                           "block of numbers");
  }
  return std::shared_ptr<Node>(std::make_shared<PreprocessedModel>(
      defaultNodeMaker(registry, config.host()), std::move(inner), config.type(),
      std::move(steps)));
}

std::string savedModelType(const Model& model, std::string_view declared) {
  return dynamic_cast<const PreprocessedModel*>(&model) != nullptr ? PreprocessedModel::kType
                                                                  : std::string(declared);
}

}  // namespace aimass::core
