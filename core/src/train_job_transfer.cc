// SPDX-License-Identifier: Apache-2.0
#include "train_job_transfer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "aimass/core/model_artifact.h"
#include "train_job.h"

namespace aimass::core {
namespace {

std::string layerOf(std::string_view parameter) {
  return std::string(parameter.substr(0, parameter.find('.')));
}

/// "0 fc1, 1 fc2": the layers with their indices, for messages.
std::string layerList(const std::vector<std::string>& layers) {
  std::string out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(i) + " " + layers[i];
  }
  return out;
}

std::string nameList(std::span<const Parameter> parameters) {
  std::string out;
  for (const Parameter& p : parameters) {
    out += (out.empty() ? "" : ", ") + p.name;
  }
  return out.empty() ? "none" : out;
}

/// True for a non-empty string of decimal digits.
bool isIndex(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
}

/// `name` selects `parameter` when it is the name, or a prefix of it ending before a '.'.
bool selects(std::string_view name, std::string_view parameter) {
  return parameter == name ||
         (parameter.size() > name.size() && parameter.substr(0, name.size()) == name &&
          parameter[name.size()] == '.');
}

}  // namespace

std::vector<std::string> parameterLayers(std::span<const Parameter> parameters) {
  std::vector<std::string> layers;
  for (const Parameter& p : parameters) {
    std::string layer = layerOf(p.name);
    if (std::find(layers.begin(), layers.end(), layer) == layers.end()) {
      layers.push_back(std::move(layer));
    }
  }
  return layers;
}

Expected<std::vector<bool>> frozenParameters(std::span<const Parameter> parameters,
                                             const std::vector<std::string>& freeze,
                                             std::string_view model) {
  std::vector<bool> frozen(parameters.size(), false);
  const std::vector<std::string> layers = parameterLayers(parameters);
  for (const std::string& entry : freeze) {
    bool any = false;
    if (isIndex(entry)) {
      const bool in_range = entry.size() < 10 && std::stoul(entry) < layers.size();
      if (!in_range) {
        return invalidArgument("freeze: layer index " + entry + " is out of range: model '" +
                               std::string(model) + "' has " + std::to_string(layers.size()) +
                               " layers (" + layerList(layers) + ")");
      }
      const std::string& layer = layers[std::stoul(entry)];
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        if (layerOf(parameters[i].name) == layer) {
          frozen[i] = any = true;
        }
      }
    } else {
      for (std::size_t i = 0; i < parameters.size(); ++i) {
        if (selects(entry, parameters[i].name)) {
          frozen[i] = any = true;
        }
      }
    }
    if (!any) {
      return invalidArgument("freeze: '" + entry + "' names no layer or parameter of model '" +
                             std::string(model) + "'; its layers are " + layerList(layers) +
                             " (by index or name), its parameters " + nameList(parameters));
    }
  }
  if (!parameters.empty() && std::all_of(frozen.begin(), frozen.end(), [](bool f) { return f; })) {
    return invalidArgument("freeze: every parameter of model '" + std::string(model) +
                           "' would be frozen, leaving nothing to train");
  }
  return frozen;
}

std::vector<Parameter> trainableParameters(std::vector<Parameter> parameters,
                                           const std::vector<bool>& frozen) {
  if (frozen.empty()) {
    return parameters;
  }
  std::vector<Parameter> out;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (i >= frozen.size() || !frozen[i]) {
      out.push_back(std::move(parameters[i]));
    }
  }
  return out;
}

Expected<CopyReport> copyParameters(std::span<const Parameter> saved,
                                    std::span<const Parameter> target, bool reinit_head,
                                    std::string_view source, std::string_view model) {
  const std::string in_source = " in " + std::string(source);
  const std::string in_model = " in model '" + std::string(model) + "'";
  const std::vector<std::string> layers = parameterLayers(target);
  const std::string head = layers.empty() ? std::string() : layers.back();
  auto isHead = [&](std::string_view name) { return !head.empty() && layerOf(name) == head; };
  std::map<std::string_view, const Parameter*> by_name;
  for (const Parameter& p : saved) {
    by_name[p.name] = &p;
  }
  // Check everything first: no partial copy.
  CopyReport report;
  std::vector<std::pair<const Parameter*, const Parameter*>> copies;  // from, to
  for (const Parameter& to : target) {
    const bool keep_fresh = reinit_head && isHead(to.name);
    auto found = by_name.find(to.name);
    if (keep_fresh) {
      report.reinited.push_back(to.name);
      if (found != by_name.end()) {
        by_name.erase(found);
      }
      continue;
    }
    if (found == by_name.end()) {
      return invalidArgument("parameter '" + to.name + "'" + in_model + " has no counterpart" +
                             in_source + " (its parameters: " + nameList(saved) +
                             "): the layers do not fit the new configuration");
    }
    const Parameter& from = *found->second;
    by_name.erase(found);
    if (from.value.dtype() != DType::kFloat32 || to.value.dtype() != DType::kFloat32) {
      return invalidArgument("parameter '" + to.name + "' must be FP32 on both sides, got " +
                             std::string(dtypeName(from.value.dtype())) + in_source + " and " +
                             std::string(dtypeName(to.value.dtype())) + in_model);
    }
    if (from.value.shape() != to.value.shape()) {
      std::string hint = isHead(to.name)
                             ? ": the output layer follows the new data (its classes or targets); "
                               "set reinit_head: true to start it afresh"
                             : ": the layers do not fit the new configuration";
      if (reinit_head && !isHead(to.name)) {
        hint += " (reinit_head re-initialises only the output layer '" + head + "')";
      }
      return invalidArgument("parameter '" + to.name + "' has shape " +
                             shapeToString(from.value.shape()) + in_source + " but " +
                             shapeToString(to.value.shape()) + in_model + hint);
    }
    copies.emplace_back(&from, &to);
  }
  if (!by_name.empty()) {
    return invalidArgument("parameter '" + std::string(by_name.begin()->first) + "'" + in_source +
                           " has no counterpart" + in_model + " (its parameters: " +
                           nameList(target) + "): the layers do not fit the new configuration");
  }
  for (const auto& [from, to] : copies) {
    // Same buffers the model owns: Tensor copies share them, so writing through `to` fills
    // the model's parameter in place.
    Tensor destination = to->value;
    std::memcpy(destination.raw(), from->value.raw(), from->value.nbytes());
  }
  report.copied = copies.size();
  return report;
}

Expected<ModelVersion> initFromRegistered(const TransferSource& source, GradientTraining& target,
                                          bool reinit_head, CopyReport& report) {
  const std::string& reference = source.reference;
  const std::string what = "init_from '" + reference + "'";
  ModelRegistry registry(*source.storage);
  auto version = registry.resolve(reference);
  if (!version.ok()) {
    return version.status().withContext(what + " (in the model registry of " +
                                        source.storage->describe() + ")");
  }
  const std::string parent = version->model + "/" + std::to_string(version->version);
  if (version->node_type != source.model_type) {
    return invalidArgument(what + " is " + parent + ", a " + version->node_type +
                           ", but model '" + source.model_name + "' is a " + source.model_type +
                           ": fine-tuning needs a saved model of the same type");
  }
  if (source.factory == nullptr || !*source.factory) {
    return failedPrecondition(what + ": this host cannot make a fresh " + source.model_type +
                              " to load " + parent + " into (no model factory)");
  }
  auto fresh = (*source.factory)(version->node_type);
  if (!fresh.ok()) {
    return fresh.status().withContext(what);
  }
  AIMASS_RETURN_IF_ERROR(
      loadModel(**fresh, version->node_type, *source.storage, version->artifact_key)
          .withContext(what + ": loading " + parent + " from '" + version->artifact_key + "'"));
  GradientTraining* saved = (*fresh)->gradientTraining();
  if (saved == nullptr) {
    return invalidArgument(what + ": " + version->node_type +
                           " does not train by gradients, so it has no parameters to start from");
  }
  std::vector<Parameter> saved_parameters;
  AIMASS_RETURN_IF_ERROR(guard("parameters", [&] {
    saved_parameters = saved->parameters();
    return Status();
  }));
  std::vector<Parameter> target_parameters = target.parameters();
  auto copied = copyParameters(saved_parameters, target_parameters, reinit_head, parent,
                               source.model_name);
  if (!copied.ok()) {
    return copied.status().withContext(what);
  }
  report = std::move(copied).value();
  return std::move(version).value();
}

void attachTrainModelFactory(const Graph& graph, Host& host) {
  for (const GraphNode& node : graph.nodes()) {
    if (auto* job = dynamic_cast<TrainJob*>(node.instance.get())) {
      job->setModelFactory(typeRegistryModelFactory(graph.registry(), host));
    }
  }
}

}  // namespace aimass::core
