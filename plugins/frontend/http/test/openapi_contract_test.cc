// SPDX-License-Identifier: Apache-2.0
// The OpenAPI contract check (tests/support/openapi_contract.h) on a small hand-written
// document: each rule it claims to check fails an exchange that breaks it, and the exchange
// log it reads round-trips.
#include "openapi_contract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "http_exchange_log.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::HttpExchange;
using ::testing::IsEmpty;
using testing::kHttpExchangeLogVariable;
using testing::OpenApiContract;
using testing::readHttpExchanges;
using testing::recordHttpExchange;
using testing::ScopedEnv;
using testing::TempDir;

constexpr const char* kDocument = R"(openapi: 3.0.3
x-aimass-common-responses:
  "401": {description: No credentials.}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    get:
      parameters:
        - {name: full, in: query, schema: {type: boolean}}
        - {$ref: "#/components/parameters/Limit"}
      responses:
        "200":
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Item"}
            application/octet-stream:
              schema: {type: string, format: binary}
        "404": {description: Unknown.}
  /items/{id}/stream:
    parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
    get:
      responses:
        "200":
          content:
            text/event-stream:
              schema: {type: string}
              x-aimass-events:
                message: {$ref: "#/components/schemas/Item"}
                end: {type: object}
  /items/stats:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                limit: {type: integer, minimum: 1, maximum: 10}
                extra: {oneOf: [{type: string}, {type: number}]}
              additionalProperties: false
      responses:
        "200":
          content:
            text/plain:
              schema: {type: string}
        "400": {description: Bad.}
components:
  parameters:
    Limit: {name: limit, in: query, schema: {type: integer, maximum: 5}}
  schemas:
    Item:
      type: object
      properties:
        name: {type: string}
        kind: {type: string, enum: [a, b]}
        sizes: {type: array, items: {type: integer}}
        note: {type: string, nullable: true}
      required: [name]
)";

class OpenApiContractTest : public ::testing::Test {
 protected:
  /// The violations of a GET of `target` answered `status` with `body` of `content_type`;
  /// `header_length`: the answer's Inference-Header-Content-Length (binary tensor data).
  std::vector<std::string> get(const std::string& target, int status, const std::string& body,
                               const std::string& content_type,
                               const std::string& header_length = "") const {
    return contract_.violations({.method = "GET",
                                 .target = target,
                                 .request_content_type = "",
                                 .request_body = "",
                                 .status = status,
                                 .response_content_type = content_type,
                                 .response_body = body,
                                 .request_header_length = "",
                                 .response_header_length = header_length});
  }
  std::vector<std::string> item(int status, const std::string& body) const {
    return get("/items/7?full=true", status, body, "application/json; charset=utf-8");
  }
  std::vector<std::string> stats(int status, const std::string& body) const {
    return contract_.violations({.method = "POST",
                                 .target = "/items/stats",
                                 .request_content_type = "application/json",
                                 .request_body = body,
                                 .status = status,
                                 .response_content_type = "text/plain",
                                 .response_body = status == 200 ? "ok" : "",
                                 .request_header_length = "",
                                 .response_header_length = ""});
  }

  TempDir dir_{"aimass-openapi-contract"};
  std::string path_ = (dir_.path() / "openapi.yaml").string();
  // Written before contract_ reads it (members initialize in this order).
  bool written_ = (std::ofstream(path_) << kDocument).good();
  OpenApiContract contract_{path_};
};

TEST_F(OpenApiContractTest, OperationsPreferLiteralSegmentsAndIgnoreTheQuery) {
  EXPECT_EQ(contract_.operationOf("GET", "/items/7?limit=1"), "GET /items/{id}");
  EXPECT_EQ(contract_.operationOf("POST", "/items/stats"), "POST /items/stats");
  // GET on the literal path is not the template's operation: /items/stats has no GET.
  EXPECT_EQ(contract_.operationOf("GET", "/items/stats"), "");
  EXPECT_EQ(contract_.operationOf("GET", "/items"), "");
  EXPECT_THAT(contract_.operations(),
              ElementsAre("GET /items/{id}", "GET /items/{id}/stream", "POST /items/stats"));
  EXPECT_THAT(get("/nowhere", 500, "", ""), IsEmpty());
}

TEST_F(OpenApiContractTest, AConformingResponsePasses) {
  EXPECT_THAT(item(200, R"({"name":"x","kind":"a","sizes":[1,2],"note":null,"more":1})"),
              IsEmpty());
  EXPECT_THAT(item(404, ""), IsEmpty());
  // A route this configuration does not serve is no operation of the document.
  EXPECT_THAT(item(404, R"({"error":"no route for GET /items/7"})"), IsEmpty());
  EXPECT_THAT(item(404, R"({"error":"unknown item"})"),
              ElementsAre(HasSubstr("has a body the document does not describe")));
  EXPECT_THAT(item(401, ""), IsEmpty());
}

TEST_F(OpenApiContractTest, EachSchemaRuleIsChecked) {
  EXPECT_THAT(item(200, R"({"kind":"a"})"),
              ElementsAre(HasSubstr("response lacks the required member 'name'")));
  EXPECT_THAT(item(200, R"({"name":3})"),
              ElementsAre(HasSubstr("response.name is 3, not of type string")));
  EXPECT_THAT(item(200, R"({"name":"x","kind":"c"})"),
              ElementsAre(HasSubstr("response.kind is the string \"c\", which the enum")));
  EXPECT_THAT(item(200, R"({"name":"x","sizes":[1,2.5]})"),
              ElementsAre(HasSubstr("response.sizes[1] is 2.5, not of type integer")));
  EXPECT_THAT(item(200, R"({"name":null})"), ElementsAre(HasSubstr("response.name is null")));
  EXPECT_THAT(item(200, "[]"), ElementsAre(HasSubstr("response is an array, not of type object")));
  EXPECT_THAT(item(200, "{oops"), ElementsAre(HasSubstr("the 200 answer is not JSON")));
}

TEST_F(OpenApiContractTest, StatusesAndBodiesOutsideTheDocumentFail) {
  EXPECT_THAT(item(500, R"({"error":"boom"})"),
              ElementsAre(HasSubstr("500"), HasSubstr("status 500 is not documented")));
  EXPECT_THAT(item(409, "{}"), ElementsAre(HasSubstr("status 409 is not documented")));
  EXPECT_THAT(item(404, R"({"error":"x"})"),
              ElementsAre(HasSubstr("has a body the document does not describe")));
  EXPECT_THAT(get("/items/7", 200, "<p>", "text/html"),
              ElementsAre(HasSubstr("Content-Type 'text/html' is not documented")));
}

TEST_F(OpenApiContractTest, AcceptedRequestsMustMatchTheRequestSchema) {
  EXPECT_THAT(stats(200, R"({"limit":3,"extra":"x"})"), IsEmpty());
  EXPECT_THAT(stats(200, R"({"limit":0})"), ElementsAre(HasSubstr("below the minimum 1")));
  EXPECT_THAT(stats(200, R"({"limit":11})"), ElementsAre(HasSubstr("above the maximum 10")));
  EXPECT_THAT(stats(200, R"({"other":1})"),
              ElementsAre(HasSubstr("request.other is a member the schema does not allow")));
  EXPECT_THAT(stats(200, R"({"extra":true})"),
              ElementsAre(HasSubstr("matches 0 of the oneOf schemas")));
  EXPECT_THAT(stats(200, ""), ElementsAre(HasSubstr("without the required body")));
  // A refused request may break the schema: that is why it was refused.
  EXPECT_THAT(stats(400, R"({"limit":0})"), IsEmpty());
  EXPECT_THAT(stats(400, "{oops"), IsEmpty());
}

TEST_F(OpenApiContractTest, AcceptedRequestsHaveOnlyDocumentedParametersOfTheirSchemas) {
  const std::string item = R"({"name":"x"})";
  const std::string json = "application/json";
  EXPECT_THAT(get("/items/7?full=false&limit=-3", 200, item, json), IsEmpty());
  EXPECT_THAT(get("/items/0", 200, item, json),
              ElementsAre(HasSubstr("path parameter 'id' is 0, below the minimum 1")));
  EXPECT_THAT(get("/items/x", 200, item, json),
              ElementsAre(HasSubstr("accepted the path parameter 'id' 'x', which is no integer")));
  EXPECT_THAT(get("/items/7?full=yes", 200, item, json),
              ElementsAre(HasSubstr("query parameter 'full' 'yes', which is no boolean")));
  EXPECT_THAT(get("/items/7?limit=6", 200, item, json),
              ElementsAre(HasSubstr("query parameter 'limit' is 6, above the maximum 5")));
  EXPECT_THAT(get("/items/7?sort=name", 200, item, json),
              ElementsAre(HasSubstr("query parameter 'sort', which the document does not list")));
  // A refused request may carry what the document does not allow.
  EXPECT_THAT(get("/items/x?sort=name", 404, "", json), IsEmpty());
}

TEST_F(OpenApiContractTest, ABinaryAnswersJsonHeaderMatchesTheJsonSchema) {
  const std::string header = R"({"name":"x"})";
  const std::string length = std::to_string(header.size());
  const std::string octets = "application/octet-stream";
  EXPECT_THAT(get("/items/7", 200, header + "\x01\x02", octets, length), IsEmpty());
  EXPECT_THAT(get("/items/7", 200,
                  R"({"kind":"a"})"
                  "\x01",
                  octets, "12"),
              ElementsAre(HasSubstr("lacks the required member 'name'")));
  EXPECT_THAT(get("/items/7", 200, header, octets, "99"),
              ElementsAre(HasSubstr("its JSON header is cut short")));
  EXPECT_THAT(get("/items/7", 200, "\x01\x02", octets), IsEmpty()) << "no JSON header";
}

TEST_F(OpenApiContractTest, EachServerSentEventMatchesTheSchemaOfItsName) {
  const auto stream = [&](const std::string& body) {
    return get("/items/7/stream", 200, body, "text/event-stream");
  };
  EXPECT_THAT(stream("data: {\"name\":\"a\"}\n\nevent: end\ndata: {}\n\n"), IsEmpty());
  EXPECT_THAT(stream("data: {\"name\":1}\n\n"),
              ElementsAre(HasSubstr("event 0 (message).name is 1, not of type string")));
  EXPECT_THAT(stream("data: {\"name\":\"a\"}\n\nevent: oops\ndata: {}\n\n"),
              ElementsAre(HasSubstr("event 1 (oops) is not one of the documented events")));
  EXPECT_THAT(stream("event: end\ndata: {\n\n"), ElementsAre(HasSubstr("data is not JSON")));
  EXPECT_THAT(stream("data: {}"), ElementsAre(HasSubstr("not ended by a blank line")));
}

TEST_F(OpenApiContractTest, UnsupportedKeywordsAreReportedNotIgnored) {
  ASSERT_TRUE(written_);
  const YAML::Node schema = YAML::Load("{type: string, pattern: '^a'}");
  EXPECT_THAT(contract_.schemaViolations(schema, Poco::Dynamic::Var(std::string("b")), "x"),
              ElementsAre(HasSubstr("x: the schema keyword 'pattern' is not supported")));
}

TEST(HttpExchangeLogTest, RecordsRoundTripThroughTheFileTheVariableNames) {
  TempDir dir("aimass-exchange-log");
  const std::string path = (dir.path() / "exchanges").string();
  HttpExchange first{.method = "POST",
                     .target = "/v2/models/m/infer",
                     .request_content_type = "application/json",
                     .request_body = "{\"a\":\n1}",
                     .status = 200,
                     .response_content_type = "application/json",
                     .response_body = "{}",
                     .request_header_length = "",
                     .response_header_length = ""};
  HttpExchange second{.method = "GET",
                      .target = "/metrics",
                      .request_content_type = "",
                      .request_body = "",
                      .status = 404,
                      .response_content_type = "text/plain",
                      .response_body = "12\n",
                      .request_header_length = "3",
                      .response_header_length = "7"};
  {
    ScopedEnv unset(kHttpExchangeLogVariable, nullptr);
    recordHttpExchange(first);  // nothing is written
  }
  {
    ScopedEnv env(kHttpExchangeLogVariable, path.c_str());
    recordHttpExchange(first);
    recordHttpExchange(second);
  }
  auto read = readHttpExchanges(path);
  ASSERT_TRUE(read.has_value());
  ASSERT_EQ(read->size(), 2u);
  EXPECT_EQ((*read)[0].request_body, first.request_body);
  EXPECT_EQ((*read)[0].status, 200);
  EXPECT_EQ((*read)[1].target, "/metrics");
  EXPECT_EQ((*read)[1].response_body, "12\n");
  EXPECT_EQ((*read)[1].request_header_length, "3");
  EXPECT_EQ((*read)[1].response_header_length, "7");
  std::ofstream(path, std::ios::app) << "4\nPOS";
  EXPECT_FALSE(readHttpExchanges(path).has_value()) << "a record cut short";
}

}  // namespace
}  // namespace aimass::plugins::frontend
