// SPDX-License-Identifier: Apache-2.0
// docs/openapi.yaml against the running frontend: the routes it serves are the documented ones,
// both ways, and every documented operation answers on a real socket.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/core/type_registry.h"
#include "annotation/annotation_node.h"
#include "console_api/console_routes.h"
#include "evaluation_routes.h"
#include "fake_models.h"
#include "fs.h"
#include "http_call.h"
#include "http_frontend.h"
#include "jobs/jobs_node.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

constexpr const char* kOpenApiPath = AIMASS_SOURCE_DIR "/docs/openapi.yaml";
constexpr const char* kHttpMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

Role roleNamed(const std::string& name, const std::string& where) {
  for (Role role :
       {Role::kPublic, Role::kAnnotator, Role::kReader, Role::kOperator, Role::kAdmin}) {
    if (roleName(role) == name) {
      return role;
    }
  }
  ADD_FAILURE() << where << ": x-aimass-role '" << name << "' is no role";
  return Role::kAdmin;
}

/// Method, path template and x-aimass-role of every operation under `paths`.
std::set<ServedRoute> documentedRoutes() {
  YAML::Node doc = YAML::LoadFile(kOpenApiPath);
  std::set<ServedRoute> routes;
  for (const auto& path : doc["paths"]) {
    for (const char* method : kHttpMethods) {
      if (!path.second[method]) {
        continue;
      }
      const std::string where = upper(method) + " " + path.first.as<std::string>();
      YAML::Node role = path.second[method]["x-aimass-role"];
      EXPECT_TRUE(role) << where << " has no x-aimass-role";
      routes.insert({upper(method), path.first.as<std::string>(),
                     role ? roleNamed(role.as<std::string>(), where) : Role::kAdmin});
    }
  }
  return routes;
}

/// The routes without their roles, for "is this path and method served" questions.
std::set<std::pair<std::string, std::string>> methodsAndPaths(const std::set<ServedRoute>& routes) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& route : routes) {
    out.insert({route.method, route.pattern});
  }
  return out;
}

/// A documented template with its captures filled in: {model} is the served "clf", {version}
/// its "1", {id} run 1; any other capture gets "x".
std::string concrete(const std::string& pattern) {
  std::string out;
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    std::size_t open = pattern.find('{', pos);
    if (open == std::string::npos) {
      out += pattern.substr(pos);
      break;
    }
    std::size_t close = pattern.find('}', open);
    out += pattern.substr(pos, open - pos);
    const std::string name = pattern.substr(open + 1, close - open - 1);
    out += name == "model" ? "clf" : (name == "version" || name == "id") ? "1" : "x";
    pos = close + 1;
  }
  return out;
}

struct Reply {
  int status = 0;
  std::string body;
  std::string allow;
};

/// A served classifier "clf" and, as `aimass run` offers them for a graph with a storage node,
/// the registry services of a storage.fs (served under /api/v1), behind a frontend on port 0.
class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    host_.servingRuntime().add("clf", "1", std::make_shared<TwoFeatureClassifier>());
    auto storage = plugins::storage::FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::move(storage).value();
    host_.setApiStorage(storage_);
    core::addEvaluationRoutes(host_, storage_);  // as Runtime adds them beside the registry
    // A job service on the same store, as a graph's service.jobs node offers it.
    core::jobs::JobServiceOptions jobs;
    jobs.capacity = {2, std::int64_t{1} << 30, 0};
    jobs.queues.push_back({});
    jobs.queues.back().name = "default";
    jobs.queues.back().nominal = jobs.capacity;
    jobs.work_dir = dir_.path() / "jobs";
    jobs.worker.executable = AIMASS_EXECUTABLE;
    jobs_ = std::make_unique<core::jobs::JobsServiceNode>(storage_, jobs, nullptr, dir_.path());
    ASSERT_TRUE(jobs_->start().ok());
    host_.setJobService(jobs_.get());
    // The console's routes, as `aimass run` adds them for a graph with a frontend.
    core::registerBuiltinTypes(types_);
    ASSERT_TRUE(core::addConsoleApiRoutes(host_, {&types_, storage_, dir_.path()}).ok());
    // The annotation projects' routes, as `aimass run` adds them (here with no project).
    ASSERT_TRUE(core::annotation::addAnnotationRoutes(host_, {}).ok());
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    host_.setJobService(nullptr);
  }

  void start(HttpFrontendOptions frontend_options = options()) {
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(frontend_options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  Reply call(const std::string& method, const std::string& path) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.setContentLength64(0);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    reply.allow = response.get("Allow", "");
    Poco::StreamCopier::copyToString(in, reply.body);
    testing::recordPocoExchange(request, "", response, reply.body);
    return reply;
  }

  static bool isNoRoute(const Reply& reply) {
    if (reply.status != 404) {
      return false;
    }
    Poco::JSON::Parser parser;
    auto error = parser.parse(reply.body).extract<Poco::JSON::Object::Ptr>();
    return error->getValue<std::string>("error").rfind("no route for ", 0) == 0;
  }

  static HttpFrontendOptions options() {
    HttpFrontendOptions options;
    options.port = 0;
    options.threads = 2;
    return options;
  }

  testing::TempDir dir_{"aimass-openapi"};
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<core::jobs::JobsServiceNode> jobs_;
  core::TypeRegistry types_;
  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(OpenApiTest, TheDocumentParsesAndListsRoutes) {
  auto documented = methodsAndPaths(documentedRoutes());
  EXPECT_GE(documented.size(), 20u);
  EXPECT_TRUE(documented.count({"POST", "/v2/models/{model}/infer"}));
}

TEST_F(OpenApiTest, EveryServedRouteIsDocumentedAndEveryDocumentedRouteIsServed) {
  start();
  std::vector<ServedRoute> served = frontend_->routes();
  std::set<ServedRoute> served_set(served.begin(), served.end());
  EXPECT_EQ(methodsAndPaths(served_set).size(), served.size()) << "a route is served twice";
  std::set<ServedRoute> documented = documentedRoutes();
  auto documented_paths = methodsAndPaths(documented);
  auto served_paths = methodsAndPaths(served_set);
  for (const auto& route : served_set) {
    const std::string what = route.method + " " + route.pattern;
    EXPECT_TRUE(documented_paths.count({route.method, route.pattern}))
        << what << " is served but not in " << kOpenApiPath;
    EXPECT_TRUE(!documented_paths.count({route.method, route.pattern}) || documented.count(route))
        << what << " needs role '" << roleName(route.role) << "' but " << kOpenApiPath
        << " says otherwise";
  }
  for (const auto& route : documented) {
    EXPECT_TRUE(served_paths.count({route.method, route.pattern}))
        << route.method << " " << route.pattern << " is in " << kOpenApiPath << " but not served";
  }
}

TEST_F(OpenApiTest, EveryDocumentedOperationAnswersOnTheSocket) {
  start();
  for (const auto& route : documentedRoutes()) {
    const std::string path = concrete(route.pattern);
    Reply reply = call(route.method, path);
    EXPECT_FALSE(isNoRoute(reply)) << route.method << " " << path << ": " << reply.body;
    EXPECT_NE(reply.status, 405) << route.method << " " << path << ": " << reply.body;
  }
}

TEST_F(OpenApiTest, WithAuthenticationOnlyTheDocumentedPublicRoutesAnswerWithoutCredentials) {
  HttpFrontendOptions secured = options();
  secured.auth.mode = AuthMode::kOn;
  secured.auth.api_keys.push_back({"ci", Role::kAdmin, sha256Hex("a-key-nobody-sends")});
  start(secured);
  for (const auto& route : documentedRoutes()) {
    const std::string path = concrete(route.pattern);
    Reply reply = call(route.method, path);
    if (route.role == Role::kPublic) {
      EXPECT_NE(reply.status, 401) << route.method << " " << path << " is documented public";
    } else {
      EXPECT_EQ(reply.status, 401) << route.method << " " << path << " is documented '"
                                   << roleName(route.role) << "': " << reply.body;
    }
  }
}

TEST_F(OpenApiTest, UndocumentedMethodsOnDocumentedPathsAre405WithTheDocumentedAllow) {
  start();
  auto documented = methodsAndPaths(documentedRoutes());
  std::set<std::string> paths;
  for (const auto& [method, pattern] : documented) {
    paths.insert(pattern);
  }
  for (const auto& pattern : paths) {
    for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
      if (documented.count({method, pattern})) {
        continue;
      }
      const std::string path = concrete(pattern);
      Reply reply = call(method, path);
      EXPECT_EQ(reply.status, 405) << method << " " << path << ": " << reply.body;
      for (const char* allowed : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
        if (documented.count({allowed, pattern})) {
          EXPECT_THAT(reply.allow, ::testing::HasSubstr(allowed)) << method << " " << path;
        }
      }
    }
  }
}

TEST_F(OpenApiTest, ContributedRoutesAreListedAfterTheBuiltinOnes) {
  Route route;
  route.method = "GET";
  route.pattern = "/v1/recommend/{user}";
  route.owner = "recommender";
  route.handler = [](const HttpRequest&, HttpResponse& response) { response.body = "{}"; };
  ASSERT_TRUE(host_.routes().add(route).ok());
  start();
  std::vector<ServedRoute> served = frontend_->routes();
  ASSERT_FALSE(served.empty());
  EXPECT_EQ(served.back(), (ServedRoute{"GET", "/v1/recommend/{user}", Role::kReader}));
  EXPECT_EQ(call("GET", "/v1/recommend/7").status, 200);
  frontend_->stop();
  EXPECT_TRUE(frontend_->routes().empty());
}

}  // namespace
}  // namespace aimass::plugins::frontend
