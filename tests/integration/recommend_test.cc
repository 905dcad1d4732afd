// SPDX-License-Identifier: Apache-2.0
// configs/recommend.yaml as a user runs it: `aimass run` trains model.mf on the bundled ratings,
// scores it on each user's held-out ratings, registers it and serves it over real sockets; the
// test asks for top-k and pair scores, sends feedback for a new user and sees their top-k change
// at once, checks that bad feedback changes nothing, then serves the registered version from a
// second process and finds the feedback replayed from the store.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "aimass_server.h"
#include "http_call.h"
#include "scoped_env.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using aimass::testing::ScopedEnv;

const fs::path kSourceDir = AIMASS_SOURCE_DIR;
const fs::path kRecommend = kSourceDir / "configs" / "recommend.yaml";
const fs::path kRatings = kSourceDir / "configs" / "data" / "ratings.csv";

/// The items each user rated in the training part of the config's split: every rating but the
/// user's 2 latest (by timestamp, the later row of equal ones counting as later).
std::map<std::string, std::set<std::string>> trainingItems() {
  std::map<std::string, std::vector<std::tuple<long, int, std::string>>> rated;
  std::ifstream in(kRatings);
  std::string line;
  std::getline(in, line);  // header: user,item,rating,timestamp
  for (int row = 0; std::getline(in, line); ++row) {
    std::stringstream fields(line);
    std::string user, item, rating, timestamp;
    std::getline(fields, user, ',');
    std::getline(fields, item, ',');
    std::getline(fields, rating, ',');
    std::getline(fields, timestamp, ',');
    rated[user].emplace_back(std::stol(timestamp), row, item);
  }
  std::map<std::string, std::set<std::string>> out;
  for (auto& [user, items] : rated) {
    std::sort(items.begin(), items.end());
    const std::size_t keep = items.size() >= 3 ? items.size() - 2 : items.size();
    for (std::size_t i = 0; i < keep; ++i) {
      out[user].insert(std::get<2>(items[i]));
    }
  }
  return out;
}

Poco::JSON::Object::Ptr parse(const std::string& body) {
  Poco::JSON::Parser parser;
  return parser.parse(body).extract<Poco::JSON::Object::Ptr>();
}

/// The output `name` of an infer answer; null when absent.
Poco::JSON::Array::Ptr output(const std::string& body, const std::string& name) {
  auto outputs = parse(body)->getArray("outputs");
  for (unsigned i = 0; outputs && i < outputs->size(); ++i) {
    if (outputs->getObject(i)->getValue<std::string>("name") == name) {
      return outputs->getObject(i)->getArray("data");
    }
  }
  return nullptr;
}

std::string bytesInput(const std::string& name, const std::vector<std::string>& values) {
  std::string data;
  for (const auto& v : values) {
    data += (data.empty() ? "\"" : ",\"") + v + "\"";
  }
  return R"({"name":")" + name + R"(","datatype":"BYTES","shape":[)" +
         std::to_string(values.size()) + R"(],"data":[)" + data + "]}";
}

/// One user's top-k: the items and whether the user got the fallback.
struct TopK {
  int status = 0;
  std::vector<std::string> items;
  bool fallback = false;
  std::string body;
};

TopK topK(std::uint16_t port, const std::string& user, int k) {
  HttpReply r = httpCall(port, "POST", "/v2/models/recommender/infer",
                         R"({"parameters":{"top_k":)" + std::to_string(k) + R"(},"inputs":[)" +
                             bytesInput("user", {user}) + "]}");
  TopK out;
  out.status = r.status;
  out.body = r.body;
  if (r.status != 200) {
    return out;
  }
  auto items = output(r.body, "items");
  auto fallback = output(r.body, "fallback");
  for (unsigned i = 0; items && i < items->size(); ++i) {
    out.items.push_back(items->getElement<std::string>(i));
  }
  out.fallback = fallback && fallback->size() == 1 && fallback->getElement<bool>(0);
  return out;
}

HttpReply feedback(std::uint16_t port, const std::string& user,
                   const std::vector<std::string>& items, const std::vector<int>& ratings) {
  std::string values;
  for (int r : ratings) {
    values += (values.empty() ? "" : ",") + std::to_string(r);
  }
  return httpCall(port, "POST", "/v2/models/recommender/feedback",
                  R"({"inputs":[)" + bytesInput("user", std::vector<std::string>(items.size(), user)) +
                      "," + bytesInput("item", items) +
                      R"(,{"name":"rating","datatype":"FP32","shape":[)" +
                      std::to_string(ratings.size()) + R"(],"data":[)" + values + "]}]}");
}

class RecommendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty()) << "cannot make a temporary folder";
    store_ = temp_.path() / "store.db";
  }

  aimass::testing::TempDir temp_;
  fs::path store_;
};

TEST_F(RecommendTest, ValidateAcceptsTheConfig) {
  auto result = aimass::testing::runAimass(temp_.path(), {"validate", kRecommend.string()});
  EXPECT_EQ(result.code, 0) << result.out << result.err;
}

TEST_F(RecommendTest, TrainsServesTopKLearnsFeedbackAndReplaysItAfterARestart) {
  ScopedEnv store("AIMASS_STORE", store_.c_str());
  ScopedEnv port_env("AIMASS_HTTP_PORT", "0");
  const auto training = trainingItems();
  ASSERT_EQ(training.size(), 300u) << "cannot read " << kRatings;
  const std::vector<std::string> liked = {"item010", "item042", "item123"};
  std::vector<std::string> newcomer_before;
  {
    AimassServer server(kRecommend.string());
    const int port = server.waitForPort();
    ASSERT_GT(port, 0) << server.err();
    EXPECT_THAT(server.err(), ::testing::HasSubstr("registered recommender version 1"));
    EXPECT_THAT(server.err(), ::testing::HasSubstr("rating error rmse="))
        << "job.evaluate reports RMSE and MAE on the held-out ratings";
    EXPECT_THAT(server.err(), ::testing::ContainsRegex("top-10 of [0-9]+ users: precision@k="));
    const auto p = static_cast<std::uint16_t>(port);

    // A known user's top 5 leaves out what they rated in training.
    TopK known = topK(p, "user007", 5);
    ASSERT_EQ(known.status, 200) << known.body;
    ASSERT_EQ(known.items.size(), 5u) << known.body;
    EXPECT_FALSE(known.fallback);
    for (const auto& item : known.items) {
      EXPECT_EQ(training.at("user007").count(item), 0u) << item << " was rated in training";
    }
    // A user nobody has seen gets the popular items, flagged, never an error.
    TopK stranger = topK(p, "newcomer", 5);
    ASSERT_EQ(stranger.status, 200) << stranger.body;
    EXPECT_TRUE(stranger.fallback);
    EXPECT_EQ(stranger.items.size(), 5u);
    newcomer_before = stranger.items;

    // Pair scores: stars on the training scale for known pairs.
    HttpReply pairs = httpCall(p, "POST", "/v2/models/recommender/infer",
                               R"({"inputs":[)" + bytesInput("user", {"user007", "user007"}) +
                                   "," + bytesInput("item", {"item010", "no-such-item"}) + "]}");
    ASSERT_EQ(pairs.status, 200) << pairs.body;
    auto scores = output(pairs.body, "score");
    auto known_flags = output(pairs.body, "known");
    ASSERT_TRUE(scores && known_flags) << pairs.body;
    EXPECT_GT(scores->getElement<double>(0), 0.5);
    EXPECT_LT(scores->getElement<double>(0), 6.0);
    EXPECT_TRUE(known_flags->getElement<bool>(0));
    EXPECT_FALSE(known_flags->getElement<bool>(1));

    // A bad parameter is a 400 naming it.
    HttpReply bad = httpCall(p, "POST", "/v2/models/recommender/infer",
                             R"({"parameters":{"top_k":-3},"inputs":[)" +
                                 bytesInput("user", {"user007"}) + "]}");
    EXPECT_EQ(bad.status, 400);
    EXPECT_THAT(bad.body, ::testing::HasSubstr("top_k"));

    // Feedback with an item the model was never trained on is refused whole: nothing learned.
    HttpReply refused = feedback(p, "newcomer", {"item010", "not-an-item"}, {5, 5});
    EXPECT_EQ(refused.status, 400) << refused.body;
    EXPECT_THAT(refused.body, ::testing::HasSubstr("not-an-item"));
    EXPECT_EQ(topK(p, "newcomer", 5).items, newcomer_before);

    // Feedback for the new user is learned at once and kept in the store.
    HttpReply learned = feedback(p, "newcomer", liked, {5, 5, 4});
    ASSERT_EQ(learned.status, 200) << learned.body;
    EXPECT_EQ(parse(learned.body)->getValue<int>("rows"), 3);
    EXPECT_TRUE(parse(learned.body)->getValue<bool>("persisted"));
    TopK after = topK(p, "newcomer", 5);
    ASSERT_EQ(after.status, 200) << after.body;
    EXPECT_FALSE(after.fallback) << "the new user is known once their feedback is learned";
    EXPECT_NE(after.items, newcomer_before);
    for (const auto& item : liked) {
      EXPECT_EQ(std::count(after.items.begin(), after.items.end(), item), 0)
          << item << " was just rated and is left out";
    }
    newcomer_before = after.items;
    EXPECT_EQ(server.stop(), 0) << server.err();
  }

  // A second process serves the registered version without training; the store replays the
  // feedback learned above, so the new user's recommendations are the same.
  const fs::path serve_only = temp_.path() / "serve.yaml";
  std::ofstream(serve_only) << "nodes:\n"
                               "  store:\n"
                               "    type: storage.sqlite\n"
                               "    path: "
                            << store_.string()
                            << "\n"
                               "  serving:\n"
                               "    type: serving.runtime\n"
                               "    repository: store\n"
                               "    load: [recommender]\n"
                               "  web:\n"
                               "    type: frontend.http\n"
                               "    host: 127.0.0.1\n"
                               "    port: 0\n";
  AimassServer again(serve_only.string());
  const int port = again.waitForPort();
  ASSERT_GT(port, 0) << again.err();
  TopK replayed = topK(static_cast<std::uint16_t>(port), "newcomer", 5);
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  EXPECT_FALSE(replayed.fallback) << again.err();
  EXPECT_EQ(replayed.items, newcomer_before);
  EXPECT_EQ(again.stop(), 0) << again.err();
}

}  // namespace
