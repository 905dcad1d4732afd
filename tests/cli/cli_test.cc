// SPDX-License-Identifier: Apache-2.0
// The `aimass` executable as users run it: a real process, its stdout, stderr and exit code.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/version.h"
#include "exec_aimass.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

/// How long a test waits for a process before calling it hung. Not a speed check: generous,
/// only there so a broken build fails instead of blocking the test run.
constexpr auto kHangLimit = std::chrono::seconds(120);

std::string fixture(const std::string& name) {
  return (fs::path(AIMASS_FIXTURE_DIR) / ("libaimass_fixture_" + name + ".so")).string();
}

/// The aimass executable running as a child process with its stdout and stderr captured.
/// AIMASS_PLUGIN_PATH is removed from its environment unless the test sets it, so results do
/// not depend on the shell the tests run from.
class AimassProcess {
 public:
  explicit AimassProcess(std::vector<std::string> args,
                         std::optional<std::string> plugin_path_env = std::nullopt) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) {
      ADD_FAILURE() << "pipe() failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]);
      close(out[1]);
      close(err[0]);
      close(err[1]);
      if (plugin_path_env) {
        setenv("AIMASS_PLUGIN_PATH", plugin_path_env->c_str(), 1);
      } else {
        unsetenv("AIMASS_PLUGIN_PATH");
      }
      aimass::testing::execProgram(AIMASS_EXECUTABLE, std::move(args));
    }
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }

  ~AimassProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }

  /// Reads output until stderr contains `text`; false if the process ended or hung first.
  bool waitForStderr(const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (err_.find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline || !readSome(100)) {
        return err_.find(text) != std::string::npos;
      }
    }
    return true;
  }

  void signal(int sig) { kill(pid_, sig); }

  /// Reads everything until both pipes close, then reaps the process; -1 when it hung.
  int wait() {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    while (out_fd_ >= 0 || err_fd_ >= 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "aimass did not finish; stderr so far:\n" << err_;
        return -1;
      }
      readSome(100);
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads what is available within `timeout_ms`; false once both pipes are closed.
  bool readSome(int timeout_ms) {
    std::vector<pollfd> fds;
    if (out_fd_ >= 0) fds.push_back({out_fd_, POLLIN, 0});
    if (err_fd_ >= 0) fds.push_back({err_fd_, POLLIN, 0});
    if (fds.empty()) {
      return false;
    }
    if (poll(fds.data(), fds.size(), timeout_ms) <= 0) {
      return true;
    }
    for (const auto& p : fds) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      char buffer[4096];
      ssize_t n = read(p.fd, buffer, sizeof buffer);
      std::string& sink = p.fd == out_fd_ ? out_ : err_;
      if (n > 0) {
        sink.append(buffer, static_cast<std::size_t>(n));
      } else {
        close(p.fd);
        (p.fd == out_fd_ ? out_fd_ : err_fd_) = -1;
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool exited_ = false;
  std::string out_;
  std::string err_;
};

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result aimass(std::vector<std::string> args, std::optional<std::string> env = std::nullopt) {
  AimassProcess process(std::move(args), std::move(env));
  int code = process.wait();
  return {code, process.out(), process.err()};
}

/// A folder with configuration files, removed afterwards.
class ConfigDir {
 public:
  ConfigDir() {
    std::string pattern = (fs::temp_directory_path() / "aimass-cli-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  ~ConfigDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }

 private:
  fs::path dir_;
};

std::string waitJobConfig(const std::string& extra) {
  return "plugins: [" + fixture("wait_job") + "]\nnodes:\n  wait: {type: job.fixture_wait" + extra +
         "}\n";
}

TEST(Cli, VersionNamesHostAbiAndToolchain) {
  Result r = aimass({"--version"});
  EXPECT_EQ(r.code, 0);
  const std::string expected_tail = " (plugin ABI " + std::to_string(AIMASS_ABI_MAJOR) + "." +
                                    std::to_string(AIMASS_ABI_MINOR) +
                                    ", toolchain " AIMASS_TOOLCHAIN_TAG ")\n";
  EXPECT_TRUE(std::regex_match(r.out, std::regex("aimass [0-9]+\\.[0-9]+\\.[0-9]+ .*\n"))) << r.out;
  EXPECT_THAT(r.out, ::testing::EndsWith(expected_tail));
}

TEST(Cli, HelpDocumentsEveryCommandWithExamples) {
  Result r = aimass({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* usage :
       {"validate CONFIG", "run CONFIG", "plugins list [--json]", "plugins describe TYPE [--json]",
        "plugins reference", "plugin check LIB.so [--json]", "--plugin-path", "--log-level",
        "AIMASS_PLUGIN_PATH", "Exit codes:", "Examples:", "aimass run configs/quickstart.yaml"}) {
    EXPECT_THAT(r.out, HasSubstr(usage));
  }

  Result command = aimass({"help", "plugin", "check"});
  EXPECT_EQ(command.code, 0);
  EXPECT_THAT(command.out, HasSubstr("Usage: aimass [global options] plugin check LIB.so"));
  EXPECT_THAT(command.out, HasSubstr("Exit code: 0 every check passed"));
  EXPECT_EQ(aimass({"run", "--help"}).out, aimass({"help", "run"}).out);
}

TEST(Cli, UsageMistakesExitWithCode2) {
  Result unknown = aimass({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_THAT(unknown.err, HasSubstr("aimass --help"));

  Result typo = aimass({"plugins", "lst"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_THAT(typo.err, HasSubstr("unknown command 'plugins lst'; did you mean 'plugins list'?"));

  EXPECT_EQ(aimass({}).code, 2);
  EXPECT_EQ(aimass({"validate"}).code, 2);
  EXPECT_EQ(aimass({"plugins", "list", "--yaml"}).code, 2);
  EXPECT_EQ(aimass({"--log-level", "loud", "plugins", "list"}).code, 2);
}

TEST(Cli, ValidateReportsEveryProblemWithLocationsAndExits2) {
  ConfigDir dir;
  const std::string file = dir.write("bad.yaml",
                                     "nodes:\n"
                                     "  store: {type: storage.memori}\n"
                                     "  train: {type: job.train, epochs: 0}\n");
  Result r = aimass({"validate", file});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(file + ":2:"));
  EXPECT_THAT(r.err, HasSubstr("unknown type 'storage.memori'"));
  EXPECT_THAT(r.err, HasSubstr(file + ":3:"));
  EXPECT_THAT(r.err, HasSubstr("error"));

  Result missing = aimass({"validate", dir.write("x", "") + ".does-not-exist"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("error"));
}

TEST(Cli, ValidateNamesAMistakeInARecordByItsPlaceAndPath) {
  ConfigDir dir;
  const std::string file =
      dir.write("keys.yaml",
                "nodes:\n"
                "  web:\n"
                "    type: frontend.http\n"
                "    api_keys:\n"
                "      - {name: ci, role: reader, sha256: "
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}\n"
                "      - {name: ops, role: root}\n"
                "  serving:\n"
                "    type: serving.runtime\n"
                "    models:\n"
                "      iris: {max_batch_size: lots}\n");
  Result r = aimass({"validate", file});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, file +
                       ":6:9: error: parameter 'api_keys[1]' of node 'web' is missing the "
                       "required field 'sha256'\n"
                       "  hint: sha256 (string): The SHA-256 of the key as 64 hex digits "
                       "(`aimass auth hash-key`, or `printf %s KEY | sha256sum`); the key "
                       "itself is never configured.\n" +
                       file +
                       ":6:27: error: parameter 'api_keys[1].role' of node 'web' must be "
                       "one of: annotator, reader, operator, admin, but is 'root'\n" +
                       file +
                       ":10:30: error: parameter 'models.iris.max_batch_size' of "
                       "node 'serving' must be an integer, but is 'lots'\n" +
                       "3 errors in " + file + "\n");
}

TEST(Cli, ValidateAcceptsAGoodConfiguration) {
  ConfigDir dir;
  const std::string file = dir.write("ok.yaml", waitJobConfig(""));
  Result r = aimass({"validate", file});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, file + ": ok (1 node)\n");
}

TEST(Cli, PluginsListJsonHasEveryKind) {
  Result r = aimass({"plugins", "list", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Poco::JSON::Parser parser;
  auto types = parser.parse(r.out).extract<Poco::JSON::Array::Ptr>();
  ASSERT_TRUE(types);
  std::set<std::string> kinds;
  for (std::size_t i = 0; i < types->size(); ++i) {
    auto type = types->getObject(static_cast<unsigned>(i));
    for (const char* key : {"type", "kind", "plugin", "version", "library", "summary"}) {
      EXPECT_TRUE(type->has(key)) << key;
    }
    kinds.insert(type->getValue<std::string>("kind"));
  }
  for (const char* kind : {"storage", "dataset", "model", "optimizer", "frontend", "job"}) {
    EXPECT_TRUE(kinds.count(kind)) << "no node type of kind " << kind << " in\n" << r.out;
  }
}

TEST(Cli, PluginsListShowsTypesAndRefusedLibraries) {
  Result r = aimass({"plugins", "list", "--plugin-path", AIMASS_FIXTURE_DIR});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, ::testing::StartsWith("TYPE"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("job\\.train +job +builtin .*\\(built in\\)"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("model\\.fixture_older_minor +model "
                                              "+fixture\\.older_minor +1\\.0\\.0 +/"));
  EXPECT_THAT(r.out, HasSubstr("\nrefused libraries:\n"));
  EXPECT_THAT(r.out, HasSubstr(fixture("abi_major_mismatch") +
                               "' (plugin "
                               "'fixture.abi_major_mismatch' 2.0.0) was built for plugin ABI"));
  EXPECT_THAT(r.out, HasSubstr("libaimass_bogus.so"));
}

TEST(Cli, PluginPathFromTheEnvironmentIsSearched) {
  Result r = aimass({"plugins", "list"}, std::string(AIMASS_FIXTURE_DIR));
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("job.fixture_wait"));
}

TEST(Cli, DescribeShowsEveryParameter) {
  Result r = aimass({"plugins", "describe", "job.train"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::StartsWith("job.train (job)\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  epochs +int, default [0-9]+, >= 1\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  model +ref, required, model node\n"));

  Result json = aimass({"plugins", "describe", "job.train", "--json"});
  ASSERT_EQ(json.code, 0);
  Poco::JSON::Parser parser;
  auto object = parser.parse(json.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(object->getValue<std::string>("type"), "job.train");
  EXPECT_EQ(object->getValue<std::string>("kind"), "job");
  auto params = object->getArray("params");
  bool found_epochs = false;
  for (std::size_t i = 0; i < params->size(); ++i) {
    auto param = params->getObject(static_cast<unsigned>(i));
    if (param->getValue<std::string>("name") == "epochs") {
      found_epochs = true;
      EXPECT_EQ(param->getValue<std::string>("type"), "int");
      EXPECT_FALSE(param->getValue<bool>("required"));
      EXPECT_EQ(param->getValue<double>("min"), 1.0);
    }
  }
  EXPECT_TRUE(found_epochs);
}

TEST(Cli, DescribeAnUnknownTypeSuggestsAndExits2) {
  Result r = aimass({"plugins", "describe", "job.trian"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("unknown node type 'job.trian'; did you mean 'job.train'?"));
}

TEST(Cli, DescribeShowsTheFieldsOfRecordParameters) {
  Result r = aimass({"plugins", "describe", "frontend.http"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n  api_keys +list<record>, default \\[\\]\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n +fields of each record:\n +name +string, "
                                              "required\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\n +role +string, required, one of: annotator, "
                                              "reader, operator, admin\n"));
  Result serving = aimass({"plugins", "describe", "serving.runtime"});
  ASSERT_EQ(serving.code, 0) << serving.err;
  EXPECT_THAT(serving.out, ::testing::ContainsRegex("\n  models +map<string, record>, "
                                                    "default \\{\\}\n"));
  EXPECT_THAT(serving.out, ::testing::ContainsRegex("\n +max_batch_size +int, optional, \\[0, "
                                                    "1048576\\]\n"));
}

TEST(Cli, PluginCheckPassesTheGoodFixture) {
  Result r = aimass({"plugin", "check", fixture("good")});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS fixture.good: registers node types\n"));
  EXPECT_THAT(r.out, HasSubstr("PASS storage.fixture_memory: builds from defaults and examples\n"));
  EXPECT_THAT(r.out, HasSubstr("PASS model.fixture_linear: builds from defaults and examples\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("FAIL ")));
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n[1-9][0-9]* passed, 0 failed, 0 skipped\n$")))
      << r.out;

  Result json = aimass({"plugin", "check", fixture("good"), "--json"});
  EXPECT_EQ(json.code, 0);
  Poco::JSON::Parser parser;
  auto object = parser.parse(json.out).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(object->getValue<std::string>("plugin"), "fixture.good");
  EXPECT_EQ(object->getValue<int>("failed"), 0);
  EXPECT_GT(object->getValue<int>("passed"), 10);
  EXPECT_GT(object->getArray("results")->size(), 10u);
}

TEST(Cli, PluginCheckRefusesABrokenLibraryWithExit2) {
  Result r = aimass({"plugin", "check", fixture("abi_major_mismatch")});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr(fixture("abi_major_mismatch")));
  EXPECT_THAT(r.err, HasSubstr("but this host supports " + std::to_string(AIMASS_ABI_MAJOR) + "." +
                               std::to_string(AIMASS_ABI_MINOR) + ": major versions differ"));

  Result missing = aimass({"plugin", "check", fixture("no_such_fixture")});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no such file"));
}

TEST(Cli, PluginCheckFailsABrokenNodeWithExit1) {
  Result r = aimass({"plugin", "check", fixture("forgetful_storage")});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("FAIL storage.fixture_forgetful: documents every parameter: no "
                               "doc for 'label'\n"));
  EXPECT_THAT(r.out, HasSubstr("PASS storage.fixture_forgetful: builds from defaults and "
                               "examples\n"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("\nFAIL storage\\.fixture_forgetful: [^\n]*get"));
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n[0-9]+ passed, [1-9][0-9]* failed, 0 "
                                                  "skipped\n$")))
      << r.out;
}

TEST(Cli, PluginCheckSkipsTypesItCannotBuildAlone) {
  Result r = aimass({"plugin", "check", fixture("wait_job")});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("PASS job.fixture_wait: builds from defaults and examples\n"));
  EXPECT_THAT(r.out, HasSubstr("SKIP job.fixture_after_model: build and conformance: needs a "
                               "model node for parameter 'model'\n"));
  EXPECT_THAT(r.out, ::testing::EndsWith(" passed, 0 failed, 1 skipped\n"));
}

TEST(Cli, RunWithoutFrontendsExitsAfterItsJobs) {
  ConfigDir dir;
  Result r = aimass({"run", dir.write("fail.yaml", waitJobConfig(", fail: true"))});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("job 'wait' failed: internal: the fixture job was told to fail"));
}

TEST(Cli, SigintDuringAJobCancelsItWithExit1) {
  ConfigDir dir;
  AimassProcess process({"run", dir.write("wait.yaml", waitJobConfig(""))});
  ASSERT_TRUE(process.waitForStderr("waiting for a stop request")) << process.err();
  process.signal(SIGINT);
  EXPECT_EQ(process.wait(), 1);
  EXPECT_THAT(process.err(), HasSubstr("received SIGINT"));
  EXPECT_THAT(process.err(), HasSubstr("cancelled\n"));
}

TEST(Cli, RunServesFrontendsUntilSigterm) {
  ConfigDir dir;
  const std::string file = dir.write("serve.yaml",
                                     "nodes:\n"
                                     "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n");
  AimassProcess process({"run", file});
  ASSERT_TRUE(process.waitForStderr("serving http://127.0.0.1:")) << process.err();
  process.signal(SIGTERM);
  EXPECT_EQ(process.wait(), 0) << process.err();
  EXPECT_THAT(process.err(), HasSubstr("received SIGTERM"));
}

/// `reference` without the index entry and the section of each type in `types` (comma-separated).
std::string withoutTypes(std::string reference, const std::string& types) {
  std::stringstream list(types);
  for (std::string type; std::getline(list, type, ',');) {
    std::string anchor = type;
    std::erase(anchor, '.');
    const std::string entry = ", [`" + type + "`](#" + anchor + ")";
    if (auto at = reference.find(entry); at != std::string::npos) reference.erase(at, entry.size());
    const auto start = reference.find("### " + type + "\n");
    if (start == std::string::npos) continue;
    auto end = reference.find("\n##", start);
    end = end == std::string::npos ? reference.size() : end + 1;
    reference.erase(start, end - start);
  }
  return reference;
}

TEST(Docs, ConfigReferenceIsUpToDate) {
  Result r = aimass({"plugins", "reference"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream in(fs::path(AIMASS_SOURCE_DIR) / "docs" / "config-reference.md");
  std::stringstream committed;
  committed << in.rdbuf();
  // A build without MPI, or without CUDA and NCCL, prints the reference without those
  // collectives (AIMASS_TYPES_NOT_BUILT, from tests/cli/CMakeLists.txt).
  EXPECT_TRUE(in.is_open() && withoutTypes(committed.str(), AIMASS_TYPES_NOT_BUILT) == r.out)
      << "docs/config-reference.md is stale: regenerate with build/bin/aimass plugins reference "
         "> docs/config-reference.md";
}

}  // namespace
