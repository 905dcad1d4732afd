// SPDX-License-Identifier: Apache-2.0
#include <memory>
#include <stdexcept>

#include "aimass/core/type_registry.h"
#include "annotation/annotation_node.h"
#include "ensemble/ensemble_model.h"
#include "evaluate_job.h"
#include "jobs/jobs_node.h"
#include "local_collective.h"
#include "monitoring/monitor_node.h"
#include "pipeline/pipeline_node.h"
#include "serving_node.h"
#include "train_job.h"
#include "tune/tune_job.h"

namespace aimass::core {

void registerBuiltinTypes(TypeRegistry& registry) {
  auto info = std::make_shared<PluginInfo>();
  info->name = "builtin";
  info->version = AIMASS_VERSION;
  info->summary = "Node types that live in the aimass host itself";
  for (NodeType type : {trainJobNodeType(), evaluateJobNodeType(), localCollectiveNodeType(),
                        servingNodeType(), tuneJobNodeType(), pipelineModelNodeType(registry),
                        ensembleModelNodeType(registry), jobs::jobsServiceNodeType(registry),
                        monitorNodeType(registry), annotation::annotationNodeType()}) {
    std::string name = type.type;
    Status status = registry.add(std::move(type), info, nullptr);
    if (!status.ok()) {
      // Built-in types are registered first, into an empty registry: failing here is a bug in
      // the host, not something a user can fix.
      throw std::logic_error("registering built-in type " + name + ": " + status.toString());
    }
  }
}

}  // namespace aimass::core
