// SPDX-License-Identifier: Apache-2.0
#pragma once
// What the job.evaluate tests share: a progress that records summaries, a fixture with a
// temporary folder, and the persistence stubs of fake models.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/job.h"
#include "aimass/model.h"
#include "evaluate_job.h"

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

/// Runs one EvaluateJob ("eval" of model "m" on dataset "d") writing its JSON report to
/// dir_/report.json, which json() parses.
class EvaluateRunTest : public TemporaryFolderTest {
 protected:
  Status run(std::shared_ptr<const Model> model, std::shared_ptr<const Dataset> data,
             EvaluateTargets targets = {}, std::uint64_t batch_size = 5) {
    targets.model = std::move(model);
    targets.model_name = "m";
    targets.dataset = std::move(data);
    targets.dataset_name = "d";
    targets.batch_size = batch_size;
    targets.output = dir_ / "report.json";
    job_ = std::make_unique<EvaluateJob>("eval", std::move(targets));
    return job_->run(host_, progress_);
  }
  Poco::JSON::Object::Ptr json() const {
    std::ifstream in(dir_ / "report.json");
    std::stringstream text;
    text << in.rdbuf();
    return Poco::JSON::Parser().parse(text.str()).extract<Poco::JSON::Object::Ptr>();
  }

  HostServices host_{std::filesystem::temp_directory_path(), 1};
  RecordingProgress progress_;
  std::unique_ptr<EvaluateJob> job_;
};

}  // namespace aimass::core::testing
