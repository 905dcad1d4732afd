// SPDX-License-Identifier: Apache-2.0
// Online learning through the serving runtime (ServingRuntime::learn(), the feedback storage
// and its replay) and frontend.http's request parameters and feedback route, over real sockets
// on 127.0.0.1; and the batcher with optional inputs.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass/core/host_services.h"
#include "aimass/core/model_artifact.h"
#include "aimass/core/registry.h"
#include "aimass/core/serving.h"
#include "aimass/core/sha256.h"
#include "fake_models.h"
#include "fs.h"
#include "http_call.h"
#include "http_frontend.h"
#include "temp_dir.h"

namespace aimass::plugins::frontend {
namespace {

using Poco::JSON::Object;
using ::testing::HasSubstr;

Tensor strings(std::vector<std::string> values) { return Tensor::fromStrings(std::move(values)); }

TensorMap interactions(std::vector<std::string> users, std::vector<std::string> items) {
  TensorMap observations;
  observations.set("user", strings(std::move(users)));
  observations.set("item", strings(std::move(items)));
  return observations;
}

/// The score the runtime's `name` gives (user, item) now.
float scoreOf(core::ServingRuntime& runtime, const std::string& user, const std::string& item) {
  auto pinned = runtime.pin("rec", "");
  EXPECT_TRUE(pinned.ok()) << pinned.status().toString();
  if (!pinned.ok()) {
    return -1;
  }
  TensorMap inputs, outputs;
  inputs.set("user", strings({user}));
  inputs.set("item", strings({item}));
  Status s = (*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr);
  EXPECT_TRUE(s.ok()) << s.toString();
  return s.ok() ? outputs.find("score")->data<float>()[0] : -1;
}

std::string identityOf(const std::string& trained) {
  return core::Sha256::of("fake-recommender " + trained);
}

class FeedbackRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto storage = plugins::storage::FsStorage::create(dir_.path(), false);
    ASSERT_TRUE(storage.ok()) << storage.status().toString();
    storage_ = std::shared_ptr<Storage>(std::move(storage).value());
  }

  /// A runtime serving FakeRecommender(trained) as "rec" on storage_ learns (user, item).
  void learnOnce(const std::string& trained, const std::string& user, const std::string& item) {
    core::ServingRuntime runtime;
    runtime.add("rec", "1", std::make_shared<FakeRecommender>(trained));
    ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());
    ASSERT_TRUE(runtime.learn("rec", "", interactions({user}, {item})).ok());
  }

  testing::TempDir dir_{"aimass-feedback"};
  std::shared_ptr<Storage> storage_;
};

TEST_F(FeedbackRuntimeTest, LearnedObservationsArePersistedAndReplayedByTheSameTrainedState) {
  const std::string prefix = "feedback/rec/" + identityOf("v1") + "/";
  {
    core::ServingRuntime runtime;
    runtime.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
    ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());
    auto first = runtime.learn("rec", "", interactions({"u1", "u2"}, {"a", "b"}));
    ASSERT_TRUE(first.ok()) << first.status().toString();
    EXPECT_EQ(first->version, "1");
    EXPECT_EQ(first->rows, 2u);
    EXPECT_TRUE(first->persisted);
    EXPECT_EQ(first->sequence, 1u);
    auto second = runtime.learn("rec", "1", interactions({"u1"}, {"a"}));
    ASSERT_TRUE(second.ok()) << second.status().toString();
    EXPECT_EQ(second->sequence, 2u);
    EXPECT_EQ(scoreOf(runtime, "u1", "a"), 2.0f);
    EXPECT_EQ(scoreOf(runtime, "u2", "b"), 1.0f);
    auto keys = storage_->list("feedback/");
    ASSERT_TRUE(keys.ok());
    EXPECT_THAT(*keys, ::testing::ElementsAre(prefix + "00000000000000000001",
                                              prefix + "00000000000000000002"));
  }
  // A restart: a new runtime, the same trained model and storage.
  core::ServingRuntime restarted;
  auto model = std::make_shared<FakeRecommender>("v1");
  restarted.add("rec", "1", model);
  ASSERT_TRUE(restarted.setFeedbackStorage(storage_).ok());
  EXPECT_EQ(model->learned_batches.load(), 2);
  EXPECT_EQ(scoreOf(restarted, "u1", "a"), 2.0f);
  EXPECT_EQ(scoreOf(restarted, "u2", "b"), 1.0f);
  // Setting the same storage again replays nothing twice.
  ASSERT_TRUE(restarted.setFeedbackStorage(storage_).ok());
  EXPECT_EQ(model->learned_batches.load(), 2);
  auto next = restarted.learn("rec", "", interactions({"u3"}, {"c"}));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->sequence, 3u);
}

TEST_F(FeedbackRuntimeTest, ARetrainedModelStartsClean) {
  learnOnce("v1", "u1", "a");
  core::ServingRuntime runtime;
  auto retrained = std::make_shared<FakeRecommender>("v2");
  runtime.add("rec", "1", retrained);
  ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());
  EXPECT_EQ(retrained->learned_batches.load(), 0);
  EXPECT_EQ(scoreOf(runtime, "u1", "a"), 0.0f);
  auto learned = runtime.learn("rec", "", interactions({"u1"}, {"b"}));
  ASSERT_TRUE(learned.ok());
  EXPECT_EQ(learned->sequence, 1u);
  EXPECT_TRUE(storage_->get("feedback/rec/" + identityOf("v2") + "/00000000000000000001").ok());
}

TEST_F(FeedbackRuntimeTest, ACorruptRecordKeepsTheVersionFromServingAndNamesTheKey) {
  const std::string key = "feedback/rec/" + identityOf("v1") + "/00000000000000000001";
  learnOnce("v1", "u1", "a");
  auto bytes = storage_->get(key);
  ASSERT_TRUE(bytes.ok());
  std::string torn = *bytes;
  torn[torn.size() / 2] ^= 0x20;
  ASSERT_TRUE(storage_->put(key, torn).ok());

  core::ServingRuntime runtime;
  runtime.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
  Status status = runtime.setFeedbackStorage(storage_);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("'" + key + "'"));
  EXPECT_THAT(status.message(), HasSubstr("Remove that key"));
  EXPECT_EQ(runtime.pin("rec", "").status().code(), StatusCode::kNotFound);
  auto index = runtime.index(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "UNAVAILABLE");
  EXPECT_THAT(index[0].reason, HasSubstr(key));

  // Without the record the version serves again.
  ASSERT_TRUE(storage_->remove(key).ok());
  core::ServingRuntime cleaned;
  cleaned.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
  ASSERT_TRUE(cleaned.setFeedbackStorage(storage_).ok());
  EXPECT_EQ(scoreOf(cleaned, "u1", "a"), 0.0f);
}

TEST_F(FeedbackRuntimeTest, AVersionAddedAfterTheStorageReplaysBeforeItServes) {
  learnOnce("v1", "u1", "d");
  core::ServingRuntime runtime;
  ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());
  runtime.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
  EXPECT_EQ(scoreOf(runtime, "u1", "d"), 1.0f);
}

TEST_F(FeedbackRuntimeTest, RefusedObservationsAreNeitherLearnedNorWritten) {
  core::ServingRuntime runtime;
  auto model = std::make_shared<FakeRecommender>("v1");
  runtime.add("rec", "1", model);
  ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());

  auto refused = runtime.learn("rec", "", interactions({"u1", "u2"}, {"a", "zebra"}));
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("row 1: unknown item 'zebra'"));

  TensorMap missing;
  missing.set("user", strings({"u1"}));
  EXPECT_THAT(runtime.learn("rec", "", missing).status().message(),
              HasSubstr("missing input 'item'"));
  TensorMap ragged = interactions({"u1", "u2"}, {"a"});
  EXPECT_THAT(runtime.learn("rec", "", ragged).status().message(),
              HasSubstr("disagree on the batch"));
  TensorMap typed = interactions({"u1"}, {"a"});
  typed.set("rating", Tensor::fromVector<double>({1.0}, {1}));
  EXPECT_THAT(runtime.learn("rec", "", typed).status().message(),
              HasSubstr("input 'rating' of model 'rec' must be FP32"));
  EXPECT_EQ(runtime.learn("nope", "", interactions({"u"}, {"a"})).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(runtime.learn("rec", "7", interactions({"u"}, {"a"})).status().code(),
            StatusCode::kNotFound);

  EXPECT_EQ(model->learned_batches.load(), 0);
  auto keys = storage_->list("feedback/");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  EXPECT_EQ(scoreOf(runtime, "u1", "a"), 0.0f);
}

TEST_F(FeedbackRuntimeTest, AModelThatDoesNotLearnOnlineIsRefusedByName) {
  core::ServingRuntime runtime;
  runtime.add("iris", "1", std::make_shared<TwoFeatureClassifier>());
  auto refused = runtime.learn("iris", "", interactions({"u"}, {"a"}));
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("model 'iris' version '1' does not learn"));
}

TEST_F(FeedbackRuntimeTest, WithoutAStorageLearningLastsButIsNotPersisted) {
  core::ServingRuntime runtime;
  runtime.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
  auto learned = runtime.learn("rec", "", interactions({"u1"}, {"c"}));
  ASSERT_TRUE(learned.ok());
  EXPECT_FALSE(learned->persisted);
  EXPECT_EQ(learned->sequence, 0u);
  EXPECT_EQ(scoreOf(runtime, "u1", "c"), 1.0f);
}

TEST_F(FeedbackRuntimeTest, ReplicasOnOneStorageNeverOverwriteEachOthersBatches) {
  core::ServingRuntime one, two;
  for (core::ServingRuntime* runtime : {&one, &two}) {
    runtime->add("rec", "1", std::make_shared<FakeRecommender>("v1"));
    ASSERT_TRUE(runtime->setFeedbackStorage(storage_).ok());
  }
  auto first = one.learn("rec", "", interactions({"u1"}, {"a"}));
  auto second = two.learn("rec", "", interactions({"u2"}, {"b"}));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->sequence, 1u);
  EXPECT_EQ(second->sequence, 2u);  // 1 was taken by the other replica

  core::ServingRuntime restarted;
  restarted.add("rec", "1", std::make_shared<FakeRecommender>("v1"));
  ASSERT_TRUE(restarted.setFeedbackStorage(storage_).ok());
  EXPECT_EQ(scoreOf(restarted, "u1", "a"), 1.0f);
  EXPECT_EQ(scoreOf(restarted, "u2", "b"), 1.0f);
}

TEST_F(FeedbackRuntimeTest, ARegistryVersionIsNamedByItsArtifactAndReplaysWhenLoaded) {
  core::ModelRegistry registry(*storage_);
  auto register_trained = [&](const std::string& trained) {
    const std::string key = "models/rec/artifacts/" + trained + ".aimass";
    EXPECT_TRUE(core::saveModel(FakeRecommender(trained), "model.rec", *storage_, key).ok());
    core::NewModelVersion info;
    info.artifact_key = key;
    info.node = "train";
    info.node_type = "model.rec";
    auto version = registry.registerVersion("rec", info);
    EXPECT_TRUE(version.ok()) << version.status().toString();
    return version.ok() ? version->sha256 : std::string();
  };
  auto serve = [&](core::ServingRuntime& runtime, const std::string& reference) {
    runtime.setModelFactory([](const std::string&) -> Expected<std::shared_ptr<Model>> {
      return std::shared_ptr<Model>(std::make_shared<FakeRecommender>("untrained"));
    });
    ASSERT_TRUE(runtime.setRepository(storage_).ok());
    ASSERT_TRUE(runtime.setFeedbackStorage(storage_).ok());
    Status loaded = runtime.load(reference);
    ASSERT_TRUE(loaded.ok()) << loaded.toString();
  };
  const std::string first_sha = register_trained("v1");
  {
    core::ServingRuntime runtime;
    serve(runtime, "rec");
    auto learned = runtime.learn("rec", "", interactions({"u1"}, {"c"}));
    ASSERT_TRUE(learned.ok()) << learned.status().toString();
    EXPECT_TRUE(storage_->get("feedback/rec/" + first_sha + "/00000000000000000001").ok());
  }
  core::ServingRuntime reloaded;
  serve(reloaded, "rec/1");
  EXPECT_EQ(scoreOf(reloaded, "u1", "c"), 1.0f);

  // A new registered version (another artifact) starts clean.
  register_trained("v2");
  core::ServingRuntime retrained;
  serve(retrained, "rec/2");
  EXPECT_EQ(scoreOf(retrained, "u1", "c"), 0.0f);

  // A corrupt record of version 1 fails its load, naming the key; nothing is served.
  const std::string key = "feedback/rec/" + first_sha + "/00000000000000000001";
  ASSERT_TRUE(storage_->put(key, "not a record").ok());
  core::ServingRuntime broken;
  broken.setModelFactory([](const std::string&) -> Expected<std::shared_ptr<Model>> {
    return std::shared_ptr<Model>(std::make_shared<FakeRecommender>("untrained"));
  });
  ASSERT_TRUE(broken.setRepository(storage_).ok());
  ASSERT_TRUE(broken.setFeedbackStorage(storage_).ok());
  Status refused = broken.load("rec/1");
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("feedback record '" + key + "'"));
  EXPECT_EQ(broken.pin("rec", "").status().code(), StatusCode::kNotFound);
}

/// y = x, plus "mask" where given; counts the rows of every predict() call.
class MaskedModel final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.task = Task::kRegression;
    s.inputs = {{"x", DType::kFloat32, {-1}}, {"mask", DType::kFloat32, {-1}, true}};
    s.outputs = {{"y", DType::kFloat32, {-1}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions&) const override {
    const Tensor& x = *inputs.find("x");
    const Tensor* mask = inputs.find("mask");
    Tensor y(DType::kFloat32, x.shape());
    for (std::int64_t i = 0; i < x.dim(0); ++i) {
      y.data<float>()[i] = x.data<float>()[i] + (mask ? mask->data<float>()[i] : 0.0f);
    }
    outputs.set("y", std::move(y));
    calls += 1;
    rows += static_cast<int>(x.dim(0));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }

  mutable std::atomic<int> calls{0};
  mutable std::atomic<int> rows{0};
};

/// Runs `a` and `b` through the runtime's "masked" at once; their first output values.
std::pair<float, float> inferBoth(core::ServingRuntime& runtime, const TensorMap& a,
                                  const TensorMap& b) {
  float ya = -1, yb = -1;
  auto run = [&](const TensorMap& inputs, float& y) {
    auto pinned = runtime.pin("masked", "");
    TensorMap outputs;
    Status s = (*pinned)->infer(inputs, PredictOptions{}, outputs, nullptr);
    EXPECT_TRUE(s.ok()) << s.toString();
    if (s.ok()) {
      y = outputs.find("y")->data<float>()[0];
    }
  };
  std::thread first([&] { run(a, ya); });
  std::thread second([&] { run(b, yb); });
  first.join();
  second.join();
  return {ya, yb};
}

TEST(FeedbackBatcherTest, RequestsWithDifferentOptionalInputsAreNotStacked) {
  core::ServingRuntime runtime;
  BatchingOptions batching;
  batching.max_batch_size = 8;
  batching.preferred_batch_sizes = {2};    // two waiting rows dispatch at once
  batching.max_queue_delay_us = 1000000;  // else the first waits for the second
  runtime.setBatching("", batching);
  auto model = std::make_shared<MaskedModel>();
  runtime.add("masked", "1", model);

  TensorMap plain, masked;
  plain.set("x", Tensor::fromVector<float>({1}, {1}));
  masked.set("x", Tensor::fromVector<float>({2}, {1}));
  masked.set("mask", Tensor::fromVector<float>({10}, {1}));
  auto [y_plain, y_masked] = inferBoth(runtime, plain, masked);
  EXPECT_EQ(y_plain, 1.0f);
  EXPECT_EQ(y_masked, 12.0f);
  EXPECT_EQ(model->calls.load(), 2);  // one each: never stacked
  EXPECT_EQ(model->rows.load(), 2);

  // The same inputs are stacked into one call.
  auto [y1, y2] = inferBoth(runtime, masked, masked);
  EXPECT_EQ(y1, 12.0f);
  EXPECT_EQ(y2, 12.0f);
  EXPECT_EQ(model->calls.load(), 3);
}

struct Reply {
  int status = 0;
  std::string body;
  Object::Ptr json() const {
    Poco::JSON::Parser parser;
    return parser.parse(body).extract<Object::Ptr>();
  }
};

class FeedbackHttpTest : public FeedbackRuntimeTest {
 protected:
  void SetUp() override {
    FeedbackRuntimeTest::SetUp();
    host_.setLogLevel(LogLevel::kError);
    model_ = std::make_shared<FakeRecommender>("v1");
    host_.servingRuntime().add("rec", "1", model_);
    host_.servingRuntime().add("iris", "1", std::make_shared<TwoFeatureClassifier>());
  }
  void TearDown() override {
    if (frontend_) {
      frontend_->stop();
    }
    host_.servingRuntime().clear();
  }

  void start(HttpFrontendOptions options = {}) {
    options.port = 0;
    options.threads = 4;
    frontend_ = std::make_unique<HttpFrontend>("web", std::move(options));
    Status status = frontend_->start(host_);
    ASSERT_TRUE(status.ok()) << status.toString();
    auto endpoint = frontend_->endpoint();
    port_ = static_cast<Poco::UInt16>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
  }

  Reply post(const std::string& path, const std::string& body) { return call("POST", path, body); }
  /// POST of binary tensor data: a JSON header of `header_length` bytes, then the tensors.
  Reply postBinary(const std::string& path, const std::string& body, std::size_t header_length) {
    return call("POST", path, body, header_length);
  }
  Reply call(const std::string& method, const std::string& path, const std::string& body = "",
             std::size_t header_length = 0) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    session.setTimeout(Poco::Timespan(30, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (method == "POST") {
      request.setContentLength64(static_cast<Poco::Int64>(body.size()));
      request.setContentType(header_length > 0 ? "application/octet-stream" : "application/json");
    }
    if (header_length > 0) {
      request.set("Inference-Header-Content-Length", std::to_string(header_length));
    }
    if (cross_site_) {
      request.set("Sec-Fetch-Site", "cross-site");
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

  /// An infer request for `users` with `parameters` (a JSON object's text, or empty).
  static std::string inferBody(const std::string& users, const std::string& parameters = "",
                               const std::string& extra = "") {
    return R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[)" +
           std::to_string(std::count(users.begin(), users.end(), ',') + 1) + R"(],"data":[)" +
           users + "]}" + extra + "]" +
           (parameters.empty() ? std::string() : ",\"parameters\":" + parameters) + "}";
  }
  static std::string feedbackBody(const std::string& users, const std::string& items) {
    const std::string n = std::to_string(std::count(users.begin(), users.end(), ',') + 1);
    return R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[)" + n +
           R"(],"data":[)" + users + R"(]},{"name":"item","datatype":"BYTES","shape":[)" + n +
           R"(],"data":[)" + items + "]}]}";
  }

  /// The "data" of output `name` in an infer reply, as text.
  static std::string outputData(const Reply& reply, const std::string& name) {
    auto outputs = reply.json()->getArray("outputs");
    for (std::size_t i = 0; i < outputs->size(); ++i) {
      auto output = outputs->getObject(static_cast<unsigned>(i));
      if (output->getValue<std::string>("name") == name) {
        std::ostringstream text;
        output->getArray("data")->stringify(text);
        return text.str();
      }
    }
    return "(none)";
  }

  core::HostServices host_{".", 1};
  std::shared_ptr<FakeRecommender> model_;
  std::unique_ptr<HttpFrontend> frontend_;
  Poco::UInt16 port_ = 0;
  bool cross_site_ = false;  ///< send requests as a browser page of another site would
};

TEST_F(FeedbackHttpTest, WithoutCredentialsAnotherSitesPageCannotSendFeedback) {
  start();
  cross_site_ = true;
  EXPECT_EQ(post("/v2/models/rec/infer", inferBody(R"("u1")")).status, 200);
  Reply refused = post("/v2/models/rec/feedback", feedbackBody(R"("u1")", R"("a")"));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_THAT(refused.body, HasSubstr("cross-site request refused"));
  EXPECT_EQ(model_->learned_batches.load(), 0);
}

TEST_F(FeedbackHttpTest, FeedbackTakesBinaryTensorData) {
  start();
  const std::string header =
      R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[1],)"
      R"("parameters":{"binary_data_size":6}},{"name":"item","datatype":"BYTES","shape":[1],)"
      R"("parameters":{"binary_data_size":5}}]})";
  const std::string body = header + std::string("\x02\x00\x00\x00u1", 6) +
                           std::string("\x01\x00\x00\x00" "d", 5);
  Reply learned = postBinary("/v2/models/rec/feedback", body, header.size());
  ASSERT_EQ(learned.status, 200) << learned.body;
  EXPECT_THAT(learned.body, HasSubstr("\"rows\":1"));
  Reply seen = post("/v2/models/rec/infer",
                    inferBody(R"("u1")", R"({"top_k":1,"exclude_seen":false})"));
  EXPECT_EQ(outputData(seen, "items"), R"(["d"])");
}

TEST_F(FeedbackHttpTest, RequestParametersReachPredict) {
  start();
  Reply plain = post("/v2/models/rec/infer", inferBody(R"("u1")"));
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(outputData(plain, "echo"), R"(["top_k=0 exclude_seen=true params="])");
  EXPECT_EQ(outputData(plain, "items"), "(none)");

  Reply topk = post("/v2/models/rec/infer",
                    inferBody(R"("u1","u2")", R"({"top_k":2,"exclude_seen":false,)"
                                              R"("region":"eu","alpha":0.5,"debug":true,)"
                                              R"("binary_data_output":false,"skip":null})"));
  ASSERT_EQ(topk.status, 200) << topk.body;
  EXPECT_EQ(outputData(topk, "echo"),
            R"(["top_k=2 exclude_seen=false params=alpha:0.5,debug:true,region:eu",)"
            R"("top_k=2 exclude_seen=false params=alpha:0.5,debug:true,region:eu"])");
  auto items = topk.json()->getArray("outputs");
  bool found = false;
  for (std::size_t i = 0; i < items->size(); ++i) {
    auto output = items->getObject(static_cast<unsigned>(i));
    if (output->getValue<std::string>("name") == "items") {
      found = true;
      std::ostringstream shape;
      output->getArray("shape")->stringify(shape);
      EXPECT_EQ(shape.str(), "[2,2]");
      EXPECT_EQ(output->getValue<std::string>("datatype"), "BYTES");
    }
  }
  EXPECT_TRUE(found) << topk.body;
  EXPECT_EQ(outputData(topk, "items"), R"(["a","b","a","b"])");

  // Selecting outputs still works; an optional one the request did not produce is a 400.
  Reply selected = post("/v2/models/rec/infer",
                        R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[1],)"
                        R"("data":["u1"]}],"outputs":[{"name":"items"}],)"
                        R"("parameters":{"top_k":1}})");
  ASSERT_EQ(selected.status, 200) << selected.body;
  EXPECT_EQ(selected.json()->getArray("outputs")->size(), 1u);
  Reply unproduced = post("/v2/models/rec/infer",
                          R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[1],)"
                          R"("data":["u1"]}],"outputs":[{"name":"items"}]})");
  EXPECT_EQ(unproduced.status, 400) << unproduced.body;
  EXPECT_THAT(unproduced.body, HasSubstr("no output 'items'"));
}

TEST_F(FeedbackHttpTest, MlflowParamsReachPredictToo) {
  HttpFrontendOptions options;
  options.mlflow_model = "rec";
  start(options);
  Reply scored = post("/invocations", R"({"inputs": {"user": ["u1"]},)"
                                      R"( "params": {"top_k": 2, "exclude_seen": false,)"
                                      R"( "region": "eu"}})");
  ASSERT_EQ(scored.status, 200) << scored.body;
  EXPECT_THAT(scored.body, HasSubstr("top_k=2 exclude_seen=false params=region:eu"));
  EXPECT_THAT(scored.body, HasSubstr(R"("items":["a","b"])"));

  Reply bad = post("/invocations", R"({"inputs": {"user": ["u1"]}, "params": {"top_k": -2}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(bad.body, HasSubstr("params: parameter \\\"top_k\\\" must be a whole number"));
  Reply listed = post("/invocations", R"({"inputs": {"user": ["u1"]}, "params": {"ids": [1]}})");
  EXPECT_EQ(listed.status, 400) << listed.body;
  EXPECT_THAT(listed.body, HasSubstr("must be a string, number or boolean, not a list"));
}

TEST_F(FeedbackHttpTest, BadParametersAre400sNamingThem) {
  start();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"top_k":-1})", "\\\"top_k\\\" must be a whole number from 0 to 10000, not -1"},
      {R"({"top_k":2.5})", "\\\"top_k\\\" must be a whole number"},
      {R"({"top_k":"3"})", "\\\"top_k\\\" must be a whole number"},
      {R"({"top_k":10001})", "\\\"top_k\\\" must be a whole number"},
      {R"({"top_k":1e3})", "\\\"top_k\\\" must be a whole number"},
      {R"({"top_k":99999999999999999999})", "\\\"top_k\\\" must be a whole number"},
      {R"({"exclude_seen":1})", "\\\"exclude_seen\\\" must be true or false, not 1"},
      {R"({"filter":{"genre":"x"}})", "\\\"filter\\\" must be a string, number or boolean"},
      {R"({"ids":[1,2]})", "\\\"ids\\\" must be a string, number or boolean, not a list"},
      {R"([1])", "\\\"parameters\\\" must be an object"},
  };
  for (const auto& [parameters, message] : cases) {
    Reply reply = post("/v2/models/rec/infer", inferBody(R"("u1")", parameters));
    EXPECT_EQ(reply.status, 400) << parameters << ": " << reply.body;
    EXPECT_THAT(reply.body, HasSubstr(message)) << parameters;
  }
  EXPECT_EQ(model_->predictions.load(), 0);
}

TEST_F(FeedbackHttpTest, FeedbackIsLearnedAndTheNextInferenceShowsIt) {
  start();
  Reply before = post("/v2/models/rec/infer", inferBody(R"("u1")", R"({"top_k":2})"));
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(outputData(before, "items"), R"(["a","b"])");

  Reply learned = post("/v2/models/rec/feedback", feedbackBody(R"("u2","u3")", R"("c","c")"));
  ASSERT_EQ(learned.status, 200) << learned.body;
  EXPECT_EQ(learned.body,
            R"({"model_name":"rec","model_version":"1","rows":2,"persisted":false})");
  Reply versioned =
      post("/v2/models/rec/versions/1/feedback", feedbackBody(R"("u1")", R"("d")"));
  ASSERT_EQ(versioned.status, 200) << versioned.body;

  // c is now the most popular item; u1's own d is left out unless asked for.
  Reply after = post("/v2/models/rec/infer", inferBody(R"("u1")", R"({"top_k":2})"));
  EXPECT_EQ(outputData(after, "items"), R"(["c","a"])");
  Reply seen = post("/v2/models/rec/infer",
                    inferBody(R"("u1")", R"({"top_k":2,"exclude_seen":false})"));
  EXPECT_EQ(outputData(seen, "items"), R"(["c","d"])");
  // A request-wide candidates input limits the items.
  Reply limited = post("/v2/models/rec/infer",
                       inferBody(R"("u1")", R"({"top_k":1})",
                                 R"(,{"name":"candidates","datatype":"BYTES","shape":[2],)"
                                 R"("data":["a","b"]})"));
  ASSERT_EQ(limited.status, 200) << limited.body;
  EXPECT_EQ(outputData(limited, "items"), R"(["a"])");

  Reply refused = post("/v2/models/rec/feedback", feedbackBody(R"("u1")", R"("zebra")"));
  EXPECT_EQ(refused.status, 400) << refused.body;
  Reply metrics = call("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_feedback_request_success_total{model=\"rec\",version=\"1\"} 2\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_feedback_request_failure_total{model=\"rec\",version=\"1\"} 1\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr("aimass_feedback_rows_total{model=\"rec\",version=\"1\"} 3\n"));
  EXPECT_THAT(metrics.body, ::testing::Not(HasSubstr("feedback_rows_total{model=\"iris\"")));
}

TEST_F(FeedbackHttpTest, FeedbackIsPersistedWithAFeedbackStorage) {
  ASSERT_TRUE(host_.servingRuntime().setFeedbackStorage(storage_).ok());
  start();
  Reply learned = post("/v2/models/rec/feedback", feedbackBody(R"("u1")", R"("b")"));
  ASSERT_EQ(learned.status, 200) << learned.body;
  EXPECT_EQ(learned.body, R"({"model_name":"rec","model_version":"1","rows":1,)"
                          R"("persisted":true,"sequence":1})");
}

TEST_F(FeedbackHttpTest, BadFeedbackIsRefusedAndNothingIsLearned) {
  start();
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"/v2/models/rec/feedback", "{", 400, "malformed JSON"},
      {"/v2/models/rec/feedback", R"({"inputs":[]})", 400, "missing input 'user'"},
      {"/v2/models/rec/feedback",
       R"({"inputs":[{"name":"user","datatype":"BYTES","shape":[1],"data":["u"]}]})", 400,
       "missing input 'item'"},
      {"/v2/models/rec/feedback",
       R"({"inputs":[{"name":"usr","datatype":"BYTES","shape":[1],"data":["u"]}]})", 400,
       "unknown input 'usr'"},
      {"/v2/models/rec/feedback", feedbackBody(R"("u1","u2")", R"("a","zebra")"), 400,
       "row 1: unknown item 'zebra'"},
      {"/v2/models/iris/feedback", feedbackBody(R"("u1")", R"("a")"), 409,
       "does not learn online"},
      {"/v2/models/nope/feedback", feedbackBody(R"("u1")", R"("a")"), 404, "unknown model"},
      {"/v2/models/rec/versions/9/feedback", feedbackBody(R"("u1")", R"("a")"), 404,
       "version '9'"},
  };
  for (const auto& c : cases) {
    Reply reply = post(c.path, c.body);
    EXPECT_EQ(reply.status, c.status) << c.body << ": " << reply.body;
    EXPECT_THAT(reply.body, HasSubstr(c.message)) << c.body;
    EXPECT_THAT(reply.body, HasSubstr("\"error\"")) << c.body;
  }
  EXPECT_EQ(model_->learned_batches.load(), 0);
}

}  // namespace
}  // namespace aimass::plugins::frontend
