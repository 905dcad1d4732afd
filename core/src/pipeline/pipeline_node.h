// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "aimass/model.h"
#include "aimass/params.h"
#include "aimass/plugin.h"
#include "aimass/status.h"
#include "pipeline/preprocessed_model.h"

namespace aimass::core {

class TypeRegistry;

/// The parameter the host gives every model type: `preprocess`, the transforms to fit and
/// apply before the model (a list of transform nodes).
ParamSpec preprocessParamSpec();

/// The built-in `model.pipeline` type: what a model with `preprocess:` is saved as. Its
/// factory makes an empty pipeline that loads a saved one, making the saved transforms and
/// model through `registry`, which must outlive every node it makes.
NodeType pipelineModelNodeType(const TypeRegistry& registry);

/// Makes nodes of any registered type with their parameters at their defaults (checked as a
/// configuration's would be), to load saved payloads into.
NodeMaker defaultNodeMaker(const TypeRegistry& registry, Host& host);

/// `model`, made for `config`, behind the transforms its `preprocess` names (not fitted yet);
/// `model` itself when the config lists none.
Expected<std::shared_ptr<Node>> wrapPreprocessed(const TypeRegistry& registry,
                                                 const NodeConfig& config,
                                                 std::shared_ptr<Node> model);

/// The node type a trained `model` is saved and registered as: `model.pipeline` for a model
/// with preprocessing, else `declared` (its node's own type).
std::string savedModelType(const Model& model, std::string_view declared);

}  // namespace aimass::core
