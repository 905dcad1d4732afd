// SPDX-License-Identifier: Apache-2.0
#include "annotation/ranking.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "aimass/tensor_names.h"
#include "record_text.h"

namespace aimass::core::annotation {
namespace {

constexpr std::uint64_t kChunkRows = 1024;

/// The rows' features as one row-major FP32 matrix [rows, features] (the same bytes).
Tensor flatFeatures(const Batch& rows) {
  const auto n = static_cast<std::int64_t>(rows.rows());
  return rows.features.reshaped({n, n > 0 ? rows.features.numel() / n : 0});
}

}  // namespace

std::shared_ptr<const Ranking> randomRanking(std::uint64_t rows, std::uint64_t seed,
                                             std::string note) {
  auto ranking = std::make_shared<Ranking>();
  SelectionPool pool;
  pool.rows = static_cast<std::size_t>(rows);
  auto order = rankPool(SelectionStrategy::kRandom, pool, seed);
  if (order.ok()) {
    ranking->order.assign(order->begin(), order->end());
  } else {  // cannot happen for kRandom; keep the natural order rather than none
    ranking->order.resize(static_cast<std::size_t>(rows));
    std::iota(ranking->order.begin(), ranking->order.end(), std::uint64_t{0});
  }
  ranking->unix_ms = record::nowUnixMs();
  ranking->note = std::move(note);
  return ranking;
}

Expected<std::vector<float>> classProbabilities(const Model& model, const Batch& rows,
                                                std::size_t& classes) {
  const ModelSchema schema = model.schema();
  if (schema.inputs.empty()) return invalidArgument("the model takes no input");
  if (rows.features.dtype() != DType::kFloat32) {
    return invalidArgument("the project's rows have no FP32 features for the model");
  }
  TensorMap inputs, outputs;
  inputs.set(schema.inputs.front().name, flatFeatures(rows));
  AIMASS_RETURN_IF_ERROR(model.predict(inputs, outputs, PredictOptions{}));
  const Tensor* p = outputs.find(tensor_names::kProbabilities);
  if (p == nullptr || p->dtype() != DType::kFloat32 || p->rank() != 2 ||
      p->dim(0) != static_cast<std::int64_t>(rows.rows())) {
    return invalidArgument(
        "the model answers no 'probabilities' [rows, classes] (is it a "
        "classifier?)");
  }
  classes = static_cast<std::size_t>(p->dim(1));
  return std::vector<float>(p->data<float>(), p->data<float>() + p->numel());
}

Expected<std::shared_ptr<const Ranking>> modelRanking(
    const Dataset& data, const Model& model, const RankingSettings& settings,
    const std::string& version, const std::function<bool(std::uint64_t)>& open) {
  const std::uint64_t n = data.size();
  std::vector<float> probabilities;
  std::vector<float> features;  // kDiversity only
  std::size_t classes = 0, dims = 0;
  Batch batch;
  std::vector<std::uint64_t> rows;
  for (std::uint64_t first = 0; first < n; first += kChunkRows) {
    rows.resize(static_cast<std::size_t>(std::min(kChunkRows, n - first)));
    std::iota(rows.begin(), rows.end(), first);
    AIMASS_RETURN_IF_ERROR(data.read(rows, batch));
    std::size_t chunk_classes = 0;
    AIMASS_ASSIGN_OR_RETURN(auto p, classProbabilities(model, batch, chunk_classes));
    if (classes != 0 && chunk_classes != classes) {
      return invalidArgument("the model answered a different number of classes midway");
    }
    classes = chunk_classes;
    probabilities.insert(probabilities.end(), p.begin(), p.end());
    if (settings.strategy == SelectionStrategy::kDiversity) {
      const float* x = batch.features.data<float>();
      dims = static_cast<std::size_t>(batch.features.numel()) / rows.size();
      features.insert(features.end(), x, x + batch.features.numel());
    }
  }
  SelectionPool pool;
  pool.rows = static_cast<std::size_t>(n);
  pool.probabilities = probabilities;
  pool.classes = classes;
  auto ranking = std::make_shared<Ranking>();
  ranking->strategy = settings.strategy;
  ranking->model = settings.model;
  ranking->version = version;
  ranking->unix_ms = record::nowUnixMs();
  const SelectionStrategy scoring = settings.strategy == SelectionStrategy::kDiversity
                                        ? SelectionStrategy::kMargin
                                        : settings.strategy;
  AIMASS_ASSIGN_OR_RETURN(auto scores,
                          uncertaintyScores(scoring, probabilities, pool.rows, classes));
  ranking->scores.assign(scores.begin(), scores.end());
  AIMASS_ASSIGN_OR_RETURN(auto order, rankPool(scoring, pool, settings.seed));
  if (settings.strategy == SelectionStrategy::kDiversity) {
    // The diverse batch is chosen among the open rows only; it goes first, the rest follow.
    std::vector<std::size_t> candidates;
    for (std::size_t r : order) {
      if (open(r)) candidates.push_back(r);
    }
    std::vector<float> cp, cf;
    cp.reserve(candidates.size() * classes);
    cf.reserve(candidates.size() * dims);
    for (std::size_t r : candidates) {
      cp.insert(cp.end(), probabilities.begin() + static_cast<std::ptrdiff_t>(r * classes),
                probabilities.begin() + static_cast<std::ptrdiff_t>((r + 1) * classes));
      cf.insert(cf.end(), features.begin() + static_cast<std::ptrdiff_t>(r * dims),
                features.begin() + static_cast<std::ptrdiff_t>((r + 1) * dims));
    }
    SelectionPool open_pool{candidates.size(), cp, classes, cf, dims};
    SelectionOptions options;
    options.batch = std::max<std::size_t>(1, std::min(settings.batch, candidates.size()));
    options.seed = settings.seed;
    if (!candidates.empty()) {
      AIMASS_ASSIGN_OR_RETURN(auto picked,
                              selectBatch(SelectionStrategy::kDiversity, open_pool, options));
      std::vector<bool> first(static_cast<std::size_t>(n), false);
      std::vector<std::size_t> reordered;
      for (std::size_t i : picked) {
        reordered.push_back(candidates[i]);
        first[candidates[i]] = true;
      }
      for (std::size_t r : order) {
        if (!first[r]) reordered.push_back(r);
      }
      order = std::move(reordered);
    }
  }
  ranking->order.assign(order.begin(), order.end());
  return std::shared_ptr<const Ranking>(std::move(ranking));
}

}  // namespace aimass::core::annotation
