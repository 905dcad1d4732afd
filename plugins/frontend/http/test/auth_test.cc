// SPDX-License-Identifier: Apache-2.0
// Authentication and roles of frontend.http: the pieces (loopback rule, constant-time
// comparison, key parsing) and the server over real sockets on 127.0.0.1 with auth on.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/testing/registration.h"
#include "authenticator.h"
#include "fake_models.h"
#include "http_call.h"
#include "http_frontend.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::frontend {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSecretVariable = "AIMASS_AUTH_TEST_JWT_SECRET";
constexpr const char* kSecret = "a-test-secret-of-reasonable-length-0123456789";

TEST(AuthMode, ParsesItsThreeValuesAndNamesABadOne) {
  EXPECT_EQ(*parseAuthMode("auto"), AuthMode::kAuto);
  EXPECT_EQ(*parseAuthMode("on"), AuthMode::kOn);
  EXPECT_EQ(*parseAuthMode("off"), AuthMode::kOff);
  auto bad = parseAuthMode("yes");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'yes'"));
}

TEST(AuthMode, AutoIsOnExactlyOutsideLoopback) {
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"}) {
    EXPECT_TRUE(isLoopbackHost(loopback)) << loopback;
    EXPECT_FALSE(authRequired(AuthMode::kAuto, loopback)) << loopback;
    EXPECT_TRUE(authRequired(AuthMode::kOn, loopback)) << loopback;
  }
  for (const char* outside : {"0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "example.com",
                              "127.0.0.256", "127.0.0", "127.0.0.1.5", "1127.0.0.1", ""}) {
    EXPECT_FALSE(isLoopbackHost(outside)) << outside;
    EXPECT_TRUE(authRequired(AuthMode::kAuto, outside)) << outside;
    EXPECT_FALSE(authRequired(AuthMode::kOff, outside)) << outside;
  }
}

TEST(ConstantTimeEquals, ComparesWholeStrings) {
  EXPECT_TRUE(constantTimeEquals("", ""));
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "xbc"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
  EXPECT_FALSE(constantTimeEquals("ab", "abc"));
  EXPECT_FALSE(constantTimeEquals("", "a"));
  // A difference that XORs to zero with the length would not fool it.
  EXPECT_FALSE(constantTimeEquals(std::string_view("a\0", 2), "a"));
}

TEST(Sha256Hex, MatchesSha256sum) {
  // printf %s test | sha256sum
  EXPECT_EQ(sha256Hex("test"), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApiKeyEntry, ParsesAndNamesWhatIsWrong) {
  auto key = parseApiKey(
      "ci  operator\t9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "k");
  ASSERT_TRUE(key.ok()) << key.status().toString();
  EXPECT_EQ(key->name, "ci");
  EXPECT_EQ(key->role, Role::kOperator);
  EXPECT_EQ(key->sha256_hex, sha256Hex("test"));

  auto fields = parseApiKey("ci reader", "api_keys_file keys:0");
  ASSERT_FALSE(fields.ok());
  EXPECT_THAT(fields.status().message(), HasSubstr("api_keys_file keys:0"));
  EXPECT_THAT(fields.status().message(), HasSubstr("3 fields"));
  auto role = parseApiKey("ci root " + sha256Hex("x"), "api_keys_file keys:1");
  ASSERT_FALSE(role.ok());
  EXPECT_THAT(role.status().message(), HasSubstr("role 'root'"));
  auto public_role = parseApiKey("ci public " + sha256Hex("x"), "api_keys_file keys:1");
  EXPECT_FALSE(public_role.ok());
  auto plain = parseApiKey("ci reader my-secret-key", "api_keys_file keys:2");
  ASSERT_FALSE(plain.ok());
  EXPECT_THAT(plain.status().message(), HasSubstr("64 hex digits"));
  EXPECT_THAT(plain.status().message(), Not(HasSubstr("my-secret-key")));
  auto digits = parseApiKey("ci reader " + std::string(63, 'a') + "g", "api_keys_file keys:3");
  ASSERT_FALSE(digits.ok());
  EXPECT_THAT(digits.status().message(), HasSubstr("not a hex digit"));
}

TEST(ApiKeyFile, ReadsKeysSkipsCommentsAndNamesTheBadLine) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "keys").string();
  {
    std::ofstream out(path);
    out << "# who role sha256\n\nalice reader " << sha256Hex("a") << "\n"
        << "bob admin " << sha256Hex("b") << "\r\n";
  }
  auto keys = readApiKeyFile(path);
  ASSERT_TRUE(keys.ok()) << keys.status().toString();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[1].name, "bob");
  EXPECT_EQ((*keys)[1].role, Role::kAdmin);
  {
    std::ofstream out(path, std::ios::app);
    out << "carol reader short\n";
  }
  auto bad = readApiKeyFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr(path + ":5"));
  auto missing = readApiKeyFile((dir.path() / "none").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read"));
}

TEST(AuthenticatorCreate, NeedsACredentialAndASetSecret) {
  auto nothing = Authenticator::create({});
  ASSERT_FALSE(nothing.ok());
  EXPECT_EQ(nothing.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(nothing.status().message(), HasSubstr("api_keys"));

  AuthOptions unset;
  unset.jwt_secret_env = "AIMASS_AUTH_TEST_UNSET_VARIABLE";
  ::unsetenv(unset.jwt_secret_env.c_str());
  auto no_secret = Authenticator::create(unset);
  ASSERT_FALSE(no_secret.ok());
  EXPECT_THAT(no_secret.status().message(), HasSubstr("AIMASS_AUTH_TEST_UNSET_VARIABLE"));
  EXPECT_THAT(no_secret.status().message(), HasSubstr("not set"));
}

TEST(AuthenticatorCreate, RefusesAJwtSecretShorterThan32BytesWithoutShowingIt) {
  AuthOptions options;
  options.jwt_secret_env = "AIMASS_AUTH_TEST_SHORT_SECRET";
  const std::string short_secret(31, 's');
  ::setenv(options.jwt_secret_env.c_str(), short_secret.c_str(), 1);
  auto refused = Authenticator::create(options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("AIMASS_AUTH_TEST_SHORT_SECRET"));
  EXPECT_THAT(refused.status().message(), HasSubstr("has 31 bytes"));
  EXPECT_THAT(refused.status().message(), HasSubstr("at least 32"));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(short_secret)));

  // At start: the frontend names the variable and binds nothing.
  core::HostServices host(".", 1);
  HttpFrontendOptions frontend_options;
  frontend_options.port = 0;
  frontend_options.auth.mode = AuthMode::kOn;
  frontend_options.auth.jwt_secret_env = options.jwt_secret_env;
  HttpFrontend frontend("web", frontend_options);
  Status status = frontend.start(host);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("AIMASS_AUTH_TEST_SHORT_SECRET"));
  EXPECT_EQ(frontend.endpoint(), "");

  ::setenv(options.jwt_secret_env.c_str(), std::string(32, 's').c_str(), 1);
  EXPECT_TRUE(Authenticator::create(options).ok());
  ::unsetenv(options.jwt_secret_env.c_str());
}

TEST(Hs256Signature, IsBase64UrlHmacSha256) {
  // RFC 4231 test case 2, base64url without padding.
  EXPECT_EQ(hs256Signature("Jefe", "what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM");
}

TEST(AuthParams, DeclaredWithDefaultsAndBadKeysNameTheEntry) {
  auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  const NodeType& type = registrar.types.at(0);
  std::map<std::string, const ParamSpec*> specs;
  for (const auto& p : type.params) {
    specs[p.name] = &p;
  }
  EXPECT_EQ(std::get<std::string>(specs.at("auth")->default_value), "auto");
  EXPECT_EQ(specs.at("auth")->choices, (std::vector<std::string>{"auto", "on", "off"}));
  EXPECT_TRUE(std::get<std::vector<ParamRecord>>(specs.at("api_keys")->default_value).empty());
  EXPECT_FALSE(specs.at("api_keys_file")->required);
  EXPECT_FALSE(specs.at("jwt_secret_env")->required);

  core::HostServices host(".", 1);
  NodeConfig config("web", "frontend.http", &host);
  for (const auto& p : type.params) {
    if (!std::holds_alternative<std::monostate>(p.default_value)) {
      config.setValue(p.name, p.default_value);
    }
  }
  auto record = [](const std::string& name, const std::string& hash, const std::string& path) {
    ParamRecord key;
    key.setValue("name", name);
    key.setValue("role", std::string("reader"));
    key.setValue("sha256", hash);
    key.setPath(path, "web.yaml:7:5");
    key.setFieldLocation("sha256", "web.yaml:7:33");
    return key;
  };
  config.setValue("api_keys", std::vector<ParamRecord>{record("ok", sha256Hex("k"), "api_keys[0]"),
                                                       record("bad", "plain-key", "api_keys[1]")});
  auto node = type.factory(config);
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().message(),
            "web.yaml:7:33: api_keys[1] (key 'bad'): the hash must be the 64 hex digits of the "
            "key's SHA-256, found 9 characters (is this the key itself? store only its hash)");

  config.setValue("api_keys", std::vector<ParamRecord>{record("ok", sha256Hex("k"), "")});
  EXPECT_TRUE(type.factory(config).ok());
}

struct Reply {
  int status = 0;
  std::string body;
  std::string www_authenticate;
  std::string error() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("error");
  }
};

/// A frontend with auth on, serving "clf", with one key per role and HS256 JWTs.
class AuthServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv(kSecretVariable, kSecret, 1);
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
    Route admin_only;
    admin_only.method = "POST";
    admin_only.pattern = "/v1/admin/purge";
    admin_only.owner = "ops";
    admin_only.role = Role::kAdmin;
    admin_only.handler = [](const HttpRequest& request, HttpResponse& response) {
      response.body = "{\"by\":\"" + jsonEscape(request.principal) + "\"}";
    };
    ASSERT_TRUE(host_.routes().add(admin_only).ok());
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    ::unsetenv(kSecretVariable);
  }

  void start(AuthOptions auth = defaultAuth()) {
    HttpFrontendOptions options;
    options.port = 0;
    options.auth = std::move(auth);
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  static AuthOptions defaultAuth() {
    AuthOptions auth;
    auth.mode = AuthMode::kOn;
    auth.api_keys = {{"reader-key", Role::kReader, sha256Hex("reader-secret")},
                     {"operator-key", Role::kOperator, sha256Hex("operator-secret")},
                     {"admin-key", Role::kAdmin, sha256Hex("admin-secret")}};
    auth.jwt_secret_env = kSecretVariable;
    return auth;
  }

  static std::string jwt(const std::string& subject, const std::string& role,
                         Poco::Timespan expires_in = Poco::Timespan(600, 0),
                         const std::string& secret = kSecret) {
    Poco::JWT::Token token;
    token.setType("JWT");
    token.setSubject(subject);
    if (!role.empty()) {
      token.payload().set("role", role);
    }
    token.setExpiration(Poco::Timestamp() + expires_in);
    Poco::JWT::Signer signer(secret);
    return signer.sign(token, Poco::JWT::Signer::ALGO_HS256);
  }

  Reply call(const std::string& method, const std::string& path,
             const std::vector<std::pair<std::string, std::string>>& headers = {},
             const std::string& body = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    if (method == "POST") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      request.setContentType("application/json");
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    reply.www_authenticate = response.get("WWW-Authenticate", "");
    Poco::StreamCopier::copyToString(in, reply.body);
    testing::recordPocoExchange(request, body, response, reply.body);
    return reply;
  }

  static std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  static std::string inferBody() {
    return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,2]}]})";
  }

  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(AuthServerTest, HealthAndReadinessStayOpen) {
  start();
  EXPECT_EQ(call("GET", "/v2/health/live").status, 200);
  EXPECT_EQ(call("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(call("GET", "/v2/models/clf/ready").status, 200);
  EXPECT_EQ(call("GET", "/ping").status, 200);
  EXPECT_EQ(call("GET", "/health").status, 200);
}

TEST_F(AuthServerTest, NoCredentialsIs401WithWwwAuthenticate) {
  start();
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/v2"},
           {"GET", "/v2/models/clf"},
           {"POST", "/v2/models/clf/infer"},
           {"POST", "/invocations"},
           {"GET", "/v2/models/stats"},
           {"GET", "/metrics"},
           {"POST", "/v2/repository/index"},
           {"POST", "/v2/repository/models/clf/load"},
           {"POST", "/v2/repository/models/clf/unload"},
           {"POST", "/v1/admin/purge"}}) {
    Reply r = call(method, path);
    EXPECT_EQ(r.status, 401) << method << " " << path << ": " << r.body;
    EXPECT_THAT(r.www_authenticate, HasSubstr("Bearer")) << path;
    EXPECT_THAT(r.error(), HasSubstr("credentials required")) << path;
  }
}

TEST_F(AuthServerTest, BadCredentialsAre401AndNeverEchoed) {
  start();
  Reply unknown = call("GET", "/v2/models/clf", bearer("not-a-key"));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_THAT(unknown.error(), HasSubstr("not a known API key"));
  EXPECT_THAT(unknown.body, Not(HasSubstr("not-a-key")));
  Reply header = call("GET", "/v2/models/clf", {{"X-API-Key", "wrong"}});
  EXPECT_EQ(header.status, 401);
  EXPECT_THAT(header.www_authenticate, HasSubstr("Bearer"));
  Reply basic = call("GET", "/v2/models/clf", {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_THAT(basic.error(), HasSubstr("'Basic'"));
  Reply empty = call("GET", "/v2/models/clf", {{"Authorization", "Bearer "}});
  EXPECT_EQ(empty.status, 401);
}

TEST_F(AuthServerTest, ExpiredBadlySignedOrIncompleteJwtsAre401) {
  start();
  Reply expired =
      call("GET", "/v2/models/clf", bearer(jwt("ann", "reader", Poco::Timespan(-60, 0))));
  EXPECT_EQ(expired.status, 401);
  EXPECT_THAT(expired.error(), HasSubstr("expired"));
  Reply forged = call("GET", "/v2/models/clf",
                      bearer(jwt("ann", "admin", Poco::Timespan(600, 0), "another-secret")));
  EXPECT_EQ(forged.status, 401);
  EXPECT_THAT(forged.error(), HasSubstr("not a JWT signed with this server's secret"));
  Reply no_role = call("GET", "/v2/models/clf", bearer(jwt("ann", "")));
  EXPECT_EQ(no_role.status, 401);
  EXPECT_THAT(no_role.error(), HasSubstr("'role'"));
  Reply bad_role = call("GET", "/v2/models/clf", bearer(jwt("ann", "root")));
  EXPECT_EQ(bad_role.status, 401);
  EXPECT_THAT(bad_role.error(), HasSubstr("'root'"));

  // alg "none": a good token's claims under the header {"alg":"none","typ":"JWT"}, unsigned.
  // The Signer allows HS256 only.
  const std::string good = jwt("ann", "admin");
  const std::size_t first_dot = good.find('.');
  const std::string claims = good.substr(first_dot, good.rfind('.') - first_dot);
  const std::string none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" + claims + ".";
  EXPECT_EQ(call("GET", "/v2/models/clf", bearer(good)).status, 200);
  EXPECT_EQ(call("GET", "/v2/models/clf", bearer(none)).status, 401);

  // A signature of the right length with one character changed.
  std::string wrong = good;
  char& last = wrong[wrong.size() - 2];
  last = last == 'A' ? 'B' : 'A';
  ASSERT_EQ(wrong.size(), good.size());
  Reply altered = call("GET", "/v2/models/clf", bearer(wrong));
  EXPECT_EQ(altered.status, 401);
  EXPECT_THAT(altered.error(), HasSubstr("not a JWT signed with this server's secret"));
  // "alg": "none" or HS512 in the header, even under a valid HS256 signature of the secret.
  const std::string none_signed = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0" + claims;
  EXPECT_EQ(call("GET", "/v2/models/clf",
                 bearer(none_signed + "." + hs256Signature(kSecret, none_signed)))
                .status,
            401);
  Poco::JWT::Token token;
  token.setSubject("ann");
  token.payload().set("role", std::string("admin"));
  token.setExpiration(Poco::Timestamp() + Poco::Timespan(600, 0));
  Poco::JWT::Signer hs512(kSecret);
  hs512.addAlgorithm(Poco::JWT::Signer::ALGO_HS512);
  EXPECT_EQ(
      call("GET", "/v2/models/clf", bearer(hs512.sign(token, Poco::JWT::Signer::ALGO_HS512))).status,
      401);
}

TEST_F(AuthServerTest, PublicRoutesDoNotTellWhichModelsExist) {
  host_.servingRuntime().add("other", "1", std::make_shared<TwoFeatureClassifier>());
  start();
  // Readiness is public: an unknown model and an unknown version of a known one look alike.
  Reply unknown_model = call("GET", "/v2/models/ghost/versions/9/ready");
  Reply unknown_version = call("GET", "/v2/models/clf/versions/9/ready");
  EXPECT_EQ(unknown_model.status, 404);
  EXPECT_EQ(unknown_version.status, unknown_model.status);
  std::string as_ghost = unknown_version.body;
  as_ghost.replace(as_ghost.find("'clf'"), 5, "'ghost'");
  EXPECT_EQ(as_ghost, unknown_model.body);
  // A reader may still learn which it was.
  Reply metadata = call("GET", "/v2/models/clf/versions/9", bearer("reader-secret"));
  EXPECT_EQ(metadata.status, 404);
  EXPECT_THAT(metadata.error(), HasSubstr("version '9'"));

  // /ping and /health name no model, even when they cannot tell which one scores.
  for (const char* path : {"/ping", "/health"}) {
    Reply ping = call("GET", path);
    EXPECT_EQ(ping.status, 404) << path;
    EXPECT_THAT(ping.body, Not(HasSubstr("clf"))) << path;
    EXPECT_THAT(ping.body, Not(HasSubstr("other"))) << path;
    EXPECT_THAT(ping.body, HasSubstr("mlflow_model")) << path;
  }
}

TEST_F(AuthServerTest, RolesGateLoadAndUnload) {
  start();
  for (const auto& path : {"/v2/repository/models/clf/load", "/v2/repository/models/clf/unload"}) {
    Reply as_reader = call("POST", path, bearer("reader-secret"));
    EXPECT_EQ(as_reader.status, 403) << path << ": " << as_reader.body;
    EXPECT_THAT(as_reader.error(), HasSubstr("'reader-key' has the role reader"));
    EXPECT_THAT(as_reader.error(), HasSubstr("needs operator"));
    EXPECT_TRUE(as_reader.www_authenticate.empty());
    Reply jwt_reader = call("POST", path, bearer(jwt("ann", "reader")));
    EXPECT_EQ(jwt_reader.status, 403) << path;
  }
  // An operator passes the check; without a repository the load itself is refused (not 401/403).
  Reply load = call("POST", "/v2/repository/models/clf/load", bearer("operator-secret"));
  EXPECT_NE(load.status, 401) << load.body;
  EXPECT_NE(load.status, 403) << load.body;
  Reply unload = call("POST", "/v2/repository/models/clf/unload", bearer(jwt("op", "operator")));
  EXPECT_EQ(unload.status, 200) << unload.body;
  EXPECT_EQ(call("GET", "/v2/models/clf/ready").status, 404);
}

TEST_F(AuthServerTest, RightRoleIs200ByKeyOrJwt) {
  start();
  EXPECT_EQ(call("GET", "/v2/models/clf", bearer("reader-secret")).status, 200);
  EXPECT_EQ(call("GET", "/v2/models/clf", {{"X-API-Key", "reader-secret"}}).status, 200);
  EXPECT_EQ(call("GET", "/metrics", bearer("operator-secret")).status, 200);
  Reply infer = call("POST", "/v2/models/clf/infer", bearer(jwt("ann", "reader")), inferBody());
  EXPECT_EQ(infer.status, 200) << infer.body;

  // A contributed route's own role, and the principal reaching its handler.
  EXPECT_EQ(call("POST", "/v1/admin/purge", bearer("operator-secret")).status, 403);
  Reply by_key = call("POST", "/v1/admin/purge", bearer("admin-secret"));
  ASSERT_EQ(by_key.status, 200) << by_key.body;
  EXPECT_EQ(by_key.body, R"({"by":"admin-key"})");
  Reply by_jwt = call("POST", "/v1/admin/purge", bearer(jwt("root@example", "admin")));
  ASSERT_EQ(by_jwt.status, 200) << by_jwt.body;
  EXPECT_EQ(by_jwt.body, R"({"by":"root@example"})");
}

TEST_F(AuthServerTest, KeysFromAFileWork) {
  testing::TempDir dir;
  const std::string path = (dir.path() / "keys").string();
  {
    std::ofstream out(path);
    out << "filed operator " << sha256Hex("from-file") << "\n";
  }
  AuthOptions auth;
  auth.mode = AuthMode::kOn;
  auth.api_keys_file = path;
  start(auth);
  EXPECT_EQ(call("GET", "/v2/models/clf", bearer("from-file")).status, 200);
  Reply jwt_refused = call("GET", "/v2/models/clf", bearer(jwt("ann", "reader")));
  EXPECT_EQ(jwt_refused.status, 401);
  EXPECT_THAT(jwt_refused.error(), HasSubstr("accepts no JWTs"));
}

TEST_F(AuthServerTest, AutoOnLoopbackServesWithoutCredentials) {
  AuthOptions auth;  // auto, no credentials: fine on 127.0.0.1
  start(auth);
  EXPECT_EQ(call("GET", "/v2/models/clf").status, 200);
}

TEST_F(AuthServerTest, AuthOnWithoutCredentialsFailsToStart) {
  HttpFrontendOptions options;
  options.port = 0;
  options.host = "0.0.0.0";  // auto: on; nothing is bound since the check comes first
  HttpFrontend frontend("web", options);
  Status status = frontend.start(host_);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("frontend 'web' on 0.0.0.0:0"));
  EXPECT_THAT(status.message(), HasSubstr("no credential is configured"));
  EXPECT_EQ(frontend.endpoint(), "");
}

}  // namespace
}  // namespace aimass::plugins::frontend
