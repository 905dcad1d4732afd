// SPDX-License-Identifier: Apache-2.0
// The C client without aimass: its JSON, request encoding and answer decoding checked against
// hand-written bytes, bad arguments and answers refused with typed errors, and (against a tiny
// local HTTP server) retries on 503, timeouts, auth headers and keep-alive reuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "c_api_test_support.h"
#include "local_http_server.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

std::string encoded(aimass_client_request* request, std::size_t* header_length) {
  const char* body = nullptr;
  std::size_t size = 0;
  Outcome done = outcome([&](aimass_client_error** e) {
    return aimass_client_request_encode(request, &body, &size, header_length, e);
  });
  EXPECT_EQ(done.code, AIMASS_CLIENT_OK) << done.message;
  return std::string(body, size);
}

template <typename T>
std::string bytesOf(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  return out;
}

/// A request with FP32 x [1,2], INT64 n [2] and BYTES s [2], id r1 and top_k 5.
Request sampleRequest() {
  Request request(aimass_client_request_create());
  const float x[] = {1.5f, -2.0f};
  const std::int64_t n[] = {7, -9};
  const std::int64_t x_shape[] = {1, 2}, n_shape[] = {2};
  const char* s[] = {"ab", ""};
  EXPECT_EQ(aimass_client_request_add_input(request.get(), "x", AIMASS_CLIENT_FP32, x_shape, 2, x,
                                            sizeof x, nullptr),
            AIMASS_CLIENT_OK);
  EXPECT_EQ(aimass_client_request_add_input(request.get(), "n", AIMASS_CLIENT_INT64, n_shape, 1, n,
                                            sizeof n, nullptr),
            AIMASS_CLIENT_OK);
  EXPECT_EQ(
      aimass_client_request_add_bytes_input(request.get(), "s", n_shape, 1, s, nullptr, 2, nullptr),
      AIMASS_CLIENT_OK);
  EXPECT_EQ(aimass_client_request_set_id(request.get(), "r1", nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(aimass_client_request_set_parameter_int64(request.get(), "top_k", 5, nullptr),
            AIMASS_CLIENT_OK);
  return request;
}

TEST(CClientOffline, DatatypeNamesRoundTrip) {
  for (int t = AIMASS_CLIENT_BOOL; t <= AIMASS_CLIENT_BYTES; ++t) {
    auto type = static_cast<aimass_client_datatype>(t);
    EXPECT_EQ(aimass_client_datatype_parse(aimass_client_datatype_name(type)), type);
  }
  EXPECT_EQ(aimass_client_datatype_parse("FLOAT"), AIMASS_CLIENT_INVALID_TYPE);
  EXPECT_EQ(aimass_client_datatype_size(AIMASS_CLIENT_FP64), 8u);
  EXPECT_EQ(aimass_client_datatype_size(AIMASS_CLIENT_BYTES), 0u);
}

TEST(CClientOffline, JsonDocumentsHaveTypedAccessors) {
  const std::string text =
      R"({"a":[1,2.5,"x\u00e9\ud83d\ude00",true,null],"b":{"c":-3},"big":12345678901234})";
  aimass_client_json* raw = nullptr;
  ASSERT_EQ(aimass_client_json_parse(text.data(), text.size(), &raw, nullptr), AIMASS_CLIENT_OK);
  Json doc(raw);
  const aimass_client_value* root = aimass_client_json_root(doc.get());
  EXPECT_EQ(aimass_client_value_type(root), AIMASS_CLIENT_JSON_OBJECT);
  EXPECT_EQ(aimass_client_value_size(root), 3u);
  EXPECT_STREQ(aimass_client_value_key_at(root, 1), "b");
  const aimass_client_value* a = aimass_client_value_get(root, "a");
  ASSERT_EQ(aimass_client_value_size(a), 5u);
  std::int64_t i = 0;
  double d = 0;
  EXPECT_TRUE(aimass_client_value_int64(aimass_client_value_at(a, 0), &i));
  EXPECT_EQ(i, 1);
  EXPECT_FALSE(aimass_client_value_int64(aimass_client_value_at(a, 1), &i));
  EXPECT_TRUE(aimass_client_value_double(aimass_client_value_at(a, 1), &d));
  EXPECT_EQ(d, 2.5);
  EXPECT_STREQ(aimass_client_value_string(aimass_client_value_at(a, 2), nullptr),
               "x\xc3\xa9\xf0\x9f\x98\x80");
  int b = 0;
  EXPECT_TRUE(aimass_client_value_bool(aimass_client_value_at(a, 3), &b));
  EXPECT_EQ(b, 1);
  EXPECT_EQ(aimass_client_value_type(aimass_client_value_at(a, 4)), AIMASS_CLIENT_JSON_NULL);
  EXPECT_EQ(aimass_client_value_type(aimass_client_value_at(a, 5)), AIMASS_CLIENT_JSON_MISSING);
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_value_get(root, "b"), "c", 0), -3);
  EXPECT_EQ(aimass_client_value_get_int64(root, "big", 0), 12345678901234);
  EXPECT_EQ(aimass_client_value_get_int64(root, "none", 42), 42);
  EXPECT_EQ(aimass_client_value_get_string(root, "a"), nullptr);
  EXPECT_EQ(aimass_client_value_get(nullptr, "a"), nullptr);
}

TEST(CClientOffline, AMemberNameWithANulIsRefusedButAStringValueKeepsIt) {
  // Names cross the C interface as C strings; values come with their length.
  const std::string named = R"({"a\u0000b": 1})";
  aimass_client_json* doc = nullptr;
  Outcome parsed = outcome([&](aimass_client_error** e) {
    return aimass_client_json_parse(named.data(), named.size(), &doc, e);
  });
  EXPECT_EQ(parsed.code, AIMASS_CLIENT_PROTOCOL);
  EXPECT_THAT(parsed.message, HasSubstr("a member name holds a NUL character"));
  EXPECT_EQ(doc, nullptr);

  const std::string valued = R"({"a": "x\u0000y"})";
  ASSERT_EQ(aimass_client_json_parse(valued.data(), valued.size(), &doc, nullptr),
            AIMASS_CLIENT_OK);
  std::size_t length = 0;
  const char* text = aimass_client_value_string(
      aimass_client_value_get(aimass_client_json_root(doc), "a"), &length);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(std::string(text, length), std::string("x\0y", 3));
  aimass_client_json_free(doc);
}

TEST(CClientOffline, MalformedOrDeepJsonIsRefusedWithTheOffset) {
  for (const std::string& bad :
       std::vector<std::string>{R"({"a":})", R"({"a":1} x)", R"(["\x"])", R"([01])", "[1e999]",
                                R"("\ud800")", std::string("\"a\x01\"")}) {
    aimass_client_json* doc = nullptr;
    Outcome parsed = outcome([&](aimass_client_error** e) {
      return aimass_client_json_parse(bad.data(), bad.size(), &doc, e);
    });
    EXPECT_EQ(parsed.code, AIMASS_CLIENT_PROTOCOL) << bad;
    EXPECT_THAT(parsed.message, HasSubstr("at byte")) << bad;
    EXPECT_EQ(doc, nullptr);
  }
  std::string deep(100000, '[');
  Outcome parsed = outcome([&](aimass_client_error** e) {
    aimass_client_json* doc = nullptr;
    return aimass_client_json_parse(deep.data(), deep.size(), &doc, e);
  });
  EXPECT_EQ(parsed.code, AIMASS_CLIENT_PROTOCOL);
  EXPECT_THAT(parsed.message, HasSubstr("nesting deeper than 128"));
}

TEST(CClientOffline, BinaryRequestIsAJsonHeaderAndTheTensorBytes) {
  Request request = sampleRequest();
  std::size_t header = 0;
  std::string body = encoded(request.get(), &header);
  EXPECT_EQ(body.substr(0, header),
            R"({"id":"r1","inputs":[)"
            R"({"name":"x","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},)"
            R"({"name":"n","datatype":"INT64","shape":[2],"parameters":{"binary_data_size":16}},)"
            R"({"name":"s","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":10}}],)"
            R"("parameters":{"top_k":5,"binary_data_output":true}})");
  std::string tail = bytesOf<float>({1.5f, -2.0f}) + bytesOf<std::int64_t>({7, -9}) +
                     bytesOf<std::uint32_t>({2}) + "ab" + bytesOf<std::uint32_t>({0});
  EXPECT_EQ(body.substr(header), tail);
}

TEST(CClientOffline, JsonRequestCarriesValuesAndOutputSelection) {
  Request request = sampleRequest();
  ASSERT_EQ(aimass_client_request_set_binary(request.get(), 0), AIMASS_CLIENT_OK);
  ASSERT_EQ(aimass_client_request_add_output(request.get(), "class", nullptr), AIMASS_CLIENT_OK);
  std::size_t header = 0;
  std::string body = encoded(request.get(), &header);
  EXPECT_EQ(header, body.size());
  EXPECT_EQ(body, R"({"id":"r1","inputs":[)"
                  R"({"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]},)"
                  R"({"name":"n","datatype":"INT64","shape":[2],"data":[7,-9]},)"
                  R"({"name":"s","datatype":"BYTES","shape":[2],"data":["ab",""]}],)"
                  R"("outputs":[{"name":"class","parameters":{"binary_data":false}}],)"
                  R"("parameters":{"top_k":5}})");
}

TEST(CClientOffline, BoolIntAndHalfInputsInBothEncodings) {
  const std::uint8_t flags[] = {1, 0, 2};  // any non-zero byte is true, sent as 1
  const std::int32_t counts[] = {-7, 2147483647};
  const std::uint16_t halves[] = {0x3e00, 0xc000};  // FP16 1.5 and -2
  const std::int64_t three[] = {3}, two[] = {2};
  for (int binary : {1, 0}) {
    Request request(aimass_client_request_create());
    aimass_client_request_set_binary(request.get(), binary);
    ASSERT_EQ(aimass_client_request_add_input(request.get(), "b", AIMASS_CLIENT_BOOL, three, 1,
                                              flags, sizeof flags, nullptr),
              AIMASS_CLIENT_OK);
    ASSERT_EQ(aimass_client_request_add_input(request.get(), "i", AIMASS_CLIENT_INT32, two, 1,
                                              counts, sizeof counts, nullptr),
              AIMASS_CLIENT_OK);
    ASSERT_EQ(aimass_client_request_add_input(request.get(), "h", AIMASS_CLIENT_FP16, two, 1,
                                              halves, sizeof halves, nullptr),
              AIMASS_CLIENT_OK);
    std::size_t header = 0;
    std::string body = encoded(request.get(), &header);
    if (binary) {
      EXPECT_EQ(body.substr(header), std::string("\x01\x00\x01", 3) +
                                         bytesOf<std::int32_t>({-7, 2147483647}) +
                                         bytesOf<std::uint16_t>({0x3e00, 0xc000}));
    } else {
      EXPECT_THAT(body, HasSubstr(R"("data":[true,false,true])"));
      EXPECT_THAT(body, HasSubstr(R"("data":[-7,2147483647])"));
      EXPECT_THAT(body, HasSubstr(R"("data":[1.5,-2])"));
    }
  }
}

TEST(CClientOffline, JsonCannotCarryInfinityButCarriesNanAsNull) {
  Request request(aimass_client_request_create());
  aimass_client_request_set_binary(request.get(), 0);
  const double values[] = {NAN, INFINITY};
  const std::int64_t one[] = {1};
  ASSERT_EQ(aimass_client_request_add_input(request.get(), "nan", AIMASS_CLIENT_FP64, one, 1,
                                            values, 8, nullptr),
            AIMASS_CLIENT_OK);
  std::size_t header = 0;
  EXPECT_THAT(encoded(request.get(), &header), HasSubstr(R"("data":[null])"));
  ASSERT_EQ(aimass_client_request_add_input(request.get(), "inf", AIMASS_CLIENT_FP64, one, 1,
                                            values + 1, 8, nullptr),
            AIMASS_CLIENT_OK);
  Outcome refused = outcome([&](aimass_client_error** e) {
    return aimass_client_request_encode(request.get(), nullptr, nullptr, nullptr, e);
  });
  EXPECT_EQ(refused.code, AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_THAT(refused.message, HasSubstr("input 'inf'"));
}

TEST(CClientOffline, BadInputsAreRefusedNamingTheInput) {
  Request request(aimass_client_request_create());
  const float data[3] = {1, 2, 3};
  const std::int64_t square[] = {2, 2}, negative[] = {-1, 3}, three[] = {3};
  auto add = [&](const char* name, aimass_client_datatype type, const std::int64_t* shape,
                 std::size_t rank, std::size_t bytes) {
    return outcome([&](aimass_client_error** e) {
      return aimass_client_request_add_input(request.get(), name, type, shape, rank, data, bytes,
                                             e);
    });
  };
  Outcome wrong = add("x", AIMASS_CLIENT_FP32, square, 2, sizeof data);
  EXPECT_EQ(wrong.code, AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_EQ(wrong.message,
            "input 'x': its shape holds 4 FP32 elements (16 bytes) but the data hold 12 bytes");
  EXPECT_THAT(add("y", AIMASS_CLIENT_FP32, negative, 2, sizeof data).message,
              HasSubstr("input 'y': shape dimension 0 is -1"));
  EXPECT_THAT(add("z", AIMASS_CLIENT_BYTES, three, 1, sizeof data).message,
              HasSubstr("aimass_client_request_add_bytes_input"));
  EXPECT_EQ(add("ok", AIMASS_CLIENT_FP32, three, 1, sizeof data).code, AIMASS_CLIENT_OK);
  EXPECT_THAT(add("ok", AIMASS_CLIENT_FP32, three, 1, sizeof data).message,
              HasSubstr("input 'ok' is given twice"));
  EXPECT_EQ(add(nullptr, AIMASS_CLIENT_FP32, three, 1, sizeof data).code,
            AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_EQ(
      aimass_client_request_set_parameter_bool(request.get(), "binary_data_output", 1, nullptr),
      AIMASS_CLIENT_INVALID_ARGUMENT);
}

TEST(CClientOffline, BinaryAnswerIsDecoded) {
  std::string header =
      R"({"model_name":"m","model_version":"2","id":"q","outputs":[)"
      R"({"name":"probabilities","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}},)"
      R"({"name":"class","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":11}},)"
      R"({"name":"label","datatype":"INT64","shape":[1],"data":[2]}]})";
  std::string body =
      header + bytesOf<float>({0.25f, 0.25f, 0.5f}) + bytesOf<std::uint32_t>({7}) + "healthy";
  aimass_client_result* raw = nullptr;
  ASSERT_EQ(aimass_client_result_decode(body.data(), body.size(), header.size(), &raw, nullptr),
            AIMASS_CLIENT_OK);
  Result result(raw);
  EXPECT_STREQ(aimass_client_result_model_name(raw), "m");
  EXPECT_STREQ(aimass_client_result_model_version(raw), "2");
  EXPECT_STREQ(aimass_client_result_id(raw), "q");
  ASSERT_EQ(aimass_client_result_output_count(raw), 3u);
  const aimass_client_output* p = aimass_client_result_find_output(raw, "probabilities");
  std::size_t size = 0;
  const auto* values = static_cast<const float*>(aimass_client_output_data(p, &size));
  EXPECT_EQ(size, 12u);
  EXPECT_EQ(std::vector<float>(values, values + 3), (std::vector<float>{0.25f, 0.25f, 0.5f}));
  EXPECT_EQ(aimass_client_output_rank(p), 2u);
  EXPECT_EQ(aimass_client_output_shape(p)[1], 3);
  EXPECT_TRUE(aimass_client_output_binary(p));
  const aimass_client_output* c = aimass_client_result_output(raw, 1);
  std::size_t length = 0;
  const char* element = aimass_client_output_bytes_at(c, 0, &length);
  EXPECT_EQ(std::string(element, length), "healthy");
  EXPECT_EQ(aimass_client_output_data(c, nullptr), nullptr);
  const aimass_client_output* label = aimass_client_result_output(raw, 2);
  EXPECT_FALSE(aimass_client_output_binary(label));
  EXPECT_EQ(*static_cast<const std::int64_t*>(aimass_client_output_data(label, nullptr)), 2);
  EXPECT_EQ(aimass_client_result_find_output(raw, "nope"), nullptr);
}

TEST(CClientOffline, JsonAnswerValuesBecomeTheBinaryLayout) {
  std::string body = R"({"model_name":"m","model_version":"1","outputs":[)"
                     R"({"name":"f","datatype":"FP32","shape":[2,2],"data":[[1.5,null],[-0.1,3]]},)"
                     R"({"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},)"
                     R"({"name":"h","datatype":"FP16","shape":[2],"data":[1.5,-2]},)"
                     R"({"name":"d","datatype":"FP64","shape":[],"data":[0.1]}]})";
  aimass_client_result* raw = nullptr;
  ASSERT_EQ(aimass_client_result_decode(body.data(), body.size(), body.size(), &raw, nullptr),
            AIMASS_CLIENT_OK);
  Result result(raw);
  EXPECT_EQ(aimass_client_result_id(raw), nullptr);
  const auto* f = static_cast<const float*>(
      aimass_client_output_data(aimass_client_result_output(raw, 0), nullptr));
  EXPECT_EQ(f[0], 1.5f);
  EXPECT_TRUE(std::isnan(f[1]));
  EXPECT_EQ(f[2], -0.1f);
  const auto* b = static_cast<const std::uint8_t*>(
      aimass_client_output_data(aimass_client_result_output(raw, 1), nullptr));
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[1], 0);
  const auto* h = static_cast<const std::uint16_t*>(
      aimass_client_output_data(aimass_client_result_output(raw, 2), nullptr));
  EXPECT_EQ(h[0], 0x3e00);
  EXPECT_EQ(h[1], 0xc000);
  const aimass_client_output* d = aimass_client_result_output(raw, 3);
  EXPECT_EQ(aimass_client_output_element_count(d), 1u);
  EXPECT_EQ(*static_cast<const double*>(aimass_client_output_data(d, nullptr)), 0.1);
}

TEST(CClientOffline, BadAnswersAreProtocolErrors) {
  struct Case {
    std::string body;
    std::size_t header;
    std::string message;
  };
  std::string sized =
      R"({"outputs":[{"name":"p","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  std::vector<Case> cases = {
      {sized + "1234", sized.size(), "output 'p': binary_data_size runs past"},
      {sized + "12345678", sized.size() + 9, "past the"},
      {R"({"outputs":[{"name":"p","datatype":"FP32","shape":[3],"data":[1,2]}]})", 0,
       "output 'p': 2 values but the shape holds 3"},
      {R"({"outputs":[{"name":"p","datatype":"F32","shape":[1],"data":[1]}]})", 0,
       "output 'p' has no known \"datatype\""},
      {R"({"model_name":"m"})", 0, "no \"outputs\" array"},
      // A shape claiming far more than the data hold is refused, not allocated.
      {R"({"outputs":[{"name":"p","datatype":"FP64","shape":[4000000000000],"data":[1]}]})", 0,
       "output 'p': 1 values but the shape holds 4000000000000"},
      {R"({"outputs":[{"name":"p","datatype":"FP64","shape":[4000000000000,4000000000000]}]})", 0,
       "the shape's element count overflows"},
      {"<html>", 0, "not valid JSON"},
  };
  for (const auto& c : cases) {
    std::size_t header = c.header ? c.header : c.body.size();
    aimass_client_result* raw = nullptr;
    Outcome decoded = outcome([&](aimass_client_error** e) {
      return aimass_client_result_decode(c.body.data(), c.body.size(), header, &raw, e);
    });
    EXPECT_EQ(decoded.code, AIMASS_CLIENT_PROTOCOL) << c.body;
    EXPECT_THAT(decoded.message, HasSubstr(c.message)) << c.body;
    EXPECT_EQ(raw, nullptr);
  }
}

TEST(CClientOffline, UnusableUrlsAndOptionsAreRefused) {
  auto create = [](const char* url, const aimass_client_options* options) {
    aimass_client* client = nullptr;
    Outcome made = outcome(
        [&](aimass_client_error** e) { return aimass_client_create(url, options, &client, e); });
    aimass_client_free(client);
    return made;
  };
  EXPECT_THAT(create("ftp://host", nullptr).message, HasSubstr("must be http or https"));
  EXPECT_THAT(create("http://", nullptr).message, HasSubstr("names no host"));
  EXPECT_EQ(create(nullptr, nullptr).code, AIMASS_CLIENT_INVALID_ARGUMENT);
  Options options(aimass_client_options_create());
  aimass_client_options_set_ca_file(options.get(), "/nowhere/ca.crt");
  EXPECT_THAT(create("http://127.0.0.1:1", options.get()).message, HasSubstr("https://"));
  Options both(aimass_client_options_create());
  aimass_client_options_set_api_key(both.get(), "k");
  aimass_client_options_set_bearer_token(both.get(), "t");
  EXPECT_THAT(create("127.0.0.1:1", both.get()).message, HasSubstr("not both"));
  Options smuggling(aimass_client_options_create());
  aimass_client_options_set_api_key(smuggling.get(), "key\r\nX-Role: admin");
  EXPECT_THAT(create("127.0.0.1:1", smuggling.get()).message,
              HasSubstr("the API key holds a control character"));
  EXPECT_EQ(aimass_client_options_set_timeout_ms(options.get(), 0), AIMASS_CLIENT_INVALID_ARGUMENT);
  EXPECT_EQ(aimass_client_options_set_retry(options.get(), 1, 100, 50, 0),
            AIMASS_CLIENT_INVALID_ARGUMENT);
}

TEST(CClientOffline, NoServerIsAConnectionErrorWithoutStatus) {
  int port = 0;
  {
    LocalHttpServer closed([](const SeenRequest&) { return Reply{}; });
    port = std::stoi(closed.url().substr(closed.url().rfind(':') + 1));
  }
  Client client = makeClient("http://127.0.0.1:" + std::to_string(port));
  int live = -1;
  Outcome failed =
      outcome([&](aimass_client_error** e) { return aimass_client_live(client.get(), &live, e); });
  EXPECT_EQ(failed.code, AIMASS_CLIENT_CONNECTION);
  EXPECT_EQ(failed.status, 0);
  EXPECT_THAT(failed.message, HasSubstr("GET http://127.0.0.1:"));
}

// ---- against a local HTTP server --------------------------------------------------------

Options retryOptions(int retries, unsigned methods) {
  Options options(aimass_client_options_create());
  EXPECT_EQ(aimass_client_options_set_retry(options.get(), retries, 1, 4, methods),
            AIMASS_CLIENT_OK);
  return options;
}

TEST(CClientLocal, ReadsAreRetriedOn503UntilTheyPass) {
  int calls = 0;
  LocalHttpServer server([&](const SeenRequest&) {
    return ++calls <= 2 ? Reply{503, R"({"error":"loading"})"}
                        : Reply{200, R"({"name":"aimass","version":"1","extensions":[]})"};
  });
  Options options = retryOptions(3, AIMASS_CLIENT_METHOD_GET);
  Client client = makeClient(server.url(), options.get());
  aimass_client_json* doc = nullptr;
  ASSERT_EQ(aimass_client_server_metadata(client.get(), &doc, nullptr), AIMASS_CLIENT_OK);
  Json owned(doc);
  EXPECT_STREQ(aimass_client_value_get_string(aimass_client_json_root(doc), "name"), "aimass");
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_EQ(server.connections(), 1) << "the connection is kept alive across retries";
}

TEST(CClientLocal, RetriesGiveUpWithTheServersStatusAndMessage) {
  LocalHttpServer server([](const SeenRequest&) { return Reply{503, R"({"error":"busy"})"}; });
  Options options = retryOptions(2, AIMASS_CLIENT_METHOD_GET);
  Client client = makeClient(server.url(), options.get());
  aimass_client_json* doc = nullptr;
  Outcome failed = outcome(
      [&](aimass_client_error** e) { return aimass_client_list_models(client.get(), &doc, e); });
  EXPECT_EQ(failed.code, AIMASS_CLIENT_HTTP);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.message, "busy");
  EXPECT_EQ(failed.body, R"({"error":"busy"})");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(CClientLocal, InferAndProbesAreNotRetriedUnlessAsked) {
  LocalHttpServer server([](const SeenRequest&) { return Reply{503, R"({"error":"full"})"}; });
  Client client = makeClient(server.url());
  Request request(aimass_client_request_create());
  aimass_client_result* result = nullptr;
  Outcome failed = outcome([&](aimass_client_error** e) {
    return aimass_client_infer(client.get(), "m", nullptr, request.get(), &result, e);
  });
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(server.requests().size(), 1u);
  int ready = -1;
  ASSERT_EQ(aimass_client_ready(client.get(), &ready, nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(ready, 0);
  EXPECT_EQ(server.requests().size(), 2u);

  Options options = retryOptions(2, AIMASS_CLIENT_METHOD_POST);
  Client retrying = makeClient(server.url(), options.get());
  aimass_client_infer(retrying.get(), "m", nullptr, request.get(), &result, nullptr);
  EXPECT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.requests().back().method, "POST");
}

TEST(CClientLocal, TimeoutsBoundEachCall) {
  LocalHttpServer server([](const SeenRequest&) {
    return Reply{200, R"({"outputs":[]})", std::chrono::milliseconds(1500)};
  });
  Options options(aimass_client_options_create());
  aimass_client_options_set_timeout_ms(options.get(), 200);
  Client client = makeClient(server.url(), options.get());
  int live = -1;
  Outcome slow =
      outcome([&](aimass_client_error** e) { return aimass_client_live(client.get(), &live, e); });
  EXPECT_EQ(slow.code, AIMASS_CLIENT_TIMEOUT);
  EXPECT_EQ(slow.status, 0);
  EXPECT_THAT(slow.message, HasSubstr("within 200 ms"));

  Client patient = makeClient(server.url());  // 30 s by default; the request's own 150 ms wins
  Request request(aimass_client_request_create());
  ASSERT_EQ(aimass_client_request_set_timeout_ms(request.get(), 150), AIMASS_CLIENT_OK);
  aimass_client_result* result = nullptr;
  Outcome infer = outcome([&](aimass_client_error** e) {
    return aimass_client_infer(patient.get(), "m", nullptr, request.get(), &result, e);
  });
  EXPECT_EQ(infer.code, AIMASS_CLIENT_TIMEOUT);
  EXPECT_THAT(infer.message, HasSubstr("within 150 ms"));
}

TEST(CClientLocal, AuthHeadersAndKeepAlive) {
  LocalHttpServer server([](const SeenRequest&) { return Reply{200, "[]"}; });
  Options key(aimass_client_options_create());
  aimass_client_options_set_api_key(key.get(), "secret-key");
  Client with_key = makeClient(server.url(), key.get());
  aimass_client_json* doc = nullptr;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(aimass_client_list_datasets(with_key.get(), &doc, nullptr), AIMASS_CLIENT_OK);
    aimass_client_json_free(doc);
  }
  EXPECT_EQ(server.connections(), 1) << "one keep-alive connection for every call";
  Options token(aimass_client_options_create());
  aimass_client_options_set_bearer_token(token.get(), "a.b.c");
  Client with_token = makeClient(server.url() + "/", token.get());
  ASSERT_EQ(aimass_client_list_models(with_token.get(), &doc, nullptr), AIMASS_CLIENT_OK);
  aimass_client_json_free(doc);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].headers["x-api-key"], "secret-key");
  EXPECT_EQ(seen[0].headers.count("authorization"), 0u);
  EXPECT_EQ(seen[3].path, "/api/v1/models");
  EXPECT_EQ(seen[3].headers["authorization"], "Bearer a.b.c");
  EXPECT_EQ(seen[3].headers.count("x-api-key"), 0u);
}

TEST(CClientLocal, AConnectionTheServerClosedIsReplaced) {
  LocalHttpServer server([](const SeenRequest&) { return Reply{200, "[]", {}, {}, true}; });
  Client client = makeClient(server.url());
  for (int i = 0; i < 3; ++i) {
    aimass_client_json* doc = nullptr;
    Outcome listed = outcome([&](aimass_client_error** e) {
      return aimass_client_list_runs(client.get(), nullptr, nullptr, nullptr, nullptr, 0, -1, &doc,
                                     e);
    });
    aimass_client_json_free(doc);
    ASSERT_EQ(listed.code, AIMASS_CLIENT_OK) << "call " << i << ": " << listed.message;
  }
  EXPECT_EQ(server.requests().size(), 3u) << "each request sent once";
  EXPECT_EQ(server.connections(), 3);
}

TEST(CClientLocal, BinaryInferTravelsWithTheHeaderLengthBothWays) {
  std::string header =
      R"({"model_name":"m","model_version":"1","outputs":[{"name":"y","datatype":"INT32",)"
      R"("shape":[2],"parameters":{"binary_data_size":8}}]})";
  LocalHttpServer server([&](const SeenRequest&) {
    return Reply{200,
                 header + bytesOf<std::int32_t>({4, -5}),
                 {},
                 {{"Inference-Header-Content-Length", std::to_string(header.size())}}};
  });
  Client client = makeClient(server.url());
  Request request = sampleRequest();
  aimass_client_result* raw = nullptr;
  ASSERT_EQ(aimass_client_infer(client.get(), "my model", "3", request.get(), &raw, nullptr),
            AIMASS_CLIENT_OK);
  Result result(raw);
  const auto* y = static_cast<const std::int32_t*>(
      aimass_client_output_data(aimass_client_result_output(raw, 0), nullptr));
  EXPECT_EQ(y[0], 4);
  EXPECT_EQ(y[1], -5);
  SeenRequest seen = server.requests().at(0);
  EXPECT_EQ(seen.path, "/v2/models/my%20model/versions/3/infer");
  EXPECT_EQ(seen.headers["content-type"], "application/octet-stream");
  std::size_t length = 0;
  std::string body = encoded(request.get(), &length);
  EXPECT_EQ(seen.headers["inference-header-content-length"], std::to_string(length));
  EXPECT_EQ(seen.body, body);
}

TEST(CClientLocal, AnErrorBodyThatIsNotJsonIsTheMessage) {
  LocalHttpServer server([](const SeenRequest&) { return Reply{502, "bad gateway"}; });
  Client client = makeClient(server.url());
  aimass_client_json* doc = nullptr;
  Outcome failed = outcome([&](aimass_client_error** e) {
    return aimass_client_request_json(client.get(), "DELETE", "/api/v1/x", nullptr, &doc, e);
  });
  EXPECT_EQ(failed.status, 502);
  EXPECT_EQ(failed.message, "bad gateway");
  EXPECT_EQ(server.requests().at(0).method, "DELETE");
  Outcome bad = outcome([&](aimass_client_error** e) {
    return aimass_client_request_json(client.get(), "BREW", "/x", nullptr, &doc, e);
  });
  EXPECT_EQ(bad.code, AIMASS_CLIENT_INVALID_ARGUMENT);
}

}  // namespace
TEST(CClientLocal, JobCallsSendEverySetFieldAndTheirFilters) {
  const std::string job =
      R"({"id":7,"state":"queued","queue":"q","owner":"ann","priority":-1,)"
      R"("resources":{"threads":2,"memory_bytes":1024,"gpus":1},"preemptible":true,)"
      R"("config_name":"t.yaml","reason":"","attempts":0,"submitted_unix_ms":5,)"
      R"("started_unix_ms":null,"finished_unix_ms":null,"cancel_requested":false,)"
      R"("worker_pid":0,"runs":[3,4]})";
  LocalHttpServer server([&](const SeenRequest& r) {
    if (r.path.find("/log") != std::string::npos) {
      return Reply{200, std::string("line\0two", 8)};
    }
    return Reply{200, r.path.rfind("/api/v1/jobs?", 0) == 0 ? "{\"jobs\":[" + job + "]}" : job};
  });
  Client client = makeClient(server.url());
  Submission s(aimass_client_job_submission_create("nodes: {}\n"));
  aimass_client_job_submission_set_config_name(s.get(), "t.yaml");
  aimass_client_job_submission_set_queue(s.get(), "q");
  aimass_client_job_submission_set_priority(s.get(), -1);
  aimass_client_job_submission_set_threads(s.get(), 2);
  aimass_client_job_submission_set_memory(s.get(), "1GiB");
  aimass_client_job_submission_set_memory_bytes(s.get(), 1024);  // replaces "1GiB"
  aimass_client_job_submission_set_gpus(s.get(), 1);
  aimass_client_job_submission_set_preemptible(s.get(), 1);
  aimass_client_job* out = nullptr;
  ASSERT_EQ(aimass_client_submit_job(client.get(), s.get(), &out, nullptr), AIMASS_CLIENT_OK);
  Job submitted(out);
  EXPECT_EQ(aimass_client_job_id(out), 7);
  EXPECT_EQ(aimass_client_job_owner(out), std::string("ann"));
  EXPECT_EQ(aimass_client_job_started_unix_ms(out), 0);
  ASSERT_EQ(aimass_client_job_run_count(out), 2u);
  EXPECT_EQ(aimass_client_job_run_at(out, 1), 4);
  std::int64_t gpus = 0;
  aimass_client_job_resources(out, nullptr, nullptr, &gpus);
  EXPECT_EQ(gpus, 1);

  aimass_client_job_list* list = nullptr;
  ASSERT_EQ(aimass_client_list_jobs(client.get(), "queued", nullptr, "a b", &list, nullptr),
            AIMASS_CLIENT_OK);
  EXPECT_EQ(aimass_client_job_list_size(list), 1u);
  EXPECT_EQ(aimass_client_job_list_at(list, 1), nullptr);
  aimass_client_job_list_free(list);
  ASSERT_EQ(aimass_client_cancel_job(client.get(), 7, &out, nullptr), AIMASS_CLIENT_OK);
  aimass_client_job_free(out);
  char* log = nullptr;
  std::size_t size = 0;
  ASSERT_EQ(aimass_client_job_log(client.get(), 7, 100, &log, &size, nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(std::string(log, size), std::string("line\0two", 8));
  aimass_client_text_free(log);

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/api/v1/jobs");
  EXPECT_EQ(seen[0].body,
            R"({"config":"nodes: {}\n","config_name":"t.yaml","queue":"q","priority":-1,)"
            R"("threads":2,"memory":1024,"gpus":1,"preemptible":true})");
  EXPECT_EQ(seen[1].path, "/api/v1/jobs?state=queued&owner=a%20b");
  EXPECT_EQ(seen[2].method, "POST");
  EXPECT_EQ(seen[2].path, "/api/v1/jobs/7/cancel");
  EXPECT_EQ(seen[3].path, "/api/v1/jobs/7/log?bytes=100");
}

TEST(CClientLocal, MalformedJobAnswersAreProtocolErrors) {
  std::string answer;
  LocalHttpServer server([&](const SeenRequest&) { return Reply{200, answer}; });
  Client client = makeClient(server.url());
  aimass_client_job_list* list = nullptr;
  answer = R"({"jobs":3})";
  Outcome not_array = outcome([&](aimass_client_error** e) {
    return aimass_client_list_jobs(client.get(), nullptr, nullptr, nullptr, &list, e);
  });
  EXPECT_EQ(not_array.code, AIMASS_CLIENT_PROTOCOL);
  EXPECT_THAT(not_array.message, HasSubstr("jobs"));
  EXPECT_EQ(list, nullptr);
  answer = R"({"id":1,"runs":[]})";
  aimass_client_job* job = nullptr;
  Outcome no_resources = outcome(
      [&](aimass_client_error** e) { return aimass_client_get_job(client.get(), 1, &job, e); });
  EXPECT_EQ(no_resources.code, AIMASS_CLIENT_PROTOCOL);
  EXPECT_THAT(no_resources.message, HasSubstr("resources"));
  EXPECT_EQ(job, nullptr);

  answer = R"({"queues":[{"name":"q","cohort":"lab","ordering":"fair_share",)"
           R"("nominal":{"threads":1,"memory_bytes":2,"gpus":0},)"
           R"("borrowing_limit":{"threads":3,"memory_bytes":4,"gpus":1},"max_running":2,)"
           R"("used":{"threads":0,"memory_bytes":0,"gpus":0},"waiting":5,"running":0}]})";
  aimass_client_queue_list* queues = nullptr;
  ASSERT_EQ(aimass_client_list_queues(client.get(), &queues, nullptr), AIMASS_CLIENT_OK);
  const aimass_client_queue* q = aimass_client_queue_list_at(queues, 0);
  std::int64_t threads = 0, memory = 0, gpus = 0;
  EXPECT_EQ(aimass_client_queue_resources(q, AIMASS_CLIENT_QUEUE_BORROWING_LIMIT, &threads, &memory,
                                          &gpus),
            1);
  EXPECT_EQ(threads, 3);
  EXPECT_EQ(memory, 4);
  EXPECT_EQ(gpus, 1);
  EXPECT_EQ(aimass_client_queue_cohort(q), std::string("lab"));
  EXPECT_EQ(aimass_client_queue_ordering(q), std::string("fair_share"));
  EXPECT_EQ(aimass_client_queue_max_running(q), 2);
  EXPECT_EQ(aimass_client_queue_waiting(q), 5);
  aimass_client_queue_list_free(queues);
}

TEST(CClientLocal, ScheduleAndQueueEditCallsSendTheirBodiesAndReadEveryField) {
  const std::string schedule =
      R"({"id":9,"name":"n","cron":"@daily","overlap":"replace","queue":"q","owner":"ann",)"
      R"("priority":4,"resources":{"threads":2,"memory_bytes":1024,"gpus":1},)"
      R"("preemptible":true,"config_name":"t.yaml","created_unix_ms":11,)"
      R"("next_fire_unix_ms":22,"last_fire_unix_ms":null,"last_job":5,"fires":3,"skips":2,)"
      R"("last_result":"skipped: job 5 of this schedule has not ended"})";
  const std::string job =
      R"({"id":5,"state":"running","queue":"q","owner":"ann","priority":4,)"
      R"("resources":{"threads":2,"memory_bytes":1024,"gpus":1},"ranks":2,"preemptible":true,)"
      R"("config_name":"t.yaml","reason":"","attempts":1,"submitted_unix_ms":5,)"
      R"("started_unix_ms":6,"finished_unix_ms":null,"cancel_requested":false,)"
      R"("worker_pid":0,"external_id":"4242","runs":[],"schedule_id":9})";
  const std::string queue =
      R"({"name":"a b","cohort":"","ordering":"fifo","nominal":{"threads":1,)"
      R"("memory_bytes":2,"gpus":0},"borrowing_limit":null,"max_running":0,)"
      R"("used":{"threads":0,"memory_bytes":0,"gpus":0},"waiting":0,"running":0})";
  LocalHttpServer server([&](const SeenRequest& r) {
    if (r.path == "/api/v1/jobs/5") return Reply{200, job};
    if (r.path.rfind("/api/v1/queues/", 0) == 0) return Reply{200, queue};
    return Reply{200, r.path == "/api/v1/schedules" && r.method == "GET"
                          ? "{\"schedules\":[" + schedule + "]}"
                          : schedule};
  });
  Client client = makeClient(server.url());

  aimass_client_job* got = nullptr;
  ASSERT_EQ(aimass_client_get_job(client.get(), 5, &got, nullptr), AIMASS_CLIENT_OK);
  Job read(got);
  EXPECT_EQ(aimass_client_job_ranks(got), 2);
  EXPECT_EQ(aimass_client_job_external_id(got), std::string("4242"));
  EXPECT_EQ(aimass_client_job_schedule_id(got), 9);

  Submission s(aimass_client_job_submission_create("nodes: {}\n"));
  aimass_client_job_submission_set_queue(s.get(), "q");
  aimass_client_job_submission_set_ranks(s.get(), 2);
  aimass_client_schedule* out = nullptr;
  ASSERT_EQ(
      aimass_client_create_schedule(client.get(), s.get(), "@daily", "replace", "n", &out, nullptr),
      AIMASS_CLIENT_OK);
  Schedule created(out);
  EXPECT_EQ(aimass_client_schedule_id(out), 9);
  EXPECT_EQ(aimass_client_schedule_created_unix_ms(out), 11);
  EXPECT_EQ(aimass_client_schedule_next_fire_unix_ms(out), 22);
  EXPECT_EQ(aimass_client_schedule_last_fire_unix_ms(out), 0);  // null
  EXPECT_EQ(aimass_client_schedule_last_job(out), 5);
  EXPECT_EQ(aimass_client_schedule_fires(out), 3);
  EXPECT_EQ(aimass_client_schedule_skips(out), 2);
  EXPECT_EQ(aimass_client_schedule_last_result(out),
            std::string("skipped: job 5 of this schedule has not ended"));
  std::int64_t gpus = 0;
  aimass_client_schedule_resources(out, nullptr, nullptr, &gpus);
  EXPECT_EQ(gpus, 1);
  ASSERT_EQ(aimass_client_create_schedule(client.get(), s.get(), "@daily", nullptr, nullptr, &out,
                                          nullptr),
            AIMASS_CLIENT_OK);
  aimass_client_schedule_free(out);
  aimass_client_schedule_list* list = nullptr;
  ASSERT_EQ(aimass_client_list_schedules(client.get(), &list, nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(aimass_client_schedule_list_size(list), 1u);
  EXPECT_EQ(aimass_client_schedule_overlap(aimass_client_schedule_list_at(list, 0)),
            std::string("replace"));
  aimass_client_schedule_list_free(list);
  ASSERT_EQ(aimass_client_delete_schedule(client.get(), 9, nullptr, nullptr), AIMASS_CLIENT_OK);

  QueueUpdate update(aimass_client_queue_update_create());
  aimass_client_queue_update_set_threads(update.get(), 3);
  aimass_client_queue_update_set_memory(update.get(), "8GiB");
  aimass_client_queue_update_set_borrow_threads(update.get(), -1);  // null: no limit
  aimass_client_queue_update_set_borrow_memory_bytes(update.get(), 4096);
  aimass_client_queue_update_set_borrow_gpus(update.get(), 0);
  aimass_client_queue_update_set_ordering(update.get(), "fair_share");
  aimass_client_queue_update_set_ordering(update.get(), nullptr);   // unset again
  aimass_client_queue_update_set_memory_bytes(update.get(), 1024);  // replaces "8GiB"
  aimass_client_queue_update_set_strict_fifo(update.get(), 1);
  aimass_client_queue* edited = nullptr;
  ASSERT_EQ(aimass_client_update_queue(client.get(), "a b", update.get(), &edited, nullptr),
            AIMASS_CLIENT_OK);
  Queue owned(edited);
  EXPECT_EQ(aimass_client_queue_name(edited), std::string("a b"));

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[1].path, "/api/v1/schedules");
  EXPECT_EQ(seen[1].body, R"({"config":"nodes: {}\n","queue":"q","ranks":2,"cron":"@daily",)"
                          R"("overlap":"replace","name":"n"})");
  EXPECT_EQ(seen[2].body, R"({"config":"nodes: {}\n","queue":"q","ranks":2,"cron":"@daily"})");
  EXPECT_EQ(seen[3].method, "GET");
  EXPECT_EQ(seen[4].method, "DELETE");
  EXPECT_EQ(seen[4].path, "/api/v1/schedules/9");
  EXPECT_EQ(seen[4].body, "{}");
  EXPECT_EQ(seen[5].method, "PUT");
  EXPECT_EQ(seen[5].path, "/api/v1/queues/a%20b");
  EXPECT_EQ(seen[5].body,
            R"({"threads":3,"borrow_threads":null,"borrow_memory":4096,"borrow_gpus":0,)"
            R"("memory":1024,"strict_fifo":true})");
}

}  // namespace aimass::client::testing
