// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The optimizer conformance suites: what every aimass::GradientOptimizer and
/// aimass::SearchOptimizer must do.
///
/// checkGradientOptimizer() drives the optimizer through aimass::minimize() on test problems
/// from fixed starts (a 10-D sphere, a 10-D quadratic of condition number 10, the 2-D
/// Rosenbrock function), checks checkpoint determinism and callback stopping. It may lower the
/// learning rate for Rosenbrock (plain gradient steps diverge there at usual rates) and
/// restores the optimizer's rate before returning.
///
/// checkSearchOptimizer() searches a mixed space (float, log-scale float, int, categorical).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "aimass/optimizer.h"
#include "aimass/testing/check.h"

namespace aimass::testing {

namespace optimizer_conformance_detail {

/// f(x) = sum x_i^2.
class Sphere final : public Objective {
 public:
  double evaluateWithGradient(std::span<const float> x, std::span<float> gradient) override {
    double f = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      f += double(x[i]) * x[i];
      gradient[i] = 2 * x[i];
    }
    return f;
  }
};

/// f(x) = 1/2 sum c_i x_i^2 with c_i spread evenly over [1, 10]: condition number 10.
class IllConditionedQuadratic final : public Objective {
 public:
  double evaluateWithGradient(std::span<const float> x, std::span<float> gradient) override {
    double f = 0;
    const double n = static_cast<double>(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double c = x.size() > 1 ? 1 + 9 * static_cast<double>(i) / (n - 1) : 1;
      f += 0.5 * c * double(x[i]) * x[i];
      gradient[i] = static_cast<float>(c * x[i]);
    }
    return f;
  }
};

/// f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1).
class Rosenbrock final : public Objective {
 public:
  double evaluateWithGradient(std::span<const float> v, std::span<float> gradient) override {
    const double x = v[0], y = v[1];
    gradient[0] = static_cast<float>(-2 * (1 - x) - 400 * x * (y - x * x));
    gradient[1] = static_cast<float>(200 * (y - x * x));
    return (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
  }
};

/// Asks to stop once `stop_at` steps were taken.
class StopAfter final : public TrainingCallback {
 public:
  explicit StopAfter(std::uint64_t stop_at) : stop_at_(stop_at) {}
  Status onStepEnd(TrainingState& state) override {
    ++calls;
    if (state.global_step >= stop_at_) {
      state.requestStop("reached step " + std::to_string(stop_at_));
    }
    return Status();
  }
  Status onRunEnd(TrainingState& /*state*/, Status& /*outcome*/) override {
    ended = true;
    return Status();
  }
  int calls = 0;
  bool ended = false;

 private:
  std::uint64_t stop_at_;
};

inline std::vector<float> tenDimensionalStart() {
  std::vector<float> x(10);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = (i % 2 ? -1.0f : 1.0f) * (1.0f + 0.1f * static_cast<float>(i));
  }
  return x;
}

/// Minimises from `start`; "" and the final value when it fell below `fraction` of the start.
inline std::string minimiseBelow(GradientOptimizer& optimizer, Objective& objective,
                                 std::vector<float> start, double fraction, std::uint64_t max_steps,
                                 double& final_value) {
  std::vector<float> scratch(start.size());
  const double initial = objective.evaluateWithGradient(start, scratch);
  auto result = minimize(optimizer, objective, start, max_steps);
  if (!result.ok()) {
    return result.status().toString();
  }
  final_value = result->value;
  if (!(result->value <= fraction * initial)) {
    return "value went from " + std::to_string(initial) + " to " + std::to_string(result->value) +
           " in " + std::to_string(result->steps) + " steps at learning rate " +
           std::to_string(optimizer.learningRate());
  }
  return {};
}

/// What is wrong with `candidate` for `space`; empty when every value lies inside it.
inline std::string searchSpaceProblem(const SearchSpace& space, const Candidate& candidate) {
  if (candidate.values.size() != space.size()) {
    return "candidate " + std::to_string(candidate.id) + " has " +
           std::to_string(candidate.values.size()) + " values for " + std::to_string(space.size()) +
           " dimensions";
  }
  for (std::size_t i = 0; i < space.size(); ++i) {
    const auto& dim = space[i];
    const double v = candidate.values[i];
    const std::string where =
        "candidate " + std::to_string(candidate.id) + " '" + dim.name + "' = " + std::to_string(v);
    const bool active = dimensionActive(space, i, candidate.values);
    if (!active) {
      if (!std::isnan(v)) {
        return where + " should be NaN: the dimension is inactive for its parent's choice";
      }
      continue;
    }
    if (!std::isfinite(v)) {
      return where + " is not finite";
    }
    switch (dim.type) {
      case SearchDimension::Type::kFloat:
        if (v < dim.low || v > dim.high) {
          return where + " is outside [" + std::to_string(dim.low) + ", " +
                 std::to_string(dim.high) + "]";
        }
        break;
      case SearchDimension::Type::kInt:
        if (v != std::round(v) || v < dim.low || v > dim.high) {
          return where + " is not an integer in [" + std::to_string(dim.low) + ", " +
                 std::to_string(dim.high) + "]";
        }
        break;
      case SearchDimension::Type::kCategorical:
        if (v != std::round(v) || v < 0 || v >= static_cast<double>(dim.choices.size())) {
          return where + " is not a choice index below " + std::to_string(dim.choices.size());
        }
        break;
    }
  }
  return {};
}

inline SearchSpace mixedSpace() {
  SearchSpace space(4);
  space[0].name = "x";
  space[0].type = SearchDimension::Type::kFloat;
  space[0].low = -5;
  space[0].high = 5;
  space[1].name = "learning_rate";
  space[1].type = SearchDimension::Type::kFloat;
  space[1].low = 1e-4;
  space[1].high = 1;
  space[1].log_scale = true;
  space[2].name = "layers";
  space[2].type = SearchDimension::Type::kInt;
  space[2].low = 1;
  space[2].high = 10;
  space[3].name = "activation";
  space[3].type = SearchDimension::Type::kCategorical;
  space[3].choices = {"relu", "tanh", "gelu"};
  return space;
}

/// The mixed space with two conditional dimensions: "momentum" only for choice 0 (relu) of
/// "activation", "width" for choices 1 and 2.
inline SearchSpace conditionalSpace() {
  SearchSpace space = mixedSpace();
  SearchDimension momentum;
  momentum.name = "momentum";
  momentum.low = 0;
  momentum.high = 0.99;
  momentum.parent = 3;
  momentum.parent_choices = {0};
  SearchDimension width;
  width.name = "width";
  width.type = SearchDimension::Type::kInt;
  width.low = 16;
  width.high = 512;
  width.log_scale = true;
  width.parent = 3;
  width.parent_choices = {1, 2};
  space.push_back(momentum);
  space.push_back(width);
  return space;
}

/// A sphere-like function of the mixed space, minimal at x = 1, lr = 1e-2, layers = 3, tanh.
inline double mixedObjective(const std::vector<double>& v) {
  const double log_rate = std::log10(v[1]) + 2;
  return (v[0] - 1) * (v[0] - 1) + log_rate * log_rate + (v[2] - 3) * (v[2] - 3) / 10 +
         (v[3] == 1 ? 0 : 1);
}

}  // namespace optimizer_conformance_detail

/// Runs every gradient-optimizer check against `optimizer`. Never throws; failures are in
/// the results. The optimizer's learning rate is restored before returning.
inline CheckResults checkGradientOptimizer(GradientOptimizer& optimizer) {
  namespace d = optimizer_conformance_detail;
  CheckResults r;
  const double base_rate = optimizer.learningRate();
  expectThat(r, "learningRate() is positive and finite", base_rate > 0 && std::isfinite(base_rate),
             "learningRate() is " + std::to_string(base_rate));
  optimizer.setLearningRate(base_rate / 2);
  expectThat(r, "setLearningRate() changes learningRate()",
             optimizer.learningRate() == base_rate / 2,
             "after setLearningRate(" + std::to_string(base_rate / 2) + ") it is " +
                 std::to_string(optimizer.learningRate()));
  optimizer.setLearningRate(base_rate);

  constexpr std::uint64_t kBudget = 20000;
  {
    d::Sphere sphere;
    double value = 0;
    std::string problem =
        d::minimiseBelow(optimizer, sphere, d::tenDimensionalStart(), 1e-3, kBudget, value);
    expectThat(r, "minimises a 10-D sphere to below 1/1000 of its start value", problem.empty(),
               problem);
  }
  {
    d::IllConditionedQuadratic quadratic;
    double value = 0;
    std::string problem =
        d::minimiseBelow(optimizer, quadratic, d::tenDimensionalStart(), 1e-3, kBudget, value);
    expectThat(r, "minimises a 10-D quadratic of condition 10 to below 1/1000 of its start",
               problem.empty(), problem);
  }
  {
    d::Rosenbrock rosenbrock;
    std::string problem;
    for (double scale : {1.0, 0.1, 0.01}) {
      optimizer.setLearningRate(base_rate * scale);
      double value = 0;
      problem = d::minimiseBelow(optimizer, rosenbrock, {-1.2f, 1.0f}, 0.1, kBudget, value);
      if (problem.empty()) {
        break;
      }
    }
    optimizer.setLearningRate(base_rate);
    expectThat(r, "improves 2-D Rosenbrock from (-1.2, 1) by at least 90%", problem.empty(),
               problem + " (also tried 1/10 and 1/100 of the rate)");
  }

  // A checkpoint restores the exact trajectory, also into a fresh begin().
  {
    d::IllConditionedQuadratic quadratic;
    std::vector<float> x = d::tenDimensionalStart();
    Parameter p;
    p.name = "x";
    p.value = Tensor::fromVector(x, {10});
    p.grad = Tensor::zeros(DType::kFloat32, {10});
    std::span<Parameter> params(&p, 1);
    std::string problem;
    auto stepOnce = [&]() -> Status {
      quadratic.evaluateWithGradient(p.value.span<float>(), p.grad.span<float>());
      return optimizer.step(params);
    };
    Status s = optimizer.begin(params);
    for (int i = 0; s.ok() && i < 5; ++i) {
      s = stepOnce();
    }
    std::string state;
    if (s.ok()) {
      s = optimizer.saveState(state);
    }
    std::vector<float> at_save(p.value.span<float>().begin(), p.value.span<float>().end());
    std::vector<float> expected;
    if (s.ok()) {
      s = stepOnce();
      expected.assign(p.value.span<float>().begin(), p.value.span<float>().end());
    }
    if (!s.ok()) {
      problem = s.toString();
    }
    if (problem.empty()) {
      // Drift away, start over, then restore.
      for (int i = 0; i < 3; ++i) {
        stepOnce().ignoreError();
      }
      s = optimizer.begin(params);
      std::copy(at_save.begin(), at_save.end(), p.value.span<float>().begin());
      if (s.ok()) {
        s = optimizer.loadState(state);
      }
      if (s.ok()) {
        s = stepOnce();
      }
      if (!s.ok()) {
        problem = s.toString();
      } else if (!std::equal(expected.begin(), expected.end(), p.value.span<float>().begin())) {
        problem = "the step after loadState() differs from the step after saveState()";
      }
    }
    expectThat(r, "saveState()/loadState() after begin() reproduce the next step exactly",
               problem.empty(), problem);

    if (!state.empty()) {
      Status truncated = optimizer.loadState(std::string_view(state).substr(0, state.size() - 1));
      expectThat(r, "loadState() refuses a truncated state", !truncated.ok(), "it was accepted");
    }
    Parameter other;
    other.name = "y";
    other.value = Tensor::zeros(DType::kFloat32, {3});
    other.grad = Tensor::zeros(DType::kFloat32, {3});
    std::span<Parameter> other_params(&other, 1);
    Status begun = optimizer.begin(other_params);
    Status mismatched = begun.ok() ? optimizer.loadState(state) : begun;
    expectThat(r, "loadState() refuses a state saved for other parameters",
               begun.ok() && !mismatched.ok(),
               begun.ok() ? "a state for 10 values loaded into 3" : begun.toString());
  }

  {
    d::IllConditionedQuadratic quadratic;
    d::StopAfter stop(3);
    std::vector<float> x = d::tenDimensionalStart();
    auto result = minimize(optimizer, quadratic, x, 1000, 0, &stop);
    expectThat(r, "a callback requesting a stop at step 3 stops training at step 3",
               result.ok() && result->steps == 3 && result->stopped_by_callback && stop.ended,
               result.ok() ? "stopped after " + std::to_string(result->steps) + " steps"
                           : result.status().toString());
  }
  optimizer.setLearningRate(base_rate);
  return r;
}

/// Runs every search-optimizer check against `optimizer`. Never throws; failures are in the
/// results.
inline CheckResults checkSearchOptimizer(SearchOptimizer& optimizer) {
  namespace d = optimizer_conformance_detail;
  CheckResults r;
  const SearchSpace space = d::mixedSpace();
  Status begun = optimizer.begin(space, 42, 1);
  expectOk(r, "begin() accepts a float, log-float, int and categorical space", begun);
  if (!begun.ok()) {
    return r;
  }

  auto first = optimizer.ask(8);
  std::string problem = first.ok() ? "" : first.status().toString();
  std::set<std::uint64_t> ids;
  if (first.ok()) {
    if (first->size() != 8) {
      problem = "ask(8) returned " + std::to_string(first->size()) + " candidates";
    }
    for (const auto& c : *first) {
      ids.insert(c.id);
      if (problem.empty()) {
        problem = d::searchSpaceProblem(space, c);
      }
    }
    if (problem.empty() && ids.size() != first->size()) {
      problem = "ask(8) repeated an id";
    }
  }
  expectThat(r, "ask(8) gives 8 candidates with unique ids, every value inside the space",
             problem.empty(), problem);
  if (!problem.empty()) {
    return r;
  }

  // 25 rounds of ask(8) / tell: ids stay unique and values inside the space throughout.
  auto search = [&](const std::vector<Candidate>& opening, double& best_of_first,
                    double& best) -> std::string {
    std::vector<Candidate> batch = opening;
    best_of_first = INFINITY;
    best = INFINITY;
    for (int round = 0; round < 25; ++round) {
      if (round > 0) {
        auto more = optimizer.ask(8);
        if (!more.ok()) {
          return more.status().toString();
        }
        batch = std::move(more).value();
        for (const auto& c : batch) {
          if (!ids.insert(c.id).second) {
            return "id " + std::to_string(c.id) + " was handed out twice";
          }
        }
      }
      std::vector<Evaluation> results;
      for (const auto& c : batch) {
        if (auto wrong = d::searchSpaceProblem(space, c); !wrong.empty()) {
          return wrong;
        }
        const double value = d::mixedObjective(c.values);
        best = std::min(best, value);
        results.push_back({c.id, value, false, {}});
      }
      if (round == 0) {
        best_of_first = best;
      }
      Status s = optimizer.tell(results);
      if (!s.ok()) {
        return "tell(): " + s.toString();
      }
    }
    return {};
  };

  // Random search keeps the first 8's best with probability 8/200, so one seed could fail by
  // chance: ask for improvement in most of 5 seeded searches.
  int improved = 0;
  std::string detail;
  for (std::uint64_t seed = 42; seed < 47 && problem.empty(); ++seed) {
    std::vector<Candidate> opening = *first;
    if (seed != 42) {
      Status s = optimizer.begin(space, seed, 1);
      auto asked = s.ok() ? optimizer.ask(8) : Expected<std::vector<Candidate>>(s);
      if (!asked.ok()) {
        problem = asked.status().toString();
        break;
      }
      opening = std::move(asked).value();
      for (const auto& c : opening) {
        ids.insert(c.id);
      }
    }
    double best_of_first = 0, best = 0;
    problem = search(opening, best_of_first, best);
    improved += problem.empty() && best < best_of_first ? 1 : 0;
    detail += "seed " + std::to_string(seed) + ": " + std::to_string(best_of_first) + " -> " +
              std::to_string(best) + "; ";
  }
  expectThat(r, "asking and telling 200 candidates keeps ids unique and values in the space",
             problem.empty(), problem);
  expectThat(r, "in at least 3 of 5 seeded searches, 200 evaluations beat the best of the first 8",
             problem.empty() && improved >= 3, detail);

  {
    auto lost = optimizer.ask(2);
    Status failed = lost.ok() && lost->size() == 2
                        ? optimizer.tell(std::vector<Evaluation>{{(*lost)[1].id, 0, true, {}}})
                        : lost.status();
    expectThat(r, "tell() accepts a failed evaluation and candidates left unreported", failed.ok(),
               failed.toString());
    const std::uint64_t unknown = *ids.rbegin() + 1000000;
    Status s = optimizer.tell(std::vector<Evaluation>{{unknown, 1.0, false, {}}});
    expectThat(r, "tell() with an unknown id gives kInvalidArgument",
               s.code() == StatusCode::kInvalidArgument, s.toString());
  }

  {
    Status a = optimizer.begin(space, 7, 1);
    auto first_run = a.ok() ? optimizer.ask(4) : Expected<std::vector<Candidate>>(a);
    Status b = optimizer.begin(space, 7, 1);
    auto second_run = b.ok() ? optimizer.ask(4) : Expected<std::vector<Candidate>>(b);
    bool same = first_run.ok() && second_run.ok() && first_run->size() == second_run->size();
    for (std::size_t i = 0; same && i < first_run->size(); ++i) {
      same = (*first_run)[i].values == (*second_run)[i].values;
    }
    expectThat(r, "begin() with the same seed gives the same first proposals", same,
               !first_run.ok()    ? first_run.status().toString()
               : !second_run.ok() ? second_run.status().toString()
                                  : "the proposals differ");
  }

  {
    std::string accepted;
    SearchSpace reversed = space;
    reversed[0].low = 5;
    reversed[0].high = -5;
    SearchSpace log_of_zero = space;
    log_of_zero[1].low = 0;
    SearchSpace no_choices = space;
    no_choices[3].choices.clear();
    const std::pair<const char*, const SearchSpace*> invalid[] = {
        {"low > high", &reversed},
        {"log scale from 0", &log_of_zero},
        {"categorical without choices", &no_choices}};
    for (const auto& [name, bad] : invalid) {
      Status s = optimizer.begin(*bad, 1, 1);
      if (s.code() != StatusCode::kInvalidArgument) {
        accepted += std::string(name) + ": " + s.toString() + "; ";
      }
    }
    expectThat(r, "begin() refuses impossible spaces with kInvalidArgument", accepted.empty(),
               accepted);
  }

  {
    const SearchSpace conditional = d::conditionalSpace();
    Status s = optimizer.begin(conditional, 3, 1);
    std::string problem = s.ok() ? "" : s.toString();
    for (int round = 0; problem.empty() && round < 6; ++round) {
      auto batch = optimizer.ask(8);
      if (!batch.ok()) {
        problem = batch.status().toString();
        break;
      }
      std::vector<Evaluation> results;
      for (const auto& c : *batch) {
        problem = d::searchSpaceProblem(conditional, c);
        if (!problem.empty()) {
          break;
        }
        const double extra = std::isnan(c.values[4]) ? 0 : c.values[4];
        results.push_back({c.id, d::mixedObjective(c.values) + extra, false, {}});
      }
      if (problem.empty()) {
        Status told = optimizer.tell(results);
        problem = told.ok() ? "" : "tell(): " + told.toString();
      }
    }
    expectThat(r, "a conditional space gets NaN exactly in the inactive dimensions",
               problem.empty(), problem);
  }

  {
    // Save mid-search with candidates outstanding, go on, then start over from the state: the
    // proposals after loadState() are the ones the saved search made.
    std::string problem;
    std::string state;
    std::vector<Candidate> after_save;
    auto fail = [&](const Status& s) {
      if (problem.empty() && !s.ok()) {
        problem = s.toString();
      }
      return !s.ok();
    };
    if (!fail(optimizer.begin(space, 11, 1))) {
      for (int round = 0; round < 4 && problem.empty(); ++round) {
        auto batch = optimizer.ask(6);
        if (fail(batch.status())) {
          break;
        }
        std::vector<Evaluation> results;
        for (std::size_t k = 0; k + 1 < batch->size(); ++k) {  // one left outstanding
          results.push_back({(*batch)[k].id, d::mixedObjective((*batch)[k].values), false, {}});
        }
        fail(optimizer.tell(results));
      }
      if (problem.empty() && !fail(optimizer.saveState(state))) {
        auto next = optimizer.ask(5);
        if (!fail(next.status())) {
          after_save = std::move(next).value();
        }
      }
    }
    bool same = false;
    if (problem.empty() && !fail(optimizer.begin(space, 11, 1)) &&
        !fail(optimizer.loadState(state))) {
      auto again = optimizer.ask(5);
      if (!fail(again.status())) {
        same = again->size() == after_save.size();
        for (std::size_t k = 0; same && k < after_save.size(); ++k) {
          same = (*again)[k].id == after_save[k].id && (*again)[k].values == after_save[k].values;
        }
        if (!same) {
          problem = "the candidates after loadState() differ from those after saveState()";
        }
      }
    }
    expectThat(r, "saveState()/loadState() reproduce the next candidates and their ids exactly",
               problem.empty() && same, problem);

    if (!state.empty()) {
      Status truncated = optimizer.loadState(std::string_view(state).substr(0, state.size() - 1));
      expectThat(r, "loadState() refuses a truncated state", !truncated.ok(), "it was accepted");
      SearchSpace other = space;
      other[0].high = 6;
      Status begun = optimizer.begin(other, 11, 1);
      Status mismatched = begun.ok() ? optimizer.loadState(state) : begun;
      expectThat(r, "loadState() refuses a state saved for another space",
                 begun.ok() && !mismatched.ok(),
                 begun.ok() ? "it was accepted" : begun.toString());
    }
  }

  {
    const std::size_t too_many = optimizer.maxObjectives() + 1;
    Status s = optimizer.begin(space, 1, too_many);
    expectThat(r, "begin() refuses more objectives than maxObjectives() with kInvalidArgument",
               s.code() == StatusCode::kInvalidArgument, s.toString());
  }
  return r;
}

}  // namespace aimass::testing
