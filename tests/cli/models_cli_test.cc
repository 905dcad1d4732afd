// SPDX-License-Identifier: Apache-2.0
// `aimass models ...` as users run it: a real process on a storage.fs registry that two
// quickstart-like training runs (`aimass run`) filled.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "exec_aimass.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// A folder with the configuration, its data and its store; removed afterwards.
class Workspace {
 public:
  Workspace() {
    std::string pattern = (fs::temp_directory_path() / "aimass-models-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir_ / "pumps.csv");
    std::ofstream(dir_ / "train.yaml") << "nodes:\n"
                                          "  store: {type: storage.fs, path: store}\n"
                                          "  pumps: {type: dataset.csv, path: pumps.csv, "
                                          "label: state}\n"
                                          "  pump_state: {type: model.softmax}\n"
                                          "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                                          "  train: {type: job.train, model: pump_state, "
                                          "dataset: pumps, optimizer: sgd, epochs: 2, "
                                          "validation_fraction: 0.2, storage: store}\n";
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string config() const { return (dir_ / "train.yaml").string(); }
  const fs::path& dir() const { return dir_; }
  /// Files storage.fs keeps under the models/pump_state/artifacts/ level of its keys.
  /// Files under models/pump_state/artifacts/: the models, or (`profiles`) the training-data
  /// profiles job.train saves beside them ("<artifact>.profile", %-escaped by storage.fs).
  std::size_t artifactFiles(bool profiles = false) const {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "store", ec)) {
      const bool profile = entry.path().filename().string().ends_with("%2Eprofile.val");
      n += entry.is_regular_file() &&
                   entry.path().parent_path().string().ends_with("models/pump_state/artifacts") &&
                   profile == profiles
               ? 1
               : 0;
    }
    return n;
  }

  /// Runs the aimass executable with `args`, stdout and stderr captured through files.
  Result aimass(std::vector<std::string> args) const {
    const fs::path out_path = dir_ / "stdout", err_path = dir_ / "stderr";
    pid_t pid = fork();
    if (pid == 0) {
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      unsetenv("AIMASS_PLUGIN_PATH");
      aimass::testing::execProgram(AIMASS_EXECUTABLE, std::move(args));
    }
    Result result;
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
      ADD_FAILURE() << "could not run " << AIMASS_EXECUTABLE;
      return result;
    }
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.out = readFile(out_path);
    result.err = readFile(err_path);
    return result;
  }

 private:
  fs::path dir_;
};

/// Two training runs: versions 1 and 2 of pump_state.
class ModelsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int run = 1; run <= 2; ++run) {
      Result r = ws_.aimass({"run", ws_.config()});
      ASSERT_EQ(r.code, 0) << r.err;
      ASSERT_THAT(r.err, HasSubstr("registered pump_state version " + std::to_string(run)));
    }
  }
  Result models(std::vector<std::string> args) const {
    args.insert(args.begin(), "models");
    args.push_back("--config");
    args.push_back(ws_.config());
    return ws_.aimass(std::move(args));
  }
  Poco::JSON::Object::Ptr showJson(const std::string& reference) const {
    Result r = models({"show", reference, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Object::Ptr>();
  }

  Workspace ws_;
};

TEST_F(ModelsCli, ListShowsEachTrainedModelWithItsVersions) {
  Result r = models({"list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("MODEL +VERSIONS +LATEST +ALIASES\n"
                                              "pump_state +2 +2 +-\n"));

  Result json = models({"list", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto list = Poco::JSON::Parser().parse(json.out).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(list->size(), 1u);
  auto model = list->getObject(0);
  EXPECT_EQ(model->getValue<std::string>("model"), "pump_state");
  EXPECT_EQ(model->getValue<int>("versions"), 2);
  EXPECT_EQ(model->getValue<int>("latest"), 2);
}

TEST_F(ModelsCli, ShowGivesEachVersionsArtifactTypeAndMetrics) {
  auto model = showJson("pump_state");
  auto versions = model->getArray("versions");
  ASSERT_EQ(versions->size(), 2u);
  std::vector<std::string> artifacts;
  for (std::size_t i = 0; i < versions->size(); ++i) {
    auto v = versions->getObject(static_cast<unsigned>(i));
    EXPECT_EQ(v->getValue<int>("version"), static_cast<int>(i) + 1);
    EXPECT_EQ(v->getValue<std::string>("type"), "model.softmax");
    EXPECT_EQ(v->getValue<std::string>("node"), "pump_state");
    EXPECT_EQ(v->getValue<std::string>("sha256").size(), 64u);
    EXPECT_FALSE(v->getValue<std::string>("dataset").empty());
    auto metrics = v->getObject("metrics");
    EXPECT_TRUE(metrics->has("loss") && metrics->has("val_loss") && metrics->has("val_accuracy"));
    artifacts.push_back(v->getValue<std::string>("artifact"));
    EXPECT_THAT(artifacts.back(), ::testing::StartsWith("models/pump_state/artifacts/"));
  }
  EXPECT_NE(artifacts[0], artifacts[1]) << "each version has its own artifact";
  EXPECT_EQ(ws_.artifactFiles(), 2u);
  EXPECT_EQ(ws_.artifactFiles(/*profiles=*/true), 2u) << "and its training-data profile";

  Result text = models({"show", "pump_state/1"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("version   1\n"));
  EXPECT_THAT(text.out, HasSubstr("artifact  " + artifacts[0] + "\n"));
  EXPECT_THAT(text.out, HasSubstr("node      pump_state (model.softmax)\n"));
  EXPECT_THAT(text.out, HasSubstr("profile   " + artifacts[0] + ".profile ("));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\nvibration +number +0.0% +-?[0-9.]+ "));
}

TEST_F(ModelsCli, PromoteAndRollbackMoveAnAlias) {
  Result first = models({"promote", "pump_state", "1", "--alias", "champion"});
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(first.out, "pump_state@champion -> version 1\n");
  Result second = models({"promote", "pump_state", "2", "--alias", "champion"});
  EXPECT_EQ(second.code, 0) << second.err;
  EXPECT_EQ(showJson("pump_state@champion")->getValue<int>("version"), 2);

  Result back = models({"rollback", "pump_state", "--alias", "champion"});
  EXPECT_EQ(back.code, 0) << back.err;
  EXPECT_EQ(back.out, "pump_state@champion -> version 1\n");
  EXPECT_EQ(showJson("pump_state@champion")->getValue<int>("version"), 1);

  Result none_left = models({"rollback", "pump_state", "--alias", "champion"});
  EXPECT_EQ(none_left.code, 2) << none_left.out;
  EXPECT_THAT(none_left.err, HasSubstr("champion"));

  Result list = models({"list"});
  EXPECT_THAT(list.out, ::testing::ContainsRegex("pump_state +2 +2 +champion=1\n"));
}

TEST_F(ModelsCli, HistoryListsEveryChangeOldestFirst) {
  ASSERT_EQ(models({"promote", "pump_state", "2", "--alias", "champion"}).code, 0);
  ASSERT_EQ(models({"promote", "pump_state", "1", "--alias", "champion"}).code, 0);
  ASSERT_EQ(models({"rollback", "pump_state", "--alias", "champion"}).code, 0);
  Result text = models({"history", "pump_state"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, ::testing::ContainsRegex(
                            "SEQ +TIME \\(UTC\\) +KIND +VERSION +ALIAS +BY +WHAT\n"
                            "1 +[0-9TZ:-]+ +registered +1 +- +[^ ]+ +version 1 registered "
                            "by node '[a-z_]+' \\(model.softmax\\)\n"
                            "2 .* registered +2 .*\n"
                            "3 .* alias_moved +2 +champion +.* alias 'champion' set to version 2\n"
                            "4 .* alias_moved +1 +champion +.* moved from version 2 to version 1\n"
                            "5 .* alias_rolled_back +2 +champion +.* rolled back from version 1 "
                            "to version 2\n$"));
  Result json = models({"history", "pump_state", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  auto body = Poco::JSON::Parser().parse(json.out).extract<Poco::JSON::Object::Ptr>();
  auto events = body->getArray("events");
  ASSERT_EQ(events->size(), 5u);
  EXPECT_EQ(events->getObject(4)->getValue<std::string>("kind"), "alias_rolled_back");
  EXPECT_EQ(events->getObject(4)->getObject("details")->getValue<int>("from"), 1);
  EXPECT_TRUE(events->getObject(0)->isNull("alias"));

  Result unknown = models({"history", "nosuch"});
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_THAT(unknown.err, HasSubstr("nosuch"));
  Result extra = models({"history", "pump_state", "more"});
  EXPECT_EQ(extra.code, 2);
}

TEST_F(ModelsCli, DeleteRemovesVersionAndArtifactButNotWhileAliasedUnlessForced) {
  ASSERT_EQ(ws_.artifactFiles(), 2u);
  ASSERT_EQ(models({"promote", "pump_state", "1", "--alias", "champion"}).code, 0);

  Result refused = models({"delete", "pump_state/1"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("champion"));
  EXPECT_EQ(ws_.artifactFiles(), 2u);

  Result forced = models({"delete", "pump_state/1", "--force"});
  EXPECT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(forced.out, "deleted pump_state version 1\n");
  EXPECT_EQ(ws_.artifactFiles(), 1u) << "the version's artifact is deleted with it";
  EXPECT_EQ(ws_.artifactFiles(/*profiles=*/true), 1u) << "and its profile";
  Result gone = models({"show", "pump_state/1"});
  EXPECT_EQ(gone.code, 2);
  EXPECT_THAT(gone.err, HasSubstr("no version 1"));
  EXPECT_EQ(showJson("pump_state")->getArray("versions")->size(), 1u);
}

TEST_F(ModelsCli, UnknownModelVersionOrAliasIsExitTwoWithAClearError) {
  Result model = models({"show", "nope"});
  EXPECT_EQ(model.code, 2);
  EXPECT_THAT(model.err, HasSubstr("'nope' is not registered"));
  Result version = models({"show", "pump_state/9"});
  EXPECT_EQ(version.code, 2);
  EXPECT_THAT(version.err, HasSubstr("no version 9"));
  Result alias = models({"promote", "pump_state", "7", "--alias", "champion"});
  EXPECT_EQ(alias.code, 2);
  Result bad_version = models({"delete", "pump_state/latest"});
  EXPECT_EQ(bad_version.code, 2);
  EXPECT_THAT(bad_version.err, HasSubstr("whole number"));
}

TEST_F(ModelsCli, VersionsNameTheirDatasetCodeVersionAndUser) {
  auto v = showJson("pump_state/2");
  EXPECT_EQ(v->getValue<std::string>("dataset_name"), "pumps");
  EXPECT_EQ(v->getValue<int>("dataset_version"), 1)
      << "the same data trained on twice is one version";
  EXPECT_EQ(v->getValue<std::string>("dataset_sha256").size(), 64u);
  EXPECT_FALSE(v->getValue<std::string>("code_version").empty());
  EXPECT_FALSE(v->getValue<std::string>("created_by").empty());

  Result datasets = ws_.aimass({"datasets", "list", "--config", ws_.config()});
  EXPECT_EQ(datasets.code, 0) << datasets.err;
  EXPECT_THAT(datasets.out, ::testing::ContainsRegex("DATASET +VERSIONS +LATEST +ROWS +SHA256\n"
                                                     "pumps +1 +1 +[0-9]+ +[0-9a-f]{12}\n"));
  Result one = ws_.aimass({"datasets", "show", "pumps/1", "--json", "--config", ws_.config()});
  ASSERT_EQ(one.code, 0) << one.err;
  auto record = Poco::JSON::Parser().parse(one.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(record->getValue<std::string>("sha256"), v->getValue<std::string>("dataset_sha256"));
  EXPECT_EQ(record->getValue<std::string>("type"), "dataset.csv");
  EXPECT_THAT(record->getValue<std::string>("source"), HasSubstr("'pumps'"));
  EXPECT_GT(record->getValue<int>("rows"), 0);

  // Changed data is a new dataset version, and the next model version names it.
  {
    std::ofstream more(ws_.dir() / "pumps.csv", std::ios::app);
    std::ifstream in(ws_.dir() / "pumps.csv");
    std::string header, first_row;
    std::getline(in, header);
    std::getline(in, first_row);
    more << first_row << "\n";
  }
  Result run = ws_.aimass({"run", ws_.config()});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("dataset pumps is version 2"));
  EXPECT_THAT(run.err, HasSubstr("registered pump_state version 3"));
  EXPECT_EQ(showJson("pump_state/3")->getValue<int>("dataset_version"), 2);
  Result shown = ws_.aimass({"datasets", "show", "pumps", "--config", ws_.config()});
  EXPECT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, ::testing::ContainsRegex("VERSION +CREATED +ROWS +SHA256 +TYPE +BY\n"
                                                  "1 .*dataset.csv.*\n2 .*dataset.csv.*\n"));
  Result text = models({"show", "pump_state/3"});
  EXPECT_THAT(text.out, HasSubstr("dataset   pumps/2 sha256 "));
  Result by_uri =
      ws_.aimass({"datasets", "list", "--storage", "fs://" + (ws_.dir() / "store").string()});
  EXPECT_EQ(by_uri.code, 0) << by_uri.err;
  EXPECT_THAT(by_uri.out, ::testing::ContainsRegex("pumps +2 +2 "));
  Result missing = ws_.aimass({"datasets", "show", "pumps/7", "--config", ws_.config()});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("dataset 'pumps' has no version 7"));
}

TEST_F(ModelsCli, TagSetsAndRemovesTags) {
  Result set = models({"tag", "pump_state/1", "stage=review", "owner=ops team"});
  EXPECT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out, "pump_state/1 tags: owner=ops team stage=review\n");
  Result changed = models({"tag", "pump_state/1", "stage=prod", "--remove", "owner"});
  EXPECT_EQ(changed.code, 0) << changed.err;
  auto tags = showJson("pump_state/1")->getObject("tags");
  EXPECT_EQ(tags->getValue<std::string>("stage"), "prod");
  EXPECT_FALSE(tags->has("owner"));
  EXPECT_EQ(showJson("pump_state/2")->getObject("tags")->size(), 0u);

  Result missing = models({"tag", "pump_state/1", "--remove", "owner"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("has no tag 'owner'"));
  Result not_pair = models({"tag", "pump_state/1", "stage"});
  EXPECT_EQ(not_pair.code, 2);
  EXPECT_THAT(not_pair.err, HasSubstr("'stage' is not KEY=VALUE"));
  Result nothing = models({"tag", "pump_state/1"});
  EXPECT_EQ(nothing.code, 2);
  EXPECT_THAT(nothing.err, HasSubstr("needs KEY=VALUE or --remove KEY"));
}

TEST_F(ModelsCli, GcRemovesArtifactsNoVersionNames) {
  // A crash between saving an artifact and registering it leaves one like this behind (the
  // key models/pump_state/artifacts/1600000000000000000-orphan in storage.fs's layout).
  const fs::path artifacts = ws_.dir() / "store" / "data" / "models" / "pump_state" / "artifacts";
  ASSERT_TRUE(fs::is_directory(artifacts));
  std::ofstream(artifacts / "1600000000000000000-orphan.val") << "orphaned bytes";
  ASSERT_EQ(ws_.artifactFiles(), 3u);

  Result dry = models({"gc", "--dry-run"});
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_THAT(dry.out,
              HasSubstr("would remove models/pump_state/artifacts/1600000000000000000-orphan\n"));
  EXPECT_THAT(dry.out,
              HasSubstr("would remove 1 unreferenced artifact; kept 4 referenced, 0 recent"))
      << "2 artifacts and their 2 profiles";
  EXPECT_EQ(ws_.artifactFiles(), 3u);

  Result gc = models({"gc"});
  EXPECT_EQ(gc.code, 0) << gc.err;
  EXPECT_THAT(gc.out,
              HasSubstr("removed models/pump_state/artifacts/1600000000000000000-orphan\n"));
  EXPECT_EQ(ws_.artifactFiles(), 2u);
  for (const char* reference : {"pump_state/1", "pump_state/2"}) {
    EXPECT_EQ(models({"show", reference}).code, 0) << reference << " keeps its artifact";
  }
  Result again = models({"gc"});
  EXPECT_THAT(again.out, HasSubstr("removed 0 unreferenced artifacts; kept 4 referenced"));
  Result bad_age = models({"gc", "--min-age", "soon"});
  EXPECT_EQ(bad_age.code, 2);
  EXPECT_THAT(bad_age.err, HasSubstr("--min-age must be a whole number of seconds"));
}

TEST(ModelsCliUsage, MistakesAreUsageErrors) {
  Workspace ws;
  Result no_config = ws.aimass({"models", "list"});
  EXPECT_EQ(no_config.code, 2);
  EXPECT_THAT(no_config.err, HasSubstr("needs --config CONFIG"));
  Result no_alias = ws.aimass({"models", "promote", "m", "1", "--config", ws.config()});
  EXPECT_EQ(no_alias.code, 2);
  EXPECT_THAT(no_alias.err, HasSubstr("needs --alias ALIAS"));
  Result unknown = ws.aimass({"models", "frob", "--config", ws.config()});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown subcommand 'models frob'"));
  Result no_node = ws.aimass({"models", "list", "--config", ws.config(), "--storage-node", "x"});
  EXPECT_EQ(no_node.code, 2);
  EXPECT_THAT(no_node.err, HasSubstr("no storage node 'x'"));
  Result dry_elsewhere = ws.aimass({"models", "list", "--dry-run", "--config", ws.config()});
  EXPECT_EQ(dry_elsewhere.code, 2);
  EXPECT_THAT(dry_elsewhere.err, HasSubstr("--dry-run is not an option of 'aimass models list'"));
  Result datasets_unknown = ws.aimass({"datasets", "drop", "--config", ws.config()});
  EXPECT_EQ(datasets_unknown.code, 2);
  EXPECT_THAT(datasets_unknown.err, HasSubstr("unknown subcommand 'datasets drop'"));
  Result datasets_no_config = ws.aimass({"datasets", "list"});
  EXPECT_EQ(datasets_no_config.code, 2);
  EXPECT_THAT(datasets_no_config.err, HasSubstr("needs --config CONFIG"));
  Result datasets_empty = ws.aimass({"datasets", "list", "--config", ws.config()});
  EXPECT_EQ(datasets_empty.code, 0) << datasets_empty.err;
  EXPECT_EQ(datasets_empty.out, "no datasets registered\n");
  Result help = ws.aimass({"help", "models"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("delete NAME/VERSION       delete the version and its artifact"));
  // The --storage URI forms come from the storage plugins' declarations, not from core.
  EXPECT_THAT(help.out, HasSubstr("\nStorage URIs (--storage), from the loaded plugins:\n"));
  EXPECT_THAT(help.out, HasSubstr("\n  sqlite:///abs/path/store.db, sqlite:relative/store.db  "
                                  "(storage.sqlite)\n"));
  EXPECT_THAT(help.out, HasSubstr("(storage.fs)\n"));
  EXPECT_THAT(help.out, HasSubstr("?password_env=VAR names the variable holding the password)  "
                                  "(storage.postgres)\n"));
  Result runs = ws.aimass({"runs", "--help"});
  EXPECT_EQ(runs.code, 0);
  EXPECT_THAT(runs.out, HasSubstr("(storage.sqlite)\n"));
}

TEST(ModelsCliUsage, AnEmptyStoreListsNoModels) {
  Workspace ws;
  Result r = ws.aimass({"models", "list", "--config", ws.config()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "no models registered\n");
  EXPECT_EQ(ws.artifactFiles(), 0u) << "nothing was trained";
}

}  // namespace
