// SPDX-License-Identifier: Apache-2.0
#pragma once

// The fixture of dataset.csv's tests: CSV text written to a fresh temporary folder and opened,
// and a Host that records what is logged.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "aimass/host.h"
#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "csv.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {

namespace fs = std::filesystem;

/// Writes CSV text to a fresh folder and opens it.
class CsvDatasetTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& content) {
    fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  Expected<std::unique_ptr<CsvDataset>> load(const std::string& content, CsvOptions options = {}) {
    options.path = write("data.csv", content);
    return CsvDataset::open(options);
  }

  /// The error message of a load that must fail with kInvalidArgument.
  std::string loadError(const std::string& content, CsvOptions options = {}) {
    auto data = load(content, std::move(options));
    EXPECT_FALSE(data.ok()) << "loaded although it should not";
    if (data.ok()) {
      return {};
    }
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidArgument) << data.status().toString();
    return data.status().message();
  }

  std::string csvPath() const { return (dir_ / "data.csv").string(); }

  static std::vector<float> features(const Batch& batch) {
    auto span = batch.features.span<float>();
    return {span.begin(), span.end()};
  }

  aimass::testing::TempDir temp_{"aimass-csv-test"};
  const fs::path dir_ = temp_.path();
};

/// Options for a file whose label is the column `label`.
inline CsvOptions labelled(std::string label, LabelKind kind = LabelKind::kClass) {
  CsvOptions options;
  options.label = std::move(label);
  options.label_kind = kind;
  return options;
}

/// Expects `data` to pass every check of the dataset conformance suite.
inline void expectConformance(const Dataset& data) {
  for (const auto& check : aimass::testing::checkDataset(data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

/// A Host that records every log line; the rest is inert.
class RecordingHost final : public Host {
 public:
  struct Line {
    LogLevel level;
    std::string node;
    std::string message;
  };

  void log(LogLevel level, std::string_view node, std::string_view message) override {
    std::lock_guard lock(mutex_);
    lines_.push_back(Line{level, std::string(node), std::string(message)});
  }
  int threads() const override { return 1; }
  std::filesystem::path baseDir() const override { return "."; }
  RouteTable& routes() override { return routes_; }
  std::string_view version() const override { return "test"; }
  bool stopRequested() const override { return false; }

  std::vector<Line> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  class NoRoutes final : public RouteTable {
   public:
    Status add(Route) override { return unimplemented("no routes"); }
    std::vector<Route> routes() const override { return {}; }
  };
  mutable std::mutex mutex_;
  std::vector<Line> lines_;
  NoRoutes routes_;
};

}  // namespace aimass::plugins::dataset
