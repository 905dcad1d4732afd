// SPDX-License-Identifier: Apache-2.0
// `aimass models ... --storage URI` as users run it (a real process): the store named by a URI
// instead of a configuration, on SQLite, a folder and the PostgreSQL server of the `postgres`
// ctest fixture; and the clear errors for an unknown scheme, a malformed URI, a store path that
// is not writable and a corrupt artifact.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/plugin_loader.h"
#include "aimass/core/storage_uri.h"
#include "exec_aimass.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::TempDir;
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

std::string firstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

/// A folder for one test with pumps.csv in it; aimass runs with it as the working directory.
class Workspace {
 public:
  Workspace() {
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps.csv", dir() / "pumps.csv");
  }
  const fs::path& dir() const { return temp_.path(); }

  /// Writes a training configuration whose storage node is `store_yaml` ("{type: ...}").
  std::string trainConfig(const std::string& store_yaml) const {
    const fs::path file = dir() / "train.yaml";
    std::ofstream(file) << "nodes:\n"
                           "  store: "
                        << store_yaml
                        << "\n"
                           "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
                           "  pump_state: {type: model.softmax}\n"
                           "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                           "  train: {type: job.train, model: pump_state, dataset: pumps, "
                           "optimizer: sgd, epochs: 2, validation_fraction: 0.2, storage: store}\n";
    return file.string();
  }

  /// Runs the aimass executable in this folder; `as_nobody` drops root first (root ignores
  /// file permissions).
  Result aimass(std::vector<std::string> args, bool as_nobody = false) const {
    const fs::path out_path = dir() / "stdout", err_path = dir() / "stderr";
    pid_t pid = fork();
    if (pid == 0) {
      int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
      int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
      dup2(out, STDOUT_FILENO);
      dup2(err, STDERR_FILENO);
      if (chdir(dir().c_str()) != 0) _exit(126);
      if (as_nobody && geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(125);
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
  TempDir temp_;
};

/// The storage plugins of the build, whose scheme declarations parseStorageUri() reads.
class StorageUriParse : public ::testing::Test {
 protected:
  StorageUriParse() { loader_.loadDirectory(AIMASS_PLUGIN_DIR); }
  aimass::Expected<aimass::core::StorageUri> parse(const std::string& uri, const fs::path& base) {
    return aimass::core::parseStorageUri(uri, registry_, base);
  }
  aimass::core::TypeRegistry registry_;
  aimass::core::PluginLoader loader_{registry_};
};

TEST_F(StorageUriParse, MapsEachSchemeToItsNodeTypeAndParameters) {
  const fs::path base = "/work/dir";
  auto sqlite = parse("sqlite:///var/lib/a%20b/store.db", base);
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().toString();
  EXPECT_EQ(sqlite->type, "storage.sqlite");
  EXPECT_EQ(sqlite->params,
            (std::vector<std::pair<std::string, std::string>>{{"path", "/var/lib/a b/store.db"}}));
  auto relative = parse("sqlite:var/store.db?busy_timeout_ms=10", base);
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->params, (std::vector<std::pair<std::string, std::string>>{
                                  {"path", "/work/dir/var/store.db"}, {"busy_timeout_ms", "10"}}));
  for (const char* uri : {"file:///srv/store", "fs:///srv/store", "file://localhost/srv/store"}) {
    auto folder = parse(uri, base);
    ASSERT_TRUE(folder.ok()) << uri << ": " << folder.status().toString();
    EXPECT_EQ(folder->type, "storage.fs");
    EXPECT_EQ(folder->params[0].second, "/srv/store");
  }
  auto pg = parse(
      "postgresql://me@db.example:5433/reg?sslmode=require&password_env=PGPW&pool_size=2", base);
  ASSERT_TRUE(pg.ok()) << pg.status().toString();
  EXPECT_EQ(pg->type, "storage.postgres");
  EXPECT_EQ(pg->params, (std::vector<std::pair<std::string, std::string>>{
                            {"uri", "postgresql://me@db.example:5433/reg?sslmode=require"},
                            {"password_env", "PGPW"},
                            {"pool_size", "2"}}));
}

TEST_F(StorageUriParse, RejectsMalformedUrisSayingWhatIsWrong) {
  auto expectBad = [this](const std::string& uri, const std::string& why) {
    auto parsed = parse(uri, "/base");
    ASSERT_FALSE(parsed.ok()) << uri;
    EXPECT_EQ(parsed.status().code(), aimass::StatusCode::kInvalidArgument);
    EXPECT_THAT(parsed.status().message(), HasSubstr(why)) << uri;
  };
  // The known schemes are those the loaded plugins declare.
  expectBad("mysql://u@h/db", "unknown scheme 'mysql'; known schemes: ");
  for (const char* scheme : {"sqlite", "file", "fs", "postgresql", "postgres"}) {
    expectBad("mysql://u@h/db", scheme);
  }
  expectBad("store.db", "sqlite:///abs/path/store.db");  // the declared forms are shown
  expectBad("store.db", "not a URI");
  expectBad("sqlite:", "no path");
  expectBad("sqlite://", "no path");
  expectBad("sqlite://server/store.db", "takes no host ('server')");
  expectBad("sqlite:///a%zzb.db", "bad %-escape");
  expectBad("sqlite:///a.db?busy_timeout_ms", "malformed query");
  expectBad("sqlite:///a.db?x=1&x=2", "sets 'x' twice");
  expectBad("postgresql:db", "postgresql://USER@HOST:PORT/DATABASE");
  expectBad("postgresql://me@host:5432", "no database");
  expectBad("postgresql:///db", "no server");
  // A password in the URI is never echoed back.
  auto secret = parse("postgresql://me:hunter2@host", "/base");
  ASSERT_FALSE(secret.ok());
  EXPECT_THAT(secret.status().message(), ::testing::Not(HasSubstr("hunter2")));
}

TEST(StorageUriCli, AnUnknownSchemeIsRefusedListingTheKnownOnes) {
  Workspace ws;
  Result r = ws.aimass({"models", "list", "--storage", "mysql://me@127.0.0.1/registry"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_THAT(r.err, HasSubstr("unknown scheme 'mysql'"));
  for (const char* scheme : {"sqlite", "file", "fs", "postgresql", "postgres"}) {
    EXPECT_THAT(r.err, HasSubstr(scheme));
  }
}

TEST(StorageUriCli, AMalformedUriIsRefusedSayingWhy) {
  Workspace ws;
  Result host = ws.aimass({"models", "list", "--storage", "sqlite://fileserver/store.db"});
  EXPECT_EQ(host.code, 2);
  EXPECT_THAT(host.err, HasSubstr("takes no host ('fileserver')"));
  Result option = ws.aimass({"models", "list", "--storage", "sqlite:store.db?timeout=5"});
  EXPECT_EQ(option.code, 2);
  EXPECT_THAT(option.err, HasSubstr("unknown option 'timeout' for storage.sqlite"));
  EXPECT_THAT(option.err, HasSubstr("busy_timeout_ms"));
  Result both =
      ws.aimass({"models", "list", "--storage", "sqlite:store.db", "--config", "train.yaml"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("only one of --config CONFIG or --storage URI"));
  Result neither = ws.aimass({"models", "list"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_THAT(neither.err, HasSubstr("--config CONFIG or --storage URI"));
}

TEST(StorageUriCli, AStorePathThatIsNotWritableGivesAClearError) {
  Workspace ws;
  const fs::path locked = ws.dir() / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                              fs::perms::others_exec);
  fs::permissions(ws.dir(), fs::perms::all);  // the dropped user writes stdout/stderr here
  const std::string file = (locked / "store.db").string();
  Result sqlite = ws.aimass({"models", "list", "--storage", "sqlite://" + file}, true);
  EXPECT_EQ(sqlite.code, 1) << sqlite.err;
  EXPECT_THAT(sqlite.err, HasSubstr(file));
  EXPECT_THAT(sqlite.err, HasSubstr("Permission denied"));
  Result folder =
      ws.aimass({"models", "list", "--storage", "fs://" + (locked / "store").string()}, true);
  EXPECT_EQ(folder.code, 1) << folder.err;
  EXPECT_THAT(folder.err, HasSubstr((locked / "store").string()));
}

TEST(StorageUriCli, ListsAndShowsASqliteRegistryByAbsoluteAndRelativeUri) {
  Workspace ws;
  Result trained = ws.aimass({"run", ws.trainConfig("{type: storage.sqlite, path: var/store.db}")});
  ASSERT_EQ(trained.code, 0) << trained.err;
  const std::string absolute = "sqlite://" + (ws.dir() / "var/store.db").string();
  for (const std::string& uri : {absolute, std::string("sqlite:var/store.db")}) {
    Result list = ws.aimass({"models", "list", "--storage", uri});
    EXPECT_EQ(list.code, 0) << uri << ": " << list.err;
    EXPECT_THAT(list.out, ::testing::ContainsRegex("pump_state +1 +1 +-\n")) << uri;
  }
  Result promote = ws.aimass(
      {"models", "promote", "pump_state", "1", "--alias", "champion", "--storage", absolute});
  EXPECT_EQ(promote.code, 0) << promote.err;
  Result show = ws.aimass({"models", "show", "pump_state@champion", "--storage", absolute});
  EXPECT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("aliases   champion"));
}

TEST(StorageUriCli, ACorruptArtifactIsReportedAsDataLossNamingItsKey) {
  Workspace ws;
  Result trained = ws.aimass({"run", ws.trainConfig("{type: storage.fs, path: store}")});
  ASSERT_EQ(trained.code, 0) << trained.err;
  Result intact = ws.aimass({"models", "show", "pump_state/1", "--storage", "fs:store"});
  ASSERT_EQ(intact.code, 0) << intact.err;
  std::string key;
  for (const auto& line : {std::string("artifact  ")}) {
    const auto at = intact.out.find(line);
    ASSERT_NE(at, std::string::npos) << intact.out;
    key = intact.out.substr(at + line.size(), intact.out.find('\n', at) - at - line.size());
  }
  // Flip one byte in the middle of the artifact's file (storage.fs keeps each key as a file;
  // the one training run saved one artifact under models/pump_state/artifacts/).
  std::vector<fs::path> artifacts;
  for (const auto& entry : fs::recursive_directory_iterator(ws.dir() / "store")) {
    // (Beside it: its training-data profile, ARTIFACT.profile.)
    if (entry.is_regular_file() &&
        entry.path().parent_path().string().ends_with("models/pump_state/artifacts") &&
        entry.path().filename().string().find("profile") == std::string::npos) {
      artifacts.push_back(entry.path());
    }
  }
  ASSERT_EQ(artifacts.size(), 1u) << "expected the one artifact of key " << key << ", found "
                                  << ::testing::PrintToString(artifacts);
  const std::optional<fs::path> artifact = artifacts.front();
  {
    std::fstream file(*artifact, std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(fs::file_size(*artifact) / 2);
    file.seekg(middle);
    char byte = 0;
    file.get(byte);
    file.seekp(middle);
    file.put(static_cast<char>(byte ^ 0x5a));
  }
  Result corrupt = ws.aimass(
      {"models", "show", "pump_state/1", "--storage", "file://" + (ws.dir() / "store").string()});
  EXPECT_EQ(corrupt.code, 1) << corrupt.out;
  EXPECT_THAT(corrupt.err, HasSubstr("artifact '" + key + "' of pump_state/1 is corrupt"));
}

TEST(StorageUriCli, UsesAPostgresRegistryThatATrainingRunFilled) {
  const char* state = std::getenv("AIMASS_TEST_POSTGRES_STATE");
  ASSERT_NE(state, nullptr) << "run through ctest: the 'postgres' fixture starts the server";
  const std::string uri = firstLine(fs::path(state) / "uri");
  ::setenv("AIMASS_TEST_PG_PASSWORD", firstLine(fs::path(state) / "password").c_str(), 1);
  Workspace ws;
  Result trained = ws.aimass({"run", ws.trainConfig("{type: storage.postgres, uri: '" + uri +
                                                    "', password_env: AIMASS_TEST_PG_PASSWORD}")});
  ASSERT_EQ(trained.code, 0) << trained.err;
  const std::string storage = uri + "?password_env=AIMASS_TEST_PG_PASSWORD";
  Result list = ws.aimass({"models", "list", "--json", "--storage", storage});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("\"model\": \"pump_state\""));
  Result show = ws.aimass({"models", "show", "pump_state", "--storage", storage});
  EXPECT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, ::testing::ContainsRegex("VERSION +CREATED"));
  // Without the password the server refuses, and says so.
  Result refused =
      ws.aimass({"models", "list", "--storage", uri + "?password_env=AIMASS_UNSET_PG_PW"});
  EXPECT_EQ(refused.code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("AIMASS_UNSET_PG_PW"));
}

}  // namespace
