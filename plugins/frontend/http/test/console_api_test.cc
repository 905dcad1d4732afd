// SPDX-License-Identifier: Apache-2.0
// The console's routes that core adds to the host's RouteTable (core/src/console_api/), served
// by a real frontend.http on 127.0.0.1: tuning studies and monitoring records on a storage.fs
// store, written through the APIs and formats the tuner and the monitor use, the loaded node
// types, and a graph's static validation; with auth off and on.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/core/type_registry.h"
#include "authenticator.h"
#include "console_api/console_routes.h"
#include "console_records.h"
#include "fs.h"
#include "http_call.h"
#include "http_frontend.h"
#include "monitoring/monitoring_records.h"
#include "temp_dir.h"
#include "tune/tune_cli.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using ::testing::HasSubstr;

/// How many nodes the probe types' factories made: the validation route must make none.
std::atomic<int> g_probes_made{0};

NodeFactory countingFactory() {
  return [](const NodeConfig&) -> Expected<std::unique_ptr<Node>> {
    ++g_probes_made;
    return internalError("a probe node is never meant to be made");
  };
}

/// model.probe (a required int in [1, 64], a float with a default, a choice), dataset.probe,
/// job.probe (referencing both) and storage.probe: enough for graphs with known errors.
void addProbeTypes(core::TypeRegistry& registry) {
  auto plugin = std::make_shared<core::PluginInfo>();
  plugin->name = "probes";
  plugin->version = "1.2.3";
  NodeType model;
  model.type = "model.probe";
  model.kind = NodeKind::kModel;
  model.summary = "A model that is never made";
  model.params = {
      ParamSpec::integer("width", "Units.").range(1, 64),
      ParamSpec::number("rate", "Learning rate.").withDefault(0.1),
      ParamSpec::string("mode", "How.").oneOf({"fast", "slow"}).withDefault(std::string("fast"))};
  model.factory = countingFactory();
  NodeType dataset;
  dataset.type = "dataset.probe";
  dataset.kind = NodeKind::kDataset;
  dataset.summary = "Rows that are never read";
  dataset.factory = countingFactory();
  NodeType job;
  job.type = "job.probe";
  job.kind = NodeKind::kJob;
  job.summary = "A job that never runs";
  job.params = {ParamSpec::ref("model", NodeKind::kModel, "The model."),
                ParamSpec::ref("dataset", NodeKind::kDataset, "The rows.")};
  job.factory = countingFactory();
  NodeType storage;
  storage.type = "storage.probe";
  storage.kind = NodeKind::kStorage;
  storage.summary = "A store that is never opened";
  storage.factory = countingFactory();
  for (NodeType* type : {&model, &dataset, &job, &storage}) {
    ASSERT_TRUE(registry.add(std::move(*type), plugin, nullptr).ok());
  }
}

struct Reply {
  int status = 0;
  std::string body;
  Object::Ptr json() const { return Poco::JSON::Parser().parse(body).extract<Object::Ptr>(); }
  std::string error() const { return json()->getValue<std::string>("error"); }
};

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    auto storage = plugins::storage::FsStorage::create(dir_.path() / "store", false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::shared_ptr<Storage>(std::move(storage).value());
    core::registerBuiltinTypes(types_);
    addProbeTypes(types_);
    testing::putStudy(*storage_);
    testing::putMonitoring(*storage_);
    g_probes_made = 0;
  }
  void TearDown() override {
    if (frontend_) frontend_->stop();
  }

  void start(std::optional<AuthOptions> auth = std::nullopt, bool with_storage = true) {
    core::ConsoleApiSources sources;
    sources.types = &types_;
    if (with_storage) sources.storage = storage_;
    sources.base_dir = dir_.path();
    ASSERT_TRUE(core::addConsoleApiRoutes(host_, sources).ok());
    HttpFrontendOptions options;
    options.port = 0;
    options.max_body_bytes = 4096;
    if (auth) options.auth = std::move(*auth);
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    const std::string endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             const std::string& content_type = "", const std::string& api_key = "") {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!content_type.empty()) request.setContentType(content_type);
    if (!api_key.empty()) request.set("X-API-Key", api_key);
    request.setContentLength64(static_cast<Poco::Int64>(body.size()));
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = static_cast<int>(response.getStatus());
    Poco::StreamCopier::copyToString(in, reply.body);
    // docs/openapi.yaml's check fails every 500; the corrupt records here provoke them.
    if (reply.status != 500) testing::recordPocoExchange(request, body, response, reply.body);
    return reply;
  }
  Reply get(const std::string& target) { return call("GET", target); }
  Reply validate(const std::string& yaml, const std::string& type = "application/yaml") {
    return call("POST", "/api/v1/graphs/validate", yaml, type);
  }

  /// What `aimass tune ACTION [STUDY] --json` prints on this store.
  std::string tuneCli(const std::string& action, const std::string& study = "") {
    core::TuneCommand command;
    command.action = action;
    command.study = study;
    command.json = true;
    std::ostringstream out;
    std::ostringstream err;
    EXPECT_EQ(core::runTuneCommand(command, *storage_, out, err), 0) << err.str();
    return out.str();
  }

  testing::TempDir dir_{"aimass-console-api"};
  std::shared_ptr<Storage> storage_;
  core::TypeRegistry types_;
  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(ConsoleApiTest, StudiesAnswerExactlyWhatTheTuneCommandPrints) {
  start();
  Reply list = get("/api/v1/studies");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, tuneCli("list"));
  auto study = list.json()->getArray("studies")->getObject(0);
  EXPECT_EQ(study->getValue<std::string>("study"), "widths");
  EXPECT_EQ(study->getValue<int>("complete"), 2);
  EXPECT_EQ(study->getValue<int>("running"), 1);

  Reply show = get("/api/v1/studies/widths");
  ASSERT_EQ(show.status, 200) << show.body;
  EXPECT_EQ(show.body, tuneCli("show", "widths"));
  auto trials = show.json()->getArray("trials");
  ASSERT_EQ(trials->size(), 3u);
  auto best = trials->getObject(0);
  EXPECT_EQ(best->getValue<int>("number"), 1);
  EXPECT_EQ(best->getValue<std::string>("state"), "complete");
  EXPECT_EQ(best->getObject("params")->getValue<int>("net.width"), 64);
  EXPECT_EQ(best->getObject("intermediate")->getValue<double>("2"), 0.9);
  EXPECT_EQ(best->getValue<int>("run_id"), 2);
  EXPECT_EQ(trials->getObject(2)->getValue<std::string>("state"), "running");
  EXPECT_EQ(show.json()->getObject("best")->getValue<int>("number"), 1);
  EXPECT_EQ(get("/api/v1/studies/widths?top=1").json()->getArray("trials")->size(), 1u);
}

TEST_F(ConsoleApiTest, StudyErrorsNameWhatIsWrong) {
  start();
  Reply unknown = get("/api/v1/studies/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.error(), HasSubstr("nope"));
  EXPECT_THAT(unknown.error(), HasSubstr("widths"));  // the studies there
  Reply bad = get("/api/v1/studies/-bad");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.error(), HasSubstr("'-bad'"));
  Reply top = get("/api/v1/studies/widths?top=0");
  EXPECT_EQ(top.status, 400);
  EXPECT_THAT(top.error(), HasSubstr("'top'"));
  Reply extra = get("/api/v1/studies?color=red");
  EXPECT_EQ(extra.status, 400);
  EXPECT_THAT(extra.error(), HasSubstr("'color'"));
  ASSERT_TRUE(storage_->put(core::trialRecordKey("widths", 1), "{not json").ok());
  Reply corrupt = get("/api/v1/studies/widths");
  EXPECT_EQ(corrupt.status, 500);
  EXPECT_THAT(corrupt.error(), HasSubstr(core::trialRecordKey("widths", 1)));
  EXPECT_EQ(get("/api/v1/studies").status, 500);
}

TEST_F(ConsoleApiTest, MonitoringListsEveryModelWithRecords) {
  start();
  Reply list = get("/api/v1/monitoring");
  ASSERT_EQ(list.status, 200) << list.body;
  auto models = list.json()->getArray("models");
  ASSERT_EQ(models->size(), 2u);
  auto pumps = models->getObject(0);
  EXPECT_EQ(pumps->getValue<std::string>("model"), "pumps");
  EXPECT_EQ(pumps->getValue<int>("windows"), 3);
  EXPECT_EQ(pumps->getValue<std::int64_t>("last_window_unix_ns"), 3000);
  EXPECT_TRUE(pumps->getValue<bool>("last_drifted"));
  EXPECT_EQ(pumps->getObject("last_window")->getValue<int>("rows"), 100);
  EXPECT_EQ(pumps->getObject("last_window")->getValue<int>("drifted_features"), 1);
  auto live = pumps->getArray("live");
  ASSERT_EQ(live->size(), 2u);
  EXPECT_EQ(live->getObject(0)->getValue<int>("version"), 2);  // by number: 2 before 10
  EXPECT_EQ(live->getObject(0)->getValue<std::string>("metric"), "accuracy");
  EXPECT_DOUBLE_EQ(live->getObject(0)->getValue<double>("value"), 0.75);
  EXPECT_EQ(live->getObject(0)->getValue<int>("labelled_rows"), 4);
  EXPECT_EQ(live->getObject(1)->getValue<int>("version"), 10);
  auto state = pumps->getObject("state");
  EXPECT_EQ(state->getValue<int>("retrain_job"), 4);
  EXPECT_EQ(state->getValue<int>("watched"), 2);
  EXPECT_DOUBLE_EQ(state->getValue<double>("baseline"), 0.75);
  EXPECT_FALSE(state->has("truth_cursor"));
  EXPECT_FALSE(pumps->has("features"));
  auto quiet = models->getObject(1);
  EXPECT_EQ(quiet->getValue<std::string>("model"), "quiet");
  EXPECT_EQ(quiet->getValue<int>("windows"), 0);
  EXPECT_TRUE(quiet->isNull("last_window_unix_ns"));
  EXPECT_TRUE(quiet->isNull("last_drifted"));
  EXPECT_TRUE(quiet->isNull("state"));
}

TEST_F(ConsoleApiTest, OneModelsSummaryHasTheLastWindowsFeatures) {
  start();
  Reply pumps = get("/api/v1/monitoring/pumps");
  ASSERT_EQ(pumps.status, 200) << pumps.body;
  auto features = pumps.json()->getArray("features");
  ASSERT_EQ(features->size(), 2u);
  EXPECT_EQ(features->getObject(0)->getValue<std::string>("feature"), "a");
  EXPECT_TRUE(features->getObject(0)->getValue<bool>("drifted"));
  EXPECT_EQ(features->getObject(1)->getValue<std::string>("note"), "too few values");
  EXPECT_EQ(get("/api/v1/monitoring/quiet").json()->getArray("features")->size(), 0u);
  Reply unknown = get("/api/v1/monitoring/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.error(), HasSubstr("'nope'"));
  EXPECT_EQ(get("/api/v1/monitoring/-x").status, 400);
}

TEST_F(ConsoleApiTest, WindowsComeOldestFirstAfterATimeUpToALimit) {
  start();
  Reply all = get("/api/v1/monitoring/pumps/windows");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.json()->getValue<std::string>("model"), "pumps");
  auto windows = all.json()->getArray("windows");
  ASSERT_EQ(windows->size(), 3u);
  auto first = windows->getObject(0);
  EXPECT_EQ(first->getValue<std::int64_t>("unix_ns"), 1000);
  EXPECT_EQ(first->getValue<int>("rows"), 100);
  EXPECT_EQ(first->getValue<std::string>("first_request_id"), "r1");
  EXPECT_EQ(first->getValue<std::int64_t>("first_unix_ns"), 10);
  EXPECT_FALSE(first->getValue<bool>("drifted"));
  EXPECT_EQ(first->getArray("features")->size(), 2u);
  EXPECT_FALSE(all.json()->getValue<bool>("more"));
  auto after = get("/api/v1/monitoring/pumps/windows?after=1000&limit=1").json();
  ASSERT_EQ(after->getArray("windows")->size(), 1u);
  EXPECT_TRUE(after->getValue<bool>("more"));
  EXPECT_EQ(after->getArray("windows")->getObject(0)->getValue<std::int64_t>("unix_ns"), 2000);
  EXPECT_EQ(get("/api/v1/monitoring/pumps/windows?after=3000").json()->getArray("windows")->size(),
            0u);
  EXPECT_EQ(get("/api/v1/monitoring/quiet/windows").json()->getArray("windows")->size(), 0u);
  EXPECT_EQ(get("/api/v1/monitoring/pumps/windows?limit=5000").status, 200);
  for (const char* query : {"limit=5001", "limit=0", "limit=x", "after=-1", "after=1e3"}) {
    Reply bad = get(std::string("/api/v1/monitoring/pumps/windows?") + query);
    EXPECT_EQ(bad.status, 400) << query;
    const std::string name = std::string(query).substr(0, std::string(query).find('='));
    EXPECT_THAT(bad.error(), HasSubstr("'" + name + "'")) << query;
  }
  EXPECT_EQ(get("/api/v1/monitoring/nope/windows").status, 404);
  ASSERT_TRUE(storage_->put(testing::windowKey("pumps", 2000), "[1]").ok());
  Reply corrupt = get("/api/v1/monitoring/pumps/windows");
  EXPECT_EQ(corrupt.status, 500);
  EXPECT_THAT(corrupt.error(), HasSubstr(testing::windowKey("pumps", 2000)));
  // Only the records returned are read: the corrupt one is not among these.
  EXPECT_EQ(get("/api/v1/monitoring/pumps/windows?after=2000").status, 200);
  EXPECT_EQ(get("/api/v1/monitoring/pumps/windows?limit=1").status, 200);
}

TEST_F(ConsoleApiTest, AWindowsAnswerStopsAtItsBytesWithAtLeastOneRecord) {
  core::WindowRecordsQuery query;
  query.max_bytes = 1;  // every record is larger
  auto one = core::monitoringWindowsJson(*storage_, "pumps", query);
  ASSERT_TRUE(one.ok()) << one.status().toString();
  auto page = Poco::JSON::Parser().parse(*one).extract<Object::Ptr>();
  EXPECT_EQ(page->getArray("windows")->size(), 1u);
  EXPECT_TRUE(page->getValue<bool>("more"));
  query.max_bytes = 2 * testing::windowRecord(false, 10).size() - 1;
  auto two = core::monitoringWindowsJson(*storage_, "pumps", query);
  ASSERT_TRUE(two.ok()) << two.status().toString();
  EXPECT_EQ(Poco::JSON::Parser().parse(*two).extract<Object::Ptr>()->getArray("windows")->size(),
            2u);
}

TEST_F(ConsoleApiTest, PluginsListEveryTypeWithItsParameters) {
  start();
  Reply plugins = get("/api/v1/plugins");
  ASSERT_EQ(plugins.status, 200) << plugins.body;
  auto types = plugins.json()->getArray("node_types");
  EXPECT_EQ(types->size(), types_.all().size());
  Object::Ptr probe;
  for (std::size_t i = 0; i < types->size(); ++i) {
    if (types->getObject(i)->getValue<std::string>("type") == "model.probe") {
      probe = types->getObject(i);
    }
  }
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->getValue<std::string>("kind"), "model");
  EXPECT_EQ(probe->getValue<std::string>("plugin"), "probes");
  EXPECT_EQ(probe->getValue<std::string>("plugin_version"), "1.2.3");
  EXPECT_EQ(probe->getValue<std::string>("summary"), "A model that is never made");
  // The type's own parameters, first (the host adds the ones every model takes).
  auto params = probe->getArray("params");
  ASSERT_GE(params->size(), 3u);
  auto width = params->getObject(0);
  EXPECT_EQ(width->getValue<std::string>("name"), "width");
  EXPECT_EQ(width->getValue<std::string>("type"), "int");
  EXPECT_TRUE(width->getValue<bool>("required"));
  EXPECT_TRUE(width->isNull("default"));
  EXPECT_EQ(width->getValue<double>("min"), 1);
  EXPECT_EQ(width->getValue<double>("max"), 64);
  EXPECT_EQ(width->getValue<std::string>("description"), "Units.");
  EXPECT_DOUBLE_EQ(params->getObject(1)->getValue<double>("default"), 0.1);
  EXPECT_EQ(params->getObject(2)->getArray("choices")->size(), 2u);
  EXPECT_EQ(params->size(), types_.find("model.probe")->type.params.size());
}

TEST_F(ConsoleApiTest, ValidateReportsEveryErrorAtItsLineWithoutMakingANode) {
  start();
  Reply ok = validate(
      "nodes:\n"
      "  net: {type: model.probe, width: 8}\n"
      "  rows: {type: dataset.probe}\n"
      "  fit: {type: job.probe, model: net, dataset: rows}\n");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json()->getValue<bool>("valid"));
  auto nodes = ok.json()->getArray("nodes");
  ASSERT_EQ(nodes->size(), 3u);
  bool found = false;
  for (std::size_t i = 0; i < nodes->size(); ++i) {
    auto node = nodes->getObject(i);
    if (node->getValue<std::string>("name") == "fit") {
      found = true;
      EXPECT_EQ(node->getValue<std::string>("type"), "job.probe");
      EXPECT_EQ(node->getValue<std::string>("kind"), "job");
    }
  }
  EXPECT_TRUE(found);

  Reply bad = validate(
      "nodes:\n"
      "  net: {type: model.probe, width: 99}\n"
      "  rows: {type: dataset.prob}\n"
      "  fit: {type: job.probe, model: net, dataset: rows}\n"
      "  other: {type: model.probe}\n",
      "text/yaml");
  ASSERT_EQ(bad.status, 200) << bad.body;
  EXPECT_FALSE(bad.json()->getValue<bool>("valid"));
  auto errors = bad.json()->getArray("errors");
  ASSERT_GE(errors->size(), 3u) << bad.body;
  std::vector<int> lines;
  for (std::size_t i = 0; i < errors->size(); ++i) {
    auto error = errors->getObject(i);
    lines.push_back(error->getValue<int>("line"));
    EXPECT_GT(error->getValue<int>("column"), 0);
    EXPECT_FALSE(error->getValue<std::string>("message").empty());
  }
  EXPECT_THAT(lines, ::testing::IsSupersetOf({2, 3, 5})) << bad.body;
  EXPECT_THAT(bad.body, HasSubstr("dataset.probe"));  // the "did you mean" hint

  Reply syntax = validate("nodes:\n  a: {type: model.probe\n");
  ASSERT_EQ(syntax.status, 200) << syntax.body;
  EXPECT_FALSE(syntax.json()->getValue<bool>("valid"));
  EXPECT_GE(syntax.json()->getArray("errors")->getObject(0)->getValue<int>("line"), 2);

  // A graph that serves is a valid graph, but not a job (?as=job: a job's graph must end).
  const std::string serving =
      "nodes:\n  st: {type: storage.probe}\n  s: {type: service.jobs, storage: st}\n";
  Reply server = validate(serving);
  ASSERT_EQ(server.status, 200) << server.body;
  EXPECT_TRUE(server.json()->getValue<bool>("valid")) << server.body;
  Reply job = call("POST", "/api/v1/graphs/validate?as=job", serving, "text/yaml");
  ASSERT_EQ(job.status, 200) << job.body;
  EXPECT_FALSE(job.json()->getValue<bool>("valid"));
  EXPECT_EQ(job.json()->getArray("errors")->getObject(0)->getValue<int>("line"), 3);
  EXPECT_THAT(job.body, HasSubstr("never ends"));
  Reply as = call("POST", "/api/v1/graphs/validate?as=service", serving, "text/yaml");
  EXPECT_EQ(as.status, 400);
  EXPECT_THAT(as.error(), HasSubstr("'as' must be graph or job"));
  EXPECT_EQ(g_probes_made, 0);
}

TEST_F(ConsoleApiTest, ValidateRefusesOtherTypesEmptyAndLargeBodies) {
  start();
  Reply json = validate("{}", "application/json");
  EXPECT_EQ(json.status, 415);
  EXPECT_THAT(json.error(), HasSubstr("application/yaml"));
  EXPECT_EQ(validate("", "application/yaml").status, 400);
  EXPECT_EQ(validate(std::string(5000, '#'), "application/yaml").status, 413);
  EXPECT_EQ(validate("nodes: {}\n", "application/x-yaml").status, 200);
  EXPECT_EQ(call("POST", "/api/v1/graphs/validate?x=1", "nodes: {}\n", "text/yaml").status, 400);
  EXPECT_EQ(get("/api/v1/graphs/validate").status, 405);
  // Without credentials, a form type is what another site's page could send: refused before
  // the route (docs/security.md); YAML types are not.
  EXPECT_EQ(validate("nodes: {}\n", "text/plain").status, 403);
}

TEST_F(ConsoleApiTest, WithoutStorageOnlyThePluginAndValidateRoutesExist) {
  start(std::nullopt, false);
  EXPECT_EQ(get("/api/v1/plugins").status, 200);
  EXPECT_EQ(validate("nodes: {}\n").status, 200);
  for (const char* path : {"/api/v1/studies", "/api/v1/monitoring", "/api/v1/monitoring/pumps"}) {
    Reply none = get(path);
    EXPECT_EQ(none.status, 404) << path;
    EXPECT_THAT(none.error(), HasSubstr("no route for")) << path;
  }
}

TEST_F(ConsoleApiTest, ARouteANodeTookFirstStaysItsAndTheOthersAreAdded) {
  Route taken;
  taken.method = "GET";
  taken.pattern = "/api/v1/monitoring";
  taken.owner = "dashboard";
  taken.handler = [](const HttpRequest&, HttpResponse& response) { response.body = "{}"; };
  ASSERT_TRUE(host_.routes().add(taken).ok());
  core::ConsoleApiSources sources{&types_, storage_, dir_.path()};
  Status added = core::addConsoleApiRoutes(host_, sources);
  EXPECT_EQ(added.code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(added.message(), HasSubstr("dashboard"));
  std::size_t console_routes = 0;
  for (const Route& route : host_.routes().routes()) {
    console_routes += route.owner == "aimass" ? 1 : 0;
  }
  EXPECT_EQ(console_routes, 6u);  // all seven but the one taken
}

TEST_F(ConsoleApiTest, ReadersMayReadButOnlyOperatorsValidate) {
  AuthOptions auth;
  auth.mode = AuthMode::kOn;
  auth.api_keys = {{"reader-key", Role::kReader, sha256Hex("reader-secret")},
                   {"operator-key", Role::kOperator, sha256Hex("operator-secret")}};
  start(std::move(auth));
  for (const char* path :
       {"/api/v1/studies", "/api/v1/studies/widths", "/api/v1/monitoring",
        "/api/v1/monitoring/pumps", "/api/v1/monitoring/pumps/windows", "/api/v1/plugins"}) {
    EXPECT_EQ(get(path).status, 401) << path;
    EXPECT_EQ(call("GET", path, "", "", "reader-secret").status, 200) << path;
  }
  const std::string graph = "nodes: {}\n";
  EXPECT_EQ(call("POST", "/api/v1/graphs/validate", graph, "text/yaml").status, 401);
  Reply reader = call("POST", "/api/v1/graphs/validate", graph, "text/yaml", "reader-secret");
  EXPECT_EQ(reader.status, 403);
  EXPECT_EQ(call("POST", "/api/v1/graphs/validate", graph, "text/yaml", "operator-secret").status,
            200);
  // With credentials, text/plain needs no guard against other sites' pages.
  EXPECT_EQ(call("POST", "/api/v1/graphs/validate", graph, "text/plain", "operator-secret").status,
            200);
}

}  // namespace
}  // namespace aimass::plugins::frontend
