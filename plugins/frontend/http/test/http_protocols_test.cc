// SPDX-License-Identifier: Apache-2.0
// The binary tensor data extension, datatype conversion and the MLflow scoring protocol over
// real sockets on 127.0.0.1.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aimass/core/host_services.h"
#include "fake_models.h"
#include "http_call.h"
#include "http_frontend.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::JSON::Object;
using ::testing::HasSubstr;
using ::testing::Not;

struct Answer {
  int status = 0;
  std::string content_type;
  std::string header_length;  ///< Inference-Header-Content-Length, empty when absent
  std::string body;
  /// The JSON part of the body (all of it without binary data).
  Object::Ptr json() const {
    std::string text = header_length.empty() ? body : body.substr(0, std::stoul(header_length));
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Object::Ptr>();
  }
  std::string error() const { return json()->getValue<std::string>("error"); }
};

std::string floatBytes(const std::vector<float>& values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

/// A served classifier "clf" (FP32 [-1, 2] in; probabilities, label, class out) behind a
/// started frontend on port 0.
class ProtocolTest : public ::testing::Test {
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
  void start(HttpFrontendOptions options = {}) {
    options.port = 0;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }
  Answer call(const std::string& method, const std::string& path, const std::string& body,
              const std::string& content_type = "application/json",
              const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(20, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (method == "POST") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      if (!content_type.empty()) {
        request.setContentType(content_type);
      }
    }
    for (const auto& [name, value] : headers) {
      request.set(name, value);
    }
    session.sendRequest(request) << body;
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    Answer answer;
    answer.status = response.getStatus();
    answer.content_type = response.getContentType();
    answer.header_length = response.get("Inference-Header-Content-Length", "");
    Poco::StreamCopier::copyToString(in, answer.body);
    testing::recordPocoExchange(request, body, response, answer.body);
    return answer;
  }

  core::HostServices host_{".", 1};
  std::shared_ptr<TwoFeatureClassifier> clf_ = std::make_shared<TwoFeatureClassifier>();
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
};

TEST_F(ProtocolTest, BinaryInputsAndOutputs) {
  start();
  std::string header =
      R"({"id":"b1","inputs":[{"name":"input","datatype":"FP32","shape":[2,2],)"
      R"("parameters":{"binary_data_size":16}}],"parameters":{"binary_data_output":true},)"
      R"("outputs":[{"name":"probabilities"},{"name":"class","parameters":{"binary_data":false}}]})";
  Answer a = call("POST", "/v2/models/clf/infer", header + floatBytes({3, 1, 0, 2.5f}),
                  "application/octet-stream",
                  {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.content_type, "application/octet-stream");
  ASSERT_FALSE(a.header_length.empty());
  auto json = a.json();
  EXPECT_EQ(json->getValue<std::string>("id"), "b1");
  auto outputs = json->getArray("outputs");
  ASSERT_EQ(outputs->size(), 2u);
  auto probabilities = outputs->getObject(0);
  EXPECT_FALSE(probabilities->has("data"));
  EXPECT_EQ(probabilities->getObject("parameters")->getValue<int>("binary_data_size"), 16);
  EXPECT_EQ(outputs->getObject(1)->getArray("data")->getElement<std::string>(0), "high");
  std::string binary = a.body.substr(std::stoul(a.header_length));
  ASSERT_EQ(binary.size(), 16u);
  float p[4];
  std::memcpy(p, binary.data(), sizeof(p));
  EXPECT_NEAR(p[1], 1 / (1 + std::exp(-2.0)), 1e-6);
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-6);
}

TEST_F(ProtocolTest, JsonRequestsCanAskForBinaryOutputs) {
  start();
  std::string body = R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":[1,2]}],)"
                     R"("outputs":[{"name":"label","parameters":{"binary_data":true}}]})";
  Answer a = call("POST", "/v2/models/clf/infer", body);
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_FALSE(a.header_length.empty());
  std::string binary = a.body.substr(std::stoul(a.header_length));
  ASSERT_EQ(binary.size(), 8u);
  std::int64_t label = -1;
  std::memcpy(&label, binary.data(), sizeof(label));
  EXPECT_EQ(label, 0);
}

TEST_F(ProtocolTest, MalformedBinaryRequestsAre400WithAJsonError) {
  start();
  std::string header = R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],)"
                       R"("parameters":{"binary_data_size":8}}]})";
  std::string eight = floatBytes({1, 2});
  struct Case {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {header + eight, {}, "needs the Inference-Header-Content-Length header"},
      {header + eight,
       {{"Inference-Header-Content-Length", std::to_string(header.size() + 9)}},
       "but the body has only"},
      {header + eight.substr(0, 4),
       {{"Inference-Header-Content-Length", std::to_string(header.size())}},
       "runs past the end of the body"},
      {header + eight + "zz",
       {{"Inference-Header-Content-Length", std::to_string(header.size())}},
       "2 bytes of binary data follow"},
      {header + eight, {{"Inference-Header-Content-Length", "twelve"}}, "must be a byte count"},
  };
  for (const auto& c : cases) {
    Answer a = call("POST", "/v2/models/clf/infer", c.body, "application/octet-stream", c.headers);
    EXPECT_EQ(a.status, 400) << c.reason << ": " << a.body;
    EXPECT_EQ(a.content_type, "application/json");
    EXPECT_THAT(a.error(), HasSubstr(c.reason));
  }
  EXPECT_EQ(clf_->entered, 0) << "malformed requests must never reach predict()";
}

TEST_F(ProtocolTest, OtherNumericDatatypesConvertWhenExact) {
  start();
  Answer ints =
      call("POST", "/v2/models/clf/infer",
           R"({"inputs":[{"name":"input","datatype":"INT32","shape":[1,2],"data":[[5,1]]}]})");
  ASSERT_EQ(ints.status, 200) << ints.body;
  EXPECT_EQ(
      ints.json()->getArray("outputs")->getObject(2)->getArray("data")->getElement<std::string>(0),
      "high");
  Answer lossy = call("POST", "/v2/models/clf/infer",
                      R"({"inputs":[{"name":"input","datatype":"INT64","shape":[1,2],)"
                      R"("data":[16777217,1]}]})");
  EXPECT_EQ(lossy.status, 400);
  EXPECT_THAT(lossy.error(), HasSubstr("input 'input': element 0 (16777217)"));
}

TEST_F(ProtocolTest, JsonNestedDeeperThanTheLimitIs400) {
  HttpFrontendOptions options;
  options.max_json_depth = 8;
  start(options);
  std::string deep = std::string(20, '[') + std::string(20, ']');
  Answer a =
      call("POST", "/v2/models/clf/infer",
           R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":)" + deep + "}]}");
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(a.error(), HasSubstr("nested deeper than 8 levels (max_json_depth)"));
  Answer mlflow = call("POST", "/invocations", R"({"inputs":)" + deep + "}");
  EXPECT_EQ(mlflow.status, 400);
  EXPECT_THAT(mlflow.error(), HasSubstr("max_json_depth"));
}

TEST_F(ProtocolTest, MlflowInvocationsAnswerPredictions) {
  start();
  Answer split = call("POST", "/invocations",
                      R"({"dataframe_split":{"columns":["x0","x1"],"data":[[3,1],[0,2.5]]}})");
  ASSERT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(split.content_type, "application/json");
  auto predictions = split.json()->getArray("predictions");
  ASSERT_EQ(predictions->size(), 2u);
  EXPECT_EQ(predictions->getObject(0)->getValue<std::string>("class"), "high");
  EXPECT_EQ(predictions->getObject(1)->getValue<int>("label"), 0);
  EXPECT_EQ(predictions->getObject(1)->getArray("probabilities")->size(), 2u);

  Answer csv = call("POST", "/invocations", "x0,x1\n3,1\n0,2.5\n", "text/csv; charset=utf-8");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, split.body);
  Answer records =
      call("POST", "/invocations", R"({"dataframe_records":[{"x0":3,"x1":1},{"x0":0,"x1":2.5}]})");
  EXPECT_EQ(records.body, split.body);
  Answer instances = call("POST", "/invocations", R"({"instances":[[3,1],[0,2.5]]})");
  EXPECT_EQ(instances.body, split.body);
  Answer inputs = call("POST", "/invocations", R"({"inputs":{"input":[[3,1],[0,2.5]]}})");
  EXPECT_EQ(inputs.body, split.body);
}

TEST_F(ProtocolTest, AModelWithNamedColumnsTakesTheRawTable) {
  host_.servingRuntime().add("pipe", "1", std::make_shared<ColumnsEcho>());
  HttpFrontendOptions options;
  options.mlflow_model = "pipe";
  start(options);
  const std::string expected = R"({"predictions":["x0=3 x1=nan city=Oslo","x0=nan x1=2 city="]})";
  Answer csv = call("POST", "/invocations", "city,x1,x0\nOslo,,3\n,2,\n", "text/csv");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, expected);
  Answer records = call("POST", "/invocations",
                        R"({"dataframe_records":[{"x0":3,"x1":null,"city":"Oslo"},)"
                        R"({"city":null,"x1":2,"x0":null}]})");
  EXPECT_EQ(records.body, expected);
  Answer unknown = call("POST", "/invocations", "city,x0,x2\nOslo,1,2\n", "text/csv");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_THAT(unknown.error(),
              HasSubstr("column 'x2' is neither an input of the model nor a column of one"));
  Answer lacking = call("POST", "/invocations", "city,x0\nOslo,1\n", "text/csv");
  EXPECT_EQ(lacking.status, 400);
  EXPECT_THAT(lacking.error(), HasSubstr("lacks the column 'x1'"));
  // OIP: the metadata names the columns, and null is a missing value.
  Answer metadata = call("GET", "/v2/models/pipe", "");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  auto columns = metadata.json()->getArray("inputs")->getObject(0)->getArray("columns");
  ASSERT_TRUE(columns);
  ASSERT_EQ(columns->size(), 2u);
  EXPECT_EQ(columns->getElement<std::string>(1), "x1");
  Answer infer = call("POST", "/v2/models/pipe/infer",
                      R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],)"
                      R"("data":[null,5]},{"name":"city","datatype":"BYTES","shape":[1],)"
                      R"("data":[null]}]})");
  ASSERT_EQ(infer.status, 200) << infer.body;
  EXPECT_THAT(infer.body, HasSubstr(R"("data":["x0=nan x1=5 city="])"));
}

TEST_F(ProtocolTest, MlflowErrorsAreJsonWithErrorAndErrorCode) {
  start();
  Answer two = call("POST", "/invocations", R"({"instances":[[1,2]],"inputs":[[1,2]]})");
  EXPECT_EQ(two.status, 400);
  EXPECT_EQ(two.content_type, "application/json");
  EXPECT_THAT(two.error(), HasSubstr("exactly one of"));
  EXPECT_EQ(two.json()->getValue<std::string>("error_code"), "BAD_REQUEST");
  EXPECT_EQ(two.json()->getValue<std::string>("message"), two.error());

  Answer form = call("POST", "/invocations", "x=1", "application/x-www-form-urlencoded");
  EXPECT_EQ(form.status, 415);
  EXPECT_THAT(form.error(), HasSubstr("application/json or text/csv"));
  Answer bad_csv = call("POST", "/invocations", "x0,x1\n1\n", "text/csv");
  EXPECT_EQ(bad_csv.status, 400);
  EXPECT_THAT(bad_csv.error(), HasSubstr("CSV row 1 has 1 fields"));
  EXPECT_EQ(call("GET", "/invocations", "").status, 405);
  EXPECT_EQ(clf_->entered, 0);
}

TEST_F(ProtocolTest, MlflowPingHealthAndVersion) {
  start();
  EXPECT_EQ(call("GET", "/ping", "").status, 200);
  EXPECT_EQ(call("GET", "/health", "").status, 200);
  Answer version = call("GET", "/version", "");
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(version.body, "\"" + std::string(host_.version()) + "\"");
  clf_->ready_ = false;
  Answer ping = call("GET", "/ping", "");
  EXPECT_EQ(ping.status, 404);
  EXPECT_THAT(ping.error(), HasSubstr("not ready"));
  EXPECT_THAT(ping.body, Not(HasSubstr("clf"))) << "a route without credentials names no model";
  EXPECT_EQ(call("POST", "/invocations", R"({"instances":[[1,2]]})").status, 503);
}

TEST_F(ProtocolTest, SeveralModelsNeedTheMlflowModelParameter) {
  auto other = std::make_shared<TwoFeatureClassifier>();
  host_.servingRuntime().add("other", "1", other);
  start();
  Answer ambiguous = call("POST", "/invocations", R"({"instances":[[1,2]]})");
  EXPECT_EQ(ambiguous.status, 400);
  EXPECT_THAT(ambiguous.error(), HasSubstr("several models are served (clf, other)"));
  EXPECT_THAT(ambiguous.error(), HasSubstr("mlflow_model"));
  EXPECT_EQ(call("GET", "/ping", "").status, 404);
  frontend_->stop();

  HttpFrontendOptions options;
  options.mlflow_model = "other";
  start(options);
  Answer scored = call("POST", "/invocations", R"({"instances":[[1,2]]})");
  EXPECT_EQ(scored.status, 200) << scored.body;
  EXPECT_EQ(other->completed, 1);
  EXPECT_EQ(clf_->completed, 0);
  frontend_->stop();

  options.mlflow_model = "ghost";
  start(options);
  Answer ghost = call("POST", "/invocations", R"({"instances":[[1,2]]})");
  EXPECT_EQ(ghost.status, 404);
  EXPECT_THAT(ghost.error(), HasSubstr("'ghost' named by mlflow_model is not served"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
