// SPDX-License-Identifier: Apache-2.0
// model.mf: what it does while served: predict() (pair scores and top-k) and learn().
#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "aimass/tensor_names.h"
#include "mf.h"

namespace aimass::plugins::model {

namespace tn = aimass::tensor_names;

namespace {

/// A BYTES [n] tensor's strings; kInvalidArgument naming `what` for another dtype or rank.
Expected<const std::vector<std::string>*> idsOf(const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kBytes || t.rank() != 1 || t.device() != Device::kCpu ||
      static_cast<std::int64_t>(t.strings().size()) != t.numel()) {
    return invalidArgument("model.mf: input '" + std::string(what) +
                           "' must be BYTES [-1] (ids "
                           "as text), got " +
                           std::string(dtypeName(t.dtype())) + " " + shapeToString(t.shape()));
  }
  return &t.strings();
}

/// The named inputs of a request or observation: each of `allowed`, or null when absent.
Status namedInputs(const TensorMap& inputs, std::initializer_list<std::string_view> allowed,
                   std::string_view what, std::vector<const Tensor*>& out) {
  out.assign(allowed.size(), nullptr);
  for (const auto& [name, tensor] : inputs) {
    auto it = std::find(allowed.begin(), allowed.end(), name);
    if (it == allowed.end()) {
      std::string names;
      for (auto a : allowed) {
        names += (names.empty() ? "'" : ", '") + std::string(a) + "'";
      }
      return invalidArgument("model.mf: unknown " + std::string(what) + " '" + name +
                             "' (it takes " + names + ")");
    }
    out[static_cast<std::size_t>(it - allowed.begin())] = &tensor;
  }
  return okStatus();
}

std::int64_t lookup(const MfIdMap& map, const std::string& id) {
  auto it = map.find(id);
  return it == map.end() ? -1 : it->second;
}

using Ranked = std::pair<float, std::int32_t>;  // (score, item)

/// Higher score first; ties to the lower item index.
bool better(const Ranked& a, const Ranked& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

/// Keeps the k best of what it is offered in a heap whose front is the worst kept: O(n log k)
/// for n offers, and almost always one comparison per offer.
class Selection {
 public:
  explicit Selection(std::size_t k, std::vector<Ranked>& heap) : k_(k), heap_(heap) {
    heap_.clear();
  }
  void offer(float score, std::int32_t item) {
    const Ranked candidate{score, item};
    if (heap_.size() < k_) {
      heap_.push_back(candidate);
      std::push_heap(heap_.begin(), heap_.end(), better);
    } else if (better(candidate, heap_.front())) {
      std::pop_heap(heap_.begin(), heap_.end(), better);
      heap_.back() = candidate;
      std::push_heap(heap_.begin(), heap_.end(), better);
    }
  }
  /// The kept items, best first.
  std::vector<Ranked>& sorted() {
    std::sort_heap(heap_.begin(), heap_.end(), better);
    return heap_;
  }

 private:
  std::size_t k_;
  std::vector<Ranked>& heap_;
};

/// Writes one user's top-k into items/scores (k slots each), best first, ties to the lower
/// item index, padding with "" and 0. `pool`: the candidate items (null: every item).
void topKOfUser(const MfState& state, std::int64_t user, const std::vector<std::int32_t>* pool,
                bool exclude_seen, std::size_t k, std::string* items, float* scores) {
  thread_local std::vector<Ranked> heap;
  Selection selection(k, heap);
  if (user < 0) {
    // Unknown user: the most popular items among the candidates, scored by popularity.
    if (pool == nullptr) {
      for (std::size_t r = 0; r < state.popular.size() && r < k; ++r) {
        const std::int32_t i = state.popular[r];
        selection.offer(state.popularity[static_cast<std::size_t>(i)], i);
      }
    } else {
      for (auto i : *pool) {
        selection.offer(state.popularity[static_cast<std::size_t>(i)], i);
      }
    }
  } else {
    const auto u = static_cast<std::size_t>(user);
    const std::size_t s = state.stride();
    // [p_u, 1] . [q_i, b_i] over the contiguous item table, plus mu + b_u.
    thread_local std::vector<float> query;
    query.assign(state.user(u), state.user(u) + s);
    const float base = state.mu + query[s - 1];
    query[s - 1] = 1.0f;
    const std::vector<std::int32_t>& seen = state.seen[u];
    if (pool == nullptr) {
      thread_local std::vector<float> all;
      all.resize(state.items());
      for (std::size_t i = 0; i < state.items(); ++i) {
        all[i] = base + dotProduct(query.data(), state.item(i), s);
      }
      if (exclude_seen) {
        for (auto i : seen) {
          all[static_cast<std::size_t>(i)] = -std::numeric_limits<float>::infinity();
        }
      }
      for (std::size_t i = 0; i < state.items(); ++i) {
        if (all[i] != -std::numeric_limits<float>::infinity()) {
          selection.offer(all[i], static_cast<std::int32_t>(i));
        }
      }
    } else {
      for (auto i : *pool) {
        if (!exclude_seen || !std::binary_search(seen.begin(), seen.end(), i)) {
          selection.offer(
              base + dotProduct(query.data(), state.item(static_cast<std::size_t>(i)), s), i);
        }
      }
    }
  }
  const std::vector<Ranked>& best = selection.sorted();
  for (std::size_t r = 0; r < k; ++r) {
    if (r < best.size()) {
      items[r] = state.item_ids[static_cast<std::size_t>(best[r].second)];
      scores[r] = best[r].first;
    } else {
      items[r].clear();
      scores[r] = 0.0f;
    }
  }
}

}  // namespace

Status MatrixFactorization::predict(const TensorMap& inputs, TensorMap& outputs,
                                    const PredictOptions& options) const {
  std::vector<const Tensor*> named;
  AIMASS_RETURN_IF_ERROR(
      namedInputs(inputs, {tn::kUser, tn::kItem, tn::kCandidates}, "input", named));
  if (named[0] == nullptr) {
    return invalidArgument("model.mf: missing input 'user' (BYTES [-1], user ids as text)");
  }
  AIMASS_ASSIGN_OR_RETURN(const std::vector<std::string>* users, idsOf(*named[0], tn::kUser));
  const std::vector<std::string>* items = nullptr;
  const std::vector<std::string>* candidates = nullptr;
  if (named[1] != nullptr) {
    AIMASS_ASSIGN_OR_RETURN(items, idsOf(*named[1], tn::kItem));
  }
  if (named[2] != nullptr) {
    AIMASS_ASSIGN_OR_RETURN(candidates, idsOf(*named[2], tn::kCandidates));
  }
  if (options.top_k < 0 || options.top_k > kMaxTopK) {
    return invalidArgument("model.mf: top_k must be in [0, " + std::to_string(kMaxTopK) +
                           "], got " + std::to_string(options.top_k));
  }
  const auto n = static_cast<std::int64_t>(users->size());
  if (options.top_k == 0) {
    if (items == nullptr) {
      return invalidArgument(
          "model.mf: pair scoring (top_k 0) needs input 'item' beside "
          "'user'; for recommendations ask for top_k > 0");
    }
    if (candidates != nullptr) {
      return invalidArgument("model.mf: 'candidates' applies to top-k only (top_k > 0)");
    }
    if (items->size() != users->size()) {
      return invalidArgument("model.mf: 'user' has " + std::to_string(users->size()) +
                             " ids and 'item' " + std::to_string(items->size()) +
                             "; pair scoring takes one item per user");
    }
  } else if (items != nullptr) {
    return invalidArgument(
        "model.mf: top-k (top_k > 0) takes 'user' and optionally "
        "'candidates', not 'item' (leave top_k at 0 to score pairs)");
  }
  std::shared_lock lock(mutex_);
  if (!state_) {
    return failedPrecondition("model.mf is not trained or loaded");
  }
  const MfState& state = *state_;
  return guard("model.mf predict", [&] {
    if (options.top_k == 0) {
      Tensor score(DType::kFloat32, {n});
      Tensor known(DType::kBool, {n});
      for (std::int64_t r = 0; r < n; ++r) {
        const std::int64_t u = lookup(state.user_index, (*users)[static_cast<std::size_t>(r)]);
        const std::int64_t i = lookup(state.item_index, (*items)[static_cast<std::size_t>(r)]);
        const bool both = u >= 0 && i >= 0;
        score.data<float>()[r] =
            both ? state.score(static_cast<std::size_t>(u), static_cast<std::size_t>(i))
                 : state.fallbackScore(u, i);
        known.data<bool>()[r] = both;
      }
      outputs.set(tn::kScore, std::move(score));
      outputs.set(tn::kKnown, std::move(known));
      return;
    }
    const auto k = static_cast<std::size_t>(options.top_k);
    std::vector<std::int32_t> pool;
    if (candidates != nullptr) {
      // Unknown candidate ids are ignored: they cannot be scored, and a catalogue that moves
      // faster than the model should not fail requests.
      for (const auto& id : *candidates) {
        const std::int64_t i = lookup(state.item_index, id);
        if (i >= 0) {
          pool.push_back(static_cast<std::int32_t>(i));
        }
      }
      std::sort(pool.begin(), pool.end());
      pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
    }
    std::vector<std::string> names(static_cast<std::size_t>(n) * k);
    Tensor scores(DType::kFloat32, {n, static_cast<std::int64_t>(k)});
    Tensor fallback(DType::kBool, {n});
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t u = lookup(state.user_index, (*users)[static_cast<std::size_t>(r)]);
      fallback.data<bool>()[r] = u < 0;
      topKOfUser(state, u, candidates != nullptr ? &pool : nullptr, options.exclude_seen, k,
                 names.data() + static_cast<std::size_t>(r) * k,
                 scores.data<float>() + static_cast<std::size_t>(r) * k);
    }
    outputs.set(tn::kItems,
                Tensor::fromStrings(std::move(names)).reshaped({n, static_cast<std::int64_t>(k)}));
    outputs.set(tn::kScores, std::move(scores));
    outputs.set(tn::kFallback, std::move(fallback));
  });
}

Status MatrixFactorization::learn(const TensorMap& observations) {
  std::vector<const Tensor*> named;
  AIMASS_RETURN_IF_ERROR(
      namedInputs(observations, {tn::kUser, tn::kItem, tn::kRating}, "observation", named));
  if (named[0] == nullptr || named[1] == nullptr) {
    return invalidArgument("model.mf: observations need 'user' and 'item' (BYTES [-1])");
  }
  AIMASS_ASSIGN_OR_RETURN(const std::vector<std::string>* users, idsOf(*named[0], tn::kUser));
  AIMASS_ASSIGN_OR_RETURN(const std::vector<std::string>* items, idsOf(*named[1], tn::kItem));
  const std::size_t n = users->size();
  if (items->size() != n) {
    return invalidArgument("model.mf: observations have " + std::to_string(n) + " users and " +
                           std::to_string(items->size()) + " items; give one item per user");
  }
  std::unique_lock lock(mutex_);
  if (!state_) {
    return failedPrecondition("model.mf is not trained or loaded: nothing to fold into");
  }
  MfState& state = *state_;
  const bool explicit_feedback = state.feedback == MfFeedback::kExplicit;
  const float* ratings = nullptr;
  if (explicit_feedback) {
    const Tensor* rating = named[2];
    if (rating == nullptr || rating->dtype() != DType::kFloat32 || rating->rank() != 1 ||
        rating->dim(0) != static_cast<std::int64_t>(n) || rating->device() != Device::kCpu) {
      return invalidArgument("model.mf (explicit ratings): observations need 'rating' FP32 [" +
                             std::to_string(n) + "], one per interaction");
    }
    ratings = rating->data<float>();
  } else if (named[2] != nullptr) {
    return invalidArgument(
        "model.mf (implicit feedback): observations take no 'rating'; each "
        "row is one interaction");
  }
  // Every row first: nothing is learned unless all are good.
  for (std::size_t r = 0; r < n; ++r) {
    const std::string where = "model.mf: observation " + std::to_string(r) + ": ";
    if ((*users)[r].empty()) {
      return invalidArgument(where + "the user id is empty");
    }
    if (lookup(state.item_index, (*items)[r]) < 0) {
      return invalidArgument(where + "item '" + (*items)[r] +
                             "' was not in the training data; new items need retraining");
    }
    if (ratings != nullptr && !std::isfinite(ratings[r])) {
      return invalidArgument(where + "the rating is not finite");
    }
  }
  return guard("model.mf learn", [&] {
    std::vector<std::size_t> affected;
    for (std::size_t r = 0; r < n; ++r) {
      std::int64_t u = lookup(state.user_index, (*users)[r]);
      if (u < 0) {
        u = static_cast<std::int64_t>(state.users());
        state.user_ids.push_back((*users)[r]);
        state.user_index.emplace((*users)[r], static_cast<std::int32_t>(u));
        state.user_table.resize(state.user_table.size() + state.stride(), 0.0f);
        state.history.emplace_back();
        state.seen.emplace_back();
      }
      const auto user = static_cast<std::size_t>(u);
      const auto item = static_cast<std::int32_t>(lookup(state.item_index, (*items)[r]));
      state.history[user].push_back(MfInteraction{item, ratings ? ratings[r] : 1.0f});
      auto& seen = state.seen[user];
      auto at = std::lower_bound(seen.begin(), seen.end(), item);
      if (at == seen.end() || *at != item) {
        seen.insert(at, item);
        ++state.item_users[static_cast<std::size_t>(item)];
      }
      affected.push_back(user);
    }
    // Each fold-in reads only the fixed item table, so the order of users does not matter.
    std::sort(affected.begin(), affected.end());
    affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
    for (auto user : affected) {
      state.foldIn(user);
    }
    state.refreshPopularity();
  });
}

}  // namespace aimass::plugins::model
