// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/model.h"
#include "aimass/node.h"
#include "aimass/status.h"
#include "aimass/training.h"

namespace aimass {

/// Which of the two optimizer interfaces a node implements.
enum class OptimizerStyle {
  kGradient,  ///< aimass::GradientOptimizer: step() over parameters and their gradients
  kSearch,    ///< aimass::SearchOptimizer: ask()/tell() over a search space
};

/// Base of both optimizer interfaces. The host casts on style().
class Optimizer : public Node {
 public:
  NodeKind kind() const noexcept final { return NodeKind::kOptimizer; }
  virtual OptimizerStyle style() const noexcept = 0;
};

/// Updates parameters from their gradients (SGD, Adam, ...).
///
/// Lifecycle: begin() once per set of parameters (allocates moments etc.), then step() after
/// every forwardBackward(). The parameter buffers must be the same ones begin() saw.
/// Threading: not thread-safe; called from the training thread only. step() is a hot path: it
/// must not allocate or throw.
class GradientOptimizer : public Optimizer {
 public:
  OptimizerStyle style() const noexcept final { return OptimizerStyle::kGradient; }

  /// Resets state for these parameters (sizes fixed from now on).
  virtual Status begin(std::span<Parameter> parameters) = 0;
  /// Applies one update to every parameter in place from its grad.
  virtual Status step(std::span<Parameter> parameters) = 0;
  /// The base learning rate, and a way for schedules to change it between steps.
  virtual double learningRate() const = 0;
  virtual void setLearningRate(double rate) = 0;
  /// Optimizer state for checkpoints (moments, step count); restored by loadState() after
  /// begin() with the same parameters.
  virtual Status saveState(std::string& out) const = 0;
  virtual Status loadState(std::string_view state) = 0;
};

/// For GradientOptimizer::begin(): every parameter needs FP32 value and grad tensors with the
/// same number of elements. The message names the optimizer and the parameter.
inline Status checkParameters(std::string_view optimizer, std::span<const Parameter> parameters) {
  for (const auto& p : parameters) {
    if (p.value.dtype() != DType::kFloat32 || p.grad.dtype() != DType::kFloat32 ||
        p.value.numel() != p.grad.numel() || p.value.numel() < 0) {
      return invalidArgument(
          std::string(optimizer) + ": parameter '" + p.name +
          "' needs FP32 value and grad of the same size, got " +
          std::string(dtypeName(p.value.dtype())) + " " + shapeToString(p.value.shape()) + " and " +
          std::string(dtypeName(p.grad.dtype())) + " " + shapeToString(p.grad.shape()));
    }
  }
  return Status();
}

/// For GradientOptimizer::step(): the parameters must be those begin() saw, whose element
/// counts it recorded in `sizes`. Allocates only to build an error message.
inline Status checkParametersUnchanged(std::string_view optimizer,
                                       std::span<const Parameter> parameters,
                                       std::span<const std::size_t> sizes) {
  if (parameters.size() != sizes.size()) {
    return invalidArgument(std::string(optimizer) + ": step() got " +
                           std::to_string(parameters.size()) + " parameters, begin() had " +
                           std::to_string(sizes.size()));
  }
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (static_cast<std::size_t>(parameters[i].value.numel()) != sizes[i] ||
        parameters[i].grad.numel() != parameters[i].value.numel()) {
      return invalidArgument(std::string(optimizer) + ": parameter '" + parameters[i].name +
                             "' changed size since begin()");
    }
  }
  return Status();
}

/// A differentiable function of a flat float vector, for driving a GradientOptimizer directly
/// (conformance tests, small problems).
class Objective {
 public:
  virtual ~Objective() = default;
  /// Returns f(x) and writes its gradient into `gradient` (same size as x).
  virtual double evaluateWithGradient(std::span<const float> x, std::span<float> gradient) = 0;
};

struct MinimizeResult {
  double value = 0;
  std::uint64_t steps = 0;
  bool stopped_by_callback = false;
  std::string stop_reason;  ///< the callback's reason when stopped_by_callback
};

/// One dimension of a search space.
struct SearchDimension {
  enum class Type { kFloat, kInt, kCategorical };
  std::string name;
  Type type = Type::kFloat;
  double low = 0;  ///< kFloat/kInt: inclusive bounds
  double high = 1;
  bool log_scale = false;            ///< sample uniformly in log space (low > 0)
  std::vector<std::string> choices;  ///< kCategorical: the values
  /// A conditional dimension (a tree-structured space: `units_2` matters only when
  /// `layers` is 2): active only when the kCategorical dimension at index `parent`, which
  /// comes earlier in the space, is active and takes one of the choice indices in
  /// `parent_choices`. An inactive dimension's value in a Candidate is NaN, and an optimizer
  /// proposes NaN exactly there. Unset: always active.
  std::optional<std::size_t> parent;
  std::vector<std::size_t> parent_choices;
};

using SearchSpace = std::vector<SearchDimension>;

/// Whether dimension `index` is active in `values` (a candidate's values, filled in order up to
/// at least `index`): its parent chain is active and takes one of the listed choices.
inline bool dimensionActive(const SearchSpace& space, std::size_t index,
                            std::span<const double> values) {
  const SearchDimension& d = space[index];
  if (!d.parent) {
    return true;
  }
  const std::size_t parent = *d.parent;
  if (parent >= index || parent >= values.size() || std::isnan(values[parent])) {
    return false;
  }
  for (std::size_t choice : d.parent_choices) {
    if (values[parent] == static_cast<double>(choice)) {
      return true;
    }
  }
  return false;
}

/// A point to evaluate. values[i] is dimension i's value: the number for kFloat/kInt (an
/// integer for kInt), the choice index for kCategorical, NaN for an inactive conditional one.
struct Candidate {
  std::uint64_t id = 0;
  std::vector<double> values;
};

/// The outcome of evaluating a candidate. Failed evaluations carry no value.
struct Evaluation {
  std::uint64_t id = 0;
  double value = 0;  ///< the (first) objective, minimised
  bool failed = false;
  /// Multi-objective searches (begin() with objectives > 1): every objective's value,
  /// minimised, objectives[0] == value. Empty in single-objective searches.
  std::vector<double> objectives;
};

/// Black-box search (random, grid, genetic, CMA-ES, REINFORCE, TPE) through ask and tell.
/// The optimizer always minimises; maximisers negate their values.
///
/// Lifecycle: begin() once, then any interleaving of ask() and tell(); tell() may report
/// candidates in any order and leave some unreported (lost trials).
/// Determinism: the same begin() arguments and the same sequence of calls give the same
/// candidates, on every platform (the tuner's tests and resumed studies rely on it).
/// Threading: not thread-safe; the tuner serialises calls.
class SearchOptimizer : public Optimizer {
 public:
  OptimizerStyle style() const noexcept final { return OptimizerStyle::kSearch; }

  /// Starts a new search over `space`, seeded, minimising `objectives` values per candidate
  /// (1 for most searches). kInvalidArgument, naming the dimension, for a space it cannot
  /// handle; kInvalidArgument for more objectives than maxObjectives().
  virtual Status begin(const SearchSpace& space, std::uint64_t seed, std::size_t objectives) = 0;
  /// Proposes `n` candidates inside the space, each with a fresh id.
  virtual Expected<std::vector<Candidate>> ask(std::size_t n) = 0;
  /// Reports results for candidates from ask(); kInvalidArgument for an unknown id.
  virtual Status tell(std::span<const Evaluation> results) = 0;
  /// How many objectives one search can minimise at once (the genetic optimizer's
  /// non-dominated sorting takes several; most take 1).
  virtual std::size_t maxObjectives() const noexcept { return 1; }
  /// Everything the search knows after begin() (its space, random stream, history, population,
  /// outstanding candidates and next id), as bytes of its own format written to `out` (empty on
  /// entry). A resumed study calls begin() with the same arguments, then loadState(), and then
  /// must get exactly the candidates the saved search would have proposed next.
  virtual Status saveState(std::string& out) const = 0;
  /// Restores saveState()'s bytes after begin(). The bytes come from storage: kDataLoss for a
  /// truncated or corrupt state, kInvalidArgument for a state of another space; nothing changes
  /// on an error.
  virtual Status loadState(std::string_view state) = 0;
};

}  // namespace aimass

// Inline helpers, outside the ABI (sdk/include/aimass/util/).
#include "aimass/util/minimize.h"
