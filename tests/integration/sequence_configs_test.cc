// SPDX-License-Identifier: Apache-2.0
// configs/forecast.yaml and configs/text_classifier.yaml as a user runs them: validated, then
// trained, scored by job.evaluate, registered in a storage.fs store and served by frontend.http,
// whose answers over HTTP are checked against the data. The forecast runs on a series that
// scripts/make-series.py writes into a temporary folder first.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "oip_json.h"
#include "scoped_env.h"
#include "shell.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const fs::path kSource = fs::path(AIMASS_SOURCE_DIR);
const fs::path kForecast = kSource / "configs" / "forecast.yaml";
const fs::path kTextClassifier = kSource / "configs" / "text_classifier.yaml";

using aimass::testing::inferOutput;
using aimass::testing::parseObject;

/// The number after `key` in the first line of `log` holding `marker` (NaN when missing).
double figure(const std::string& log, const std::string& marker, const std::string& key) {
  const std::size_t line = log.find(marker);
  if (line == std::string::npos) {
    return std::nan("");
  }
  const std::size_t at = log.find(key, line);
  if (at == std::string::npos || at > log.find('\n', line)) {
    return std::nan("");
  }
  return std::stod(log.substr(at + key.size()));
}

/// The lines of a CSV file without quoting, after its header, split at every comma.
std::vector<std::vector<std::string>> readCsv(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream cut(line);
    for (std::string cell; std::getline(cut, cell, ',');) {
      cells.push_back(cell);
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

/// `aimass validate CONFIG` accepts the file.
void expectValid(const fs::path& config) {
  aimass::testing::TempDir dir("aimass-sequence-validate");
  auto result = aimass::testing::runAimass(dir.path(), {"validate", config.string()});
  EXPECT_EQ(result.code, 0) << result.out << result.err;
  EXPECT_THAT(result.out, HasSubstr(": ok (")) << result.out << result.err;
}

TEST(ForecastConfig, Validates) { expectValid(kForecast); }

TEST(ForecastConfig, BeatsTheSeasonalBaselineAndForecastsOverHttp) {
  aimass::testing::TempDir dir("aimass-forecast");
  const fs::path series = dir.path() / "load.csv";
  auto made = aimass::testing::runShell(
      dir.path(), "/usr/bin/env python3 '" + (kSource / "scripts" / "make-series.py").string() +
                      "' --scaled --output '" + series.string() + "'");
  ASSERT_EQ(made.code, 0) << "scripts/make-series.py failed (scripts/install-deps.sh installs "
                              "python3): "
                           << made.output;
  aimass::testing::ScopedEnv series_env("AIMASS_SERIES", series.c_str());
  aimass::testing::ScopedEnv store("AIMASS_STORE", (dir.path() / "store").c_str());
  aimass::testing::ScopedEnv port_env("AIMASS_HTTP_PORT", "0");
  aimass::testing::ScopedEnv threads("AIMASS_THREADS", "1");
  aimass::testing::AimassServer server(kForecast.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("registered load version 1")) << server.err();
  // The GRU's test error is below the naive-seasonal forecast's (same hour the day before).
  const double mae = figure(server.err(), "evaluate load: ", "mae=");
  const double baseline = figure(server.err(), "evaluate load: ", "baseline_mae=");
  ASSERT_TRUE(std::isfinite(mae) && std::isfinite(baseline)) << server.err();
  EXPECT_LT(mae, baseline) << server.err();

  // The last 72 hours of the series: a window of 48 [load, temperature] steps and the 24 loads
  // that followed (all in the test range, which the model never trained on).
  const auto rows = readCsv(series);
  ASSERT_EQ(rows.size(), 1440u);
  std::string data;
  for (std::size_t r = rows.size() - 72; r < rows.size() - 24; ++r) {
    data += (data.empty() ? "" : ", ") + rows[r][1] + ", " + rows[r][2];
  }
  auto reply = aimass::testing::httpCall(
      static_cast<std::uint16_t>(port), "POST", "/v2/models/load/infer",
      R"({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 48, 2], "data": [)" +
          data + "]}]}");
  ASSERT_EQ(reply.status, 200) << reply.body << "\n" << server.err();
  Poco::JSON::Object::Ptr prediction = inferOutput(parseObject(reply.body), "prediction");
  ASSERT_TRUE(prediction) << reply.body;
  ASSERT_EQ(prediction->getArray("shape")->size(), 2u) << reply.body;
  EXPECT_EQ(prediction->getArray("shape")->getElement<std::int64_t>(0), 1) << reply.body;
  EXPECT_EQ(prediction->getArray("shape")->getElement<std::int64_t>(1), 24) << reply.body;
  Poco::JSON::Array::Ptr values = prediction->getArray("data");
  ASSERT_EQ(values->size(), 24u) << reply.body;
  double error = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    const double value = values->getElement<double>(static_cast<unsigned>(h));
    ASSERT_TRUE(std::isfinite(value)) << reply.body;
    error += std::fabs(value - std::stod(rows[rows.size() - 24 + h][1])) / 24;
  }
  // Loads lie between about 0.75 and 1.6 (hundreds of MW) with a daily swing of 0.4; the test
  // MAE is near 0.06, so a forecast of this day within 0.15 on average is one that learnt it.
  EXPECT_LT(error, 0.15) << reply.body;
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST(TextClassifierConfig, Validates) { expectValid(kTextClassifier); }

TEST(TextClassifierConfig, TellsTheLanguageOfTestPhrasesOverHttp) {
  aimass::testing::TempDir dir("aimass-text-classifier");
  aimass::testing::ScopedEnv store("AIMASS_STORE", (dir.path() / "store").c_str());
  aimass::testing::ScopedEnv port_env("AIMASS_HTTP_PORT", "0");
  aimass::testing::ScopedEnv threads("AIMASS_THREADS", "1");
  aimass::testing::AimassServer server(kTextClassifier.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("registered language version 1")) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("macro_f1=")) << server.err();
  // Validation accuracy is scored with each padded row's length, as the test accuracy is.
  EXPECT_GT(figure(server.err(), "epoch 10/10: ", "val_accuracy="), 0.9) << server.err();
  const double accuracy = figure(server.err(), "evaluate language: ", "accuracy=");
  EXPECT_GT(accuracy, 0.9) << server.err();  // four classes: chance is 0.25

  // The first 40 test phrases in one request; the served classes match their labels.
  const auto rows = readCsv(kSource / "configs" / "data" / "languages_test.csv");
  ASSERT_GE(rows.size(), 40u);
  std::string texts;
  for (std::size_t r = 0; r < 40; ++r) {
    texts += (texts.empty() ? "\"" : ", \"") + rows[r][0] + "\"";
  }
  auto reply = aimass::testing::httpCall(
      static_cast<std::uint16_t>(port), "POST", "/v2/models/language/infer",
      R"({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [40], "data": [)" + texts +
          "]}]}");
  ASSERT_EQ(reply.status, 200) << reply.body << "\n" << server.err();
  Poco::JSON::Object::Ptr answer = parseObject(reply.body);
  Poco::JSON::Object::Ptr classes = inferOutput(answer, "class");
  Poco::JSON::Object::Ptr probabilities = inferOutput(answer, "probabilities");
  ASSERT_TRUE(classes && probabilities) << reply.body;
  EXPECT_EQ(probabilities->getArray("shape")->getElement<std::int64_t>(1), 4) << reply.body;
  ASSERT_EQ(classes->getArray("data")->size(), 40u) << reply.body;
  int right = 0;
  for (std::size_t r = 0; r < 40; ++r) {
    right += classes->getArray("data")->getElement<std::string>(static_cast<unsigned>(r)) ==
                     rows[r][1]
                 ? 1
                 : 0;
  }
  EXPECT_GE(right, 34) << reply.body;  // 85%; chance would give about 10
  EXPECT_EQ(server.stop(), 0) << server.err();
}

}  // namespace
