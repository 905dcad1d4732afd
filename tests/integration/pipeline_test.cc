// SPDX-License-Identifier: Apache-2.0
// The defect issue 17 started from, as a user meets it: a classifier trained on a CSV whose
// columns have very different scales, a text column and gaps. With the preprocessing in the
// model (impute, one-hot, standardise), `aimass run` trains it, job.evaluate scores the test
// file, and the served model, sent the test file's raw rows over OIP and over MLflow (columns by
// name, in another order, gaps as null), answers exactly what the evaluation counted. A second
// process serves the registered version from the store and answers the same.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;

/// One row of the made-up pump log: three readings in very different units, the vendor, the
/// state. A missing reading is NaN, a missing vendor empty.
struct PumpRow {
  double pressure_kpa = 0;
  double temperature_c = 0;
  double vibration_g = 0;
  std::string vendor;
  std::string state;
};

const std::vector<std::string> kStates = {"healthy", "worn", "failing"};
const std::vector<std::string> kVendors = {"acme", "borg", "cyan"};

/// Rows whose state shows in every reading (each on its own scale) and in the vendor (borg
/// pumps wear out more often); about one cell in twelve is missing. Seeded: the same rows on
/// every run.
std::vector<PumpRow> pumpRows(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<PumpRow> rows;
  for (std::size_t i = 0; i < n; ++i) {
    PumpRow row;
    const std::size_t vendor = gen() % 3;
    std::size_t state = gen() % 3;
    if (vendor == 1 && unit(gen) < 0.5) {
      state = 2;
    }
    const double s = static_cast<double>(state);
    row.pressure_kpa = 420.0 - 35.0 * s + 18.0 * noise(gen);
    row.temperature_c = 55.0 + 6.0 * s + 2.5 * noise(gen);
    row.vibration_g = 0.020 + 0.012 * s + 0.004 * noise(gen);
    row.vendor = kVendors[vendor];
    row.state = kStates[state];
    const double gap = unit(gen);
    if (gap < 0.03) {
      row.pressure_kpa = NAN;
    } else if (gap < 0.06) {
      row.vibration_g = NAN;
    } else if (gap < 0.08) {
      row.vendor.clear();
    }
    rows.push_back(row);
  }
  return rows;
}

std::string cell(double v) {
  if (std::isnan(v)) {
    return "";
  }
  std::ostringstream out;
  out.precision(9);
  out << v;
  return out.str();
}

void writeCsv(const fs::path& path, const std::vector<PumpRow>& rows) {
  std::ofstream out(path);
  out << "pressure_kpa,vendor,temperature_c,vibration_g,state\n";
  for (const auto& r : rows) {
    out << cell(r.pressure_kpa) << ',' << r.vendor << ',' << cell(r.temperature_c) << ','
        << cell(r.vibration_g) << ',' << r.state << '\n';
  }
}

std::string json(double v) { return std::isnan(v) ? "null" : cell(v); }

/// The test rows as one OIP request: the numbers as the FP32 block "input" (in the file's column
/// order, gaps as null), the vendor as BYTES.
std::string oipRequest(const std::vector<PumpRow>& rows) {
  std::string numbers, vendors;
  for (const auto& r : rows) {
    numbers += (numbers.empty() ? "" : ",") + json(r.pressure_kpa) + "," + json(r.temperature_c) +
               "," + json(r.vibration_g);
    vendors += (vendors.empty() ? "\"" : ",\"") + r.vendor + "\"";
  }
  const std::string n = std::to_string(rows.size());
  return R"({"inputs":[{"name":"input","datatype":"FP32","shape":[)" + n + R"(,3],"data":[)" +
         numbers + R"(]},{"name":"vendor","datatype":"BYTES","shape":[)" + n + R"(],"data":[)" +
         vendors + "]}]}";
}

/// The test rows as MLflow's dataframe_split, columns by name in another order than the file's.
std::string mlflowRequest(const std::vector<PumpRow>& rows) {
  std::string data;
  for (const auto& r : rows) {
    data += std::string(data.empty() ? "" : ",") + "[" + json(r.vibration_g) + ",\"" + r.vendor +
            "\"," + json(r.temperature_c) + "," + json(r.pressure_kpa) + "]";
  }
  return R"({"dataframe_split":{"columns":["vibration_g","vendor","temperature_c","pressure_kpa"],)"
         R"("data":[)" +
         data + "]}}";
}

Poco::JSON::Object::Ptr parse(const std::string& body) {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

/// The "class" output of an OIP answer: each row's state.
std::vector<std::string> oipClasses(const std::string& body) {
  std::vector<std::string> out;
  auto outputs = parse(body)->getArray("outputs");
  for (unsigned i = 0; outputs && i < outputs->size(); ++i) {
    if (outputs->getObject(i)->getValue<std::string>("name") == "class") {
      auto data = outputs->getObject(i)->getArray("data");
      for (unsigned k = 0; k < data->size(); ++k) {
        out.push_back(data->getElement<std::string>(k));
      }
    }
  }
  return out;
}

/// The "class" of each row of an MLflow answer ({"predictions": [{"class": ..}, ..]} or
/// {"predictions": {"class": [..]}}).
std::vector<std::string> mlflowClasses(const std::string& body) {
  std::vector<std::string> out;
  auto object = parse(body);
  if (auto list = object->getArray("predictions")) {
    for (unsigned i = 0; i < list->size(); ++i) {
      out.push_back(list->getObject(i)->getValue<std::string>("class"));
    }
  } else if (auto columns = object->getObject("predictions")) {
    auto classes = columns->getArray("class");
    for (unsigned i = 0; classes && i < classes->size(); ++i) {
      out.push_back(classes->getElement<std::string>(i));
    }
  }
  return out;
}

double accuracy(const std::vector<std::string>& classes, const std::vector<PumpRow>& rows) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < rows.size() && i < classes.size(); ++i) {
    right += classes[i] == rows[i].state ? 1 : 0;
  }
  return static_cast<double>(right) / static_cast<double>(rows.size());
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty()) << "cannot make a temporary folder";
    test_rows_ = pumpRows(240, 2);
    writeCsv(temp_.path() / "train.csv", pumpRows(900, 1));
    writeCsv(temp_.path() / "test.csv", test_rows_);
  }

  /// A config reading the two files; `model` is the model's node (with its preprocessing).
  fs::path writeConfig(const std::string& model) {
    const fs::path path = temp_.path() / "pumps.yaml";
    std::ofstream(path) << "nodes:\n"
                           "  store: {type: storage.sqlite, path: "
                        << (temp_.path() / "store.db").string()
                        << "}\n"
                           "  train_rows: {type: dataset.csv, path: train.csv, label: state}\n"
                           "  test_rows: {type: dataset.csv, path: test.csv, label: state}\n"
                           "  fill: {type: transform.impute, strategy: median, indicator: true}\n"
                           "  vendors: {type: transform.onehot, unknown: zeros}\n"
                           "  scale: {type: transform.standardize}\n"
                        << model
                        << "  sgd: {type: optimizer.sgd, learning_rate: 0.05, momentum: 0.9}\n"
                           "  train: {type: job.train, model: pump_state, dataset: train_rows,\n"
                           "          optimizer: sgd, epochs: 25, batch_size: 32, seed: 7,\n"
                           "          validation_fraction: 0.2, storage: store}\n"
                           "  score: {type: job.evaluate, model: pump_state, dataset: test_rows,\n"
                           "          storage: store}\n"
                           "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
    return path;
  }

  aimass::testing::TempDir temp_;
  std::vector<PumpRow> test_rows_;
};

TEST_F(PipelineTest, ServedRawRowsGetWhatTheEvaluationCounted) {
  const fs::path config = writeConfig(
      "  pump_state: {type: model.softmax, preprocess: [fill, vendors, scale]}\n");
  AimassServer server(config.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  const auto p = static_cast<std::uint16_t>(port);
  std::smatch found;
  const std::string log = server.err();
  ASSERT_TRUE(std::regex_search(log, found, std::regex(" accuracy=([0-9.]+) macro_f1"))) << log;
  const double evaluated = std::stod(found[1]);
  EXPECT_GT(evaluated, 0.8) << "the readings tell the states apart once scaled";
  EXPECT_THAT(log, ::testing::HasSubstr("registered pump_state version 1"));

  // The served model takes the raw columns: the block of numbers, named, and the vendor.
  HttpReply metadata = httpCall(p, "GET", "/v2/models/pump_state");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  EXPECT_THAT(metadata.body, ::testing::HasSubstr(
                                 R"("columns":["pressure_kpa","temperature_c","vibration_g"])"));
  EXPECT_THAT(metadata.body, ::testing::HasSubstr(R"("name":"vendor","datatype":"BYTES")"));

  HttpReply oip = httpCall(p, "POST", "/v2/models/pump_state/infer", oipRequest(test_rows_));
  ASSERT_EQ(oip.status, 200) << oip.body;
  const std::vector<std::string> labels = oipClasses(oip.body);
  ASSERT_EQ(labels.size(), test_rows_.size()) << oip.body;
  EXPECT_NEAR(accuracy(labels, test_rows_), evaluated, 1e-4)
      << "serving answers what job.evaluate counted on the same raw rows";

  HttpReply mlflow = httpCall(p, "POST", "/invocations", mlflowRequest(test_rows_));
  ASSERT_EQ(mlflow.status, 200) << mlflow.body;
  EXPECT_EQ(mlflowClasses(mlflow.body), labels) << mlflow.body;

  // job.evaluate (storage: store) recorded its report as a run of its own, listed under the
  // version job.train registered: the evaluated weights are that version's artifact.
  HttpReply listed = httpCall(p, "GET", "/api/v1/models/pump_state/versions/1/evaluations");
  ASSERT_EQ(listed.status, 200) << listed.body;
  auto evaluations = Poco::JSON::Parser()
                         .parse(listed.body)
                         .extract<Poco::JSON::Object::Ptr>()
                         ->getArray("evaluations");
  ASSERT_EQ(evaluations->size(), 1U) << listed.body;
  auto entry = evaluations->getObject(0);
  EXPECT_EQ(entry->getValue<std::string>("dataset"), "test_rows");
  EXPECT_NEAR(entry->getObject("metrics")->getValue<double>("accuracy"), evaluated, 1e-4);
  const auto run = entry->getValue<std::int64_t>("run_id");
  HttpReply stored = httpCall(p, "GET", "/api/v1/runs/" + std::to_string(run) + "/evaluation");
  ASSERT_EQ(stored.status, 200) << stored.body;
  auto report = Poco::JSON::Parser().parse(stored.body).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(report->getValue<std::string>("job"), "score");
  EXPECT_EQ(report->getArray("confusion_matrix")->size(), 3U);
  // job.train recorded the run it registered version 1 from: the version's lineage names it.
  HttpReply lineage = httpCall(p, "GET", "/api/v1/models/pump_state/versions/1/run");
  ASSERT_EQ(lineage.status, 200) << lineage.body;
  EXPECT_EQ(Poco::JSON::Parser()
                .parse(lineage.body)
                .extract<Poco::JSON::Object::Ptr>()
                ->getValue<std::int64_t>("run_id"),
            1);
  EXPECT_EQ(httpCall(p, "GET", "/api/v1/models/pump_state/versions/9/run").status, 404);
  HttpReply trained = httpCall(p, "GET", "/api/v1/runs/1/evaluation");  // job.train's run
  EXPECT_EQ(trained.status, 404) << trained.body;
  EXPECT_THAT(trained.body, ::testing::HasSubstr("run 1 has no evaluation"));

  // A vendor never seen in training encodes as zeros (unknown: zeros), not an error; a missing
  // input is a 400 naming it.
  PumpRow stranger = test_rows_.front();
  stranger.vendor = "zeta";
  HttpReply unseen = httpCall(p, "POST", "/v2/models/pump_state/infer", oipRequest({stranger}));
  EXPECT_EQ(unseen.status, 200) << unseen.body;
  HttpReply missing =
      httpCall(p, "POST", "/v2/models/pump_state/infer",
               R"({"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]})");
  EXPECT_EQ(missing.status, 400) << missing.body;
  EXPECT_THAT(missing.body, ::testing::HasSubstr("vendor"));
  EXPECT_EQ(server.stop(), 0) << server.err();

  // The registered artifact holds the fitted preprocessing: a second process serving it from
  // the store answers the same.
  const fs::path serve_only = temp_.path() / "serve.yaml";
  std::ofstream(serve_only) << "nodes:\n"
                               "  store: {type: storage.sqlite, path: "
                            << (temp_.path() / "store.db").string()
                            << "}\n"
                               "  serving: {type: serving.runtime, repository: store, "
                               "load: [pump_state]}\n"
                               "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
  AimassServer again(serve_only.string());
  const int port2 = again.waitForPort();
  ASSERT_GT(port2, 0) << again.err();
  HttpReply replay = httpCall(static_cast<std::uint16_t>(port2), "POST",
                              "/v2/models/pump_state/infer", oipRequest(test_rows_));
  ASSERT_EQ(replay.status, 200) << replay.body;
  EXPECT_EQ(oipClasses(replay.body), labels);
  EXPECT_EQ(again.stop(), 0) << again.err();

  // Fine-tuning starts from the registered pipeline's weights and registers its lineage.
  const fs::path tune = temp_.path() / "finetune.yaml";
  std::ofstream(tune) << "nodes:\n"
                         "  store: {type: storage.sqlite, path: "
                      << (temp_.path() / "store.db").string()
                      << "}\n"
                         "  train_rows: {type: dataset.csv, path: train.csv, label: state}\n"
                         "  fill: {type: transform.impute, strategy: median, indicator: true}\n"
                         "  vendors: {type: transform.onehot, unknown: zeros}\n"
                         "  scale: {type: transform.standardize}\n"
                         "  pump_state: {type: model.softmax, preprocess: [fill, vendors, scale]}\n"
                         "  sgd: {type: optimizer.sgd, learning_rate: 0.01}\n"
                         "  train: {type: job.train, model: pump_state, dataset: train_rows,\n"
                         "          optimizer: sgd, epochs: 1, seed: 8, storage: store,\n"
                         "          init_from: pump_state/1}\n";
  auto tuned = aimass::testing::runAimass(temp_.path(), {"run", tune.string()});
  ASSERT_EQ(tuned.code, 0) << tuned.err;
  EXPECT_THAT(tuned.err, ::testing::HasSubstr("registered pump_state version 2"));
  auto shown = aimass::testing::runAimass(
      temp_.path(), {"models", "show", "pump_state/2", "--storage",
                     "sqlite://" + (temp_.path() / "store.db").string()});
  EXPECT_THAT(shown.out, ::testing::HasSubstr("pump_state/1")) << shown.out << shown.err;
  EXPECT_THAT(shown.out, ::testing::HasSubstr("model.pipeline")) << shown.out;
}

// An ensemble whose members each have their own preprocessing takes the raw columns too.
TEST_F(PipelineTest, AnEnsembleOfPreprocessedMembersServesRawRows) {
  const fs::path config = writeConfig(
      "  f2: {type: transform.impute, strategy: mean}\n"
      "  v2: {type: transform.onehot, unknown: zeros}\n"
      "  s2: {type: transform.standardize}\n"
      "  linear: {type: model.softmax, preprocess: [fill, vendors, scale]}\n"
      "  net: {type: model.mlp, hidden: [16], preprocess: [f2, v2, s2]}\n"
      "  pump_state: {type: model.ensemble, members: [linear, net], method: soft_vote,\n"
      "               optimizer: sgd, epochs: 20}\n");
  AimassServer server(config.string());
  const int port = server.waitForPort();
  ASSERT_GT(port, 0) << server.err();
  std::smatch found;
  const std::string log = server.err();
  ASSERT_TRUE(std::regex_search(log, found, std::regex(" accuracy=([0-9.]+) macro_f1"))) << log;
  HttpReply oip = httpCall(static_cast<std::uint16_t>(port), "POST",
                           "/v2/models/pump_state/infer", oipRequest(test_rows_));
  ASSERT_EQ(oip.status, 200) << oip.body;
  const std::vector<std::string> classes = oipClasses(oip.body);
  EXPECT_NEAR(accuracy(classes, test_rows_), std::stod(found[1]), 1e-4);
  EXPECT_GT(accuracy(classes, test_rows_), 0.8);
  EXPECT_EQ(server.stop(), 0) << server.err();
}

TEST_F(PipelineTest, TextColumnsWithoutAnEncoderAreRefusedByName) {
  const fs::path config = writeConfig("  pump_state: {type: model.softmax, preprocess: [fill]}\n");
  auto result = aimass::testing::runAimass(temp_.path(), {"run", config.string()});
  EXPECT_NE(result.code, 0);
  EXPECT_THAT(result.err, ::testing::HasSubstr("text columns [vendor] remain"));
  EXPECT_THAT(result.err, ::testing::HasSubstr("transform.onehot"));
}

TEST_F(PipelineTest, DataThatNeedsPreprocessingIsRefusedWithWhatToAdd) {
  // Text columns and no preprocessing at all.
  auto text = aimass::testing::runAimass(
      temp_.path(), {"run", writeConfig("  pump_state: {type: model.softmax}\n").string()});
  EXPECT_NE(text.code, 0);
  EXPECT_THAT(text.err, ::testing::HasSubstr("dataset 'train_rows' has text columns (vendor)"));
  EXPECT_THAT(text.err, ::testing::HasSubstr("transform.onehot"));
  // Gaps in the numbers and nothing that fills them: the first NaN loss names the gap.
  const fs::path gaps = temp_.path() / "gaps.yaml";
  std::ofstream(gaps) << "nodes:\n"
                         "  rows: {type: dataset.csv, path: train.csv, label: state,\n"
                         "         columns: [pressure_kpa, vibration_g]}\n"
                         "  pump_state: {type: model.softmax}\n"
                         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
                         "  train: {type: job.train, model: pump_state, dataset: rows,\n"
                         "          optimizer: sgd, epochs: 1, batch_size: 900}\n";
  auto missing = aimass::testing::runAimass(temp_.path(), {"run", gaps.string()});
  EXPECT_NE(missing.code, 0);
  EXPECT_THAT(missing.err, ::testing::HasSubstr("the data has missing values (row "));
  EXPECT_THAT(missing.err, ::testing::HasSubstr("transform.impute"));
}

TEST_F(PipelineTest, ATransformServesOneModelOnly) {
  const fs::path config = writeConfig(
      "  pump_state: {type: model.softmax, preprocess: [fill, vendors, scale]}\n"
      "  other: {type: model.softmax, preprocess: [scale]}\n");
  auto result = aimass::testing::runAimass(temp_.path(), {"validate", config.string()});
  EXPECT_EQ(result.code, 2) << result.err;
  EXPECT_THAT(result.err, ::testing::HasSubstr(
                              "transform 'scale' is already the preprocessing of model "
                              "'pump_state'"));
  EXPECT_THAT(result.err, ::testing::HasSubstr("pumps.yaml:"));
}

}  // namespace
