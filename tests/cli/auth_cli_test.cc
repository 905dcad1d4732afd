// SPDX-License-Identifier: Apache-2.0
// `aimass auth hash-key`: the key read from stdin, its SHA-256 printed, and that hash accepted
// by frontend.http as an api_keys entry on a real `aimass run` over 127.0.0.1.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aimass_server.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Result = aimass::testing::AimassResult;
using aimass::testing::runAimass;

Result hashKey(const fs::path& dir, const std::string& input) {
  return runAimass(dir, {"auth", "hash-key"}, input);
}

/// GET `target` with `X-API-Key: key` (none when empty); the status.
int getWithKey(int port, const std::string& target, const std::string& key) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target,
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  if (!key.empty()) {
    request.set("X-API-Key", key);
  }
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  return static_cast<int>(response.getStatus());
}

class AuthHashKey : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  aimass::testing::TempDir dir_{"aimass-auth-cli"};
};

TEST_F(AuthHashKey, PrintsTheSha256OfTheKey) {
  // sha256sum of the three bytes "foo".
  const std::string foo = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n";
  Result plain = hashKey(dir_.path(), "foo");
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out, foo);
  // One trailing line break (from `echo` or an editor) is not part of the key.
  EXPECT_EQ(hashKey(dir_.path(), "foo\n").out, foo);
  EXPECT_EQ(hashKey(dir_.path(), "foo\r\n").out, foo);
  // Inside spaces and tabs are part of the key.
  Result spaced = hashKey(dir_.path(), "f o\to");
  EXPECT_EQ(spaced.code, 0) << spaced.err;
  EXPECT_NE(spaced.out, foo);
  EXPECT_EQ(spaced.out.size(), 65u);
}

TEST_F(AuthHashKey, RefusesKeysNoHeaderCouldCarry) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"", "the key read from standard input is empty"},
      {"\n", "the key read from standard input is empty"},
      {"foo\nbar\n", "more than one line (byte 4)"},
      {"foo\n\n", "more than one line (byte 4)"},
      {std::string("fo\0o", 4), "control character (byte 3)"},
      {" foo", "starts or ends with a space or tab"},
      {"foo\t", "starts or ends with a space or tab"},
  };
  for (const auto& c : cases) {
    Result r = hashKey(dir_.path(), c.input);
    EXPECT_EQ(r.code, 2) << "input of " << c.input.size() << " bytes";
    EXPECT_EQ(r.out, "");
    EXPECT_THAT(r.err, HasSubstr("aimass: auth hash-key: "));
    EXPECT_THAT(r.err, HasSubstr(c.error));
  }
}

TEST_F(AuthHashKey, UsageMistakesExitWithCode2) {
  Result extra = runAimass(dir_.path(), {"auth", "hash-key", "mykey"}, "");
  EXPECT_EQ(extra.code, 2);
  EXPECT_THAT(extra.err, HasSubstr("reads the key from standard input"));
  Result bare = runAimass(dir_.path(), {"auth"}, "");
  EXPECT_EQ(bare.code, 2);
  EXPECT_THAT(bare.err, HasSubstr("'auth' needs a subcommand: hash-key"));
  Result help = runAimass(dir_.path(), {"help", "auth", "hash-key"}, "");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("Usage: aimass [global options] auth hash-key < KEYFILE"));
}

TEST_F(AuthHashKey, TheServerAcceptsTheKeyWhoseHashItPrinted) {
  const std::string key = "k3y-for-the-deployer_Z9";
  Result hashed = hashKey(dir_.path(), key + "\n");
  ASSERT_EQ(hashed.code, 0) << hashed.err;
  const std::string hash = hashed.out.substr(0, hashed.out.size() - 1);
  const fs::path config = dir_.path() / "auth.yaml";
  std::ofstream(config) << "nodes:\n"
                           "  web:\n"
                           "    type: frontend.http\n"
                           "    host: 127.0.0.1\n"
                           "    port: 0\n"
                           "    auth: on\n"
                           "    api_keys:\n"
                           "      - {name: deployer, role: operator, sha256: "
                        << hash << "}\n";
  aimass::testing::AimassServer server(config.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  EXPECT_EQ(getWithKey(port, "/v2", ""), 401);
  EXPECT_EQ(getWithKey(port, "/v2", key + "x"), 401);
  EXPECT_EQ(getWithKey(port, "/v2", key), 200);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

}  // namespace
