// SPDX-License-Identifier: Apache-2.0
// frontend.grpc's authentication (API keys and HS256 JWTs in gRPC metadata, as frontend.http
// reads them from headers), mutual TLS, and the server reflection service, over real sockets
// on 127.0.0.1.
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>
#include <gmock/gmock.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "aimass/core/host_services.h"
#include "authenticator.h"
#include "fake_models.h"
#include "grpc_frontend.h"
#include "grpc_test_support.h"
#include "scoped_env.h"
#include "temp_dir.h"
#include "tls_test_support.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr const char* kSecretVariable = "AIMASS_GRPC_TEST_JWT_SECRET";
constexpr const char* kSecret = "0123456789abcdef0123456789abcdef-grpc";

std::string fileText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class GrpcSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    host_.servingRuntime().clear();
  }
  void start(GrpcFrontendOptions options) {
    options.port = 0;
    frontend_ = std::make_unique<GrpcFrontend>("rpc", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
  }
  static AuthOptions keys() {
    AuthOptions auth;
    auth.mode = AuthMode::kOn;
    auth.api_keys = {{"ci", Role::kReader, sha256Hex("reader-secret")}};
    auth.jwt_secret_env = kSecretVariable;
    return auth;
  }
  static std::string jwt(const std::string& subject, const std::string& role,
                         Poco::Timespan expires_in = Poco::Timespan(600, 0)) {
    Poco::JWT::Token token;
    token.setType("JWT");
    token.setSubject(subject);
    token.payload().set("role", role);
    token.setExpiration(Poco::Timestamp() + expires_in);
    Poco::JWT::Signer signer(kSecret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
  }

  aimass::testing::ScopedEnv secret_{kSecretVariable, kSecret};
  core::HostServices host_{".", 1};
  std::unique_ptr<GrpcFrontend> frontend_;
};

TEST_F(GrpcSecurityTest, CredentialsInMetadataAreChecked) {
  GrpcFrontendOptions options;
  options.auth = keys();
  start(options);
  auto stub = makeStub(targetOf(frontend_->endpoint()));
  const auto request = fp32Request("clf", "input", {1, 2}, {3, 1}, true);

  // Health and readiness stay open.
  EXPECT_TRUE(callServerLive(*stub, {}).status.ok());
  EXPECT_TRUE(callServerReady(*stub, {}).status.ok());
  inference::ModelReadyRequest ready;
  ready.set_name("clf");
  EXPECT_TRUE(callModelReady(*stub, ready).status.ok());

  auto anonymous = callModelInfer(*stub, request);
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(callServerMetadata(*stub, {}).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto wrong = callModelInfer(*stub, request, {{"x-api-key", "not-the-key"}});
  EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(wrong.status.error_message(), ::testing::Not(HasSubstr("not-the-key")));

  auto by_header = callModelInfer(*stub, request, {{"x-api-key", "reader-secret"}});
  ASSERT_TRUE(by_header.status.ok()) << by_header.status.error_message();
  EXPECT_EQ(by_header.response.outputs_size(), 3);
  EXPECT_TRUE(
      callModelInfer(*stub, request, {{"authorization", "Bearer reader-secret"}}).status.ok());
  EXPECT_TRUE(callServerMetadata(*stub, {}, {{"x-api-key", "reader-secret"}}).status.ok());

  // JWTs: a reader's is accepted; an expired one and one with an unknown role are not.
  EXPECT_TRUE(callModelInfer(*stub, request, {{"authorization", "Bearer " + jwt("ann", "reader")}})
                  .status.ok());
  auto expired =
      callModelInfer(*stub, request,
                     {{"authorization", "Bearer " + jwt("ann", "reader", Poco::Timespan(-60, 0))}});
  EXPECT_EQ(expired.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto unknown_role =
      callModelInfer(*stub, request, {{"authorization", "Bearer " + jwt("ann", "root")}});
  EXPECT_EQ(unknown_role.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcSecurityTest, AuthOnWithoutCredentialsRefusesToStart) {
  GrpcFrontendOptions options;
  options.auth.mode = AuthMode::kOn;
  GrpcFrontend frontend("rpc", options);
  Status status = frontend.start(host_);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(frontend.endpoint(), "");
}

TEST_F(GrpcSecurityTest, MutualTlsNeedsAClientCertificate) {
  aimass::testing::TempDir dir("aimass-grpc-tls");
  auto ca = aimass::testing::issue(dir.path(), "ca", nullptr, true);
  auto server = aimass::testing::issue(dir.path(), "server", &ca);
  auto client = aimass::testing::issue(dir.path(), "client", &ca);
  auto stranger_ca = aimass::testing::issue(dir.path(), "stranger-ca", nullptr, true);
  auto stranger = aimass::testing::issue(dir.path(), "stranger", &stranger_ca);
  GrpcFrontendOptions options;
  options.tls = GrpcTlsFiles{fileText(server.certificate_file), fileText(server.key_file),
                             fileText(ca.certificate_file)};
  start(options);
  ASSERT_THAT(frontend_->endpoint(), HasSubstr("grpcs://127.0.0.1:"));
  const std::string target = targetOf(frontend_->endpoint());

  auto credentials = [&](const aimass::testing::Credential* who) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = fileText(ca.certificate_file);
    if (who != nullptr) {
      ssl.pem_private_key = fileText(who->key_file);
      ssl.pem_cert_chain = fileText(who->certificate_file);
    }
    return grpc::SslCredentials(ssl);
  };
  auto trusted = makeStub(target, credentials(&client));
  auto reply = callModelInfer(*trusted, fp32Request("clf", "input", {1, 2}, {3, 1}, true));
  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  EXPECT_EQ(reply.response.outputs_size(), 3);

  EXPECT_EQ(callServerLive(*makeStub(target, credentials(nullptr)), {}).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(callServerLive(*makeStub(target, credentials(&stranger)), {}).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(callServerLive(*makeStub(target), {}).status.error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

/// The services a server's reflection lists: ServerReflectionInfo with one list_services
/// request, through the generic stub, read with the wire format alone (the reflection
/// messages' C++ classes are not installed by Debian's libgrpc++-dev).
std::vector<std::string> reflectedServices(const std::string& target, grpc::Status& status) {
  grpc::GenericStub stub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::CompletionQueue queue;
  auto context = callContext();
  auto call = stub.PrepareCall(
      context.get(), "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int id) {
    return queue.Next(&tag, &ok) && tag == reinterpret_cast<void*>(static_cast<intptr_t>(id)) && ok;
  };
  auto tag_of = [](int id) { return reinterpret_cast<void*>(static_cast<intptr_t>(id)); };
  std::vector<std::string> services;
  call->StartCall(tag_of(1));
  // ServerReflectionRequest{list_services: ""}: field 7, length-delimited, empty.
  const std::string request("\x3a\x00", 2);
  grpc::Slice slice(request);
  grpc::ByteBuffer message(&slice, 1);
  grpc::ByteBuffer answer;
  if (step(1)) {
    call->Write(message, tag_of(2));
    if (step(2)) {
      call->WritesDone(tag_of(3));
      if (step(3)) {
        call->Read(&answer, tag_of(4));
        step(4);
      }
    }
  }
  call->Finish(&status, tag_of(5));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  std::vector<grpc::Slice> slices;
  if (!answer.Valid() || !answer.Dump(&slices).ok()) {
    return services;
  }
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  // ServerReflectionResponse.list_services_response (6) holds ServiceResponse entries (1),
  // each with its name (1).
  google::protobuf::UnknownFieldSet response;
  if (!response.ParseFromString(bytes)) {
    return services;
  }
  for (int i = 0; i < response.field_count(); ++i) {
    if (response.field(i).number() != 6) {
      continue;
    }
    google::protobuf::UnknownFieldSet list;
    list.ParseFromString(response.field(i).length_delimited());
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      service.ParseFromString(list.field(j).length_delimited());
      for (int k = 0; k < service.field_count(); ++k) {
        if (service.field(k).number() == 1) {
          services.push_back(service.field(k).length_delimited());
        }
      }
    }
  }
  return services;
}

TEST_F(GrpcSecurityTest, ReflectionListsTheInferenceService) {
  start({});
  grpc::Status status;
  auto services = reflectedServices(targetOf(frontend_->endpoint()), status);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(services, Contains("inference.GRPCInferenceService"));

  frontend_->stop();
  GrpcFrontendOptions without;
  without.reflection = false;
  start(without);
  services = reflectedServices(targetOf(frontend_->endpoint()), status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_TRUE(services.empty());
}

}  // namespace
}  // namespace aimass::plugins::frontend
