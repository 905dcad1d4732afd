// SPDX-License-Identifier: Apache-2.0
// `aimass tune list|show` as users run it: a real process on a storage.fs store holding studies
// whose records the test writes itself (studySettingsJson/trialJson in storage.fs's layout, one
// file a key), so every trial state, order and importance is known in advance.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "aimass_process.h"
#include "tune/study.h"

namespace {

namespace fs = std::filesystem;
using aimass::core::StudySettings;
using aimass::core::Trial;
using aimass::core::TuneDimension;
using Poco::JSON::Array;
using Poco::JSON::Object;
using ::testing::HasSubstr;
using ::testing::Not;
using State = Trial::State;

using Result = aimass::testing::AimassResult;
using aimass::testing::readFile;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

/// The study "lr": the objective (val_loss, minimized) depends on the learning rate only:
/// (log10(lr) + 2)^2, plus a pruned, a failed and a running trial.
StudySettings lrStudy() {
  StudySettings s;
  s.name = "lr";
  s.optimizer_type = "optimizer.random_search";
  s.seed = 7;
  s.objective = "val_loss";
  s.maximize = false;
  TuneDimension lr;
  lr.key = "adam.learning_rate";
  lr.node = "adam";
  lr.param = "learning_rate";
  lr.kind = TuneDimension::Kind::kLogUniform;
  lr.low = 1e-4;
  lr.high = 1e-1;
  TuneDimension width;
  width.key = "net.width";
  width.node = "net";
  width.param = "width";
  width.kind = TuneDimension::Kind::kChoice;
  width.param_type = aimass::ParamType::kInt;
  width.choices = {"32", "64", "128"};
  TuneDimension dropout;
  dropout.key = "net.dropout";
  dropout.node = "net";
  dropout.param = "dropout";
  dropout.kind = TuneDimension::Kind::kUniform;
  dropout.low = 0;
  dropout.high = 0.5;
  dropout.parent = 1;
  dropout.parent_choices = {2};
  s.dimensions = {lr, width, dropout};
  return s;
}

/// Trials 0-11 complete (learning rates 10^-4 .. 10^-1 in a shuffled order, widths cycling,
/// dropout active with width 128), 12 pruned at epoch 2, 13 failed, 14 running.
std::vector<Trial> lrTrials() {
  std::vector<Trial> trials;
  const int exponents[12] = {7, 2, 11, 0, 5, 9, 3, 10, 1, 6, 8, 4};  // lr = 10^(-4 + e/4)
  for (std::uint64_t n = 0; n < 15; ++n) {
    Trial t;
    t.number = n;
    t.candidate = n + 1;
    const double exponent = -4.0 + exponents[n % 12] / 4.0 + (n >= 12 ? 0.1 : 0.0);
    const std::size_t width = n % 3;
    t.values = {std::pow(10.0, exponent), static_cast<double>(width),
                width == 2 ? 0.05 * static_cast<double>(n % 10) : kNan};
    t.started = 1000.0 + 100.0 * static_cast<double>(n);
    t.ended = t.started + 12.5;
    t.run_id = static_cast<std::int64_t>(n + 1);
    const double loss = (exponent + 2) * (exponent + 2);
    if (n < 12) {
      t.state = State::kComplete;
      t.value = loss;
      t.intermediate = {{1, loss + 1}, {2, loss + 0.5}, {3, loss}};
      t.told = n + 1;
    } else if (n == 12) {
      t.state = State::kPruned;
      t.value = 9.5;
      t.intermediate = {{1, 10.0}, {2, 9.5}};
      t.reason = "median pruner at epoch 2";
      t.told = n + 1;
    } else if (n == 13) {
      t.state = State::kFailed;
      t.reason = "out of memory";
      t.intermediate = {{1, 3.0}};
      t.told = n + 1;
    } else {
      t.state = State::kRunning;
      t.ended = 0;
      t.run_id = 0;
    }
    trials.push_back(std::move(t));
  }
  return trials;
}

/// A folder with a storage.fs store (written as storage.fs lays out its keys: data/KEY.val)
/// and a configuration naming it; removed afterwards.
class Workspace {
 public:
  Workspace() {
    std::string pattern = (fs::temp_directory_path() / "aimass-tune-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    std::ofstream(dir_ / "store.yaml") << "nodes:\n  store: {type: storage.fs, path: store}\n";
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string config() const { return (dir_ / "store.yaml").string(); }
  fs::path store() const { return dir_ / "store"; }

  void put(const std::string& key, const std::string& value) const {
    const fs::path file = dir_ / "store" / "data" / (key + ".val");
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << value;
  }
  void putStudy(const StudySettings& settings, const std::vector<Trial>& trials) const {
    put("tune/" + settings.name + "/study", aimass::core::studySettingsJson(settings));
    for (const auto& t : trials) {
      put(aimass::core::trialRecordKey(settings.name, t.number), aimass::core::trialJson(t));
    }
  }

  /// Runs the aimass executable with `args`, stdout and stderr captured through files.
  Result aimass(std::vector<std::string> args) const {
    return aimass::testing::runAimass(dir_, std::move(args));
  }

 private:
  fs::path dir_;
};

class TuneCli : public ::testing::Test {
 protected:
  void SetUp() override { ws_.putStudy(lrStudy(), lrTrials()); }
  Result tune(std::vector<std::string> args) const {
    args.insert(args.begin(), "tune");
    args.push_back("--config");
    args.push_back(ws_.config());
    return ws_.aimass(std::move(args));
  }
  Object::Ptr json(std::vector<std::string> args) const {
    args.push_back("--json");
    Result r = tune(std::move(args));
    EXPECT_EQ(r.code, 0) << r.err;
    Poco::JSON::Parser parser;
    return parser.parse(r.out).extract<Object::Ptr>();
  }
  Workspace ws_;
};

TEST_F(TuneCli, ShowOrdersTheLeaderboardBestFirstThenPrunedThenFailedAndRunning) {
  auto study = json({"show", "lr"});
  EXPECT_EQ(study->getValue<std::string>("study"), "lr");
  EXPECT_EQ(study->getValue<std::string>("optimizer"), "optimizer.random_search");
  EXPECT_EQ(study->getValue<int>("seed"), 7);
  EXPECT_EQ(study->getValue<std::string>("objective"), "val_loss");
  EXPECT_EQ(study->getValue<std::string>("direction"), "minimize");
  EXPECT_EQ(study->getArray("space")->size(), 3u);
  auto trials = study->getArray("trials");
  ASSERT_EQ(trials->size(), 15u);
  // Complete trials by loss, smallest first.
  std::vector<double> complete_values;
  for (unsigned i = 0; i < 12; ++i) {
    auto t = trials->getObject(i);
    EXPECT_EQ(t->getValue<int>("rank"), static_cast<int>(i + 1));
    EXPECT_EQ(t->getValue<std::string>("state"), "complete") << i;
    complete_values.push_back(t->getValue<double>("value"));
  }
  EXPECT_TRUE(std::is_sorted(complete_values.begin(), complete_values.end()));
  // lr = 10^-2 (exponent index 8) reaches loss 0: trial 10.
  EXPECT_EQ(trials->getObject(0)->getValue<int>("number"), 10);
  EXPECT_EQ(trials->getObject(0)->getValue<double>("value"), 0.0);
  EXPECT_EQ(trials->getObject(12)->getValue<std::string>("state"), "pruned");
  EXPECT_EQ(trials->getObject(12)->getValue<int>("epochs"), 2);
  EXPECT_EQ(trials->getObject(13)->getValue<std::string>("state"), "failed");
  EXPECT_EQ(trials->getObject(13)->getValue<std::string>("reason"), "out of memory");
  EXPECT_EQ(trials->getObject(14)->getValue<std::string>("state"), "running");
  EXPECT_TRUE(trials->getObject(14)->isNull("duration"));
  EXPECT_EQ(trials->getObject(0)->getValue<double>("duration"), 12.5);
  EXPECT_EQ(trials->getObject(0)->getValue<int>("run_id"), 11);
  // Parameters as values: the choice as a number, an inactive dimension as null.
  auto params = trials->getObject(0)->getObject("params");
  ASSERT_FALSE(params->get("adam.learning_rate").isString());
  EXPECT_NEAR(params->getValue<double>("adam.learning_rate"), 0.01, 1e-12);
  ASSERT_TRUE(params->get("net.width").isInteger());
  EXPECT_EQ(params->getValue<int>("net.width"), 64);  // trial 10: width index 1
  EXPECT_TRUE(params->isNull("net.dropout"));
  auto with_dropout = trials->getObject(2)->getObject("params");  // trial 5, width 128
  EXPECT_EQ(with_dropout->getValue<int>("net.width"), 128);
  ASSERT_FALSE(with_dropout->get("net.dropout").isString());
  EXPECT_DOUBLE_EQ(with_dropout->getValue<double>("net.dropout"), 0.25);
  auto best = study->getObject("best");
  EXPECT_EQ(best->getValue<int>("number"), 10);
  EXPECT_EQ(best->getValue<double>("value"), 0.0);
  EXPECT_EQ(best->getObject("params")->getValue<int>("net.width"), 64);
}

TEST_F(TuneCli, ImportancesGiveTheOnlyDimensionThatMattersTheLargestShare) {
  auto importances = json({"show", "lr"})->getObject("importances");
  ASSERT_TRUE(importances);
  const double lr = importances->getValue<double>("adam.learning_rate");
  const double width = importances->getValue<double>("net.width");
  const double dropout = importances->getValue<double>("net.dropout");
  EXPECT_NEAR(lr + width + dropout, 1.0, 1e-9);
  EXPECT_GT(lr, width);
  EXPECT_GT(lr, dropout);
  EXPECT_GT(lr, 0.5);

  Result text = tune({"show", "lr"});
  ASSERT_EQ(text.code, 0) << text.err;
  const auto at = text.out.find("importances\n");
  ASSERT_NE(at, std::string::npos) << text.out;
  EXPECT_EQ(text.out.substr(at + 12, 20), "  adam.learning_rate") << text.out;
}

TEST_F(TuneCli, ShowPrintsSettingsLeaderboardAndReasons) {
  Result r = tune({"show", "lr"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("optimizer  optimizer.random_search (seed 7)"));
  EXPECT_THAT(r.out, HasSubstr("objective  val_loss (minimize)"));
  EXPECT_THAT(r.out, HasSubstr("trials     15: 12 complete, 1 pruned, 1 failed, 1 running"));
  EXPECT_THAT(r.out, HasSubstr("best       trial 10: val_loss 0"));
  EXPECT_THAT(r.out, HasSubstr("log_uniform"));
  EXPECT_THAT(r.out, HasSubstr("32 | 64 | 128"));
  EXPECT_THAT(r.out, HasSubstr("net.width in 128"));
  EXPECT_THAT(r.out, HasSubstr("pruned at epoch 2"));
  EXPECT_THAT(r.out, HasSubstr("trial 13 failed: out of memory"));
  EXPECT_THAT(r.out, HasSubstr("12.5s"));
  // The rows in leaderboard order: rank 1 is trial 10, the pruned trial 12 is rank 13.
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string rank, number;
    words >> rank >> number;
    if (!rank.empty() && std::isdigit(static_cast<unsigned char>(rank[0])) &&
        line.starts_with("  ")) {
      rows.push_back(rank + " " + number);
    }
  }
  ASSERT_EQ(rows.size(), 15u) << r.out;
  EXPECT_EQ(rows[0], "1 10");
  EXPECT_EQ(rows[12], "13 12");
  EXPECT_EQ(rows[13], "14 13");
  EXPECT_EQ(rows[14], "15 14");
}

TEST_F(TuneCli, TopLimitsTheLeaderboard) {
  auto study = json({"show", "lr", "--top", "3"});
  EXPECT_EQ(study->getArray("trials")->size(), 3u);
  Result r = tune({"show", "--top=2", "lr"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(2 of 15 trials shown"));
  EXPECT_THAT(r.out, Not(HasSubstr("out of memory")));
  Result bad = tune({"show", "lr", "--top", "0"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("--top must be a whole number from 1"));
}

TEST_F(TuneCli, ListShowsEveryStudyWithCountsAndBest) {
  StudySettings other = lrStudy();
  other.name = "fresh";
  other.maximize = true;
  other.objective = "val_accuracy";
  ws_.putStudy(other, {});
  Result r = tune({"list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("STUDY"));
  EXPECT_THAT(r.out, HasSubstr("val_accuracy (max)"));
  EXPECT_THAT(r.out, HasSubstr("0 (trial 10)"));

  auto list = json({"list"});
  auto studies = list->getArray("studies");
  ASSERT_EQ(studies->size(), 2u);
  auto fresh = studies->getObject(0);
  EXPECT_EQ(fresh->getValue<std::string>("study"), "fresh");
  EXPECT_EQ(fresh->getValue<int>("trials"), 0);
  EXPECT_TRUE(fresh->isNull("best"));
  auto lr = studies->getObject(1);
  EXPECT_EQ(lr->getValue<std::string>("study"), "lr");
  EXPECT_EQ(lr->getValue<std::string>("direction"), "minimize");
  EXPECT_EQ(lr->getValue<int>("trials"), 15);
  EXPECT_EQ(lr->getValue<int>("complete"), 12);
  EXPECT_EQ(lr->getValue<int>("pruned"), 1);
  EXPECT_EQ(lr->getValue<int>("failed"), 1);
  EXPECT_EQ(lr->getValue<int>("running"), 1);
  EXPECT_EQ(lr->getObject("best")->getValue<int>("number"), 10);

  Result fresh_show = tune({"show", "fresh"});
  ASSERT_EQ(fresh_show.code, 0) << fresh_show.err;
  EXPECT_THAT(fresh_show.out, HasSubstr("no trials yet"));
  EXPECT_THAT(fresh_show.out, HasSubstr("need at least 4 complete trials (0 so far)"));
}

TEST_F(TuneCli, ChoicesShowAsTheValuesTheyAre) {
  StudySettings arch = lrStudy();
  arch.name = "arch";
  arch.maximize = true;
  arch.dimensions[1].key = "net.hidden";
  arch.dimensions[1].param_type = aimass::ParamType::kJson;
  arch.dimensions[1].choices = {"[128]", "[256, 128]", "\"auto\""};
  Trial t;
  t.state = State::kComplete;
  t.value = 0.9;
  t.values = {0.001, 1, 0.2};
  t.started = 10;
  t.ended = 3910;
  ws_.putStudy(arch, {t});
  auto study = json({"show", "arch"});
  auto params = study->getObject("best")->getObject("params");
  auto hidden = params->getArray("net.hidden");
  ASSERT_TRUE(hidden);
  ASSERT_EQ(hidden->size(), 2u);
  EXPECT_EQ(hidden->getElement<int>(0), 256);
  EXPECT_EQ(hidden->getElement<int>(1), 128);
  EXPECT_TRUE(study->isNull("importances"));  // one complete trial

  t.values = {0.001, 2, kNan};
  ws_.putStudy(arch, {t});
  EXPECT_EQ(json({"show", "arch"})
                ->getObject("best")
                ->getObject("params")
                ->getValue<std::string>("net.hidden"),
            "auto");

  Result r = tune({"show", "arch"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("objective  val_loss (maximize)"));
  EXPECT_THAT(r.out, HasSubstr("[128] | [256, 128] | \"auto\""));
  EXPECT_THAT(r.out, HasSubstr("1h05m"));  // 3900 s
}

TEST_F(TuneCli, StorageUriOpensTheStoreDirectly) {
  Result r = ws_.aimass({"tune", "list", "--storage", "fs:" + ws_.store().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("lr"));
  Result empty = ws_.aimass({"tune", "list", "--storage", "fs:" + ws_.store().string() + "2"});
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(empty.out, "no studies\n");
  Result none = ws_.aimass({"tune", "show", "lr", "--storage", "fs:" + ws_.store().string() + "2"});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("(it holds no studies)"));
}

TEST_F(TuneCli, UnknownStudyIsBadInputNamingTheKnownOnes) {
  Result r = tune({"show", "nope"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("aimass: no study 'nope' in"));
  EXPECT_THAT(r.err, HasSubstr("studies there: lr"));
  EXPECT_EQ(r.out, "");
}

TEST_F(TuneCli, CorruptRecordFailsNamingItsKey) {
  ws_.put("tune/lr/trials/00000005", "{\"number\": ");
  Result show = tune({"show", "lr"});
  EXPECT_EQ(show.code, 1);
  EXPECT_THAT(show.err, HasSubstr("tune/lr/trials/00000005"));
  Result list = tune({"list"});
  EXPECT_EQ(list.code, 1);
  EXPECT_THAT(list.err, HasSubstr("tune/lr/trials/00000005"));
}

TEST_F(TuneCli, UsageMistakesAreBadInput) {
  Result unknown = tune({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown subcommand 'tune frobnicate': use list or show"));
  Result none = ws_.aimass({"tune"});
  EXPECT_EQ(none.code, 2);
  EXPECT_THAT(none.err, HasSubstr("'tune' needs a subcommand: list or show"));
  Result no_name = tune({"show"});
  EXPECT_EQ(no_name.code, 2);
  EXPECT_THAT(no_name.err, HasSubstr("takes one study name"));
  Result no_store = ws_.aimass({"tune", "list"});
  EXPECT_EQ(no_store.code, 2);
  EXPECT_THAT(no_store.err, HasSubstr("--config CONFIG or --storage URI"));
  Result option = tune({"list", "--sort", "x"});
  EXPECT_EQ(option.code, 2);
  EXPECT_THAT(option.err, HasSubstr("unknown option '--sort'"));
}

TEST_F(TuneCli, HelpDescribesTheCommandsAndTheImportanceEstimate) {
  Result r = ws_.aimass({"help", "tune"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("show STUDY"));
  EXPECT_THAT(r.out, HasSubstr("epsilon squared"));
  Result overview = ws_.aimass({"--help"});
  EXPECT_THAT(overview.out, HasSubstr("tune ACTION"));
}

}  // namespace
