// SPDX-License-Identifier: Apache-2.0
// Subcommands that plugins add to `aimass` (Registrar::addCommand): found through the plugin
// search, run with their arguments and standard streams, listed in the help, and named in the
// error when no plugin offers them (an executable copied where no plugin folder is).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "aimass_server.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using Result = aimass::testing::AimassResult;

std::string commandFixture() {
  return (fs::path(AIMASS_FIXTURE_DIR) / "libaimass_fixture_command.so").string();
}

class PluginCommands : public ::testing::Test {
 protected:
  /// `aimass --plugin-path <command fixture> WORDS...` with `input` on stdin.
  Result withFixture(std::vector<std::string> words, const std::string& input = "") {
    words.insert(words.begin(), {"--plugin-path", commandFixture()});
    return aimass::testing::runAimass(dir_.path(), words, input);
  }

  aimass::testing::TempDir dir_{"aimass-plugin-commands"};
};

TEST_F(PluginCommands, RunWithTheirArgumentsAndStreamsWithoutTheGlobalOptions) {
  Result r = withFixture({"fixture-tool", "greet", "ada", "--log-level", "warning", "--x=1"},
                         "stdin text");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "hello ada --x=1\n");
  EXPECT_EQ(r.err, "stdin text");
}

TEST_F(PluginCommands, ExitCodesAndEscapedExceptionsComeBack) {
  EXPECT_EQ(withFixture({"fixture-tool", "fail"}).code, 3);
  Result threw = withFixture({"fixture-tool", "throw"});
  EXPECT_EQ(threw.code, 1);
  EXPECT_THAT(threw.err, HasSubstr("aimass: fixture-tool throw: plugin 'fixture.command' failed: "
                                   "the fixture's command threw"));
}

TEST_F(PluginCommands, AreListedInTheHelpLikeBuiltInCommands) {
  Result overview = withFixture({"--help"});
  EXPECT_EQ(overview.code, 0);
  EXPECT_THAT(overview.out, HasSubstr("  fixture-tool greet [ARGS...]    A command of the command "
                                      "fixture\n"));
  Result help = withFixture({"help", "fixture-tool", "greet"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: aimass [global options] fixture-tool greet [ARGS...]\n"
                                  "\nA command of the command fixture\n\nDetails of fixture-tool "
                                  "greet.\n"));
  EXPECT_THAT(help.out, HasSubstr("(added by plugin fixture.command, " + commandFixture()));
  EXPECT_EQ(withFixture({"fixture-tool", "greet", "--help"}).out, help.out);
  Result group = withFixture({"help", "fixture-tool"});
  EXPECT_EQ(group.code, 0);
  EXPECT_THAT(group.out, HasSubstr("aimass fixture-tool fail"));
  Result bare = withFixture({"fixture-tool"});
  EXPECT_EQ(bare.code, 2);
  EXPECT_THAT(bare.err, HasSubstr("'fixture-tool' needs a subcommand: fail, greet, throw"));
}

TEST_F(PluginCommands, WithoutThePluginTheErrorNamesTheCommand) {
  // A copy of the executable with no plugin folder beside it: only what --plugin-path names
  // is searched, and here nothing is.
  fs::create_directories(dir_.path() / "bin");
  const fs::path lonely = dir_.path() / "bin" / "aimass";
  fs::copy_file(AIMASS_EXECUTABLE, lonely);
  Result r = aimass::testing::runProgram(lonely.string(), dir_.path(), {"auth", "hash-key"}, "key");
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command 'auth hash-key': neither built in nor added by "
                               "a loaded plugin"));
  Result help = aimass::testing::runProgram(lonely.string(), dir_.path(), {"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, Not(HasSubstr("auth hash-key")));
}

}  // namespace
