// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the job.evaluate tests share: a progress that records summaries, a fixture with a
// temporary folder, and the persistence stubs of fake models.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "aimass/job.h"
#include "aimass/model.h"

namespace aimass::core::testing {

/// Keeps every phase's summary; `last` is the latest.
class RecordingProgress final : public JobProgress {
 public:
  void begin(std::string_view, std::uint64_t) override {}
  void update(std::uint64_t, const std::vector<std::pair<std::string, double>>&) override {}
  void end(std::string_view summary) override {
    last = summary;
    summaries.push_back(last);
  }
  std::string last;
  std::vector<std::string> summaries;
};

/// A fresh temporary folder per test, `dir_`, removed afterwards.
class TemporaryFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "aimass-evaluate-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::filesystem::path dir_;
};

/// A model whose state never needs saving: the tests make it, predict and drop it.
class UnsavedModel : public Model {
 public:
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

}  // namespace aimass::core::testing
