// SPDX-License-Identifier: Apache-2.0
// `aimass run` with frontend.http serving HTTPS: certificate paths relative to the config file,
// a verified TLS client on 127.0.0.1, a clean exit on SIGTERM with a TLS connection open, and a
// bad key reported at the node's place in the config before anything is served.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "aimass_server.h"
#include "temp_dir.h"
#include "tls_test_support.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::issue;
using aimass::testing::TlsClient;
using ::testing::HasSubstr;

class TlsCliTest : public ::testing::Test {
 protected:
  /// A config serving HTTPS on a free port with `key` (relative to the config's folder).
  fs::path writeConfig(const std::string& name, const std::string& key) {
    fs::path config = temp_.path() / name;
    std::ofstream(config) << "nodes:\n"
                             "  web:\n"
                             "    type: frontend.http\n"
                             "    port: 0\n"
                             "    tls_certificate: server.crt\n"
                             "    tls_private_key: " +
                                 key + "\n";
    return config;
  }

  aimass::testing::TempDir temp_{"aimass-tls-cli"};
};

TEST_F(TlsCliTest, ServesHttpsAndStopsCleanlyOnSigterm) {
  auto server_credential = issue(temp_.path(), "server", nullptr);
  AimassServer server(writeConfig("tls.yaml", "server.key").string());
  int port = server.waitForPort("https");
  ASSERT_GT(port, 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("(TLS 1.2+)"));

  TlsClient client(static_cast<std::uint16_t>(port), {server_credential.certificate_file});
  ASSERT_TRUE(client.connected()) << client.error();
  auto ready = client.call("GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(ready.status(), 200) << ready.head;
  auto metadata = client.call("GET /v2 HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(metadata.status(), 200) << metadata.head;
  EXPECT_THAT(metadata.body, HasSubstr("\"name\":\"aimass\""));
  // The keep-alive connection is still open when SIGTERM comes.
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(TlsCliTest, AKeyOfAnotherCertificateStopsTheRunWithItsPlaceInTheConfig) {
  issue(temp_.path(), "server", nullptr);
  issue(temp_.path(), "other", nullptr);
  AimassServer server(writeConfig("mismatch.yaml", "other.key").string());
  EXPECT_EQ(server.waitForPort("https"), 0);
  EXPECT_EQ(server.stop(), 1) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("node 'web' (frontend.http) at "));
  EXPECT_THAT(server.err(), HasSubstr("mismatch.yaml:2:3"));
  EXPECT_THAT(server.err(), HasSubstr("tls_private_key '" + (temp_.path() / "other.key").string() +
                                      "' does not match the certificate in tls_certificate '" +
                                      (temp_.path() / "server.crt").string() + "'"));
}

TEST_F(TlsCliTest, AMissingKeyFileIsNamedWithItsResolvedPath) {
  issue(temp_.path(), "server", nullptr);
  AimassServer server(writeConfig("missing.yaml", "keys/server.key").string());
  EXPECT_EQ(server.waitForPort("https"), 0);
  EXPECT_EQ(server.stop(), 1) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("missing.yaml:2:3"));
  EXPECT_THAT(server.err(),
              HasSubstr("cannot read tls_private_key '" +
                        (temp_.path() / "keys/server.key").string() + "': No such file"));
}

}  // namespace
