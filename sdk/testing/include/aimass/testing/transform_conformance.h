// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The transform conformance suite: what every aimass::Transform must do.
///
/// checkTransform() fits the transform on a sample table (so it leaves it fitted on that
/// sample), applies it, saves and loads it, feeds load() garbage and applies from 4 threads
/// at once. sampleTransformTable() is the table `aimass plugin check` uses; a type whose
/// parameters name columns should give examples naming its columns.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "aimass/testing/check.h"
#include "aimass/transform.h"

namespace aimass::testing {

/// A table of `columns` from row-major values: `numbers` holds rows x numeric columns, `texts`
/// rows x text columns (rows come from whichever block has columns).
inline Table tableOf(TableColumns columns, std::vector<float> numbers,
                     std::vector<std::string> texts = {}) {
  const std::size_t n = columns.numeric.size();
  const std::size_t m = columns.strings.size();
  const std::size_t rows = n > 0 ? numbers.size() / n : (m > 0 ? texts.size() / m : 0);
  Table t;
  t.numeric =
      Tensor::fromVector(numbers, {static_cast<std::int64_t>(rows), static_cast<std::int64_t>(n)});
  if (m > 0) {
    t.strings = Tensor::fromStrings(std::move(texts))
                    .reshaped({static_cast<std::int64_t>(rows), static_cast<std::int64_t>(m)});
  }
  t.columns = std::move(columns);
  return t;
}

/// The values of numeric column `name` of `t`, in row order; empty when there is none.
inline std::vector<float> numericColumn(const Table& t, const std::string& name) {
  std::vector<float> out;
  const std::size_t n = t.columns.numeric.size();
  for (std::size_t c = 0; c < n; ++c) {
    if (t.columns.numeric[c] == name) {
      for (std::size_t r = 0; r < t.rows(); ++r) {
        out.push_back(t.numeric.data<float>()[r * n + c]);
      }
    }
  }
  return out;
}

/// The values of text column `name` of `t`, in row order; empty when there is none.
inline std::vector<std::string> textColumn(const Table& t, const std::string& name) {
  std::vector<std::string> out;
  const std::size_t m = t.columns.strings.size();
  for (std::size_t c = 0; c < m; ++c) {
    if (t.columns.strings[c] == name) {
      for (std::size_t r = 0; r < t.rows(); ++r) {
        out.push_back(t.strings.strings()[r * m + c]);
      }
    }
  }
  return out;
}

/// Fits `transform` on `rows` and applies it to them: the output, or the first failure.
inline Expected<Table> fitAndApply(Transform& transform, const Table& rows) {
  auto fitted = transform.fit(rows);
  if (!fitted.ok()) {
    return fitted.status();
  }
  Table out;
  Status applied = transform.apply(rows, out);
  if (!applied.ok()) {
    return applied;
  }
  return out;
}

/// The failed checks of `results`, one "name: detail" line each; empty when all passed.
inline std::string failedChecks(const CheckResults& results) {
  std::string out;
  for (const auto& r : results) {
    if (!r.passed) {
      out += r.name + ": " + r.detail + "\n";
    }
  }
  return out;
}

/// Six rows: numeric columns "x" {1, 2, NaN, 4, 10, 3} and "y" {0.5, 0.5, 2, 8, 1, 4}, text
/// column "city" {"paris", "rome", "", "paris", "oslo", "rome"} (a NaN and an empty string are
/// missing values).
inline Table sampleTransformTable() {
  const float nan = std::nanf("");
  return tableOf({{"x", "y"}, {"city"}}, {1, 0.5f, 2, 0.5f, nan, 2, 4, 8, 10, 1, 3, 4},
                 {"paris", "rome", "", "paris", "oslo", "rome"});
}

namespace transform_conformance_detail {

/// Same columns, same shapes, bit-identical numbers (NaN equals NaN) and equal strings.
inline bool sameTable(const Table& a, const Table& b) {
  if (!(a.columns == b.columns) || a.rows() != b.rows() || a.numeric.shape() != b.numeric.shape() ||
      a.numeric.dtype() != b.numeric.dtype() || a.strings.strings() != b.strings.strings()) {
    return false;
  }
  return a.numeric.nbytes() == 0 ||
         std::memcmp(a.numeric.raw(), b.numeric.raw(), a.numeric.nbytes()) == 0;
}

/// The first `rows` rows of `t` (copies).
inline Table headRows(const Table& t, std::size_t rows) {
  Table out;
  out.columns = t.columns;
  const auto n = static_cast<std::int64_t>(t.columns.numeric.size());
  out.numeric = Tensor(DType::kFloat32, {static_cast<std::int64_t>(rows), n});
  if (out.numeric.nbytes() > 0) {
    std::memcpy(out.numeric.raw(), t.numeric.raw(), out.numeric.nbytes());
  }
  if (!t.columns.strings.empty()) {
    const auto& all = t.strings.strings();
    std::vector<std::string> head(
        all.begin(), all.begin() + static_cast<std::ptrdiff_t>(rows * t.columns.strings.size()));
    out.strings = Tensor::fromStrings(std::move(head))
                      .reshaped({static_cast<std::int64_t>(rows),
                                 static_cast<std::int64_t>(t.columns.strings.size())});
  }
  return out;
}

}  // namespace transform_conformance_detail

/// Runs every transform check on `transform` with `sample` (at least 2 rows, columns the
/// transform accepts). `fresh`, when given, is an unfitted instance of the same type that a
/// saved payload is loaded into. Never throws; failures are in the results.
inline CheckResults checkTransform(Transform& transform, const Table& sample,
                                   Transform* fresh = nullptr) {
  namespace d = transform_conformance_detail;
  CheckResults r;
  if (!transform.fitted()) {
    Table out;
    Status before = transform.apply(sample, out);
    expectThat(r, "apply before fit is kFailedPrecondition",
               before.code() == StatusCode::kFailedPrecondition, before.toString());
  }
  auto fitted = transform.fit(sample);
  expectOk(r, "fit succeeds on the sample", fitted.status());
  if (!fitted.ok()) {
    return r;
  }
  expectThat(r, "fitted() after fit", transform.fitted());
  expectThat(r, "inputColumns() are the sample's", transform.inputColumns() == sample.columns);
  expectThat(r, "fit returns outputColumns()", *fitted == transform.outputColumns());

  Table first;
  Status applied = transform.apply(sample, first);
  expectOk(r, "apply succeeds on the sample", applied);
  if (!applied.ok()) {
    return r;
  }
  const TableColumns& cols = first.columns;
  expectThat(r, "apply keeps the row count", first.rows() == sample.rows(),
             std::to_string(first.rows()) + " rows out of " + std::to_string(sample.rows()));
  expectThat(r, "apply gives outputColumns()", cols == transform.outputColumns());
  const auto rows = static_cast<std::int64_t>(sample.rows());
  expectThat(r, "the numeric block is FP32 [rows, numeric columns]",
             first.numeric.dtype() == DType::kFloat32 && first.numeric.rank() == 2 &&
                 first.numeric.dim(0) == rows &&
                 first.numeric.dim(1) == static_cast<std::int64_t>(cols.numeric.size()));
  expectThat(r, "the text block holds rows x text columns",
             first.strings.strings().size() == sample.rows() * cols.strings.size());

  auto again = transform.fit(sample);
  Table second;
  expectThat(r, "fitting again on the same rows gives the same columns and values",
             again.ok() && *again == *fitted && transform.apply(sample, second).ok() &&
                 d::sameTable(first, second));

  Table renamed = sample;
  renamed.columns.numeric.push_back("conformance_extra");
  Table ignored;
  Status wrong = transform.apply(renamed, ignored);
  expectThat(r, "apply refuses a table with other columns",
             wrong.code() == StatusCode::kInvalidArgument, wrong.toString());

  std::string payload;
  Status saved = transform.save(payload);
  expectOk(r, "save succeeds", saved);
  const std::uint32_t version = transform.formatVersion();
  if (fresh != nullptr && saved.ok()) {
    Status loaded = fresh->load(payload, version);
    Table out;
    expectThat(r, "load into a fresh instance gives the same output",
               loaded.ok() && fresh->fitted() && fresh->apply(sample, out).ok() &&
                   d::sameTable(first, out),
               loaded.toString());
  }
  if (saved.ok() && sample.rows() >= 2) {
    // Refit on fewer rows (other statistics), then load: the saved state must come back.
    auto refit = transform.fit(d::headRows(sample, sample.rows() / 2 + 1));
    Status loaded = transform.load(payload, version);
    Table out;
    expectThat(r, "load restores the saved state",
               loaded.ok() && transform.apply(sample, out).ok() && d::sameTable(first, out),
               loaded.toString() + (refit.ok() ? "" : "; refit: " + refit.status().toString()));
  }

  const std::vector<std::string> garbage = {"", "garbage", std::string(64, '\xff'),
                                            payload.substr(0, payload.size() / 2),
                                            payload + "trailing"};
  bool refused = true;
  for (const auto& bytes : garbage) {
    refused = refused && !transform.load(bytes, version).ok();
  }
  refused = refused && !transform.load(payload, version + 1000).ok();
  Table after;
  expectThat(r, "load refuses garbage and an unknown version", refused);
  expectThat(
      r, "a failed load leaves the transform working",
      transform.fitted() && transform.apply(sample, after).ok() && d::sameTable(first, after));

  std::vector<Table> outs(4);
  std::vector<Status> statuses(4);
  {
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < outs.size(); ++i) {
      threads.emplace_back([&, i] {
        for (int repeat = 0; repeat < 20 && statuses[i].ok(); ++repeat) {
          statuses[i] = transform.apply(sample, outs[i]);
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
  }
  bool same = true;
  for (std::size_t i = 0; i < outs.size(); ++i) {
    same = same && statuses[i].ok() && d::sameTable(first, outs[i]);
  }
  expectThat(r, "apply from 4 threads at once gives the same result", same);
  return r;
}

}  // namespace aimass::testing
