// SPDX-License-Identifier: Apache-2.0
#include "mf_state.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "aimass/byte_io.h"
#include "aimass/util/cholesky.h"

namespace aimass::plugins::model {

double MfRng::normal() {
  const double u1 = uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

bool solveSpd(std::vector<double>& a, std::vector<double>& b, std::size_t n) {
  if (cholesky(a, n) != n) {
    return false;
  }
  choleskySolve(a, n, b.data());
  return true;
}

void solveBiasedRow(std::span<const MfInteraction> entries, const float* other_table,
                    std::size_t rank, float mu, double l2_factors, double l2_biases, float* out) {
  const std::size_t n = rank + 1;
  std::vector<double> a(n * n, 0.0), b(n, 0.0);
  for (const auto& e : entries) {
    const float* y = other_table + static_cast<std::size_t>(e.item) * n;
    const double target = static_cast<double>(e.value) - mu - y[rank];
    // The design row is [y_0 .. y_{rank-1}, 1].
    for (std::size_t r = 0; r < n; ++r) {
      const double yr = r < rank ? y[r] : 1.0;
      b[r] += yr * target;
      for (std::size_t c = 0; c <= r; ++c) {
        a[r * n + c] += yr * (c < rank ? y[c] : 1.0);
      }
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < r; ++c) {
      a[c * n + r] = a[r * n + c];
    }
    a[r * n + r] += r < rank ? l2_factors : l2_biases;
    a[r * n + r] += 1e-9;  // keeps a row without interactions or weights solvable
  }
  if (!solveSpd(a, b, n)) {
    std::fill(out, out + n, 0.0f);
    return;
  }
  for (std::size_t r = 0; r < n; ++r) {
    out[r] = static_cast<float>(b[r]);
  }
}

void solveImplicitRow(std::span<const MfInteraction> entries, const float* other_table,
                      std::size_t rank, const std::vector<double>& gram, double alpha, double l2,
                      float* out) {
  const std::size_t stride = rank + 1;
  std::vector<double> a(gram), b(rank, 0.0);
  for (const auto& e : entries) {
    const float* y = other_table + static_cast<std::size_t>(e.item) * stride;
    const double c = 1.0 + alpha * e.value;  // preference 1 for every observed item
    for (std::size_t r = 0; r < rank; ++r) {
      b[r] += c * y[r];
      for (std::size_t k = 0; k <= r; ++k) {
        a[r * rank + k] += (c - 1.0) * y[r] * y[k];
      }
    }
  }
  for (std::size_t r = 0; r < rank; ++r) {
    for (std::size_t k = 0; k < r; ++k) {
      a[k * rank + r] = a[r * rank + k];
    }
    a[r * rank + r] += l2 + 1e-9;
  }
  if (!solveSpd(a, b, rank)) {
    std::fill(out, out + stride, 0.0f);
    return;
  }
  for (std::size_t r = 0; r < rank; ++r) {
    out[r] = static_cast<float>(b[r]);
  }
  out[rank] = 0.0f;
}

std::vector<double> gramOf(const std::vector<float>& table, std::size_t rows, std::size_t rank) {
  std::vector<double> g(rank * rank, 0.0);
  const std::size_t stride = rank + 1;
  for (std::size_t i = 0; i < rows; ++i) {
    const float* y = table.data() + i * stride;
    for (std::size_t r = 0; r < rank; ++r) {
      for (std::size_t k = 0; k <= r; ++k) {
        g[r * rank + k] += static_cast<double>(y[r]) * y[k];
      }
    }
  }
  for (std::size_t r = 0; r < rank; ++r) {
    for (std::size_t k = 0; k < r; ++k) {
      g[k * rank + r] = g[r * rank + k];
    }
  }
  return g;
}

Status MfState::derive() {
  MfIdMap users_by_id, items_by_id;
  for (std::size_t u = 0; u < users(); ++u) {
    if (user_ids[u].empty() ||
        !users_by_id.emplace(user_ids[u], static_cast<std::int32_t>(u)).second) {
      return invalidArgument("user id " + std::to_string(u) + " ('" + user_ids[u] +
                             "') is empty or repeated");
    }
  }
  for (std::size_t i = 0; i < items(); ++i) {
    if (item_ids[i].empty() ||
        !items_by_id.emplace(item_ids[i], static_cast<std::int32_t>(i)).second) {
      return invalidArgument("item id " + std::to_string(i) + " ('" + item_ids[i] +
                             "') is empty or repeated");
    }
  }
  user_index = std::move(users_by_id);
  item_index = std::move(items_by_id);
  seen.assign(users(), {});
  for (std::size_t u = 0; u < users(); ++u) {
    auto& s = seen[u];
    for (const auto& e : history[u]) {
      s.push_back(e.item);
    }
    std::sort(s.begin(), s.end());
    s.erase(std::unique(s.begin(), s.end()), s.end());
  }
  item_users.assign(items(), 0);
  for (const auto& s : seen) {
    for (auto i : s) {
      ++item_users[static_cast<std::size_t>(i)];
    }
  }
  refreshPopularity();
  gram = feedback == MfFeedback::kImplicit ? gramOf(item_table, items(), stride() - 1)
                                           : std::vector<double>();
  return okStatus();
}

void MfState::refreshPopularity() {
  popularity.assign(items(), 0.0f);
  const double n = std::max<double>(1.0, static_cast<double>(users()));
  for (std::size_t i = 0; i < items(); ++i) {
    popularity[i] = static_cast<float>(static_cast<double>(item_users[i]) / n);
  }
  popular.resize(items());
  for (std::size_t i = 0; i < items(); ++i) {
    popular[i] = static_cast<std::int32_t>(i);
  }
  std::stable_sort(popular.begin(), popular.end(), [&](std::int32_t a, std::int32_t b) {
    return item_users[static_cast<std::size_t>(a)] > item_users[static_cast<std::size_t>(b)];
  });
}

float MfState::score(std::size_t u, std::size_t i) const {
  const float* p = user(u);
  const float* q = item(i);
  const std::size_t k = stride() - 1;
  return mu + p[k] + q[k] + dotProduct(p, q, k);
}

float MfState::fallbackScore(std::int64_t u, std::int64_t i) const {
  const std::size_t k = stride() - 1;
  if (feedback == MfFeedback::kImplicit) {
    return i >= 0 ? popularity[static_cast<std::size_t>(i)] : 0.0f;
  }
  float s = mu;
  if (u >= 0) {
    s += user(static_cast<std::size_t>(u))[k];
  }
  if (i >= 0) {
    s += item(static_cast<std::size_t>(i))[k];
  }
  return s;
}

void MfState::foldIn(std::size_t u) {
  const std::size_t k = stride() - 1;
  float* out = user_table.data() + u * stride();
  const auto& entries = history[u];
  if (feedback == MfFeedback::kExplicit) {
    const double n = static_cast<double>(entries.size());
    solveBiasedRow(entries, item_table.data(), k, mu, l2_factors * n, l2_biases * n, out);
    return;
  }
  // Repeated items add up to one stronger preference, as in training.
  std::vector<MfInteraction> summed(entries.begin(), entries.end());
  std::sort(summed.begin(), summed.end(),
            [](const MfInteraction& a, const MfInteraction& b) { return a.item < b.item; });
  std::size_t w = 0;
  for (std::size_t r = 0; r < summed.size(); ++r) {
    if (w > 0 && summed[w - 1].item == summed[r].item) {
      summed[w - 1].value += summed[r].value;
    } else {
      summed[w++] = summed[r];
    }
  }
  summed.resize(w);
  solveImplicitRow(summed, item_table.data(), k, gram, alpha, l2_factors, out);
}

void MfState::save(std::string& out) const {
  ByteWriter w(out);
  w.u8(static_cast<std::uint8_t>(feedback));
  w.u8(static_cast<std::uint8_t>(solver));
  w.u32(static_cast<std::uint32_t>(rank));
  w.f64(l2_factors);
  w.f64(l2_biases);
  w.f64(alpha);
  w.f32(mu);
  for (const auto* ids : {&user_ids, &item_ids}) {
    w.u64(ids->size());
    for (const auto& id : *ids) {
      w.u32(static_cast<std::uint32_t>(id.size()));
      w.bytes(id);
    }
  }
  w.floats(user_table);
  w.floats(item_table);
  for (const auto& entries : history) {
    w.u64(entries.size());
    for (const auto& e : entries) {
      w.u32(static_cast<std::uint32_t>(e.item));
      w.f32(e.value);
    }
  }
}

Status MfState::load(std::string_view payload) {
  ByteReader r(payload);
  auto bad = [](const std::string& what) { return invalidArgument("model.mf payload: " + what); };
  const std::uint8_t feedback_byte = r.u8(), solver_byte = r.u8();
  const std::uint32_t rank_value = r.u32();
  l2_factors = r.f64();
  l2_biases = r.f64();
  alpha = r.f64();
  mu = r.f32();
  if (!r.ok()) {
    return bad("truncated header");
  }
  if (feedback_byte > 1 || solver_byte > 3) {
    return bad("unknown feedback or solver code");
  }
  if (rank_value < 1 || rank_value > 4096) {
    return bad("rank " + std::to_string(rank_value) + " is outside [1, 4096]");
  }
  if (!std::isfinite(l2_factors) || !std::isfinite(l2_biases) || !std::isfinite(alpha) ||
      !std::isfinite(mu) || l2_factors < 0 || l2_biases < 0 || alpha < 0) {
    return bad("a hyper-parameter or the mean is negative or not finite");
  }
  feedback = static_cast<MfFeedback>(feedback_byte);
  solver = static_cast<MfSolver>(solver_byte);
  rank = static_cast<std::int32_t>(rank_value);
  for (auto* ids : {&user_ids, &item_ids}) {
    const std::uint64_t count = r.u64();
    if (!r.ok() || count > r.remaining() / 4 || count > 0x7fffffffu) {
      return bad("an id count is larger than the payload");
    }
    ids->resize(static_cast<std::size_t>(count));
    for (auto& id : *ids) {
      const std::uint32_t length = r.u32();
      id = r.bytes(length);
      if (!r.ok()) {
        return bad("truncated id table");
      }
    }
  }
  const std::size_t stride = rank_value + 1;
  for (auto [table, rows] : {std::pair{&user_table, users()}, std::pair{&item_table, items()}}) {
    if (rows > r.remaining() / 4 / stride) {
      return bad("a factor table is larger than the payload");
    }
    table->resize(rows * stride);
    r.floats(*table);
    for (float v : *table) {
      if (!std::isfinite(v)) {
        return bad("a factor is not finite");
      }
    }
  }
  history.assign(users(), {});
  for (auto& entries : history) {
    const std::uint64_t count = r.u64();
    if (!r.ok() || count > r.remaining() / 8) {
      return bad("an interaction list is larger than the payload");
    }
    entries.resize(static_cast<std::size_t>(count));
    for (auto& e : entries) {
      const std::uint32_t item = r.u32();
      e.value = r.f32();
      if (item >= items() || !std::isfinite(e.value)) {
        return bad("an interaction names item " + std::to_string(item) + " of " +
                   std::to_string(items()) + " or has a non-finite value");
      }
      e.item = static_cast<std::int32_t>(item);
    }
  }
  if (!r.ok() || !r.atEnd()) {
    return bad(r.ok() ? "trailing bytes after the interactions" : "truncated interactions");
  }
  return derive();
}

}  // namespace aimass::plugins::model
