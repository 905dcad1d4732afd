// SPDX-License-Identifier: Apache-2.0
// The C client against a real `aimass run` (support/live_aimass.h): pump_state, trained twice
// into SQLite and served by frontend.http, over plain HTTP and over mutual TLS; and the C
// example program.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "aimass_server.h"
#include "c_api_test_support.h"
#include "live_aimass.h"

namespace aimass::client::testing {
namespace {

using ::testing::HasSubstr;

const float kRows[2][4] = {{-1.76f, -0.42f, 1.65f, -3.06f}, {2.31f, -0.67f, -0.05f, 1.19f}};
const std::int64_t kRowsShape[] = {2, 4};

class CClientLive : public LiveSuite<PlainHttp> {
 protected:
  void SetUp() override {
    LiveSuite::SetUp();
    client_ = makeClient(server_->url());
    ASSERT_TRUE(client_);
  }

  /// Infers kRows (the first `rows` of them) with the request's other settings.
  Result infer(aimass_client_request* request, int rows = 2) {
    const std::int64_t shape[] = {rows, 4};
    EXPECT_EQ(aimass_client_request_add_input(request, "input", AIMASS_CLIENT_FP32, shape, 2, kRows,
                                              sizeof(float) * 4 * rows, nullptr),
              AIMASS_CLIENT_OK);
    aimass_client_result* result = nullptr;
    Outcome done = outcome([&](aimass_client_error** e) {
      return aimass_client_infer(client_.get(), "pump_state", nullptr, request, &result, e);
    });
    EXPECT_EQ(done.code, AIMASS_CLIENT_OK) << done.message;
    return Result(result);
  }

  Json json(aimass_client_code (*call)(aimass_client*, aimass_client_json**,
                                       aimass_client_error**)) {
    aimass_client_json* doc = nullptr;
    Outcome done = outcome([&](aimass_client_error** e) { return call(client_.get(), &doc, e); });
    EXPECT_EQ(done.code, AIMASS_CLIENT_OK) << done.message;
    return Json(doc);
  }

  static std::vector<float> floats(const aimass_client_output* o) {
    std::size_t size = 0;
    const auto* p = static_cast<const float*>(aimass_client_output_data(o, &size));
    return p ? std::vector<float>(p, p + size / sizeof(float)) : std::vector<float>();
  }
  static std::vector<std::int64_t> int64s(const aimass_client_output* o) {
    std::size_t size = 0;
    const auto* p = static_cast<const std::int64_t*>(aimass_client_output_data(o, &size));
    return p ? std::vector<std::int64_t>(p, p + size / 8) : std::vector<std::int64_t>();
  }
  static std::vector<std::string> strings(const aimass_client_output* o) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < aimass_client_output_element_count(o); ++i) {
      std::size_t length = 0;
      const char* s = aimass_client_output_bytes_at(o, i, &length);
      out.emplace_back(s, length);
    }
    return out;
  }

  /// Each row's probabilities sum to 1, label is their argmax, class its name.
  static void checkAnswer(const aimass_client_result* result, std::size_t rows) {
    const std::vector<std::string> names = {"failing", "healthy", "worn"};
    auto p = floats(aimass_client_result_find_output(result, "probabilities"));
    auto label = int64s(aimass_client_result_find_output(result, "label"));
    auto name = strings(aimass_client_result_find_output(result, "class"));
    ASSERT_EQ(p.size(), rows * 3);
    ASSERT_EQ(label.size(), rows);
    ASSERT_EQ(name.size(), rows);
    for (std::size_t r = 0; r < rows; ++r) {
      EXPECT_NEAR(p[3 * r] + p[3 * r + 1] + p[3 * r + 2], 1.0, 1e-5);
      auto top = std::max_element(p.begin() + 3 * r, p.begin() + 3 * r + 3) - (p.begin() + 3 * r);
      EXPECT_EQ(label[r], top);
      EXPECT_EQ(name[r], names.at(static_cast<std::size_t>(label[r])));
    }
  }

  Client client_;
};

TEST_F(CClientLive, HealthAndMetadata) {
  int ok = -1;
  ASSERT_EQ(aimass_client_live(client_.get(), &ok, nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(ok, 1);
  ASSERT_EQ(aimass_client_ready(client_.get(), &ok, nullptr), AIMASS_CLIENT_OK);
  EXPECT_EQ(ok, 1);
  ASSERT_EQ(aimass_client_model_ready(client_.get(), "pump_state", nullptr, &ok, nullptr),
            AIMASS_CLIENT_OK);
  EXPECT_EQ(ok, 1);
  ASSERT_EQ(aimass_client_model_ready(client_.get(), "nope", nullptr, &ok, nullptr),
            AIMASS_CLIENT_OK);
  EXPECT_EQ(ok, 0);

  Json server = json(&aimass_client_server_metadata);
  const aimass_client_value* extensions =
      aimass_client_value_get(aimass_client_json_root(server.get()), "extensions");
  std::set<std::string> names;
  for (std::size_t i = 0; i < aimass_client_value_size(extensions); ++i) {
    names.insert(aimass_client_value_string(aimass_client_value_at(extensions, i), nullptr));
  }
  EXPECT_TRUE(names.count("binary_tensor_data"));

  aimass_client_json* raw = nullptr;
  ASSERT_EQ(aimass_client_model_metadata(client_.get(), "pump_state", nullptr, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json model(raw);
  const aimass_client_value* input =
      aimass_client_value_at(aimass_client_value_get(aimass_client_json_root(raw), "inputs"), 0);
  EXPECT_STREQ(aimass_client_value_get_string(input, "name"), "input");
  EXPECT_STREQ(aimass_client_value_get_string(input, "datatype"), "FP32");
  const aimass_client_value* shape = aimass_client_value_get(input, "shape");
  std::int64_t d0 = 0, d1 = 0;
  ASSERT_TRUE(aimass_client_value_int64(aimass_client_value_at(shape, 0), &d0));
  ASSERT_TRUE(aimass_client_value_int64(aimass_client_value_at(shape, 1), &d1));
  EXPECT_EQ(d0, -1);
  EXPECT_EQ(d1, 4);
  const aimass_client_value* classes = aimass_client_value_get(
      aimass_client_value_get(aimass_client_json_root(raw), "parameters"), "class_names");
  ASSERT_EQ(aimass_client_value_size(classes), 3u);
  EXPECT_STREQ(aimass_client_value_string(aimass_client_value_at(classes, 2), nullptr), "worn");
}

TEST_F(CClientLive, BinaryAndJsonInferAgreeValueForValue) {
  Request binary_request(aimass_client_request_create());
  aimass_client_request_set_id(binary_request.get(), "b1", nullptr);
  Result binary = infer(binary_request.get());
  ASSERT_TRUE(binary);
  EXPECT_STREQ(aimass_client_result_id(binary.get()), "b1");
  EXPECT_STREQ(aimass_client_result_model_name(binary.get()), "pump_state");
  ASSERT_EQ(aimass_client_result_output_count(binary.get()), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(aimass_client_output_binary(aimass_client_result_output(binary.get(), i)));
  }
  checkAnswer(binary.get(), 2);

  Request json_request(aimass_client_request_create());
  aimass_client_request_set_binary(json_request.get(), 0);
  Result plain = infer(json_request.get());
  ASSERT_TRUE(plain);
  EXPECT_EQ(aimass_client_result_id(plain.get()), nullptr);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(aimass_client_output_binary(aimass_client_result_output(plain.get(), i)));
  }
  for (const char* name : {"probabilities", "label", "class"}) {
    const aimass_client_output* b = aimass_client_result_find_output(binary.get(), name);
    const aimass_client_output* j = aimass_client_result_find_output(plain.get(), name);
    EXPECT_EQ(floats(b), floats(j)) << name;
    EXPECT_EQ(int64s(b), int64s(j)) << name;
    EXPECT_EQ(strings(b), strings(j)) << name;
    EXPECT_EQ(aimass_client_output_datatype(b), aimass_client_output_datatype(j)) << name;
  }
}

TEST_F(CClientLive, OutputsComeAsSelectedInTheirOrder) {
  for (int binary : {1, 0}) {
    Request request(aimass_client_request_create());
    aimass_client_request_set_binary(request.get(), binary);
    aimass_client_request_add_output(request.get(), "class", nullptr);
    aimass_client_request_add_output(request.get(), "label", nullptr);
    Result result = infer(request.get(), 1);
    ASSERT_TRUE(result);
    ASSERT_EQ(aimass_client_result_output_count(result.get()), 2u);
    const aimass_client_output* first = aimass_client_result_output(result.get(), 0);
    const aimass_client_output* second = aimass_client_result_output(result.get(), 1);
    EXPECT_STREQ(aimass_client_output_name(first), "class");
    EXPECT_STREQ(aimass_client_output_name(second), "label");
    EXPECT_EQ(aimass_client_output_binary(second), binary);
    EXPECT_EQ(aimass_client_output_rank(second), 1u);
    EXPECT_EQ(aimass_client_output_shape(second)[0], 1);
  }
}

TEST_F(CClientLive, OtherNumericDatatypesConvertExactly) {
  const std::int32_t i32[] = {1, 0, -2, 3};
  const std::int64_t i64[] = {1, 0, -2, 3};
  const double f64[] = {0.5, 0.25, -2.0, 1.0};  // exact in FP32: converted, not refused
  const std::uint8_t flags[] = {1, 0, 1, 1};
  const std::int64_t shape[] = {1, 4};
  struct Case {
    aimass_client_datatype type;
    const void* data;
    std::size_t size;
  };
  for (const Case& c :
       {Case{AIMASS_CLIENT_INT32, i32, sizeof i32}, Case{AIMASS_CLIENT_INT64, i64, sizeof i64},
        Case{AIMASS_CLIENT_FP64, f64, sizeof f64}}) {
    for (int binary : {1, 0}) {
      Request request(aimass_client_request_create());
      aimass_client_request_set_binary(request.get(), binary);
      ASSERT_EQ(aimass_client_request_add_input(request.get(), "input", c.type, shape, 2, c.data,
                                                c.size, nullptr),
                AIMASS_CLIENT_OK);
      aimass_client_result* raw = nullptr;
      Outcome done = outcome([&](aimass_client_error** e) {
        return aimass_client_infer(client_.get(), "pump_state", nullptr, request.get(), &raw, e);
      });
      Result result(raw);
      ASSERT_EQ(done.code, AIMASS_CLIENT_OK)
          << aimass_client_datatype_name(c.type) << ": " << done.message;
      checkAnswer(raw, 1);
    }
  }
  // BOOL reaches the server in both encodings, which reads it and refuses it for FP32 by name.
  for (int binary : {1, 0}) {
    Request request(aimass_client_request_create());
    aimass_client_request_set_binary(request.get(), binary);
    ASSERT_EQ(aimass_client_request_add_input(request.get(), "input", AIMASS_CLIENT_BOOL, shape, 2,
                                              flags, sizeof flags, nullptr),
              AIMASS_CLIENT_OK);
    aimass_client_result* raw = nullptr;
    Outcome refused = outcome([&](aimass_client_error** e) {
      return aimass_client_infer(client_.get(), "pump_state", nullptr, request.get(), &raw, e);
    });
    EXPECT_EQ(refused.status, 400);
    EXPECT_THAT(refused.message,
                HasSubstr("input 'input' has datatype BOOL but the model expects FP32"));
  }
}

TEST_F(CClientLive, ErrorsCarryTheServersStatusAndMessage) {
  Request request(aimass_client_request_create());
  const float row[] = {1, 2, 3, 4};
  const std::int64_t shape[] = {1, 4}, short_shape[] = {1, 3};
  aimass_client_request_add_input(request.get(), "input", AIMASS_CLIENT_FP32, shape, 2, row,
                                  sizeof row, nullptr);
  aimass_client_result* result = nullptr;
  Outcome unknown = outcome([&](aimass_client_error** e) {
    return aimass_client_infer(client_.get(), "nope", nullptr, request.get(), &result, e);
  });
  EXPECT_EQ(unknown.code, AIMASS_CLIENT_HTTP);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.message, "unknown model 'nope'");
  EXPECT_EQ(unknown.body, R"({"error":"unknown model 'nope'"})");

  Request narrow(aimass_client_request_create());
  aimass_client_request_add_input(narrow.get(), "input", AIMASS_CLIENT_FP32, short_shape, 2, row,
                                  12, nullptr);
  Outcome bad = outcome([&](aimass_client_error** e) {
    return aimass_client_infer(client_.get(), "pump_state", nullptr, narrow.get(), &result, e);
  });
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.message, HasSubstr("input"));

  Request text(aimass_client_request_create());
  const char* words[] = {"a", "b", "c", "d"};
  aimass_client_request_add_bytes_input(text.get(), "input", shape, 2, words, nullptr, 4, nullptr);
  Outcome bytes = outcome([&](aimass_client_error** e) {
    return aimass_client_infer(client_.get(), "pump_state", nullptr, text.get(), &result, e);
  });
  EXPECT_EQ(bytes.status, 400);
  EXPECT_THAT(bytes.message, HasSubstr("input"));
  EXPECT_EQ(result, nullptr);

  aimass_client_json* doc = nullptr;
  Outcome no_run = outcome(
      [&](aimass_client_error** e) { return aimass_client_get_run(client_.get(), 999, &doc, e); });
  EXPECT_EQ(no_run.status, 404);
  EXPECT_EQ(doc, nullptr);
}

TEST_F(CClientLive, RegistryDatasetsAndRuns) {
  Json models = json(&aimass_client_list_models);
  const aimass_client_value* list = aimass_client_json_root(models.get());
  ASSERT_EQ(aimass_client_value_size(list), 1u);
  const aimass_client_value* summary = aimass_client_value_at(list, 0);
  EXPECT_STREQ(aimass_client_value_get_string(summary, "model"), "pump_state");
  EXPECT_EQ(aimass_client_value_get_int64(summary, "versions", 0), 2);
  EXPECT_EQ(aimass_client_value_get_int64(summary, "latest", 0), 2);

  aimass_client_json* raw = nullptr;
  ASSERT_EQ(aimass_client_get_model(client_.get(), "pump_state", &raw, nullptr), AIMASS_CLIENT_OK);
  Json model(raw);
  const aimass_client_value* versions =
      aimass_client_value_get(aimass_client_json_root(raw), "versions");
  ASSERT_EQ(aimass_client_value_size(versions), 2u);
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_value_at(versions, 1), "version", 0), 2);

  ASSERT_EQ(aimass_client_get_model_version(client_.get(), "pump_state", 1, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json version(raw);
  const aimass_client_value* v = aimass_client_json_root(raw);
  EXPECT_STREQ(aimass_client_value_get_string(v, "type"), "model.softmax");
  EXPECT_EQ(std::string(aimass_client_value_get_string(v, "sha256")).size(), 64u);
  double accuracy = -1;
  EXPECT_TRUE(aimass_client_value_double(
      aimass_client_value_get(aimass_client_value_get(v, "metrics"), "val_accuracy"), &accuracy));

  Json datasets = json(&aimass_client_list_datasets);
  const aimass_client_value* pumps =
      aimass_client_value_at(aimass_client_json_root(datasets.get()), 0);
  EXPECT_STREQ(aimass_client_value_get_string(pumps, "name"), "pumps");
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_value_get(pumps, "latest"), "rows", 0),
            300);
  ASSERT_EQ(aimass_client_get_dataset(client_.get(), "pumps", &raw, nullptr), AIMASS_CLIENT_OK);
  Json dataset(raw);
  EXPECT_EQ(
      aimass_client_value_size(aimass_client_value_get(aimass_client_json_root(raw), "versions")),
      1u);

  ASSERT_EQ(aimass_client_list_runs(client_.get(), nullptr, nullptr, nullptr, nullptr, 0, -1, &raw,
                                    nullptr),
            AIMASS_CLIENT_OK);
  Json runs(raw);
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_json_root(raw), "matched", 0), 2);
  ASSERT_EQ(aimass_client_list_runs(client_.get(), nullptr, "val_accuracy>-1", "finished", "id", 1,
                                    1, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json limited(raw);
  const aimass_client_value* first_run =
      aimass_client_value_at(aimass_client_value_get(aimass_client_json_root(raw), "runs"), 0);
  EXPECT_EQ(aimass_client_value_size(aimass_client_value_get(aimass_client_json_root(raw), "runs")),
            1u);
  EXPECT_EQ(aimass_client_value_get_int64(first_run, "id", 0), 2) << "sorted by id, descending";

  ASSERT_EQ(aimass_client_get_run(client_.get(), 1, &raw, nullptr), AIMASS_CLIENT_OK);
  Json run(raw);
  const aimass_client_value* r = aimass_client_json_root(raw);
  EXPECT_STREQ(aimass_client_value_get_string(r, "status"), "finished");
  EXPECT_STREQ(aimass_client_value_get_string(aimass_client_value_get(r, "params"), "epochs"), "2");
  const aimass_client_value* metric =
      aimass_client_value_get(aimass_client_value_get(r, "metrics"), "val_accuracy");
  std::set<std::string> keys;
  for (std::size_t i = 0; i < aimass_client_value_size(metric); ++i) {
    keys.insert(aimass_client_value_key_at(metric, i));
  }
  EXPECT_EQ(keys, (std::set<std::string>{"last", "last_step", "min", "max", "points"}));

  ASSERT_EQ(
      aimass_client_request_json(client_.get(), "GET", "/api/v1/models", nullptr, &raw, nullptr),
      AIMASS_CLIENT_OK);
  Json generic(raw);
  EXPECT_STREQ(aimass_client_json_text(raw), aimass_client_json_text(models.get()));
}

TEST_F(CClientLive, PromoteRollbackAndTags) {
  aimass_client_json* raw = nullptr;
  ASSERT_EQ(aimass_client_promote(client_.get(), "pump_state", "champion", 1, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json first(raw);
  EXPECT_STREQ(aimass_client_value_get_string(aimass_client_json_root(raw), "alias"), "champion");
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_json_root(raw), "version", 0), 1);
  ASSERT_EQ(aimass_client_promote(client_.get(), "pump_state", "champion", 2, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json second(raw);
  const aimass_client_value* history =
      aimass_client_value_get(aimass_client_json_root(raw), "history");
  std::int64_t last = 0;
  ASSERT_TRUE(aimass_client_value_int64(
      aimass_client_value_at(history, aimass_client_value_size(history) - 1), &last));
  EXPECT_EQ(last, 1);
  ASSERT_EQ(aimass_client_rollback(client_.get(), "pump_state", "champion", &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json back(raw);
  EXPECT_EQ(aimass_client_value_get_int64(aimass_client_json_root(raw), "version", 0), 1);

  const char* keys[] = {"stage", "owner"};
  const char* values[] = {"qa", "ops"};
  ASSERT_EQ(aimass_client_update_tags(client_.get(), "pump_state", 2, keys, values, 2, nullptr, 0,
                                      &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json tagged(raw);
  const aimass_client_value* tags = aimass_client_value_get(aimass_client_json_root(raw), "tags");
  EXPECT_EQ(aimass_client_value_size(tags), 2u);
  EXPECT_STREQ(aimass_client_value_get_string(tags, "owner"), "ops");
  const char* gone[] = {"owner"};
  ASSERT_EQ(aimass_client_update_tags(client_.get(), "pump_state", 2, nullptr, nullptr, 0, gone, 1,
                                      &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json removed(raw);
  tags = aimass_client_value_get(aimass_client_json_root(raw), "tags");
  EXPECT_EQ(aimass_client_value_size(tags), 1u);
  EXPECT_STREQ(aimass_client_value_get_string(tags, "stage"), "qa");
  const char* a[] = {"a"};
  const char* b[] = {"b"};
  ASSERT_EQ(aimass_client_set_tags(client_.get(), "pump_state", 2, a, b, 1, &raw, nullptr),
            AIMASS_CLIENT_OK);
  Json replaced(raw);
  tags = aimass_client_value_get(aimass_client_json_root(raw), "tags");
  EXPECT_EQ(aimass_client_value_size(tags), 1u);
  EXPECT_STREQ(aimass_client_value_get_string(tags, "a"), "b");

  Outcome missing = outcome([&](aimass_client_error** e) {
    return aimass_client_promote(client_.get(), "pump_state", "champion", 9, &raw, e);
  });
  EXPECT_EQ(missing.status, 404);
}

TEST_F(CClientLive, TheQuickstartExampleInfersOnce) {
  aimass::testing::TempDir dir("aimass-cclient-example");
  auto ran = aimass::testing::runProgram(AIMASS_QUICKSTART_C, dir.path(),
                                         {"--url", server_->url(), "--model", "pump_state"});
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_THAT(ran.out, HasSubstr("pump_state version "));
  EXPECT_THAT(ran.out, HasSubstr(" (request quickstart):\n"));
  EXPECT_THAT(ran.out, HasSubstr("  probabilities FP32 [1, 3]: "));
  auto failed = aimass::testing::runProgram(AIMASS_QUICKSTART_C, dir.path(),
                                            {"--url", server_->url(), "--model", "nope"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_THAT(failed.err, HasSubstr("error: HTTP 404: unknown model 'nope'"));
}

// ---- mutual TLS ---------------------------------------------------------------------------

using CClientTls = LiveSuite<MutualTls>;

TEST_F(CClientTls, ACaFileAndAClientCertificateWork) {
  Options options(aimass_client_options_create());
  aimass_client_options_set_ca_file(options.get(), server_->tls().ca.c_str());
  aimass_client_options_set_client_certificate(options.get(), server_->tls().client_cert.c_str(),
                                               server_->tls().client_key.c_str());
  Client client = makeClient(server_->url(), options.get());
  int ready = 0;
  Outcome probed = outcome(
      [&](aimass_client_error** e) { return aimass_client_ready(client.get(), &ready, e); });
  ASSERT_EQ(probed.code, AIMASS_CLIENT_OK) << probed.message;
  EXPECT_EQ(ready, 1);
  Request request(aimass_client_request_create());
  aimass_client_request_add_input(request.get(), "input", AIMASS_CLIENT_FP32, kRowsShape, 2, kRows,
                                  sizeof kRows, nullptr);
  aimass_client_result* raw = nullptr;
  ASSERT_EQ(aimass_client_infer(client.get(), "pump_state", nullptr, request.get(), &raw, nullptr),
            AIMASS_CLIENT_OK);
  Result result(raw);
  EXPECT_EQ(
      aimass_client_output_element_count(aimass_client_result_find_output(raw, "probabilities")),
      6u);
}

TEST_F(CClientTls, WithoutAClientCertificateTheServerRefuses) {
  Options options(aimass_client_options_create());
  aimass_client_options_set_ca_file(options.get(), server_->tls().ca.c_str());
  Client client = makeClient(server_->url(), options.get());
  aimass_client_json* doc = nullptr;
  Outcome refused = outcome([&](aimass_client_error** e) {
    return aimass_client_server_metadata(client.get(), &doc, e);
  });
  EXPECT_TRUE(refused.code == AIMASS_CLIENT_TLS || refused.code == AIMASS_CLIENT_CONNECTION)
      << refused.code << ": " << refused.message;
  EXPECT_EQ(refused.status, 0);
  EXPECT_EQ(doc, nullptr);
}

TEST_F(CClientTls, AnUnknownCaIsRefused) {
  Options options(aimass_client_options_create());
  aimass_client_options_set_client_certificate(options.get(), server_->tls().client_cert.c_str(),
                                               server_->tls().client_key.c_str());
  Client client = makeClient(server_->url(), options.get());
  int live = -1;
  Outcome refused =
      outcome([&](aimass_client_error** e) { return aimass_client_live(client.get(), &live, e); });
  EXPECT_EQ(refused.code, AIMASS_CLIENT_TLS) << refused.message;
  EXPECT_EQ(refused.status, 0);
  EXPECT_THAT(refused.message, HasSubstr("TLS with https://127.0.0.1:"));
}

}  // namespace
}  // namespace aimass::client::testing
