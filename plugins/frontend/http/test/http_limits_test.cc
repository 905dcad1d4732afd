// SPDX-License-Identifier: Apache-2.0
// frontend.http's limits over raw sockets on 127.0.0.1: slow and half-open clients, request and
// header size, connection count, request timeout, malformed requests, Expect: 100-continue and
// pipelining.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/testing/registration.h"
#include "fake_models.h"
#include "http_frontend.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kInferBody =
    R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[3,1]}]})";

std::string inferRequest(const std::string& connection = "keep-alive") {
  return "POST /v2/models/clf/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
         "Connection: " +
         connection + "\r\nContent-Length: " + std::to_string(kInferBody.size()) + "\r\n\r\n" +
         kInferBody;
}

/// A raw HTTP exchange read back: the status line and the body after the head.
struct Raw {
  std::string text;
  int status() const { return text.size() > 12 ? std::stoi(text.substr(9, 3)) : 0; }
  std::string body() const {
    auto end = text.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : text.substr(end + 4);
  }
  std::string error() const {
    Poco::JSON::Parser parser;
    return parser.parse(body()).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("error");
  }
};

/// Reads until the server closes the connection (or 20 s pass without a byte).
Raw readToEnd(Poco::Net::StreamSocket& socket) {
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  Raw raw;
  char buffer[4096];
  for (;;) {
    int n = 0;
    try {
      n = socket.receiveBytes(buffer, sizeof(buffer));
    } catch (const Poco::Exception&) {
      break;
    }
    if (n <= 0) {
      break;
    }
    raw.text.append(buffer, static_cast<std::size_t>(n));
  }
  return raw;
}

/// Reads one response with a Content-Length from a connection that stays open.
Raw readOne(Poco::Net::StreamSocket& socket) {
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  Raw raw;
  char c;
  while (raw.text.find("\r\n\r\n") == std::string::npos && socket.receiveBytes(&c, 1) == 1) {
    raw.text += c;
  }
  auto at = raw.text.find("Content-Length: ");
  std::size_t length = at == std::string::npos ? 0 : std::stoul(raw.text.substr(at + 16));
  std::string body(length, '\0');
  std::size_t got = 0;
  while (got < length) {
    int n = socket.receiveBytes(body.data() + got, static_cast<int>(length - got));
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  raw.text += body.substr(0, got);
  return raw;
}

class HttpLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", clf_);
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
  }
  void start(HttpFrontendOptions options) {
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  Poco::Net::StreamSocket connect() {
    return Poco::Net::StreamSocket(Poco::Net::SocketAddress("127.0.0.1", port_));
  }
  /// One inference over a fresh Poco client session; the status.
  int infer() {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request("POST", "/v2/models/clf/infer", "HTTP/1.1");
    request.setContentLength64(static_cast<Poco::Int64>(kInferBody.size()));
    request.setContentType("application/json");
    session.sendRequest(request) << kInferBody;
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return response.getStatus();
  }

  core::HostServices host_{".", 1};
  std::shared_ptr<TwoFeatureClassifier> clf_ = std::make_shared<TwoFeatureClassifier>();
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(HttpLimitsTest, SlowAndHalfOpenClientsDoNotStarveOthers) {
  HttpFrontendOptions options;
  options.threads = 2;
  start(options);
  // Twice as many slow clients as workers, each trickling a request one byte a second, and as
  // many half-open ones that connected and never send anything.
  std::vector<Poco::Net::StreamSocket> slow;
  std::vector<Poco::Net::StreamSocket> silent;
  const std::string request = inferRequest();
  for (int i = 0; i < 4; ++i) {
    slow.push_back(connect());
    slow.back().sendBytes(request.data(), 1);
    silent.push_back(connect());
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    for (std::size_t sent = 1; !done && sent < request.size(); ++sent) {
      for (auto& s : slow) {
        s.sendBytes(request.data() + sent, 1);
      }
      for (int tick = 0; tick < 10 && !done; ++tick) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  });
  // Meanwhile a normal client is answered, again and again.
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(infer(), 200) << "request " << i;
  }
  EXPECT_EQ(clf_->completed, 20) << "only the normal client's requests were complete";
  done = true;
  trickle.join();
}

TEST_F(HttpLimitsTest, ARequestNotCompleteInTimeIs408) {
  HttpFrontendOptions options;
  options.request_timeout_ms = 300;
  start(options);
  auto socket = connect();
  const std::string request = inferRequest();
  socket.sendBytes(request.data(), 20);  // and nothing more
  Raw raw = readToEnd(socket);
  EXPECT_THAT(raw.text, StartsWith("HTTP/1.1 408"));
  EXPECT_THAT(raw.text, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(raw.error(), HasSubstr("within 300 ms (request_timeout_ms)"));
  EXPECT_EQ(infer(), 200);
}

TEST_F(HttpLimitsTest, IdleKeepAliveConnectionsAreClosed) {
  HttpFrontendOptions options;
  options.idle_timeout_ms = 200;
  start(options);
  auto socket = connect();
  const std::string request = inferRequest();
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  EXPECT_EQ(readOne(socket).status(), 200);
  // Then silence: the server closes the connection without an answer.
  Raw rest = readToEnd(socket);
  EXPECT_EQ(rest.text, "");
}

TEST_F(HttpLimitsTest, HeadersOverTheLimitAre431) {
  HttpFrontendOptions options;
  options.max_header_bytes = 2048;
  start(options);
  auto socket = connect();
  std::string request =
      "GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: " + std::string(4000, 'x') + "\r\n\r\n";
  socket.sendBytes(request.data(), static_cast<int>(request.size()));
  Raw raw = readToEnd(socket);
  EXPECT_EQ(raw.status(), 431);
  EXPECT_THAT(raw.error(), HasSubstr("larger than the limit of 2048 bytes (max_header_bytes)"));
  // Headers under the limit are fine.
  auto ok = connect();
  std::string small =
      "GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: " + std::string(1000, 'x') +
      "\r\nConnection: close\r\n\r\n";
  ok.sendBytes(small.data(), static_cast<int>(small.size()));
  EXPECT_EQ(readToEnd(ok).status(), 200);
}

TEST_F(HttpLimitsTest, ConnectionsBeyondTheLimitGet503) {
  HttpFrontendOptions options;
  options.max_connections = 2;
  options.idle_timeout_ms = 60000;
  start(options);
  const std::string request = inferRequest();
  std::vector<Poco::Net::StreamSocket> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(connect());
    held.back().sendBytes(request.data(), static_cast<int>(request.size()));
    ASSERT_EQ(readOne(held.back()).status(), 200);  // open and served, then kept open
  }
  auto third = connect();
  third.sendBytes(request.data(), static_cast<int>(request.size()));
  Raw refused = readToEnd(third);
  EXPECT_EQ(refused.status(), 503);
  EXPECT_THAT(refused.error(), HasSubstr("2 connections open (max_connections)"));
  third.close();
  // The held connections still work; once one closes, a new client gets in.
  held[0].sendBytes(request.data(), static_cast<int>(request.size()));
  EXPECT_EQ(readOne(held[0]).status(), 200);
  held[1].close();
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    auto fresh = connect();
    std::string once = inferRequest("close");
    fresh.sendBytes(once.data(), static_cast<int>(once.size()));
    status = readToEnd(fresh).status();
    if (status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  EXPECT_EQ(status, 200);
}

TEST_F(HttpLimitsTest, MalformedRequestsAre400Json) {
  start({});
  for (std::string bad :
       {"GARBAGE\r\n\r\n", "GET /v2 HTTP/9.9\r\n\r\n", "GET /v2 HTTP/1.1\r\n folded: yes\r\n\r\n",
        "POST /v2 HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
        "POST /v2 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST /v2 HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /v2/models/clf/infer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto socket = connect();
    socket.sendBytes(bad.data(), static_cast<int>(bad.size()));
    Raw raw = readToEnd(socket);
    EXPECT_EQ(raw.status(), 400) << bad << " -> " << raw.text;
    EXPECT_THAT(raw.text, HasSubstr("Content-Type: application/json")) << bad;
    EXPECT_FALSE(raw.error().empty()) << bad;
  }
}

TEST_F(HttpLimitsTest, ExpectContinueAndPipelining) {
  start({});
  auto socket = connect();
  std::string head =
      "POST /v2/models/clf/infer HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(kInferBody.size()) + "\r\n\r\n";
  socket.sendBytes(head.data(), static_cast<int>(head.size()));
  std::string interim(25, '\0');
  socket.setReceiveTimeout(Poco::Timespan(20, 0));
  int got = 0;
  while (got < 25) {
    int n = socket.receiveBytes(interim.data() + got, 25 - got);
    ASSERT_GT(n, 0);
    got += n;
  }
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  socket.sendBytes(kInferBody.data(), static_cast<int>(kInferBody.size()));
  EXPECT_EQ(readOne(socket).status(), 200);

  // Two requests in one write: two answers, in order.
  // (with a stray line break between them, which is ignored)
  std::string two = inferRequest() + "\r\nGET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n";
  socket.sendBytes(two.data(), static_cast<int>(two.size()));
  Raw first = readOne(socket);
  Raw second = readOne(socket);
  EXPECT_EQ(first.status(), 200);
  EXPECT_THAT(first.body(), HasSubstr("\"model_name\""));
  EXPECT_EQ(second.status(), 200);
  EXPECT_EQ(second.body(), "{\"live\":true}");
}

TEST_F(HttpLimitsTest, TheLimitParametersReachTheServer) {
  auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  const NodeType& type = registrar.types.at(0);
  std::map<std::string, const ParamSpec*> specs;
  for (const auto& p : type.params) {
    specs[p.name] = &p;
  }
  EXPECT_EQ(std::get<std::int64_t>(specs.at("max_header_bytes")->default_value), 16384);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("max_connections")->default_value), 1024);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("request_timeout_ms")->default_value), 30000);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("idle_timeout_ms")->default_value), 5000);
  EXPECT_EQ(std::get<std::int64_t>(specs.at("max_json_depth")->default_value), 64);
  EXPECT_FALSE(specs.at("mlflow_model")->required);
  EXPECT_EQ(specs.at("mlflow_model")->ref_kind, NodeKind::kModel);

  NodeConfig config("web", "frontend.http", &host_);
  for (const auto& p : type.params) {
    if (!std::holds_alternative<std::monostate>(p.default_value)) {
      config.setValue(p.name, p.default_value);
    }
  }
  config.setValue("port", std::int64_t{0});
  config.setValue("max_header_bytes", std::int64_t{1024});
  config.setValue("max_json_depth", std::int64_t{3});
  config.setRefs("mlflow_model", {"clf"}, {"model.fake"}, {clf_});
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& frontend = static_cast<Frontend&>(**node);
  ASSERT_TRUE(frontend.start(host_).ok());
  auto endpoint = frontend.endpoint();
  port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  auto socket = connect();
  std::string big = "GET /v2 HTTP/1.1\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n";
  socket.sendBytes(big.data(), static_cast<int>(big.size()));
  EXPECT_EQ(readToEnd(socket).status(), 431);
  auto deep = connect();
  std::string body = R"({"inputs":[[[[1]]]]})";
  std::string request =
      "POST /invocations HTTP/1.1\r\nContent-Type: application/json\r\n"
      "Connection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  deep.sendBytes(request.data(), static_cast<int>(request.size()));
  Raw raw = readToEnd(deep);
  EXPECT_EQ(raw.status(), 400);
  EXPECT_THAT(raw.error(), HasSubstr("nested deeper than 3 levels"));
  frontend.stop();
}

}  // namespace
}  // namespace aimass::plugins::frontend
