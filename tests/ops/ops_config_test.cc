// SPDX-License-Identifier: Apache-2.0
// The operations material shipped for Prometheus (configs/prometheus/): the scrape config and
// alerting rules pass promtool, the rules' unit tests pass, and the rules and
// docs/operations.md name exactly the metric families a running server exposes at /metrics.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "aimass_server.h"
#include "shell.h"
#include "skip_or_fail.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr const char* kPromtool = "/usr/bin/promtool";
const fs::path kPrometheusDir = fs::path(AIMASS_SOURCE_DIR) / "configs" / "prometheus";

using Result = aimass::testing::ShellResult;

/// Runs a shell command in configs/prometheus; its exit code and stdout+stderr.
Result inPrometheusDir(const std::string& command) {
  return aimass::testing::runShell(kPrometheusDir, command);
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The metric families `# TYPE` declares in a /metrics answer of a server started for this.
std::set<std::string> servedMetricFamilies() {
  aimass::testing::TempDir dir("aimass-ops");
  const fs::path config = dir.path() / "metrics.yaml";
  std::ofstream(config) << "nodes:\n  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  aimass::testing::AimassServer server(config.string());
  const int port = server.waitForPort();
  if (port <= 0) {
    ADD_FAILURE() << "the server did not start:\n" << server.err();
    return {};
  }
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/metrics",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(request);
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  EXPECT_EQ(response.getStatus(), Poco::Net::HTTPResponse::HTTP_OK) << body;
  EXPECT_EQ(server.stop(), 0) << server.err();

  std::set<std::string> families;
  const std::regex type_line(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) )");
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, type_line)) {
      families.insert(match[1]);
    }
  }
  return families;
}

TEST(PrometheusConfig, ScrapeConfigAndRulesPassPromtool) {
  if (::access(kPromtool, X_OK) != 0) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kPromtoolMissing);
  }
  // --syntax-only: the example's credentials_file exists on a Prometheus server, not here.
  Result config =
      inPrometheusDir(std::string(kPromtool) + " check config --syntax-only " + "prometheus.yml");
  EXPECT_EQ(config.code, 0) << config.output;
  Result rules = inPrometheusDir(std::string(kPromtool) + " check rules aimass-rules.yml");
  EXPECT_EQ(rules.code, 0) << rules.output;
  EXPECT_THAT(rules.output, HasSubstr("SUCCESS"));
  Result tests = inPrometheusDir(std::string(kPromtool) + " test rules aimass-rules.test.yml");
  EXPECT_EQ(tests.code, 0) << tests.output;
  EXPECT_THAT(tests.output, HasSubstr("SUCCESS"));
}

TEST(PrometheusConfig, RulesAndOperationsPageNameTheServedMetrics) {
  const std::set<std::string> served = servedMetricFamilies();
  ASSERT_FALSE(served.empty());

  // Every metric a rule reads is one the server serves (recording rules, named with ':',
  // and Prometheus's own `up` aside).
  const std::string rules = readFile(kPrometheusDir / "aimass-rules.yml");
  ASSERT_FALSE(rules.empty());
  const std::regex metric_name(R"(\b((aimass|process)_[a-z0-9_]+))");
  int used = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), metric_name);
       it != std::sregex_iterator(); ++it) {
    ++used;
    EXPECT_TRUE(served.count((*it)[1]))
        << "aimass-rules.yml uses " << (*it)[1] << ", which GET /metrics does not serve";
  }
  EXPECT_GT(used, 0);

  // docs/operations.md lists every family the server serves.
  const std::string page = readFile(fs::path(AIMASS_SOURCE_DIR) / "docs" / "operations.md");
  ASSERT_FALSE(page.empty());
  for (const auto& family : served) {
    EXPECT_THAT(page, HasSubstr("`" + family + "`"))
        << "docs/operations.md does not list the metric family " << family;
  }
}

}  // namespace
