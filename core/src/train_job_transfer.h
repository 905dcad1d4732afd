// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/core/registry.h"
#include "aimass/core/serving.h"
#include "aimass/host.h"
#include "aimass/model.h"
#include "aimass/status.h"
#include "aimass/storage.h"

namespace aimass::core {

// Transfer learning for job.train (init_from, reinit_head, freeze), generic over
// GradientTraining::parameters(): nothing here knows a model type.
//
// A layer is the parameters that share the text before the first '.' of their names
// ("fc1.weight" and "fc1.bias" are layer "fc1"; "rnn.l0.w" is layer "rnn"), numbered from 0 in
// the order parameters() first names them. The output head is the last layer.
//
// Threading: plain functions on the caller's objects; no shared state.

/// The layers of `parameters`, in order (see above).
std::vector<std::string> parameterLayers(std::span<const Parameter> parameters);

/// Which parameters `freeze` selects: result[i] is true when parameters[i] is frozen. Each
/// entry is a layer index ("0") or a name matching a parameter's name, or a prefix of it that
/// ends before a '.' ("fc1" freezes "fc1.weight" and "fc1.bias", not "fc10.weight").
/// kInvalidArgument naming the entry and listing the valid layers for an entry that selects
/// nothing, and when every parameter would be frozen (nothing left to train). `model` names
/// the model in messages.
Expected<std::vector<bool>> frozenParameters(std::span<const Parameter> parameters,
                                             const std::vector<std::string>& freeze,
                                             std::string_view model);

/// The parameters whose `frozen` entry is false, in order (all when `frozen` is empty).
std::vector<Parameter> trainableParameters(std::vector<Parameter> parameters,
                                           const std::vector<bool>& frozen);

/// What copyParameters() did.
struct CopyReport {
  std::size_t copied = 0;             ///< parameters that took the saved values
  std::vector<std::string> reinited;  ///< head parameters left at their fresh values
};

/// Copies every saved parameter's values into the parameter of `target` with the same name.
/// Names and shapes must match one to one; with `reinit_head` the last layer of `target` (the
/// output head) keeps its fresh values instead and may differ in shape or be absent from
/// `saved`. Everything is checked before anything is copied, so on error `target` is unchanged.
/// kInvalidArgument, naming the parameter and `source` / `model`: a parameter of one side the
/// other lacks, a shape mismatch (both shapes; a head mismatch without reinit_head says to set
/// it), a dtype other than FP32.
Expected<CopyReport> copyParameters(std::span<const Parameter> saved,
                                    std::span<const Parameter> target, bool reinit_head,
                                    std::string_view source, std::string_view model);

/// Where job.train's init_from reads from and how it makes the model to load into.
struct TransferSource {
  Storage* storage = nullptr;  ///< the job's storage: its registry and artifacts
  const ModelFactory* factory = nullptr;
  std::string reference;  ///< "name", "name/3" or "name@alias"
  std::string model_name;  ///< the job's model node, for messages
  std::string model_type;  ///< its type: the saved version must be of the same type
};

/// Starts `target` (prepared for the new data) from a registered version: resolves
/// `source.reference` in the registry on `source.storage`, checks that the version's type is
/// the job's model type, loads its artifact into a fresh model of that type made by the
/// factory (the job's model node is not touched by the load, so its configured
/// hyper-parameters stay) and copies the parameters (copyParameters()). Returns the resolved
/// version (the lineage to record) and the copy report through `report`.
/// Errors: kNotFound naming the reference and the registry for an unknown model, version or
/// alias; kInvalidArgument for another type (both types named), a model without gradient
/// training, or parameters that do not fit; kDataLoss and others as loadModel() reports a
/// corrupt or unreadable artifact; kFailedPrecondition when there is no factory.
Expected<ModelVersion> initFromRegistered(const TransferSource& source, GradientTraining& target,
                                          bool reinit_head, CopyReport& report);

/// Hands every job.train node of `graph` a ModelFactory over the graph's node types
/// (typeRegistryModelFactory), so init_from can make fresh models of any plugin type. The graph
/// and the host must outlive the jobs' runs.
void attachTrainModelFactory(const Graph& graph, Host& host);

}  // namespace aimass::core
