// SPDX-License-Identifier: Apache-2.0
#include "mf_train.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

namespace aimass::plugins::model {

namespace {

/// Rows of one side (users or items) with their interactions: (other index, value).
struct Csr {
  std::vector<std::size_t> start;
  std::vector<MfInteraction> entries;
  std::span<const MfInteraction> row(std::size_t r) const {
    return {entries.data() + start[r], start[r + 1] - start[r]};
  }
};

/// Groups the rows by `by` (rows keep their order within a group); with `sum`, repeated
/// (row, other) pairs add up into one entry.
Csr groupBy(const std::vector<std::int32_t>& by, const std::vector<std::int32_t>& other,
            const std::vector<float>& value, std::size_t groups, bool sum) {
  Csr csr;
  csr.start.assign(groups + 1, 0);
  for (auto g : by) {
    ++csr.start[static_cast<std::size_t>(g) + 1];
  }
  std::partial_sum(csr.start.begin(), csr.start.end(), csr.start.begin());
  csr.entries.resize(by.size());
  std::vector<std::size_t> next(csr.start.begin(), csr.start.end() - 1);
  for (std::size_t r = 0; r < by.size(); ++r) {
    csr.entries[next[static_cast<std::size_t>(by[r])]++] = MfInteraction{other[r], value[r]};
  }
  if (!sum) {
    return csr;
  }
  Csr summed;
  summed.start.assign(groups + 1, 0);
  for (std::size_t g = 0; g < groups; ++g) {
    std::vector<MfInteraction> row(csr.row(g).begin(), csr.row(g).end());
    std::sort(row.begin(), row.end(),
              [](const MfInteraction& a, const MfInteraction& b) { return a.item < b.item; });
    for (const auto& e : row) {
      if (summed.entries.size() > summed.start[g] && summed.entries.back().item == e.item) {
        summed.entries.back().value += e.value;
      } else {
        summed.entries.push_back(e);
      }
    }
    summed.start[g + 1] = summed.entries.size();
  }
  return summed;
}

/// Runs f(begin, end) over [0, n) in `threads` contiguous chunks.
template <typename F>
void parallelFor(std::size_t n, std::size_t threads, F f) {
  threads = std::max<std::size_t>(1, std::min(threads, n / 64 + 1));
  if (threads == 1) {
    f(std::size_t{0}, n);
    return;
  }
  std::vector<std::thread> workers;
  const std::size_t chunk = (n + threads - 1) / threads;
  for (std::size_t t = 0; t < threads; ++t) {
    const std::size_t begin = t * chunk, end = std::min(n, begin + chunk);
    if (begin < end) {
      workers.emplace_back([&f, begin, end] { f(begin, end); });
    }
  }
  for (auto& w : workers) {
    w.join();
  }
}

/// Fills a (rank + 1)-stride table with N(0, std) factors and zero biases.
void initTable(std::vector<float>& table, std::size_t rows, std::size_t rank, double std_dev,
               MfRng& rng) {
  table.assign(rows * (rank + 1), 0.0f);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t d = 0; d < rank; ++d) {
      table[r * (rank + 1) + d] = static_cast<float>(std_dev * rng.normal());
    }
  }
}

double explicitMse(const MfTrainingSet& set, const MfState& state) {
  double sum = 0;
  for (std::size_t r = 0; r < set.user.size(); ++r) {
    const double e =
        state.score(static_cast<std::size_t>(set.user[r]), static_cast<std::size_t>(set.item[r])) -
        set.value[r];
    sum += e * e;
  }
  return sum / static_cast<double>(std::max<std::size_t>(1, set.user.size()));
}

/// Mini-batch Adam on the mean over the batch of (pred - r)^2 + lf (|p_u|^2 + |q_i|^2)
/// + l2_biases (b_u^2 + b_i^2); only the rows a batch touches are updated (lazy Adam, with the
/// global step in the bias correction). lf is l2_start for the first 70% of the epochs and
/// l2_factors after: the strong start shrinks away the directions the data does not support,
/// the weaker end lets the supported ones grow back from the shrinkage L2 causes.
void trainAdam(const MfTrainingSet& set, const MfOptions& options, double l2_start, MfRng& rng,
               FitObserver& observer, MfState& state) {
  const std::size_t k = static_cast<std::size_t>(state.rank), s = k + 1;
  const float lb = static_cast<float>(state.l2_biases);
  // The factor weight starts at l2_start and drops to l2_factors for the last 30% of epochs.
  const std::int64_t anneal_at = (options.epochs * 7 + 9) / 10;
  float lf = 0;
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  struct Side {
    std::vector<float>* table;
    std::vector<float> m, v, g;
    std::vector<std::int32_t> touched;
    std::vector<char> marked;
  };
  Side sides[2];
  sides[0].table = &state.user_table;
  sides[1].table = &state.item_table;
  for (auto& side : sides) {
    const std::size_t size = side.table->size();
    side.m.assign(size, 0.0f);
    side.v.assign(size, 0.0f);
    side.g.assign(size, 0.0f);
    side.marked.assign(size / s, 0);
  }
  std::vector<std::uint32_t> order(set.user.size());
  std::iota(order.begin(), order.end(), 0u);
  const std::size_t batch = static_cast<std::size_t>(std::max<std::int64_t>(1, options.batch_size));
  std::uint64_t step = 0;
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.below(i)]);
    }
    lf = static_cast<float>(epoch < anneal_at ? l2_start : state.l2_factors);
    double loss = 0;
    for (std::size_t begin = 0; begin < order.size(); begin += batch) {
      const std::size_t end = std::min(order.size(), begin + batch);
      const float scale = 2.0f / static_cast<float>(end - begin);
      for (std::size_t j = begin; j < end; ++j) {
        const std::size_t u = static_cast<std::size_t>(set.user[order[j]]);
        const std::size_t i = static_cast<std::size_t>(set.item[order[j]]);
        const float* p = state.user_table.data() + u * s;
        const float* q = state.item_table.data() + i * s;
        const float e = state.mu + p[k] + q[k] + dotProduct(p, q, k) - set.value[order[j]];
        loss += static_cast<double>(e) * e;
        float* gp = sides[0].g.data() + u * s;
        float* gq = sides[1].g.data() + i * s;
        for (std::size_t d = 0; d < k; ++d) {
          gp[d] += scale * (e * q[d] + lf * p[d]);
          gq[d] += scale * (e * p[d] + lf * q[d]);
        }
        gp[k] += scale * (e + lb * p[k]);
        gq[k] += scale * (e + lb * q[k]);
        for (auto [side, row] : {std::pair{&sides[0], u}, std::pair{&sides[1], i}}) {
          if (!side->marked[row]) {
            side->marked[row] = 1;
            side->touched.push_back(static_cast<std::int32_t>(row));
          }
        }
      }
      ++step;
      const float rate = static_cast<float>(
          options.learning_rate * std::sqrt(1 - std::pow(b2, step)) / (1 - std::pow(b1, step)));
      for (auto& side : sides) {
        for (auto row : side.touched) {
          const std::size_t at = static_cast<std::size_t>(row) * s;
          float* w = side.table->data() + at;
          float* m = side.m.data() + at;
          float* v = side.v.data() + at;
          float* g = side.g.data() + at;
          for (std::size_t d = 0; d < s; ++d) {
            m[d] = 0.9f * m[d] + 0.1f * g[d];
            v[d] = 0.999f * v[d] + 0.001f * g[d] * g[d];
            w[d] -= rate * m[d] / (std::sqrt(v[d]) + static_cast<float>(eps));
            g[d] = 0;
          }
          side.marked[static_cast<std::size_t>(row)] = 0;
        }
        side.touched.clear();
      }
    }
    if (observer.onIteration(static_cast<std::uint64_t>(epoch + 1),
                             loss / static_cast<double>(std::max<std::size_t>(1, order.size())))) {
      return;
    }
  }
}

/// Plain SGD, one interaction at a time (batch_size is not used).
void trainSgd(const MfTrainingSet& set, const MfOptions& options, MfRng& rng, FitObserver& observer,
              MfState& state) {
  const std::size_t k = static_cast<std::size_t>(state.rank), s = k + 1;
  const float lr = static_cast<float>(options.learning_rate);
  const float lf = static_cast<float>(state.l2_factors), lb = static_cast<float>(state.l2_biases);
  std::vector<std::uint32_t> order(set.user.size());
  std::iota(order.begin(), order.end(), 0u);
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng.below(i)]);
    }
    double loss = 0;
    for (auto r : order) {
      float* p = state.user_table.data() + static_cast<std::size_t>(set.user[r]) * s;
      float* q = state.item_table.data() + static_cast<std::size_t>(set.item[r]) * s;
      const float e = set.value[r] - (state.mu + p[k] + q[k] + dotProduct(p, q, k));
      loss += static_cast<double>(e) * e;
      for (std::size_t d = 0; d < k; ++d) {
        const float pd = p[d];
        p[d] += lr * (e * q[d] - lf * pd);
        q[d] += lr * (e * pd - lf * q[d]);
      }
      p[k] += lr * (e - lb * p[k]);
      q[k] += lr * (e - lb * q[k]);
    }
    if (observer.onIteration(static_cast<std::uint64_t>(epoch + 1),
                             loss / static_cast<double>(std::max<std::size_t>(1, order.size())))) {
      return;
    }
  }
}

/// The HKV objective per interaction: the sum over all pairs of c (p - x.y)^2 plus the
/// penalty, where the pairs without interactions contribute x^T (Y^T Y) x minus the sum over the
/// observed ones of (x.y)^2.
double implicitObjective(const Csr& by_user, std::size_t users, std::size_t items,
                         const MfState& state) {
  const std::size_t k = static_cast<std::size_t>(state.rank), s = k + 1;
  const std::vector<double> gram = gramOf(state.item_table, items, k);
  double objective = 0;
  for (std::size_t u = 0; u < users; ++u) {
    const float* x = state.user_table.data() + u * s;
    for (std::size_t a = 0; a < k; ++a) {
      for (std::size_t b = 0; b < k; ++b) {
        objective += x[a] * gram[a * k + b] * x[b];
      }
    }
    for (const auto& e : by_user.row(u)) {
      const double c = 1.0 + state.alpha * e.value;
      const double score =
          dotProduct(x, state.item_table.data() + static_cast<std::size_t>(e.item) * s, k);
      objective += c - 2 * c * score + (c - 1) * score * score;
    }
  }
  for (const auto* table : {&state.user_table, &state.item_table}) {
    for (std::size_t at = 0; at < table->size(); ++at) {
      objective += at % s == k ? 0.0 : state.l2_factors * (*table)[at] * (*table)[at];
    }
  }
  return objective / static_cast<double>(std::max<std::size_t>(1, by_user.entries.size()));
}

/// Alternating least squares: each user's row solved exactly against the fixed items, then each
/// item's against the fixed users, `epochs` times.
/// - Explicit: ridge steps with biases, each row weighted by its interactions (l2 * n, the
///   per-interaction penalty of the other solvers).
/// - Implicit: the weighted ALS of Hu, Koren and Volinsky (2008): preference 1 for observed
///   pairs and 0 elsewhere, confidence 1 + alpha r (repeated pairs add up); each step uses the
///   Gram matrix of the fixed side once for all rows, so a row costs O(n_u k^2 + k^3).
void trainAls(const MfTrainingSet& set, const MfOptions& options, FitObserver& observer,
              MfState& state, std::size_t threads) {
  const bool implicit = state.feedback == MfFeedback::kImplicit;
  const std::size_t k = static_cast<std::size_t>(state.rank), s = k + 1;
  const Csr by_user = groupBy(set.user, set.item, set.value, set.users, implicit);
  const Csr by_item = groupBy(set.item, set.user, set.value, set.items, implicit);
  auto sweep = [&](const Csr& rows, std::size_t count, const std::vector<float>& other,
                   std::size_t other_rows, std::vector<float>& out) {
    const std::vector<double> gram =
        implicit ? gramOf(other, other_rows, k) : std::vector<double>();
    parallelFor(count, threads, [&](std::size_t begin, std::size_t end) {
      for (std::size_t r = begin; r < end; ++r) {
        if (implicit) {
          solveImplicitRow(rows.row(r), other.data(), k, gram, state.alpha, state.l2_factors,
                           out.data() + r * s);
        } else {
          const double n = static_cast<double>(rows.row(r).size());
          solveBiasedRow(rows.row(r), other.data(), k, state.mu, state.l2_factors * n,
                         state.l2_biases * n, out.data() + r * s);
        }
      }
    });
  };
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    sweep(by_user, set.users, state.item_table, set.items, state.user_table);
    sweep(by_item, set.items, state.user_table, set.users, state.item_table);
    const double loss = implicit ? implicitObjective(by_user, set.users, set.items, state)
                                 : explicitMse(set, state);
    if (observer.onIteration(static_cast<std::uint64_t>(epoch + 1), loss)) {
      return;
    }
  }
}

/// BPR (Rendle et al. 2009) by SGD on sampled (user, seen item, unseen item) triples with item
/// biases; one epoch draws as many triples as there are training rows.
void trainBpr(const MfTrainingSet& set, const MfOptions& options, MfRng& rng, FitObserver& observer,
              MfState& state) {
  const std::size_t k = static_cast<std::size_t>(state.rank), s = k + 1;
  const float lr = static_cast<float>(options.learning_rate);
  const float lf = static_cast<float>(state.l2_factors), lb = static_cast<float>(state.l2_biases);
  Csr by_user = groupBy(set.user, set.item, set.value, set.users, true);  // sorted per user
  auto seenBy = [&](std::size_t u, std::int32_t item) {
    auto row = by_user.row(u);
    return std::binary_search(
        row.begin(), row.end(), MfInteraction{item, 0},
        [](const MfInteraction& a, const MfInteraction& b) { return a.item < b.item; });
  };
  for (std::int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    double loss = 0;
    for (std::size_t t = 0; t < set.user.size(); ++t) {
      const std::size_t r = rng.below(set.user.size());
      const std::size_t u = static_cast<std::size_t>(set.user[r]);
      auto j = static_cast<std::int32_t>(rng.below(set.items));
      for (int tries = 0; tries < 16 && seenBy(u, j); ++tries) {
        j = static_cast<std::int32_t>(rng.below(set.items));
      }
      float* p = state.user_table.data() + u * s;
      float* qi = state.item_table.data() + static_cast<std::size_t>(set.item[r]) * s;
      float* qj = state.item_table.data() + static_cast<std::size_t>(j) * s;
      if (qi == qj) {
        continue;
      }
      float x = qi[k] - qj[k];
      for (std::size_t d = 0; d < k; ++d) {
        x += p[d] * (qi[d] - qj[d]);
      }
      loss += std::log1p(std::exp(-static_cast<double>(x)));
      const float g = 1.0f / (1.0f + std::exp(x));  // sigmoid(-x)
      for (std::size_t d = 0; d < k; ++d) {
        const float pd = p[d], diff = qi[d] - qj[d];
        p[d] += lr * (g * diff - lf * pd);
        qi[d] += lr * (g * pd - lf * qi[d]);
        qj[d] += lr * (-g * pd - lf * qj[d]);
      }
      qi[k] += lr * (g - lb * qi[k]);
      qj[k] += lr * (-g - lb * qj[k]);
    }
    if (observer.onIteration(
            static_cast<std::uint64_t>(epoch + 1),
            loss / static_cast<double>(std::max<std::size_t>(1, set.user.size())))) {
      return;
    }
  }
}

}  // namespace

void trainMf(const MfTrainingSet& set, MfSolver solver, const MfOptions& options,
             std::uint64_t seed, FitObserver& observer, MfState& state) {
  const std::size_t k = static_cast<std::size_t>(state.rank);
  MfRng rng(seed);
  initTable(state.user_table, set.users, k, options.init_std, rng);
  initTable(state.item_table, set.items, k, options.init_std, rng);
  state.mu = 0;
  if (state.feedback == MfFeedback::kExplicit && !set.value.empty()) {
    double sum = 0;
    for (float v : set.value) {
      sum += v;
    }
    state.mu = static_cast<float>(sum / static_cast<double>(set.value.size()));
  }
  const std::size_t threads = options.threads > 0
                                  ? static_cast<std::size_t>(options.threads)
                                  : std::max(1u, std::thread::hardware_concurrency());
  switch (solver) {
    case MfSolver::kAdam:
      trainAdam(set, options, l2FactorsStartOf(options), rng, observer, state);
      break;
    case MfSolver::kSgd:
      trainSgd(set, options, rng, observer, state);
      break;
    case MfSolver::kAls:
      trainAls(set, options, observer, state, threads);
      break;
    case MfSolver::kBpr:
      trainBpr(set, options, rng, observer, state);
      break;
  }
}

}  // namespace aimass::plugins::model
