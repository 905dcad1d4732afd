// SPDX-License-Identifier: Apache-2.0
#include "kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "aimass/byte_io.h"
#include "aimass/util/csv_text.h"

namespace aimass::plugins::model {

namespace {

constexpr char kName[] = "model.kmeans";

/// One mini-batch step (Sculley 2010): assigns the batch's rows to `centres`, then moves each
/// centre towards the mean of its rows with the learning rate 1 / (rows it has taken so far,
/// counted in `taken`). Returns the batch's inertia before the move.
double miniBatchStep(const PointSet& batch, std::vector<float>& centres, std::vector<double>& taken,
                     int threads) {
  const std::int64_t d = batch.features;
  const auto k = static_cast<std::int64_t>(taken.size());
  const std::vector<double> norms = centreNorms(centres, d);
  std::vector<std::int32_t> labels(static_cast<std::size_t>(batch.rows), 0);
  std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
  parallelRows(threads, batch.rows, [&](int t, std::int64_t begin, std::int64_t end) {
    std::vector<double> distances(static_cast<std::size_t>(k));
    for (std::int64_t i = begin; i < end; ++i) {
      squaredDistances(batch.x + i * d, batch.norms[i], d, centres.data(), norms.data(), nullptr, k,
                       distances.data());
      labels[i] = nearestCentre(distances.data(), k);
      partial[t] += std::max(0.0, distances[labels[i]]);
    }
  });
  std::vector<double> sums(static_cast<std::size_t>(k * d), 0.0);
  std::vector<std::int64_t> counts(static_cast<std::size_t>(k), 0);
  for (std::int64_t i = 0; i < batch.rows; ++i) {
    const float* x = batch.x + i * d;
    double* sum = sums.data() + labels[i] * d;
    for (std::int64_t f = 0; f < d; ++f) {
      sum[f] += x[f];
    }
    ++counts[labels[i]];
  }
  for (std::int64_t j = 0; j < k; ++j) {
    if (counts[j] == 0) {
      continue;
    }
    const double total = taken[j] + static_cast<double>(counts[j]);
    for (std::int64_t f = 0; f < d; ++f) {
      float& c = centres[j * d + f];
      c = static_cast<float>((c * taken[j] + sums[j * d + f]) / total);
    }
    taken[j] = total;
  }
  double inertia = 0;
  for (double p : partial) {
    inertia += p;
  }
  return inertia;
}

}  // namespace

Expected<std::vector<float>> readCentresCsv(const std::string& path, std::int64_t clusters) {
  std::string text;
  Status read = readCsvFile(path, text);
  if (!read.ok()) {
    return invalidArgument("model.kmeans: cannot open the centres file '" + path +
                           "': " + read.message());
  }
  CsvRecordReader reader(csvWithoutByteOrderMark(text), ',', path);
  std::vector<std::string_view> fields;
  std::vector<float> values;
  std::size_t columns = 0;
  std::int64_t rows = 0;
  for (;;) {
    AIMASS_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) {
      break;
    }
    const std::string where = "'" + path + "' line " + std::to_string(reader.line());
    std::vector<float> row(fields.size());
    for (std::size_t c = 0; c < fields.size(); ++c) {
      if (auto problem = parseCsvFloat(fields[c], row[c])) {
        if (rows == 0 && columns == 0) {
          columns = fields.size();  // a header line: names, not numbers
          row.clear();
          break;
        }
        return invalidArgument("model.kmeans: centres file " + where + " column " +
                               std::to_string(c + 1) + ": " + *problem);
      }
    }
    if (row.empty()) {
      continue;
    }
    if (columns != 0 && fields.size() != columns) {
      return invalidArgument("model.kmeans: centres file " + where + " has " +
                             std::to_string(fields.size()) + " values, earlier lines " +
                             std::to_string(columns));
    }
    columns = fields.size();
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  if (rows != clusters) {
    return invalidArgument("model.kmeans: centres file '" + path + "' has " + std::to_string(rows) +
                           " centres (rows), but clusters is " + std::to_string(clusters));
  }
  return values;
}

KMeans::KMeans(KMeansOptions options) : options_(std::move(options)) {}

ModelSchema KMeans::schema() const {
  ModelSchema schema;
  schema.task = Task::kClustering;
  const std::int64_t f = features_ > 0 ? features_ : -1;
  schema.inputs = {{tensor_names::kInput, DType::kFloat32, {-1, f}, false, false}};
  schema.outputs = {
      {tensor_names::kCluster, DType::kInt64, {-1}, false, false},
      {tensor_names::kDistances, DType::kFloat32, {-1, options_.clusters}, false, false}};
  return schema;
}

std::int64_t KMeans::restarts() const {
  if (options_.n_init > 0) {
    return options_.n_init;
  }
  return options_.init == KMeansInit::kRandom ? 10 : 1;
}

std::vector<float> KMeans::startingCentres(const PointSet& points, std::mt19937_64& rng) const {
  switch (options_.init) {
    case KMeansInit::kGiven:
      return options_.given_centres;
    case KMeansInit::kRandom:
      return randomRows(points, options_.clusters, rng);
    case KMeansInit::kPlusPlus:
      break;
  }
  return kmeansPlusPlus(points, options_.clusters, rng, options_.threads);
}

Expected<KMeans::Fitted> KMeans::fitFullBatch(const Dataset& data, std::uint64_t seed,
                                              FitObserver& observer) {
  AIMASS_ASSIGN_OR_RETURN(DenseRows rows, readAllRows(kName, data));
  if (rows.rows < options_.clusters) {
    return invalidArgument("model.kmeans: the dataset has " + std::to_string(rows.rows) +
                           " rows, fewer than the " + std::to_string(options_.clusters) +
                           " clusters");
  }
  const PointSet points = rows.view();
  FullBatchSettings settings;
  settings.algorithm = options_.algorithm;
  settings.max_iterations = options_.max_iterations;
  settings.shift_tolerance =
      options_.tolerance > 0 ? options_.tolerance * meanVariance(points) : -1.0;
  settings.threads = options_.threads;
  std::mt19937_64 rng(seed);
  Fitted best;
  best.inertia = std::numeric_limits<double>::infinity();
  std::uint64_t iteration = 1;
  for (std::int64_t r = 0; r < restarts(); ++r) {
    FullBatchResult run =
        runFullBatch(points, startingCentres(points, rng), settings, observer, iteration);
    iteration += static_cast<std::uint64_t>(run.iterations);
    if (run.inertia < best.inertia) {
      best.centres = std::move(run.centres);
      best.inertia = run.inertia;
      best.iterations = run.iterations;
    }
    if (run.stopped) {
      best.stopped = true;
      break;
    }
  }
  return best;
}

Expected<KMeans::Fitted> KMeans::fitMiniBatch(const Dataset& data, std::uint64_t seed,
                                              FitObserver& observer) {
  AIMASS_RETURN_IF_ERROR(checkClusteringData(kName, data.schema()));
  const std::uint64_t n = data.size();
  const auto k = options_.clusters;
  if (n < static_cast<std::uint64_t>(k)) {
    return invalidArgument("model.kmeans: the dataset has " + std::to_string(n) +
                           " rows, fewer than the " + std::to_string(k) + " clusters");
  }
  const auto batch_rows =
      std::min<std::uint64_t>(static_cast<std::uint64_t>(options_.batch_size), n);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> any_row(0, n - 1);
  std::vector<std::uint64_t> indices;
  auto draw = [&](std::uint64_t count) {
    indices.resize(count);
    for (auto& index : indices) {
      index = any_row(rng);
    }
    std::sort(indices.begin(), indices.end());  // friendlier to file-backed datasets
  };
  Fitted best;
  best.inertia = std::numeric_limits<double>::infinity();
  std::uint64_t iteration = 1;
  DenseRows batch;
  for (std::int64_t r = 0; r < restarts() && !best.stopped; ++r) {
    // Start from a sample of 3 batches (scikit-learn's init_size), never from all rows.
    draw(std::min<std::uint64_t>(n, 3 * std::max<std::uint64_t>(batch_rows, k)));
    AIMASS_RETURN_IF_ERROR(readRows(kName, data, indices, batch));
    std::vector<float> centres = startingCentres(batch.view(), rng);
    std::vector<double> taken(static_cast<std::size_t>(k), 0.0);
    double estimate = 0;
    std::int64_t step = 0;
    while (step < options_.max_iterations) {
      draw(batch_rows);
      AIMASS_RETURN_IF_ERROR(readRows(kName, data, indices, batch));
      const double inertia = miniBatchStep(batch.view(), centres, taken, options_.threads);
      estimate = inertia * static_cast<double>(n) / static_cast<double>(batch.rows);
      ++step;
      const bool stop = observer.onIteration(iteration++, estimate);
      if (stop) {
        best.stopped = true;
        break;
      }
    }
    if (estimate < best.inertia) {
      best.centres = std::move(centres);
      best.inertia = estimate;
      best.iterations = step;
    }
  }
  return best;
}

Status KMeans::fit(const Dataset& data, std::uint64_t seed, FitObserver& observer) {
  AIMASS_RETURN_IF_ERROR(checkClusteringData(kName, data.schema()));
  const std::int64_t d = data.schema().row_shape[0];
  if (options_.init == KMeansInit::kGiven &&
      static_cast<std::int64_t>(options_.given_centres.size()) != options_.clusters * d) {
    return invalidArgument("model.kmeans: the given centres have " +
                           std::to_string(options_.given_centres.size() / options_.clusters) +
                           " values a row, but the data has " + std::to_string(d) + " features");
  }
  const std::uint64_t used_seed =
      options_.seed >= 0 ? static_cast<std::uint64_t>(options_.seed) : seed;
  return guard("model.kmeans fit", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(Fitted fitted, options_.batch_size > 0
                                               ? fitMiniBatch(data, used_seed, observer)
                                               : fitFullBatch(data, used_seed, observer));
    if (fitted.centres.empty()) {
      return cancelled("model.kmeans: stopped before any iteration finished");
    }
    centre_norms_ = centreNorms(fitted.centres, d);
    centres_ = std::move(fitted.centres);
    features_ = d;
    inertia_ = fitted.inertia;
    iterations_ = fitted.iterations;
    return okStatus();
  });
}

Status KMeans::predict(const TensorMap& inputs, TensorMap& outputs,
                       const PredictOptions& /*options*/) const {
  if (!ready()) {
    return failedPrecondition("model.kmeans is not trained or loaded yet");
  }
  AIMASS_ASSIGN_OR_RETURN(const Tensor* input, featureInput(kName, inputs, features_));
  const std::int64_t rows = input->dim(0);
  const std::int64_t k = options_.clusters;
  return guard("model.kmeans predict", [&] {
    Tensor cluster(DType::kInt64, {rows});
    Tensor distances(DType::kFloat32, {rows, k});
    std::vector<double> squared(static_cast<std::size_t>(k));
    const float* x = input->data<float>();
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = x + r * features_;
      squaredDistances(row, squaredNorm(row, features_), features_, centres_.data(),
                       centre_norms_.data(), nullptr, k, squared.data());
      const std::int32_t best = nearestCentre(squared.data(), k);
      cluster.data<std::int64_t>()[r] = best;
      for (std::int64_t j = 0; j < k; ++j) {
        distances.data<float>()[r * k + j] =
            static_cast<float>(std::sqrt(std::max(0.0, squared[j])));
      }
    }
    outputs.set(tensor_names::kCluster, std::move(cluster));
    outputs.set(tensor_names::kDistances, std::move(distances));
  });
}

Status KMeans::save(std::string& payload) const {
  if (!ready()) {
    return failedPrecondition("model.kmeans has nothing to save: it is not trained or loaded");
  }
  return guard("model.kmeans save", [&] {
    payload.clear();
    ByteWriter out(payload);
    out.u64(static_cast<std::uint64_t>(options_.clusters));
    out.u64(static_cast<std::uint64_t>(features_));
    out.f64(inertia_);
    out.u64(static_cast<std::uint64_t>(iterations_));
    out.floats(centres_);
  });
}

Status KMeans::load(std::string_view payload, std::uint32_t format_version) {
  if (format_version != kFormatVersion) {
    return invalidArgument("model.kmeans payload format " + std::to_string(format_version) +
                           " is unknown (this version reads format " +
                           std::to_string(kFormatVersion) + ")");
  }
  return guard("model.kmeans load", [&]() -> Status {
    ByteReader in(payload);
    const std::uint64_t k = in.u64();
    const std::uint64_t f = in.u64();
    const double inertia = in.f64();
    const std::uint64_t iterations = in.u64();
    constexpr std::uint64_t kLimit = std::uint64_t{1} << 31;
    if (!in.ok() || k == 0 || f == 0 || k >= kLimit || f >= kLimit || in.remaining() / 4 / f != k ||
        in.remaining() != k * f * 4) {
      return dataLoss("model.kmeans payload is truncated or has impossible sizes (" +
                      std::to_string(k) + " clusters, " + std::to_string(f) + " features, " +
                      std::to_string(payload.size()) + " bytes)");
    }
    if (!std::isfinite(inertia) || inertia < 0 || iterations >= kLimit) {
      return dataLoss("model.kmeans payload has an invalid inertia or iteration count");
    }
    std::vector<float> centres(static_cast<std::size_t>(k * f));
    in.floats(centres);
    for (float v : centres) {
      if (!std::isfinite(v)) {
        return dataLoss("model.kmeans payload holds a NaN or infinite centre coordinate");
      }
    }
    const auto fi = static_cast<std::int64_t>(f);
    centre_norms_ = centreNorms(centres, fi);
    centres_ = std::move(centres);
    features_ = fi;
    options_.clusters = static_cast<std::int64_t>(k);  // the saved model decides, not defaults
    inertia_ = inertia;
    iterations_ = static_cast<std::int64_t>(iterations);
    return okStatus();
  });
}

}  // namespace aimass::plugins::model
