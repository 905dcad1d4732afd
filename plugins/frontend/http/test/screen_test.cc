// SPDX-License-Identifier: Apache-2.0
// OipRouter::screen() (a request's head judged before its body is read), the Host check and
// the cross-site refusals that apply when no credentials are configured, and what reaches the
// log of a request whose path carries control characters.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "authenticator.h"
#include "fake_models.h"
#include "http_call.h"
#include "http_frontend.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using Headers = std::map<std::string, std::string>;

HttpRequest head(const std::string& method, const std::string& path, Headers headers = {}) {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.headers = std::move(headers);
  return request;
}

std::string headerOf(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) {
      return value;
    }
  }
  return {};
}

/// Lines of `text` that contain `part`.
std::size_t linesWith(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (text.substr(start, end - start).find(part) != std::string::npos) {
      ++count;
    }
    start = end + 1;
  }
  return count;
}

/// A host serving "clf" with contributed routes of each role; routers made on demand.
class ScreenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
    contribute("POST", "/v1/echo/{word}", Role::kReader);
    contribute("POST", "/v1/aliases/{alias}", Role::kOperator);
    contribute("DELETE", "/v1/versions/{version}", Role::kAdmin);
  }

  void contribute(const std::string& method, const std::string& pattern, Role role) {
    Route route;
    route.method = method;
    route.pattern = pattern;
    route.owner = "registry";
    route.role = role;
    route.handler = [](const HttpRequest& request, HttpResponse& response) {
      response.body = "{\"by\":\"" + jsonEscape(request.principal) + "\"}";
    };
    ASSERT_TRUE(host_.routes().add(std::move(route)).ok());
  }

  /// A router as HttpFrontend makes it for a frontend on `bind_host` without credentials.
  std::unique_ptr<OipRouter> openRouter(const std::string& bind_host = "127.0.0.1") {
    OipRouterOptions options;
    options.bind_host = bind_host;
    return std::make_unique<OipRouter>(host_, "web", std::nullopt, options);
  }

  std::unique_ptr<OipRouter> securedRouter() {
    AuthOptions auth;
    auth.mode = AuthMode::kOn;
    auth.api_keys = {{"reader-key", Role::kReader, sha256Hex("reader-secret")},
                     {"operator-key", Role::kOperator, sha256Hex("operator-secret")}};
    auto authenticator = Authenticator::create(auth);
    EXPECT_TRUE(authenticator.ok()) << authenticator.status().toString();
    OipRouterOptions options;
    options.bind_host = "127.0.0.1";
    options.authenticator = std::move(authenticator).value();
    return std::make_unique<OipRouter>(host_, "web", std::nullopt, options);
  }

  /// Whether screen() lets `request` through; `response` holds its answer when not.
  static bool screened(const OipRouter& router, HttpRequest request, HttpResponse* out = nullptr) {
    HttpResponse response;
    const bool passed = router.screen(request, response);
    if (out != nullptr) {
      *out = response;
    }
    return passed;
  }

  core::HostServices host_{".", 1};
};

TEST_F(ScreenTest, PassesServedRoutesWithTheirPathParameters) {
  auto router = openRouter();
  HttpRequest ready = head("GET", "/v2/models/clf/versions/1/ready");
  HttpResponse response;
  ASSERT_TRUE(router->screen(ready, response));
  EXPECT_EQ(ready.path_params, (std::map<std::string, std::string>{{"model", "clf"},
                                                                   {"version", "1"}}));
  // The body is not read yet: an infer head passes, whatever its body will be.
  EXPECT_TRUE(screened(*router, head("POST", "/v2/models/clf/infer")));
  EXPECT_TRUE(
      screened(*router, head("POST", "/v1/echo/hi", {{"content-type", "application/json"}})));
  EXPECT_TRUE(screened(*router, head("GET", "/v2/models/ghost")))
      << "an unknown model is the handler's answer, not the route's";
}

TEST_F(ScreenTest, RefusesAsHandleWouldWithoutTheBody) {
  auto router = openRouter();
  for (const auto& [method, path, status] : std::vector<std::tuple<std::string, std::string, int>>{
           {"GET", "/v3/nothing", 404},
           {"DELETE", "/v2/models/clf", 405},
           {"GET", "/v1/echo/hi", 405},
           {"POST", "/v1/aliases/champion", 403}}) {
    HttpResponse screened_response;
    HttpRequest request = head(method, path);
    ASSERT_FALSE(router->screen(request, screened_response)) << method << " " << path;
    EXPECT_EQ(screened_response.status, status) << method << " " << path;
    HttpRequest again = head(method, path);
    HttpResponse handled;
    router->handle(again, handled);
    EXPECT_EQ(handled.status, screened_response.status) << path;
    EXPECT_EQ(handled.body, screened_response.body) << path;
    EXPECT_EQ(handled.headers, screened_response.headers) << path;
  }
  HttpResponse wrong_method;
  EXPECT_FALSE(screened(*router, head("DELETE", "/v2/models/clf"), &wrong_method));
  EXPECT_EQ(headerOf(wrong_method, "Allow"), "GET");
  EXPECT_THAT(wrong_method.body, HasSubstr("not allowed"));
}

TEST_F(ScreenTest, AuthenticatesOnceAndLogsARefusalOnce) {
  auto router = securedRouter();
  host_.setLogLevel(LogLevel::kWarning);
  ::testing::internal::CaptureStderr();
  HttpResponse anonymous;
  EXPECT_FALSE(screened(*router, head("POST", "/v2/models/clf/infer"), &anonymous));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(headerOf(anonymous, "WWW-Authenticate"), "Bearer realm=\"aimass\"");
  EXPECT_THAT(anonymous.body, HasSubstr("credentials required"));
  EXPECT_EQ(linesWith(log, "refused"), 1u) << log;
  EXPECT_EQ(linesWith(log, "POST /v2/models/clf/infer refused (401)"), 1u) << log;

  HttpResponse low;
  EXPECT_FALSE(screened(*router,
                        head("POST", "/v2/repository/models/clf/load",
                             {{"authorization", "Bearer reader-secret"}}),
                        &low));
  EXPECT_EQ(low.status, 403);
  EXPECT_THAT(low.body, HasSubstr("needs operator"));

  HttpRequest admitted =
      head("POST", "/v1/aliases/champion", {{"x-api-key", "operator-secret"}});
  HttpResponse response;
  ASSERT_TRUE(router->screen(admitted, response));
  EXPECT_EQ(admitted.principal, "operator-key");
  EXPECT_TRUE(screened(*router, head("GET", "/v2/health/ready")));
}

TEST_F(ScreenTest, WithoutCredentialsRoutesThatChangeTheServerRefuseCrossSiteRequests) {
  auto router = openRouter();
  const std::string host = "127.0.0.1:8080";
  auto load = [&](Headers headers) {
    headers.emplace("host", host);
    HttpResponse response;
    screened(*router, head("POST", "/v2/repository/models/clf/load", std::move(headers)),
             &response);
    return response;
  };
  const HttpResponse untyped = load({});
  EXPECT_EQ(untyped.status, 403);
  EXPECT_EQ(untyped.content_type, "application/json");
  EXPECT_THAT(untyped.body, HasSubstr("needs 'Content-Type: application/json' (none was sent)"));
  EXPECT_THAT(load({{"content-type", "text/plain"}}).body, HasSubstr("found 'text/plain'"));
  EXPECT_EQ(load({{"content-type", "application/x-www-form-urlencoded"}}).status, 403);
  EXPECT_EQ(load({{"content-type", "application/jsonp"}}).status, 403);
  for (const char* json : {"application/json", "Application/JSON; charset=utf-8",
                           " application/json ;charset=UTF-8"}) {
    EXPECT_TRUE(screened(*router, head("POST", "/v2/repository/models/clf/load",
                                       {{"host", host}, {"content-type", json}})))
        << json;
  }

  const Headers json{{"content-type", "application/json"}};
  auto with = [&](const std::string& name, const std::string& value) {
    Headers headers = json;
    headers[name] = value;
    return load(headers);
  };
  const HttpResponse evil = with("origin", "http://evil.example");
  EXPECT_EQ(evil.status, 403);
  EXPECT_THAT(evil.body, HasSubstr("Origin 'http://evil.example' is not this server"));
  EXPECT_EQ(with("origin", "null").status, 403);
  EXPECT_EQ(with("origin", "http://127.0.0.1:9090").status, 403) << "another port";
  EXPECT_EQ(with("origin", "http://127.0.0.1:8080").status, 200);
  EXPECT_EQ(with("origin", "HTTP://127.0.0.1:8080").status, 200);
  const HttpResponse cross = with("sec-fetch-site", "cross-site");
  EXPECT_EQ(cross.status, 403);
  EXPECT_THAT(cross.body, HasSubstr("Sec-Fetch-Site is 'cross-site'"));
  EXPECT_EQ(with("sec-fetch-site", "same-site").status, 403);
  EXPECT_EQ(with("sec-fetch-site", "same-origin").status, 200);
  EXPECT_EQ(with("sec-fetch-site", "none").status, 200);

  // Contributed routes of operator and admin level are held to the same rules, and so is every
  // contributed route on another method than GET or HEAD (it may change what the node keeps:
  // an annotator's answer); the built-in reader routes (infer) are not.
  EXPECT_FALSE(screened(*router, head("POST", "/v1/aliases/champion", {{"host", host}})));
  EXPECT_FALSE(screened(*router, head("DELETE", "/v1/versions/3",
                                      {{"host", host}, {"origin", "http://evil.example"},
                                       {"content-type", "application/json"}})));
  EXPECT_TRUE(screened(*router, head("DELETE", "/v1/versions/3",
                                     {{"host", host}, {"content-type", "application/json"}})));
  EXPECT_TRUE(screened(*router, head("POST", "/v2/models/clf/infer", {{"host", host}})));
  EXPECT_FALSE(screened(
      *router, head("POST", "/v1/echo/hi",
                    {{"origin", "http://evil.example"}, {"content-type", "application/json"}})));
  EXPECT_FALSE(screened(*router, head("POST", "/v1/echo/hi", {{"host", host}})));
  EXPECT_TRUE(screened(*router, head("POST", "/v1/echo/hi",
                                     {{"host", host}, {"content-type", "application/json"}})));

  // With credentials configured, a browser cannot attach them on its own: no such checks.
  auto secured = securedRouter();
  EXPECT_TRUE(screened(*secured, head("POST", "/v1/aliases/champion",
                                      {{"host", host},
                                       {"origin", "http://evil.example"},
                                       {"x-api-key", "operator-secret"}})));
}

TEST_F(ScreenTest, OnLoopbackWithoutCredentialsTheHostMustNameALoopbackAddress) {
  auto router = openRouter();
  for (const char* good : {"localhost", "LocalHost:8080", "127.0.0.1", "127.0.0.1:8080",
                           "127.9.8.7:1", "[::1]", "[::1]:8080"}) {
    EXPECT_TRUE(screened(*router, head("GET", "/v2/health/live", {{"host", good}}))) << good;
  }
  EXPECT_TRUE(screened(*router, head("GET", "/v2/health/live"))) << "no Host: not a browser";
  for (const char* bad : {"evil.example", "evil.example:8080", "localhost.evil.example",
                          "127.0.0.1.evil.example", "localhost:80x", "[::1", "10.0.0.1",
                          "localhost, evil.example", ""}) {
    HttpResponse response;
    EXPECT_FALSE(screened(*router, head("GET", "/v2/health/live", {{"host", bad}}), &response))
        << bad;
    EXPECT_EQ(response.status, 421) << bad;
  }
  // Before the route is looked for: a rebinding page learns nothing, not even a 404.
  HttpResponse unknown;
  EXPECT_FALSE(screened(*router, head("GET", "/nothing", {{"host", "evil.example"}}), &unknown));
  EXPECT_EQ(unknown.status, 421);
  EXPECT_THAT(unknown.body, HasSubstr("the Host header 'evil.example' names neither"));

  // The configured name itself (here an IPv6 loopback written in full), bracketed as in a Host.
  auto six = openRouter("0:0:0:0:0:0:0:1");
  EXPECT_TRUE(screened(*six, head("GET", "/v2/health/live", {{"host", "[0:0:0:0:0:0:0:1]:80"}})));

  // Not checked with credentials configured, nor on an address that is not loopback.
  EXPECT_TRUE(screened(*securedRouter(), head("GET", "/v2/health/live", {{"host", "evil"}})));
  EXPECT_TRUE(screened(*openRouter("0.0.0.0"), head("GET", "/v2/health/live", {{"host", "a"}})));
}

struct Answer {
  int status = 0;
  std::string body;
};

/// A frontend as `aimass run` starts it on 127.0.0.1 with the default `auth: auto`.
class LoopbackFrontendTest : public ScreenTest {
 protected:
  void SetUp() override {
    ScreenTest::SetUp();
    HttpFrontendOptions options;
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", options);
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  void TearDown() override { frontend_->stop(); }

  Answer call(const std::string& method, const std::string& target, const Headers& headers,
              const std::string& body = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Answer answer;
    answer.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, answer.body);
    testing::recordPocoExchange(request, body, response, answer.body);
    return answer;
  }

  std::string ownOrigin() const { return "http://127.0.0.1:" + std::to_string(port_); }

  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(LoopbackFrontendTest, ABrowserPageOfAnotherSiteCannotChangeTheServer) {
  const Answer form = call("POST", "/v2/repository/models/clf/unload",
                           {{"Content-Type", "text/plain"}, {"Origin", "http://evil.example"}},
                           "{}");
  EXPECT_EQ(form.status, 403) << form.body;
  EXPECT_THAT(form.body, HasSubstr("Origin 'http://evil.example'"));
  const Answer bare = call("POST", "/v2/repository/models/clf/unload", {});
  EXPECT_EQ(bare.status, 403) << bare.body;
  EXPECT_THAT(bare.body, HasSubstr("Content-Type: application/json"));
  const Answer fetched = call("POST", "/v1/aliases/champion",
                              {{"Content-Type", "application/json"},
                               {"Sec-Fetch-Site", "cross-site"}},
                              "{}");
  EXPECT_EQ(fetched.status, 403) << fetched.body;
  EXPECT_EQ(call("GET", "/v2/models/clf/ready", {}).status, 200) << "nothing was unloaded";

  const Answer own = call("POST", "/v2/repository/models/clf/unload",
                          {{"Content-Type", "application/json"}, {"Origin", ownOrigin()},
                           {"Sec-Fetch-Site", "same-origin"}});
  EXPECT_EQ(own.status, 200) << own.body;
}

TEST_F(LoopbackFrontendTest, ARebindingPageIsRefusedWith421) {
  const Answer rebound = call("GET", "/v2/models/clf", {{"Host", "evil.example:" + std::to_string(port_)}});
  EXPECT_EQ(rebound.status, 421) << rebound.body;
  EXPECT_THAT(rebound.body, HasSubstr("{\"error\":\"the Host header 'evil.example:"));
  EXPECT_EQ(call("GET", "/v2/models/clf", {{"Host", "localhost:" + std::to_string(port_)}}).status,
            200);
  EXPECT_EQ(call("GET", "/v2/models/clf", {}).status, 200) << "Poco names 127.0.0.1:port";
}

TEST_F(LoopbackFrontendTest, ControlCharactersAClientSentAreEscapedInTheLog) {
  host_.setLogLevel(LogLevel::kWarning);
  ::testing::internal::CaptureStderr();
  const Answer answer = call("POST", "/v1/aliases/%1b[31mred%0aFAKE%7f", {});
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(answer.status, 403) << answer.body;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_EQ(log.find('\x7f'), std::string::npos) << log;
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << "one line, not a forged second: "
                                                         << log;
  EXPECT_THAT(log, HasSubstr("POST /v1/aliases/\\x1b[31mred\\nFAKE\\x7f refused (403)"));
  EXPECT_THAT(log, Not(HasSubstr("\nFAKE")));
}

}  // namespace
}  // namespace aimass::plugins::frontend
