// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/runtime.h"

#include <chrono>
#include <thread>
#include <utility>
#include <vector>

#include "aimass/frontend.h"
#include "aimass/model.h"
#include "aimass/storage.h"
#include "api_storage.h"
#include "train_tracking.h"

namespace aimass::core {
namespace {

/// A progress display that shows nothing (tests, embedders without a console).
class SilentProgress final : public JobProgress {
 public:
  void begin(std::string_view, std::uint64_t) override {}
  void update(std::uint64_t, const std::vector<std::pair<std::string, double>>&) override {}
  void end(std::string_view) override {}
};

Status cancelled() { return Status(StatusCode::kCancelled, "cancelled"); }

}  // namespace

Runtime::Runtime(Graph& graph, HostServices& host, Hooks hooks)
    : graph_(graph), host_(host), hooks_(std::move(hooks)) {
  if (!hooks_.progress) {
    hooks_.progress = [](const std::string&, const std::function<void(JobProgress&)>& run) {
      SilentProgress silent;
      run(silent);
    };
  }
  if (!hooks_.wait_for_stop) {
    hooks_.wait_for_stop = [this] {
      while (!host_.stopRequested()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
  }
}

Status Runtime::run() {
  if (ran_) {
    return failedPrecondition("the runtime has already run its graph");
  }
  ran_ = true;
  // Lets the serving runtime create models of any plugin type when it loads registry versions
  // (a frontend's `repository`), through the same TypeRegistry::instantiate() as the graph.
  host_.catalog().setModelFactory(typeRegistryModelFactory(graph_.registry(), host_));
  Status status = guard("creating nodes", [&] { return graph_.instantiate(host_); });
  if (status.ok()) {
    attachTrainTrackingContext(graph_);
    status = addRegistryApi();
  }
  if (status.ok()) {
    for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kModel)) {
      host_.catalog().add(name, "1", std::static_pointer_cast<const Model>(node));
    }
    status = runJobs();
  }
  if (status.ok()) {
    status = serve();
  }
  // The catalog lets go of the graph's models, so that destroying the graph destroys nodes in
  // reverse dependency order while the host and the plugins are still there.
  host_.catalog().clear();
  host_.setApiStorage(nullptr);
  return status;
}

Status Runtime::addRegistryApi() {
  std::string why;
  const GraphNode* store = apiStorageNode(graph_, why);
  if (store == nullptr || !store->instance) {
    host_.log(LogLevel::kDebug, "", "no registry services for the frontends: " + why);
    return okStatus();
  }
  host_.setApiStorage(std::static_pointer_cast<Storage>(store->instance));
  host_.log(LogLevel::kInfo, "",
            "frontends serve the registry of storage '" + store->decl.name + "'");
  return okStatus();
}

Status Runtime::runJobs() {
  for (const auto& [name, node] : graph_.nodesOfKind(NodeKind::kJob)) {
    if (host_.stopRequested()) {
      return cancelled();
    }
    auto& job = static_cast<Job&>(*node);
    host_.log(LogLevel::kInfo, name, "job started");
    Status status;
    hooks_.progress(name, [&](JobProgress& progress) {
      status = guard("job '" + name + "'", [&] { return job.run(host_, progress); });
    });
    if (status.code() == StatusCode::kCancelled || (!status.ok() && host_.stopRequested())) {
      return cancelled();
    }
    if (!status.ok()) {
      return Status(status.code(), "job '" + name + "' failed: " + status.toString());
    }
    host_.log(LogLevel::kInfo, name, "job finished");
  }
  return host_.stopRequested() ? cancelled() : okStatus();
}

Status Runtime::serve() {
  auto frontends = graph_.nodesOfKind(NodeKind::kFrontend);
  if (frontends.empty()) {
    host_.log(LogLevel::kInfo, "", "no frontend to serve; done");
    return okStatus();
  }
  std::vector<Frontend*> started;
  auto stopAll = [&] {
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      (*it)->stop();
    }
  };
  for (const auto& [name, node] : frontends) {
    auto& frontend = static_cast<Frontend&>(*node);
    Status status = guard("frontend '" + name + "'", [&] { return frontend.start(host_); });
    if (!status.ok()) {
      stopAll();
      return Status(status.code(), "frontend '" + name + "' could not start: " + status.toString());
    }
    started.push_back(&frontend);
    if (hooks_.frontend_started) {
      hooks_.frontend_started(name, frontend.endpoint());
    }
  }
  hooks_.wait_for_stop();
  stopAll();
  return okStatus();
}

}  // namespace aimass::core
