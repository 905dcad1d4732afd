// SPDX-License-Identifier: Apache-2.0
// model.kmeans: entry point and registration.

#include "aimass/plugin.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "clustering_params.h"
#include "kmeans.h"

namespace {

using aimass::ParamSpec;
using aimass::plugins::model::KMeansAlgorithm;
using aimass::plugins::model::KMeansInit;
using aimass::plugins::model::KMeansOptions;

std::vector<ParamSpec> kmeansParams() {
  std::vector<ParamSpec> params;
  params.push_back(ParamSpec::integer("clusters", "Number of clusters k (centres).")
                       .withDefault(std::int64_t{8})
                       .atLeast(1)
                       .withExample("3"));
  params.push_back(
      ParamSpec::string("init",
                        "Starting centres: k-means++ (greedy k-means++ with 2 + log(k) local "
                        "trials, seeded), random (k distinct rows, seeded) or given (the rows "
                        "of `centers`).")
          .withDefault(std::string("k-means++"))
          .oneOf({"k-means++", "random", "given"}));
  params.push_back(
      ParamSpec::path("centers",
                      "CSV of k rows x features starting centres (a header line is allowed), "
                      "used with init: given.")
          .optional());
  params.push_back(ParamSpec::integer("n_init",
                                      "Restarts from fresh starting centres; the one with the "
                                      "lowest inertia is kept. 0: 1 for k-means++ and given "
                                      "centres, 10 for random.")
                       .withDefault(std::int64_t{0})
                       .atLeast(0));
  params.push_back(ParamSpec::integer("max_iterations",
                                      "Most iterations per run (full batch: passes over the "
                                      "data; mini-batch: batches).")
                       .withDefault(std::int64_t{300})
                       .atLeast(1));
  params.push_back(ParamSpec::number("tolerance",
                                     "Stop when the summed squared centre shift of an iteration "
                                     "is at most tolerance x the mean feature variance "
                                     "(scikit-learn's tol). 0: run every iteration unless the "
                                     "assignments stop changing. Full batch only: mini-batch "
                                     "runs max_iterations batches.")
                       .withDefault(1e-4)
                       .atLeast(0));
  params.push_back(
      ParamSpec::string("algorithm",
                        "Full-batch iterations: lloyd (every distance every iteration), elkan "
                        "(k lower bounds per row) or hamerly (one lower bound per row). All give "
                        "Lloyd's assignments; the bounded ones skip the distances their bounds "
                        "rule out. auto: elkan up to 32 clusters (the fastest there), hamerly "
                        "beyond (k bounds a row would cost too much memory).")
          .withDefault(std::string("auto"))
          .oneOf({"auto", "lloyd", "elkan", "hamerly"}));
  params.push_back(ParamSpec::integer("batch_size",
                                      "0: full batch (all rows in memory). > 0: mini-batch "
                                      "k-means (Sculley 2010) on random batches of this many "
                                      "rows read from the dataset, never holding all rows.")
                       .withDefault(std::int64_t{0})
                       .atLeast(0));
  params.push_back(aimass::plugins::model::fitSeedParam("the starting centres and batches"));
  params.push_back(aimass::plugins::model::fitThreadsParam());
  return params;
}

aimass::Expected<KMeansOptions> optionsOf(const aimass::NodeConfig& config) {
  KMeansOptions options;
  options.clusters = config.getInt("clusters");
  const std::string& init = config.getString("init");
  options.init = init == "given"    ? KMeansInit::kGiven
                 : init == "random" ? KMeansInit::kRandom
                                    : KMeansInit::kPlusPlus;
  options.n_init = config.getInt("n_init");
  options.max_iterations = config.getInt("max_iterations");
  options.tolerance = config.getFloat("tolerance");
  const std::string& algorithm = config.getString("algorithm");
  options.algorithm = algorithm == "lloyd"   ? KMeansAlgorithm::kLloyd
                      : algorithm == "elkan" ? KMeansAlgorithm::kElkan
                      : algorithm == "hamerly"
                          ? KMeansAlgorithm::kHamerly
                          : aimass::plugins::model::automaticAlgorithm(options.clusters);
  options.batch_size = config.getInt("batch_size");
  options.seed = config.getInt("seed");
  options.threads = aimass::plugins::model::fitThreads(config.getInt("threads"));
  const auto centers = config.values().find("centers");
  const bool has_centers = centers != config.values().end() &&
                           std::holds_alternative<std::string>(centers->second) &&
                           !std::get<std::string>(centers->second).empty();
  if (options.init == KMeansInit::kGiven) {
    if (!has_centers) {
      return aimass::invalidArgument("model.kmeans: init: given needs `centers:`, a CSV file of " +
                                     std::to_string(options.clusters) + " starting centres");
    }
    if (options.n_init > 1) {
      return aimass::invalidArgument(
          "model.kmeans: n_init: " + std::to_string(options.n_init) +
          " with init: given would restart from the same centres every time; use n_init: 1");
    }
    AIMASS_ASSIGN_OR_RETURN(
        options.given_centres,
        aimass::plugins::model::readCentresCsv(config.getString("centers"), options.clusters));
  } else if (has_centers) {
    return aimass::invalidArgument(
        "model.kmeans: `centers:` is only read with init: given, but "
        "init is " +
        init);
  }
  return options;
}

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.kmeans registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.kmeans";
    type.kind = aimass::NodeKind::kModel;
    type.summary = "k-means clustering: Lloyd, Elkan or Hamerly full batch, or mini-batch";
    type.params = kmeansParams();
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.kmeans factory", [&]() -> aimass::Status {
        AIMASS_ASSIGN_OR_RETURN(KMeansOptions options, optionsOf(config));
        node = std::make_unique<aimass::plugins::model::KMeans>(std::move(options));
        return aimass::okStatus();
      });
      if (!status.ok()) {
        return status;
      }
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("model.kmeans", "1.0.0", "k-means clustering", &registerTypes)
