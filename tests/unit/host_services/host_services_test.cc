// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/host_services.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <thread>

namespace aimass::core {
namespace {

class StubModel final : public Model {
 public:
  ModelSchema schema() const override { return {}; }
  bool ready() const override { return true; }
  Status predict(const TensorMap&, TensorMap&, const PredictOptions&) const override {
    return okStatus();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return okStatus(); }
  Status load(std::string_view, std::uint32_t) override { return okStatus(); }
};

Route route(std::string method, std::string pattern, std::string owner) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.owner = std::move(owner);
  r.handler = [](const HttpRequest&, HttpResponse& response) { response.body = "ok"; };
  return r;
}

TEST(RouteTableTest, KeepsRoutesInOrderAndRefusesATakenMethodAndPattern) {
  RouteTableImpl table;
  ASSERT_TRUE(table.add(route("GET", "/v1/recommend/{user}", "rec")).ok());
  ASSERT_TRUE(table.add(route("POST", "/v1/recommend/{user}", "rec")).ok());
  Status taken = table.add(route("GET", "/v1/recommend/{user}", "other"));
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "route GET /v1/recommend/{user} is already taken by node 'rec'");
  auto routes = table.routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[1].method, "POST");
  HttpResponse response;
  routes[0].handler(HttpRequest{}, response);
  EXPECT_EQ(response.body, "ok");
}

TEST(ServingRuntimeCatalogTest, FindsVersionsAndDefaultsToTheHighestNumber) {
  ServingRuntime catalog;
  auto v2 = std::make_shared<StubModel>();
  auto v10 = std::make_shared<StubModel>();
  auto other = std::make_shared<StubModel>();
  catalog.add("iris", "2", v2);
  catalog.add("iris", "10", v10);
  catalog.add("digits", "1", other);

  auto latest = catalog.find("iris", "");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->version, "10");  // numeric order, not text order
  EXPECT_EQ(latest->model, v10);
  auto exact = catalog.find("iris", "2");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->model, v2);
  EXPECT_EQ(exact->name, "iris");

  auto no_model = catalog.find("wine", "");
  EXPECT_EQ(no_model.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(no_model.status().message(), "model 'wine' is not found");
  auto no_version = catalog.find("iris", "3");
  EXPECT_EQ(no_version.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(no_version.status().message(), "model 'iris' has no version '3'");

  auto all = catalog.list();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "digits");
  EXPECT_EQ(all[1].name + "/" + all[1].version, "iris/2");
  EXPECT_EQ(all[2].name + "/" + all[2].version, "iris/10");
}

TEST(ServingRuntimeCatalogTest, AServedModelOutlivesItsRemovalFromTheCatalog) {
  std::weak_ptr<const Model> watch;
  ServedModel held;
  {
    ServingRuntime catalog;
    auto model = std::make_shared<StubModel>();
    watch = model;
    catalog.add("m", "1", model);
    held = catalog.find("m", "").value();
  }
  EXPECT_FALSE(watch.expired());
  held = ServedModel{};
  EXPECT_TRUE(watch.expired());
}

TEST(ServingRuntimeCatalogTest, ClearReleasesEveryModel) {
  ServingRuntime catalog;
  auto model = std::make_shared<StubModel>();
  std::weak_ptr<const Model> watch = model;
  catalog.add("m", "1", std::move(model));
  ASSERT_FALSE(watch.expired());
  catalog.clear();
  EXPECT_TRUE(watch.expired());
  EXPECT_TRUE(catalog.list().empty());
  EXPECT_EQ(catalog.find("m", "").status().code(), StatusCode::kNotFound);
}

const std::regex kLogLine(
    R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \[[^\]]+\] .*)");

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(line);
  }
  return out;
}

TEST(HostServicesTest, LogsTimestampLevelNodeAndMessageFromTheMinimumLevelUp) {
  HostServices host("/srv", 2);
  ::testing::internal::CaptureStderr();
  host.log(LogLevel::kDebug, "clf", "hidden at the default level");
  host.log(LogLevel::kInfo, "clf", "trained 3 epochs");
  host.log(LogLevel::kError, "", "host problem");
  host.setLogLevel(LogLevel::kDebug);
  host.log(LogLevel::kDebug, "store", "now visible");
  host.setLogLevel(LogLevel::kError);
  host.log(LogLevel::kWarning, "store", "filtered");
  auto out = lines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(out.size(), 3u);
  for (const auto& line : out) {
    EXPECT_TRUE(std::regex_match(line, kLogLine)) << line;
  }
  EXPECT_NE(out[0].find(" INFO [clf] trained 3 epochs"), std::string::npos) << out[0];
  EXPECT_NE(out[1].find(" ERROR [host] host problem"), std::string::npos) << out[1];
  EXPECT_NE(out[2].find(" DEBUG [store] now visible"), std::string::npos) << out[2];
}

TEST(HostServicesTest, ControlCharactersInAMessageAreWrittenVisibly) {
  HostServices host("/srv", 2);
  ::testing::internal::CaptureStderr();
  host.log(LogLevel::kWarning, "web",
           "GET /\x1b[31mred\r\nFAKE 2024 ERROR\ttab\x7f\x01 \x9b"
           "2J \xc2\x9b \xc3\xa9\xe2\x82\xac");
  const std::string out = ::testing::internal::GetCapturedStderr();
  auto written = lines(out);
  ASSERT_EQ(written.size(), 1u) << out;
  EXPECT_TRUE(std::regex_match(written[0], kLogLine)) << written[0];
  // ESC, CR, LF, TAB, DEL and other C0 controls; a lone 0x9B (not UTF-8) and U+009B (CSI) in
  // UTF-8; "é€" are kept as they are.
  EXPECT_NE(written[0].find(
                "[web] GET /\\x1b[31mred\\r\\nFAKE 2024 ERROR\\ttab\\x7f\\x01 \\x9b2J "
                "\\xc2\\x9b \xc3\xa9\xe2\x82\xac"),
            std::string::npos)
      << written[0];
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST(HostServicesTest, ConcurrentLogLinesStayWhole) {
  HostServices host("/srv", 2);
  ::testing::internal::CaptureStderr();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&host, t] {
      for (int i = 0; i < 200; ++i) {
        host.log(LogLevel::kInfo, "node" + std::to_string(t),
                 "message number " + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  auto out = lines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(out.size(), 800u);
  for (const auto& line : out) {
    ASSERT_TRUE(std::regex_match(line, kLogLine)) << line;
  }
}

TEST(HostServicesTest, ServicesAndSettings) {
  HostServices host("/srv/configs", 3);
  EXPECT_EQ(host.threads(), 3);
  EXPECT_EQ(host.baseDir(), std::filesystem::path("/srv/configs"));
  EXPECT_EQ(host.version(), hostVersion());
  EXPECT_TRUE(std::regex_match(std::string(hostVersion()), std::regex(R"(\d+\.\d+\.\d+)")));
  EXPECT_FALSE(host.stopRequested());
  host.requestStop();
  EXPECT_TRUE(host.stopRequested());

  ASSERT_TRUE(host.routes().add(route("GET", "/x", "n")).ok());
  EXPECT_EQ(host.routes().routes().size(), 1u);
  host.servingRuntime().add("m", "1", std::make_shared<StubModel>());
  ASSERT_NE(host.serving(), nullptr);
  EXPECT_TRUE(host.serving()->find("m", "1").ok());

  HostServices all_cores("/", 0);
  EXPECT_GE(all_cores.threads(), 1);
  EXPECT_EQ(all_cores.threads(),
            std::max(1, static_cast<int>(std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace aimass::core
