// SPDX-License-Identifier: Apache-2.0
// frontend.http over TLS on 127.0.0.1: certificates and keys made at test time with OpenSSL's
// API, an OpenSSL client that verifies the server's certificate, and raw sockets for clients
// that misbehave (plain HTTP, no handshake, old protocol versions, no client certificate).
#include "tls.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
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
#include "temp_dir.h"
#include "tls_test_support.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::frontend {
namespace {

namespace fs = std::filesystem;
using aimass::testing::ClientOptions;
using aimass::testing::closedByServer;
using aimass::testing::connectTcp;
using aimass::testing::Credential;
using aimass::testing::issue;
using aimass::testing::Response;
using aimass::testing::TlsClient;
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

const std::string kReadyRequest = "GET /v2/health/ready HTTP/1.1\r\nHost: localhost\r\n\r\n";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", clf_);
    server_ = issue(temp_.path(), "server", nullptr);
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
  }
  TlsOptions tlsOptions() const {
    TlsOptions tls;
    tls.certificate = server_.certificate_file.string();
    tls.private_key = server_.key_file.string();
    return tls;
  }
  void start(HttpFrontendOptions options = {}, TlsOptions tls = {}) {
    if (tls.certificate.empty()) {
      tls = tlsOptions();
    }
    auto context = TlsContext::load(tls);
    ASSERT_TRUE(context.ok()) << context.status().toString();
    options.tls = std::move(context).value();
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    ASSERT_THAT(endpoint, StartsWith("https://127.0.0.1:"));
    port_ = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  ClientOptions trusting() const { return {server_.certificate_file, 0, nullptr}; }
  /// One inference over a fresh TLS connection; the status.
  int infer() {
    TlsClient client(port_, trusting());
    if (!client.connected()) {
      return 0;
    }
    return client.call(inferRequest("close")).status();
  }

  aimass::testing::TempDir temp_{"aimass-tls"};
  core::HostServices host_{".", 1};
  std::shared_ptr<TwoFeatureClassifier> clf_ = std::make_shared<TwoFeatureClassifier>();
  Credential server_;
  std::unique_ptr<HttpFrontend> frontend_;
  std::uint16_t port_ = 0;
};

TEST_F(TlsTest, HealthAndInferenceOverHttpsWithKeepAlive) {
  start();
  TlsClient client(port_, trusting());
  ASSERT_TRUE(client.connected()) << client.error();
  Response ready = client.call(kReadyRequest);
  EXPECT_EQ(ready.status(), 200) << ready.head;
  EXPECT_THAT(ready.head, HasSubstr("Connection: keep-alive"));
  // Several requests on the one connection.
  for (int i = 0; i < 5; ++i) {
    Response answer = client.call(inferRequest());
    ASSERT_EQ(answer.status(), 200) << "request " << i << ": " << answer.head << answer.body;
    EXPECT_THAT(answer.body, HasSubstr("\"model_name\":\"clf\""));
    EXPECT_THAT(answer.body, HasSubstr("\"high\""));
  }
  EXPECT_EQ(clf_->completed, 5);
}

TEST_F(TlsTest, PipelinedRequestsAndExpectContinue) {
  start();
  TlsClient client(port_, trusting());
  ASSERT_TRUE(client.connected()) << client.error();
  std::string head =
      "POST /v2/models/clf/infer HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(kInferBody.size()) + "\r\n\r\n";
  ASSERT_TRUE(client.write(head));
  EXPECT_EQ(client.read(25), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(client.write(kInferBody));
  EXPECT_EQ(client.readResponse().status(), 200);
  ASSERT_TRUE(client.write(inferRequest() + "GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(client.readResponse().status(), 200);
  Response live = client.readResponse();
  EXPECT_EQ(live.status(), 200);
  EXPECT_EQ(live.body, "{\"live\":true}");
}

/// An inference request with `values` as FP32 [n, 2] binary data, asking for the
/// probabilities back in binary.
std::string binaryInferRequest(const std::vector<float>& values) {
  const std::size_t bytes = values.size() * sizeof(float);
  std::string header = R"({"inputs":[{"name":"input","datatype":"FP32","shape":[)" +
                       std::to_string(values.size() / 2) +
                       R"(,2],"parameters":{"binary_data_size":)" + std::to_string(bytes) +
                       R"(}}],"outputs":[{"name":"probabilities","parameters":)"
                       R"({"binary_data":true}}]})";
  std::string body = header;
  body.append(reinterpret_cast<const char*>(values.data()), bytes);
  return "POST /v2/models/clf/infer HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
         "application/octet-stream\r\nInference-Header-Content-Length: " +
         std::to_string(header.size()) + "\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST_F(TlsTest, LargeBinaryTensorsBothWays) {
  start();
  // 4 MiB of inputs in, 4 MiB of probabilities out: many TLS records each way.
  const std::int64_t rows = 512 * 1024;
  std::vector<float> values(static_cast<std::size_t>(rows * 2));
  for (std::int64_t i = 0; i < rows; ++i) {
    values[2 * i] = static_cast<float>(i % 7);
    values[2 * i + 1] = 3.0f;
  }
  const std::size_t bytes = values.size() * sizeof(float);
  const std::string request = binaryInferRequest(values);
  TlsClient client(port_, trusting());
  ASSERT_TRUE(client.connected()) << client.error();
  for (int round = 0; round < 2; ++round) {
    Response answer = client.call(request);
    ASSERT_EQ(answer.status(), 200) << answer.head << answer.body.substr(0, 300);
    auto at = answer.head.find("Inference-Header-Content-Length: ");
    ASSERT_NE(at, std::string::npos) << answer.head;
    std::size_t json_size = std::stoul(answer.head.substr(at + 33));
    ASSERT_EQ(answer.body.size(), json_size + bytes);
    std::vector<float> probabilities(values.size());
    std::memcpy(probabilities.data(), answer.body.data() + json_size, bytes);
    for (std::int64_t i : {std::int64_t{0}, std::int64_t{4}, rows - 1}) {
      float expected = 1.0f / (1.0f + std::exp(-(values[2 * i] - 3.0f)));
      EXPECT_NEAR(probabilities[2 * i + 1], expected, 1e-6) << "row " << i;
    }
  }
}

TEST_F(TlsTest, AClientLeavingBeforeItsAnswerDoesNotHurtTheServer) {
  HttpFrontendOptions options;
  options.threads = 1;
  start(options);
  // 8 MiB to answer to clients that have gone: the server's writes fail (the peer reset the
  // connection), which must free the only worker at once and end nothing else.
  clf_->delay_ms = 100;
  const std::string request = binaryInferRequest(std::vector<float>(2 << 20, 1.0f));
  for (int i = 0; i < 3; ++i) {
    TlsClient client(port_, trusting());
    ASSERT_TRUE(client.connected()) << client.error();
    ASSERT_TRUE(client.write(request));
  }  // each closes while the model is still working
  clf_->delay_ms = 0;
  EXPECT_EQ(infer(), 200);
}

TEST_F(TlsTest, PlainHttpToTheTlsPortGetsAClearErrorAndServingGoesOn) {
  start();
  int fd = connectTcp(port_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, kReadyRequest.data(), kReadyRequest.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(kReadyRequest.size()));
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_THAT(text, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(text, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(text, HasSubstr("this port speaks HTTPS"));
  EXPECT_EQ(infer(), 200);
}

TEST_F(TlsTest, ClientsThatNeverFinishAHandshakeAreDroppedWhileOthersAreServed) {
  HttpFrontendOptions options;
  options.threads = 1;
  options.idle_timeout_ms = 300;
  start(options);
  // One connects and sends nothing; one sends the start of a ClientHello and stops.
  int silent = connectTcp(port_);
  int stalled = connectTcp(port_);
  ASSERT_GE(silent, 0);
  ASSERT_GE(stalled, 0);
  const unsigned char partial_hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
  ASSERT_EQ(::send(stalled, partial_hello, sizeof(partial_hello), MSG_NOSIGNAL), 6);
  // The single worker still answers a real client at once, again and again.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(infer(), 200) << "request " << i;
  }
  EXPECT_TRUE(closedByServer(silent));
  EXPECT_TRUE(closedByServer(stalled));
  ::close(silent);
  ::close(stalled);
  EXPECT_EQ(infer(), 200);
}

TEST_F(TlsTest, TheRequestTimeoutAndConnectionLimitHoldOverTls) {
  HttpFrontendOptions options;
  options.request_timeout_ms = 300;
  options.max_connections = 1;
  start(options);
  {
    // A request that never arrives in full is answered 408 over TLS.
    TlsClient slow(port_, trusting());
    ASSERT_TRUE(slow.connected()) << slow.error();
    ASSERT_TRUE(slow.write(inferRequest().substr(0, 30)));
    Response late = slow.readResponse();
    EXPECT_EQ(late.status(), 408) << late.head;
    EXPECT_THAT(late.body, HasSubstr("within 300 ms (request_timeout_ms)"));
  }
  // Once the server has seen that client go, one connection is allowed again.
  std::unique_ptr<TlsClient> admitted;
  for (int attempt = 0; attempt < 100 && !admitted; ++attempt) {
    admitted = std::make_unique<TlsClient>(port_, trusting());
    if (!admitted->connected()) {
      admitted.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ASSERT_TRUE(admitted);
  TlsClient& held = *admitted;
  EXPECT_EQ(held.call(kReadyRequest).status(), 200);
  // A connection beyond the limit is closed before its handshake: there is no channel for a
  // 503 yet.
  TlsClient beyond(port_, trusting());
  EXPECT_FALSE(beyond.connected());
  EXPECT_EQ(held.call(kReadyRequest).status(), 200);
}

TEST_F(TlsTest, ProtocolsOlderThanTheMinimumAreRefused) {
  start();
  TlsClient old(port_, {server_.certificate_file, TLS1_1_VERSION, nullptr});
  EXPECT_FALSE(old.connected());
  TlsClient tls12(port_, {server_.certificate_file, TLS1_2_VERSION, nullptr});
  ASSERT_TRUE(tls12.connected()) << tls12.error();
  EXPECT_EQ(tls12.version(), TLS1_2_VERSION);
  EXPECT_EQ(tls12.call(kReadyRequest).status(), 200);
  frontend_->stop();

  TlsOptions tls = tlsOptions();
  tls.min_version = "1.3";
  start({}, tls);
  TlsClient refused(port_, {server_.certificate_file, TLS1_2_VERSION, nullptr});
  EXPECT_FALSE(refused.connected());
  TlsClient tls13(port_, trusting());
  ASSERT_TRUE(tls13.connected()) << tls13.error();
  EXPECT_EQ(tls13.version(), TLS1_3_VERSION);
  EXPECT_EQ(tls13.call(kReadyRequest).status(), 200);
}

TEST_F(TlsTest, ClientCertificatesAreRequiredWhenAClientCaIsSet) {
  Credential authority = issue(temp_.path(), "clients-ca", nullptr, true);
  Credential alice = issue(temp_.path(), "alice", &authority);
  Credential stranger = issue(temp_.path(), "stranger", nullptr);
  TlsOptions tls = tlsOptions();
  tls.client_ca = authority.certificate_file.string();
  start({}, tls);

  TlsClient with(port_, {server_.certificate_file, 0, &alice});
  ASSERT_TRUE(with.connected()) << with.error();
  EXPECT_EQ(with.call(inferRequest()).status(), 200);
  // Without a certificate, or with one the CA did not sign, no request gets an answer (with
  // TLS 1.3 the client learns only when it reads).
  for (const Credential* identity : std::vector<const Credential*>{nullptr, &stranger}) {
    TlsClient without(port_, {server_.certificate_file, 0, identity});
    EXPECT_EQ(without.connected() ? without.call(inferRequest()).status() : 0, 0);
  }
  EXPECT_EQ(clf_->completed, 1);
}

TEST_F(TlsTest, StopAnswersTheRequestInFlightOverTls) {
  HttpFrontendOptions options;
  options.threads = 2;
  start(options);
  clf_->delay_ms = 500;
  TlsClient client(port_, trusting());
  ASSERT_TRUE(client.connected()) << client.error();
  ASSERT_TRUE(client.write(inferRequest()));
  for (int wait = 0; wait < 2000 && clf_->entered == 0; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(clf_->entered, 1);
  std::thread stopper([&] { frontend_->stop(); });  // what SIGTERM does in `aimass run`
  Response answer = client.readResponse();
  stopper.join();
  EXPECT_EQ(answer.status(), 200) << answer.head;
  EXPECT_THAT(answer.head, HasSubstr("Connection: close"));
  EXPECT_THAT(answer.body, HasSubstr("\"model_name\":\"clf\""));
  EXPECT_LT(connectTcp(port_), 0) << "still accepting after stop";
}

TEST_F(TlsTest, BadCertificatesAndKeysAreReportedByFile) {
  const fs::path folder = temp_.path();
  Credential other = issue(folder, "other", nullptr);
  std::ofstream(folder / "garbage.pem") << "this is not PEM\n";
  auto error = [](TlsOptions tls) {
    auto context = TlsContext::load(tls);
    return context.ok() ? std::string("loaded") : context.status().message();
  };
  TlsOptions tls = tlsOptions();
  tls.certificate = (folder / "missing.crt").string();
  EXPECT_THAT(error(tls), HasSubstr("cannot read tls_certificate '" + tls.certificate +
                                    "': No such file or directory"));
  tls = tlsOptions();
  tls.certificate = (folder / "garbage.pem").string();
  EXPECT_THAT(error(tls),
              HasSubstr("tls_certificate '" + tls.certificate + "' is not a PEM certificate"));
  tls = tlsOptions();
  tls.certificate = server_.key_file.string();  // a key where the certificate belongs
  EXPECT_THAT(error(tls), HasSubstr("is not a PEM certificate"));
  tls = tlsOptions();
  tls.private_key = (folder / "missing.key").string();
  EXPECT_THAT(error(tls), HasSubstr("cannot read tls_private_key '" + tls.private_key + "'"));
  tls = tlsOptions();
  tls.private_key = folder.string();
  EXPECT_THAT(error(tls),
              HasSubstr("tls_private_key '" + tls.private_key + "': it is a directory"));
  tls = tlsOptions();
  tls.private_key = (folder / "garbage.pem").string();
  EXPECT_THAT(error(tls),
              HasSubstr("tls_private_key '" + tls.private_key + "' is not a PEM private key"));
  tls = tlsOptions();
  tls.private_key = other.key_file.string();
  EXPECT_THAT(error(tls), HasSubstr("tls_private_key '" + tls.private_key +
                                    "' does not match the certificate in tls_certificate '" +
                                    tls.certificate + "'"));
  tls = tlsOptions();
  tls.client_ca = (folder / "garbage.pem").string();
  EXPECT_THAT(error(tls),
              HasSubstr("tls_client_ca '" + tls.client_ca + "' holds no PEM certificate"));
  tls = tlsOptions();
  tls.min_version = "1.1";
  EXPECT_THAT(error(tls), HasSubstr("tls_min_version must be \"1.2\" or \"1.3\", not '1.1'"));
  tls = tlsOptions();
  tls.private_key.clear();
  EXPECT_THAT(error(tls), HasSubstr("needs both tls_certificate and tls_private_key"));
  // An encrypted key is named as such rather than prompting for a passphrase.
  BIO* out = BIO_new_file((folder / "encrypted.key").c_str(), "w");
  PEM_write_bio_PKCS8PrivateKey(out, server_.key.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                const_cast<char*>("secret"));
  BIO_free(out);
  tls = tlsOptions();
  tls.private_key = (folder / "encrypted.key").string();
  EXPECT_THAT(error(tls), HasSubstr("is encrypted"));
  EXPECT_EQ(error(tlsOptions()), "loaded");
}

TEST_F(TlsTest, TheTlsParametersReachTheServerThroughThePlugin) {
  auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  const NodeType& type = registrar.types.at(0);
  std::map<std::string, const ParamSpec*> specs;
  for (const auto& p : type.params) {
    specs[p.name] = &p;
  }
  EXPECT_EQ(std::get<std::string>(specs.at("tls_min_version")->default_value), "1.2");
  EXPECT_THAT(specs.at("tls_min_version")->choices, ::testing::ElementsAre("1.2", "1.3"));
  for (const char* name : {"tls_certificate", "tls_private_key", "tls_client_ca"}) {
    EXPECT_FALSE(specs.at(name)->required) << name;
    EXPECT_EQ(specs.at(name)->type, ParamType::kPath) << name;
  }
  auto configure = [&](const std::string& certificate, const std::string& key) {
    auto config = std::make_unique<NodeConfig>("web", "frontend.http", &host_);
    for (const auto& p : type.params) {
      if (!std::holds_alternative<std::monostate>(p.default_value)) {
        config->setValue(p.name, p.default_value);
      }
    }
    config->setValue("port", std::int64_t{0});
    config->setValue("tls_certificate", certificate);
    config->setValue("tls_private_key", key);
    return config;
  };
  // A bad file fails the factory, so the host reports it at the node's place in the config.
  auto bad = type.factory(*configure(server_.certificate_file.string(), "/nonexistent/key.pem"));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("cannot read tls_private_key '/nonexistent/key.pem'"));

  auto node =
      type.factory(*configure(server_.certificate_file.string(), server_.key_file.string()));
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto* frontend = dynamic_cast<HttpFrontend*>(node->get());
  ASSERT_NE(frontend, nullptr);
  ASSERT_TRUE(frontend->start(host_).ok());
  auto endpoint = frontend->endpoint();
  ASSERT_THAT(endpoint, StartsWith("https://"));
  port_ = static_cast<std::uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  EXPECT_EQ(infer(), 200);
  frontend->stop();
}

}  // namespace
}  // namespace aimass::plugins::frontend
