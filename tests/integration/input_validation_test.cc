// SPDX-License-Identifier: Apache-2.0
// Input validation against the training-data profile, end to end over real sockets: `aimass run`
// trains a classifier on the shipped pump CSV (configs/csv_classifier.yaml's shape), which saves
// and registers the profile of its training rows; `aimass models show` prints it; a second
// process serves the registered version with input_validation reject (a good row answers 200,
// a bad one 400 naming the feature), and the training graph itself serves its model with
// warn (200, counted in /metrics). A server with outlier_scores on answers each row's
// outlier_score over OIP (all outputs, only the score, binary) and MLflow, and counts the
// absurd row in /metrics.
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using ::testing::HasSubstr;

/// One OIP request of one pump reading: the four numbers (pressure, temperature, vibration,
/// flow; "null" for a gap) and the vendor.
std::string reading(const std::string& numbers, const std::string& vendor) {
  return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,4],"data":[)" + numbers +
         R"(]},{"name":"vendor","datatype":"BYTES","shape":[1],"data":[")" + vendor + R"("]}]})";
}

const std::string kGood = reading("512.3, 61.2, null, 218.0", "Castell");
const std::string kTooHot = reading("512.3, 9000, 0.04, 218.0", "Castell");
const std::string kStrangeVendor = reading("512.3, 61.2, 0.04, 218.0", "Zeta");

class InputValidationTest : public ::testing::Test {
 protected:
  /// The training graph of configs/csv_classifier.yaml on the shipped CSV, with a store in the
  /// temporary folder, and `serving` (YAML lines) added.
  fs::path writeTrainingConfig(const std::string& serving) {
    const fs::path path = temp_.path() / "train.yaml";
    std::ofstream(path)
        << "nodes:\n"
           "  store: {type: storage.fs, path: "
        << store().string()
        << "}\n"
           "  pumps: {type: dataset.csv, path: "
        << (fs::path(AIMASS_SOURCE_DIR) / "configs/data/pumps_field.csv").string()
        << ", label: state}\n"
           "  fill_gaps: {type: transform.impute, strategy: median, indicator: true}\n"
           "  vendor_code: {type: transform.onehot, columns: [vendor], unknown: zeros}\n"
           "  scale: {type: transform.standardize}\n"
           "  pump_state: {type: model.softmax, preprocess: [fill_gaps, vendor_code, scale]}\n"
           "  sgd: {type: optimizer.sgd, learning_rate: 0.05, momentum: 0.9}\n"
           "  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd,\n"
           "          epochs: 3, batch_size: 32, seed: 7, validation_fraction: 0.2,\n"
           "          storage: store}\n"
        << serving;
    return path;
  }
  /// A graph serving the registered pump_state with `settings` (its `models:` entry) over
  /// frontend.http on a free port.
  fs::path writeServeConfig(const std::string& settings) {
    const fs::path path = temp_.path() / "serve.yaml";
    std::ofstream(path) << "nodes:\n"
                           "  store: {type: storage.fs, path: "
                        << store().string()
                        << "}\n"
                           "  serving: {type: serving.runtime, repository: store, "
                           "load: [pump_state],\n"
                           "            models: {pump_state: {"
                        << settings
                        << "}}}\n"
                           "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
    return path;
  }
  fs::path store() const { return temp_.path() / "store"; }

  aimass::testing::TempDir temp_;
};

TEST_F(InputValidationTest, TrainedProfileIsShownAndRejectRefusesWhatTrainingNeverSaw) {
  auto trained =
      aimass::testing::runAimass(temp_.path(), {"run", writeTrainingConfig("").string()});
  ASSERT_EQ(trained.code, 0) << trained.err;
  // 600 rows, 20% held out for validation: the profile is of the 480 training rows.
  EXPECT_THAT(trained.err, HasSubstr("profiled 480 training rows of 5 features"));

  auto shown = aimass::testing::runAimass(
      temp_.path(), {"models", "show", "pump_state/1", "--storage", "fs://" + store().string()});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("(480 training rows)"));
  EXPECT_THAT(shown.out, HasSubstr("FEATURE        TYPE    MISSING  MIN"));
  EXPECT_THAT(shown.out, ::testing::ContainsRegex("temperature_c +number +[0-9.]+% +[0-9.]+"));
  EXPECT_THAT(shown.out, HasSubstr("vendor   category  "));
  EXPECT_THAT(shown.out, HasSubstr("4 seen: Aquaflow, Brenner, Castell, Duramax"));

  AimassServer server(writeServeConfig("input_validation: reject").string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  const auto p = static_cast<std::uint16_t>(port);
  HttpReply good = httpCall(p, "POST", "/v2/models/pump_state/infer", kGood);
  EXPECT_EQ(good.status, 200) << good.body << "\n(a gap where training had gaps is fine)";
  HttpReply hot = httpCall(p, "POST", "/v2/models/pump_state/infer", kTooHot);
  EXPECT_EQ(hot.status, 400) << hot.body;
  EXPECT_THAT(hot.body, HasSubstr("row 0, feature 'temperature_c': out_of_range: 9000"));
  HttpReply stranger = httpCall(p, "POST", "/v2/models/pump_state/infer", kStrangeVendor);
  EXPECT_EQ(stranger.status, 400) << stranger.body;
  EXPECT_THAT(stranger.body, HasSubstr("feature 'vendor': unseen_category: 'Zeta'"));
  HttpReply metrics = httpCall(p, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_input_validation_flagged_total{model=\"pump_state\","
                                      "version=\"1\",problem=\"out_of_range\",action=\"rejected\"}"
                                      " 1"));
  EXPECT_EQ(server.stop(), 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("checks requests against its training-data profile "
                                      "(input_validation reject, input_margin 0.1)"));
}

/// The "outlier_score" data of an OIP answer, and the names of its outputs in order.
std::pair<std::vector<double>, std::vector<std::string>> outlierScores(const std::string& body) {
  Poco::JSON::Parser parser;
  auto answer = parser.parse(body).extract<Poco::JSON::Object::Ptr>();
  std::pair<std::vector<double>, std::vector<std::string>> out;
  auto outputs = answer->getArray("outputs");
  for (std::size_t i = 0; i < outputs->size(); ++i) {
    auto output = outputs->getObject(static_cast<unsigned>(i));
    out.second.push_back(output->getValue<std::string>("name"));
    if (out.second.back() == "outlier_score") {
      auto data = output->getArray("data");
      for (std::size_t j = 0; j < data->size(); ++j) {
        out.first.push_back(data->getElement<double>(static_cast<unsigned>(j)));
      }
    }
  }
  return out;
}

TEST_F(InputValidationTest, OutlierScoresAreAnsweredAndTheAbsurdRowIsCounted) {
  auto trained =
      aimass::testing::runAimass(temp_.path(), {"run", writeTrainingConfig("").string()});
  ASSERT_EQ(trained.code, 0) << trained.err;
  AimassServer server(writeServeConfig("outlier_scores: on").string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  const auto p = static_cast<std::uint16_t>(port);
  const std::string path = "/v2/models/pump_state/infer";

  HttpReply metadata = httpCall(p, "GET", "/v2/models/pump_state");
  EXPECT_THAT(metadata.body, HasSubstr(R"({"name":"outlier_score","datatype":"FP32","shape":[-1]})"));

  // A typical reading (with a gap) and an absurd one, in one request.
  const std::string two_rows =
      R"({"inputs":[{"name":"input","datatype":"FP32","shape":[2,4],)"
      R"("data":[512.3, 61.2, null, 218.0, 512.3, 9000, 0.04, 218.0]},)"
      R"({"name":"vendor","datatype":"BYTES","shape":[2],"data":["Castell","Castell"]}])";
  HttpReply both = httpCall(p, "POST", path, two_rows + "}");
  ASSERT_EQ(both.status, 200) << both.body;
  auto [scores, names] = outlierScores(both.body);
  ASSERT_EQ(scores.size(), 2u) << both.body;
  EXPECT_GT(scores[1], 10 * scores[0]) << both.body;
  EXPECT_THAT(names, ::testing::Contains("label")) << "the model's own outputs are still there";

  HttpReply only = httpCall(p, "POST", path, two_rows + R"(,"outputs":[{"name":"outlier_score"}]})");
  ASSERT_EQ(only.status, 200) << only.body;
  auto [only_scores, only_names] = outlierScores(only.body);
  EXPECT_EQ(only_names, std::vector<std::string>{"outlier_score"}) << only.body;
  EXPECT_EQ(only_scores, scores);

  HttpReply binary = httpCall(
      p, "POST", path,
      two_rows + R"(,"outputs":[{"name":"outlier_score","parameters":{"binary_data":true}}]})");
  ASSERT_EQ(binary.status, 200) << binary.body;
  EXPECT_THAT(binary.body, HasSubstr(R"("name":"outlier_score","datatype":"FP32","shape":[2],)"
                                     R"("parameters":{"binary_data_size":8}})"));

  HttpReply mlflow = httpCall(
      p, "POST", "/invocations",
      R"({"dataframe_split":{"columns":["pressure_kpa","temperature_c","vibration_g",)"
      R"("flow_lpm","vendor"],"data":[[512.3, 9000, 0.04, 218.0, "Castell"]]}})");
  ASSERT_EQ(mlflow.status, 200) << mlflow.body;
  EXPECT_THAT(mlflow.body, HasSubstr(R"("outlier_score":)")) << mlflow.body;

  // Rows scored: 2 + 2 + 2 + 1; above the threshold: the absurd row each time.
  HttpReply metrics = httpCall(p, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_outlier_scored_rows_total{model=\"pump_state\","
                                      "version=\"1\"} 7"));
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_outliers_total{model=\"pump_state\",version=\"1\"} 4"));
  EXPECT_EQ(server.stop(), 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("scores the rows of its 'input' against its training data"));
}

TEST_F(InputValidationTest, WarnAnswersLogsAndCountsInMetrics) {
  // The graph trains and serves its model itself, with the node-wide policy warn.
  const fs::path config = writeTrainingConfig(
      "  serving: {type: serving.runtime, input_validation: warn, input_margin: 0.5}\n"
      "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n");
  AimassServer server(config.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  const auto p = static_cast<std::uint16_t>(port);
  HttpReply hot = httpCall(p, "POST", "/v2/models/pump_state/infer", kTooHot);
  EXPECT_EQ(hot.status, 200) << hot.body;
  HttpReply good = httpCall(p, "POST", "/v2/models/pump_state/infer", kGood);
  EXPECT_EQ(good.status, 200) << good.body;
  HttpReply metrics = httpCall(p, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_input_validation_flagged_total{model=\"pump_state\","
                                      "version=\"1\",problem=\"out_of_range\",action=\"warned\"}"
                                      " 1"));
  EXPECT_THAT(metrics.body, HasSubstr("problem=\"unseen_category\",action=\"warned\"} 0"));
  EXPECT_EQ(server.stop(), 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("row 0, feature 'temperature_c': out_of_range: 9000"));
  EXPECT_THAT(server.err(), HasSubstr("answered: policy warn; 1 such requests"));
}

}  // namespace
