// SPDX-License-Identifier: Apache-2.0
// Serving graphs, A/B splits and shadows (core/src/serving_graph.h, traffic_split.h) behind
// frontend.http, over real sockets on 127.0.0.1: a graph listed and described like a model,
// inferred in sequence and with a per-row switch, its steps in the statistics extension and
// /metrics; a split whose answers name the version that computed them; a shadow's comparisons
// at GET /v2/shadow/{model}; the metrics through promtool. ScaledModel answers "version" = its
// factor, so an answer shows which version computed it.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "aimass/core/host_services.h"
#include "aimass/core/serving.h"
#include "http_call.h"
#include "http_frontend.h"
#include "promtool.h"
#include "scaled_model.h"
#include "serving_graph.h"
#include "serving_node.h"
#include "skip_or_fail.h"
#include "temp_dir.h"
#include "traffic_split.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;
using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string body;
  Object::Ptr json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }
};

class CompositionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_.setLogLevel(LogLevel::kError);
    core::ServingRuntime& runtime = host_.servingRuntime();
    runtime.add("twice", "1", std::make_shared<ScaledModel>(2));
    runtime.add("thrice", "1", std::make_shared<ScaledModel>(3));
    for (int v = 1; v <= 3; ++v) {
      runtime.add("scaled", std::to_string(v),
                  std::make_shared<ScaledModel>(static_cast<float>(v)));
    }
    auto graphs = core::parseGraphs(R"({
      "chain": {"steps": [
          {"name": "first", "model": "twice", "inputs": {"input": "request.x"}},
          {"name": "second", "model": "thrice", "inputs": {"input": "first.output"}}],
        "outputs": {"y": "second.output", "v": "first.version"}},
      "routed": {"steps": [
          {"name": "pick", "inputs": {"input": "request.x"},
           "switch": {"on": "request.k", "cases": [{"when": {"greater": 0}, "model": "thrice"}],
                      "default": "twice"}}],
        "outputs": {"y": "pick.output"}}})");
    ASSERT_TRUE(graphs.ok()) << graphs.status().toString();
    Status set = runtime.setGraphs(std::move(graphs).value());
    ASSERT_TRUE(set.ok()) << set.toString();
    core::TrafficSpec split;
    split.model = "scaled";
    split.weights = {{"1", 1}, {"2", 1}};
    split.shadow = "3";
    split.seed = 11;
    set = runtime.setTraffic({split});
    ASSERT_TRUE(set.ok()) << set.toString();
    ASSERT_TRUE(host_.routes().add(core::shadowRoute(host_)).ok());
    HttpFrontendOptions options;
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status started = frontend_->start(host_);
    ASSERT_TRUE(started.ok()) << started.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    host_.servingRuntime().clear();
  }

  Reply call(const std::string& method, const std::string& path, const std::string& body = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (method == "POST") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      request.setContentType("application/json");
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Reply reply;
    reply.status = response.getStatus();
    Poco::StreamCopier::copyToString(in, reply.body);
    testing::recordPocoExchange(request, body, response, reply.body);
    return reply;
  }

  /// The data of output `name` of an infer reply.
  static Array::Ptr output(const Reply& reply, const std::string& name) {
    auto outputs = reply.json()->getArray("outputs");
    for (std::size_t i = 0; i < outputs->size(); ++i) {
      if (outputs->getObject(static_cast<unsigned>(i))->getValue<std::string>("name") == name) {
        return outputs->getObject(static_cast<unsigned>(i))->getArray("data");
      }
    }
    ADD_FAILURE() << "no output " << name << " in " << reply.body;
    return new Array;
  }

  testing::TempDir dir_{"aimass-composition"};
  core::HostServices host_{".", 1};
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(CompositionTest, AGraphIsListedDescribedAndInferredLikeAModel) {
  Reply index = call("POST", "/v2/repository/index", "{}");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_THAT(index.body, HasSubstr("\"chain\""));
  Reply metadata = call("GET", "/v2/models/chain");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  auto inputs = metadata.json()->getArray("inputs");
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ(inputs->getObject(0)->getValue<std::string>("name"), "x");
  EXPECT_EQ(metadata.json()->getArray("outputs")->size(), 2u);

  Reply r = call("POST", "/v2/models/chain/infer",
                 R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,-2]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  // thrice(twice(x)) = 6x; "v" is the first step's version output, 2.
  EXPECT_FLOAT_EQ(output(r, "y")->getElement<float>(0), 6.0f);
  EXPECT_FLOAT_EQ(output(r, "y")->getElement<float>(1), -12.0f);
  EXPECT_EQ(output(r, "v")->getElement<int>(0), 2);

  Reply stats = call("GET", "/v2/models/chain/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  auto list = stats.json()->getArray("model_stats");
  ASSERT_EQ(list->size(), 3u) << stats.body;
  EXPECT_EQ(list->getObject(1)->getValue<std::string>("name"), "chain/first");
  EXPECT_EQ(list->getObject(2)->getValue<std::string>("name"), "chain/second");
  EXPECT_EQ(list->getObject(2)
                ->getObject("inference_stats")
                ->getObject("success")
                ->getValue<int>("count"),
            1);
  // The steps ran through their models' own entries, counted there too.
  Reply twice = call("GET", "/v2/models/twice/stats");
  EXPECT_EQ(twice.json()->getArray("model_stats")->getObject(0)->getValue<int>("inference_count"),
            1);
}

TEST_F(CompositionTest, ASwitchRoutesEachRow) {
  Reply r = call("POST", "/v2/models/routed/infer",
                 R"({"inputs":[{"name":"x","datatype":"FP32","shape":[3,2],"data":[1,1,1,1,2,2]},
                               {"name":"k","datatype":"FP32","shape":[3],"data":[0,5,-1]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto y = output(r, "y");
  // k = 0 and -1 meet no case: twice; k = 5: thrice.
  EXPECT_FLOAT_EQ(y->getElement<float>(0), 2.0f);
  EXPECT_FLOAT_EQ(y->getElement<float>(2), 3.0f);
  EXPECT_FLOAT_EQ(y->getElement<float>(4), 4.0f);
  Reply bad = call("POST", "/v2/models/routed/infer",
                   R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,1]}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("k"));
}

TEST_F(CompositionTest, ASplitAnswersWithTheVersionItChoseAndTheShadowIsRecorded) {
  std::set<std::string> versions;
  for (int i = 0; i < 16; ++i) {
    Reply r = call("POST", "/v2/models/scaled/infer",
                   R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,1]}],
                       "parameters":{"request_id":"r)" + std::to_string(i) + "\"}}");
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string version = r.json()->getValue<std::string>("model_version");
    // The answer came from the version it names, never from the shadow.
    EXPECT_EQ(std::to_string(output(r, "version")->getElement<int>(0)), version);
    EXPECT_NE(version, "3");
    versions.insert(version);
  }
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));
  Reply pinned = call("POST", "/v2/models/scaled/versions/3/infer",
                      R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],)"
                      R"("data":[1,1]}]})");
  ASSERT_EQ(pinned.status, 200);
  EXPECT_EQ(pinned.json()->getValue<std::string>("model_version"), "3");

  host_.servingRuntime().drainShadows();
  Reply shadow = call("GET", "/v2/shadow/scaled");
  ASSERT_EQ(shadow.status, 200) << shadow.body;
  EXPECT_EQ(shadow.json()->getValue<int>("compared"), 16);
  auto comparisons = shadow.json()->getArray("comparisons");
  ASSERT_EQ(comparisons->size(), 16u);
  // The shadow's "version" output (3) never equals the served one: no row agrees.
  EXPECT_EQ(comparisons->getObject(0)->getValue<int>("agreeing_rows"), 0);
  EXPECT_EQ(call("GET", "/v2/shadow/twice").status, 404);

  Reply metrics = call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("aimass_shadow_requests_total{model=\"scaled\","
                                      "shadow=\"3\"} 16\n"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_traffic_requests_total{model=\"scaled\","
                                      "version=\"1\"} "));
}

TEST_F(CompositionTest, MetricsWithGraphsAndSplitsPassPromtool) {
  ASSERT_EQ(call("POST", "/v2/models/chain/infer",
                 R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,1]}]})")
                .status,
            200);
  ASSERT_EQ(call("POST", "/v2/models/scaled/infer",
                 R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,1]}]})")
                .status,
            200);
  host_.servingRuntime().drainShadows();
  Reply metrics = call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body, HasSubstr("aimass_graph_step_seconds_count{graph=\"chain\","
                                      "step=\"second\"} 1\n"));
  auto promtool = checkWithPromtool(metrics.body, dir_.path());
  if (!promtool) {
    AIMASS_SKIP_OR_FAIL(aimass::testing::kPromtoolMissing);
  }
  EXPECT_EQ(promtool->code, 0) << promtool->report << "\n" << metrics.body;
  EXPECT_EQ(promtool->report, "") << metrics.body;
}

}  // namespace
}  // namespace aimass::plugins::frontend
