// SPDX-License-Identifier: Apache-2.0
// optimizer.tpe: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "tpe.h"

namespace {

using aimass::ParamSpec;

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("optimizer.tpe registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "optimizer.tpe";
    type.kind = aimass::NodeKind::kOptimizer;
    type.summary = "Tree-structured Parzen estimator (TPE) search, multivariate by default";
    auto& p = type.params;
    p.push_back(ParamSpec::integer("seed", "Mixed with the seed the tuner passes to begin().")
                    .withDefault(std::int64_t{0}));
    p.push_back(ParamSpec::integer("n_startup",
                                   "Uniformly random candidates until this many results succeeded; "
                                   "then the model proposes.")
                    .withDefault(std::int64_t{10})
                    .atLeast(0));
    p.push_back(ParamSpec::integer("n_ei_candidates",
                                   "Draws from the good-results estimator l(x) per proposal; the "
                                   "draw with the largest l(x)/g(x) is proposed.")
                    .withDefault(std::int64_t{24})
                    .range(1, 10000));
    p.push_back(ParamSpec::string("gamma",
                                  "How many results form the good group: 'linear' takes "
                                  "min(ceil(gamma_fraction n), gamma_max), 'sqrt' "
                                  "min(ceil(0.25 sqrt(n)), gamma_max).")
                    .withDefault(std::string("linear"))
                    .oneOf({"linear", "sqrt"}));
    p.push_back(ParamSpec::number("gamma_fraction", "The fraction of 'linear' gamma.")
                    .withDefault(0.2)
                    .range(0.01, 1));
    p.push_back(ParamSpec::integer("gamma_max", "The most results in the good group.")
                    .withDefault(std::int64_t{25})
                    .atLeast(1));
    p.push_back(ParamSpec::boolean("multivariate",
                                   "One joint estimator over all dimensions (captures how "
                                   "parameters interact) instead of one per dimension.")
                    .withDefault(true));
    p.push_back(ParamSpec::number("bandwidth",
                                  "Multivariate: kernel width at one observation, as a fraction "
                                  "of each dimension's unit range; shrinks as n^(-1/(d+4)).")
                    .withDefault(0.1)
                    .range(0.001, 1));
    p.push_back(ParamSpec::number("prior_weight",
                                  "Weight of the broad prior component (each result weighs up "
                                  "to 1).")
                    .withDefault(0.3)
                    .range(1e-6, 1e6));
    p.push_back(ParamSpec::number("categorical_smoothing",
                                  "Weight every choice gets in a categorical kernel, besides 1 "
                                  "on the observed choice: larger explores choices more.")
                    .withDefault(1.33)
                    .range(1e-6, 1e6));
    p.push_back(ParamSpec::boolean("consider_magic_clip",
                                   "Keep bandwidths above 1 / min(100, components) of the range.")
                    .withDefault(false));
    p.push_back(ParamSpec::boolean("consider_endpoints",
                                   "Univariate: the bounds count as neighbours when choosing a "
                                   "kernel's width.")
                    .withDefault(false));
    p.push_back(ParamSpec::boolean("constant_liar",
                                   "Outstanding candidates join the bad group until told, so "
                                   "parallel trials spread out.")
                    .withDefault(true));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("optimizer.tpe factory", [&] {
        aimass::plugins::optimizer::TpeOptions o;
        o.seed = static_cast<std::uint64_t>(config.getInt("seed"));
        o.n_startup = static_cast<std::size_t>(config.getInt("n_startup"));
        o.n_ei_candidates = static_cast<std::size_t>(config.getInt("n_ei_candidates"));
        o.sqrt_gamma = config.getString("gamma") == "sqrt";
        o.gamma_fraction = config.getFloat("gamma_fraction");
        o.gamma_max = static_cast<std::size_t>(config.getInt("gamma_max"));
        o.constant_liar = config.getBool("constant_liar");
        o.parzen.multivariate = config.getBool("multivariate");
        o.parzen.bandwidth = config.getFloat("bandwidth");
        o.parzen.prior_weight = config.getFloat("prior_weight");
        o.parzen.categorical_smoothing = config.getFloat("categorical_smoothing");
        o.parzen.consider_magic_clip = config.getBool("consider_magic_clip");
        o.parzen.consider_endpoints = config.getBool("consider_endpoints");
        node = std::make_unique<aimass::plugins::optimizer::TpeSearch>(o);
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

AIMASS_PLUGIN("optimizer.tpe", "1.0.0", "Tree-structured Parzen estimator search", &registerTypes)
