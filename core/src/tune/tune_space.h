// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/config.h"
#include "aimass/core/diagnostics.h"
#include "aimass/core/graph.h"
#include "aimass/optimizer.h"
#include "aimass/params.h"
#include "aimass/util/json_writer.h"

namespace aimass::core {

/// One dimension of job.tune's `space`: a parameter of a node of the trial's graph and the
/// values a trial may give it.
///
///     space:
///       fashion.hidden: {choice: [[128], [256, 128]]}      # any type: the values to try
///       adam.learning_rate: {log_uniform: [1e-4, 1e-1]}    # float parameters
///       train.batch_size: {int: [32, 256]}                 # int (or float) parameters
///       fashion.dropout: {uniform: [0, 0.5], when: {fashion.hidden: [[256, 128]]}}
///
/// `uniform` and `log_uniform` take [LOW, HIGH] for float parameters, `int` and `log_int` for
/// int (or float) parameters; `choice` takes a list of values of the parameter's own type
/// (a list parameter's choices are lists). `when: {KEY: VALUE or [VALUES]}` makes a dimension
/// conditional on an earlier choice dimension KEY taking one of its values; otherwise the
/// parameter keeps the value the configuration gives it.
struct TuneDimension {
  enum class Kind { kUniform, kLogUniform, kInt, kLogInt, kChoice };
  std::string key;    ///< "NODE.PARAM" as written
  std::string node;   ///< NODE
  std::string param;  ///< PARAM
  Kind kind = Kind::kUniform;
  double low = 0;  ///< the range kinds' bounds
  double high = 0;
  /// kChoice: each value as JSON text (what a trial's configuration gets); for display too.
  std::vector<std::string> choices;
  /// The parameter's declared type (an int parameter gets integral values).
  ParamType param_type = ParamType::kFloat;
  std::optional<std::size_t> parent;       ///< `when`: the earlier choice dimension
  std::vector<std::size_t> parent_choices;  ///< and the indices of its values that enable this
  SourceLocation where;                     ///< where KEY is written
};

/// The names of the nodes job `job` needs: itself and every node it references, directly or
/// not.
std::vector<std::string> dependencyClosure(const std::vector<GraphNode>& nodes,
                                           const std::string& job);

/// Checks every job.tune node of a graph being validated: its `trial` names a job.train, and
/// its `space` (parseTuneSpace()) fits the nodes that job uses. Called by Graph::validate().
void checkTuneNodes(const std::vector<GraphNode>& nodes, Diagnostics& diagnostics);

/// The node named `name` among `nodes`; null when there is none.
const GraphNode* findGraphNode(const std::vector<GraphNode>& nodes, const std::string& name);
/// The first node reference parameter `param` of `node` holds; empty when none.
std::string firstRef(const GraphNode& node, const std::string& param);

/// The parameter `name` as written in `decl`; null when it is not written.
const ParamDecl* findParamDecl(const NodeDecl& decl, const std::string& name);

/// "choice", "uniform", ...: the kind as the configuration writes it, and back (nullopt for
/// a name that is none).
const char* tuneKindName(TuneDimension::Kind kind);
std::optional<TuneDimension::Kind> tuneKindFromName(std::string_view name);

/// Reads and checks the `space` parameter of job.tune node `tune` (written at `space.where`)
/// against the graph's nodes, reporting each problem at its FILE:LINE:COL: a key that is not
/// NODE.PARAM, an unknown node or parameter (with a "did you mean"), a node outside the trial
/// job's dependencies (`trial_closure`: names of the nodes the trial job needs, itself
/// included), a reference parameter, an unknown distribution, bounds that are not two numbers
/// with LOW < HIGH (LOW > 0 on a log scale, integers for int kinds) or that the parameter's
/// own range refuses, a choice the parameter's type or constraints refuse, an empty or repeated
/// choice list, and a `when` that names no earlier choice dimension or a value it lacks.
/// Returns the dimensions in the order written; nullopt when it reported anything.
std::optional<std::vector<TuneDimension>> parseTuneSpace(const NodeDecl& tune,
                                                         const ParamDecl& space,
                                                         const std::vector<GraphNode>& nodes,
                                                         const std::vector<std::string>& closure,
                                                         Diagnostics& diagnostics);

/// The space of job.tune node `tune` among `nodes`: parseTuneSpace() of its `space` over the
/// nodes its trial job needs. nullopt when it has no space or problems were reported.
std::optional<std::vector<TuneDimension>> tuneSpaceOf(const std::vector<GraphNode>& nodes,
                                                      const GraphNode& tune,
                                                      Diagnostics& diagnostics);

/// The SearchSpace an optimizer searches for `dimensions` (names are the keys; choices are
/// their JSON texts; `when` becomes the dimension's parent).
SearchSpace toSearchSpace(const std::vector<TuneDimension>& dimensions);

/// The value a trial gives dimension `d` for the optimizer's value `v`, as JSON text (also
/// YAML): a number (an integer for int parameters) or the chosen value. Empty for NaN (an
/// inactive conditional dimension: the configuration's own value stays).
std::string trialValueText(const TuneDimension& d, double v);

/// The dimensions as JSON (an array of {key, kind, low, high, choices, when}), for the study
/// record; parseTuneSpaceJson() reads it back (for `aimass tune show`, without the graph).
std::string tuneSpaceJson(const std::vector<TuneDimension>& dimensions);
void writeTuneSpace(JsonWriter& json, const std::vector<TuneDimension>& dimensions);
Expected<std::vector<TuneDimension>> parseTuneSpaceJson(const std::string& json);

}  // namespace aimass::core
