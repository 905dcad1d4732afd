// SPDX-License-Identifier: Apache-2.0
#include "interactions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/dataset_conformance.h"
#include "aimass/testing/registration.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::dataset {
namespace {

using ::testing::HasSubstr;

InteractionsOptions withRatings() {
  InteractionsOptions o;
  o.rating_column = "rating";
  return o;
}

std::unique_ptr<InteractionsDataset> parseOk(std::string_view text,
                                             const InteractionsOptions& options) {
  auto data = InteractionsDataset::parse(text, "r.csv", options);
  EXPECT_TRUE(data.ok()) << data.status().toString();
  return data.ok() ? std::move(data).value() : nullptr;
}

/// (user, item) index pairs and ratings of every row.
struct Rows {
  std::vector<std::int64_t> pairs;
  std::vector<float> ratings;
};
Rows rowsOf(const InteractionsDataset& data) {
  std::vector<std::uint64_t> index(data.size());
  for (std::uint64_t i = 0; i < data.size(); ++i) {
    index[i] = i;
  }
  Batch batch;
  EXPECT_TRUE(data.read(index, batch).ok());
  Rows rows;
  rows.pairs.assign(batch.features.data<std::int64_t>(),
                    batch.features.data<std::int64_t>() + 2 * data.size());
  if (batch.labels.numel() > 0 && batch.labels.dtype() == DType::kFloat32) {
    rows.ratings.assign(batch.labels.data<float>(), batch.labels.data<float>() + data.size());
  }
  return rows;
}

TEST(InteractionsDatasetTest, MapsIdsOfAnyFormInOrderOfFirstAppearance) {
  auto data =
      parseOk("user,item,rating\nalice,42,4\n7,x-1,3.5\nalice,x-1,1\n7,42,2\n", withRatings());
  ASSERT_NE(data, nullptr);
  const DatasetSchema& s = data->schema();
  EXPECT_EQ(s.feature_dtype, DType::kInt64);
  EXPECT_EQ(s.row_shape, (Shape{2}));
  EXPECT_EQ(s.feature_names, (std::vector<std::string>{"user", "item"}));
  EXPECT_EQ(s.cardinalities, (std::vector<std::int64_t>{2, 2}));
  ASSERT_EQ(s.id_names.size(), 2u);
  EXPECT_EQ(s.id_names[0], (std::vector<std::string>{"alice", "7"}));
  EXPECT_EQ(s.id_names[1], (std::vector<std::string>{"42", "x-1"}));
  EXPECT_EQ(s.label_kind, LabelKind::kValue);
  EXPECT_EQ(s.num_targets, 1);
  Rows rows = rowsOf(*data);
  EXPECT_EQ(rows.pairs, (std::vector<std::int64_t>{0, 0, 1, 1, 0, 1, 1, 0}));
  EXPECT_EQ(rows.ratings, (std::vector<float>{4, 3.5f, 1, 2}));
}

TEST(InteractionsDatasetTest, ImplicitFeedbackHasNoLabelsAndKeepsDuplicates) {
  auto data = parseOk("item,user\nb,u\nb,u\na,u\n", InteractionsOptions{});
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->schema().label_kind, LabelKind::kNone);
  EXPECT_EQ(data->size(), 3u) << "a repeated (user, item) row is a second interaction";
  Batch batch;
  std::vector<std::uint64_t> rows = {0, 1, 2};
  ASSERT_TRUE(data->read(rows, batch).ok());
  EXPECT_EQ(batch.labels.numel(), 0);
  EXPECT_EQ(rowsOf(*data).pairs, (std::vector<std::int64_t>{0, 0, 0, 0, 0, 1}));
}

TEST(InteractionsDatasetTest, HandlesCrlfQuotesBomBlankLinesAndOtherColumnNames) {
  InteractionsOptions o;
  o.user_column = "who";
  o.item_column = "what";
  auto data =
      parseOk("\xEF\xBB\xBFwhat,extra,who\r\n\"a,1\",x,\"b \"\"q\"\"\"\r\n\r\nc,y,d\r\n", o);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->schema().id_names[0], (std::vector<std::string>{"b \"q\"", "d"}));
  EXPECT_EQ(data->schema().id_names[1], (std::vector<std::string>{"a,1", "c"}));
}

TEST(InteractionsDatasetTest, BadRowsNameTheFileLineAndColumn) {
  auto error = [](std::string_view text, const InteractionsOptions& o) {
    auto data = InteractionsDataset::parse(text, "r.csv", o);
    EXPECT_FALSE(data.ok());
    return data.ok() ? std::string() : data.status().toString();
  };
  EXPECT_THAT(error("user,item\na,b\n,c\n", {}), HasSubstr("r.csv:3: column 'user'"));
  EXPECT_THAT(error("user,item\na,  \n", {}), HasSubstr("item id is empty"));
  EXPECT_THAT(error("user,item,rating\na,b,1\na,c\n", withRatings()),
              HasSubstr("r.csv:3: has 2 fields, expected 3"));
  EXPECT_THAT(error("user,item,rating\na,b,good\n", withRatings()),
              HasSubstr("r.csv:2: column 'rating': the rating 'good' is not a number"));
  EXPECT_THAT(error("user,item,rating\na,b,nan\n", withRatings()), HasSubstr("not finite"));
  InteractionsOptions timed;
  timed.timestamp_column = "t";
  EXPECT_THAT(error("user,item,t\na,b,1\na,c,yesterday\n", timed),
              HasSubstr("r.csv:3: column 't': the timestamp 'yesterday' is not a number"));
  EXPECT_THAT(error("usr,item\na,b\n", {}), HasSubstr("user column 'user' is not in"));
  EXPECT_THAT(error("user,item\n", {}), HasSubstr("no interactions"));
  EXPECT_THAT(error("", {}), HasSubstr("is empty"));
  EXPECT_THAT(error("user,item\n\"a,b\n", {}), HasSubstr("never closed"));
  InteractionsOptions last;
  last.holdout = Holdout::kLast;
  EXPECT_THAT(error("user,item\na,b\n", last), HasSubstr("needs `timestamp_column`"));
  InteractionsOptions test_only;
  test_only.part = InteractionsPart::kTest;
  EXPECT_THAT(error("user,item\na,b\n", test_only), HasSubstr("part: test needs a holdout"));
}

constexpr char kTimed[] =
    "user,item,time\n"
    "a,i1,5\n"   // row 0
    "a,i2,9\n"   // row 1: a's latest
    "b,i1,1\n"   // row 2: b has one interaction: stays in train
    "a,i3,7\n"   // row 3
    "c,i2,3\n"   // row 4
    "c,i3,3\n";  // row 5: ties with row 4, later in the file: c's latest

TEST(InteractionsDatasetTest, HoldoutLastTakesEachUsersLatestWithTiesToTheLaterRow) {
  InteractionsOptions o;
  o.timestamp_column = "time";
  o.holdout = Holdout::kLast;
  o.part = InteractionsPart::kTest;
  auto test = parseOk(kTimed, o);
  o.part = InteractionsPart::kTrain;
  auto train = parseOk(kTimed, o);
  ASSERT_NE(test, nullptr);
  ASSERT_NE(train, nullptr);
  // Users a=0, b=1, c=2; items i1=0, i2=1, i3=2 (whole-file order in both parts).
  EXPECT_EQ(rowsOf(*test).pairs, (std::vector<std::int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(rowsOf(*train).pairs, (std::vector<std::int64_t>{0, 0, 1, 0, 0, 2, 2, 1}));
  EXPECT_EQ(train->schema().id_names, test->schema().id_names);
  EXPECT_NE(train->fingerprint(), test->fingerprint());

  o.holdout_count = 2;  // a has 3 rows: 2 held out; c has 2: stays in train
  o.part = InteractionsPart::kTest;
  auto two = parseOk(kTimed, o);
  ASSERT_NE(two, nullptr);
  EXPECT_EQ(rowsOf(*two).pairs, (std::vector<std::int64_t>{0, 1, 0, 2}));
}

TEST(InteractionsDatasetTest, HoldoutRandomIsSeededPerUserAndSplitsDisjointly) {
  std::string text = "user,item\n";
  for (int u = 0; u < 20; ++u) {
    for (int i = 0; i < 1 + u % 5; ++i) {
      text += "u" + std::to_string(u) + ",i" + std::to_string((u * 3 + i) % 11) + "\n";
    }
  }
  InteractionsOptions o;
  o.holdout = Holdout::kRandom;
  o.holdout_count = 2;
  o.seed = 5;
  auto split = [&](InteractionsPart part, std::uint64_t seed) {
    InteractionsOptions p = o;
    p.part = part;
    p.seed = seed;
    return rowsOf(*parseOk(text, p)).pairs;
  };
  auto all = split(InteractionsPart::kAll, 5), train = split(InteractionsPart::kTrain, 5),
       test = split(InteractionsPart::kTest, 5);
  EXPECT_EQ(train.size() + test.size(), all.size());
  // Per user: 2 held out when they have at least 3 rows (u % 5 >= 2), else none.
  std::vector<int> held(20, 0);
  for (std::size_t r = 0; r < test.size(); r += 2) {
    ++held[static_cast<std::size_t>(test[r])];
  }
  for (int u = 0; u < 20; ++u) {
    EXPECT_EQ(held[static_cast<std::size_t>(u)], u % 5 >= 2 ? 2 : 0) << "user " << u;
  }
  EXPECT_EQ(split(InteractionsPart::kTest, 5), test) << "same seed, same split";
  EXPECT_NE(split(InteractionsPart::kTest, 6), test) << "another seed, another split";
}

TEST(InteractionsDatasetTest, ReadsFilesAndPassesTheDatasetConformanceSuite) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("interactions_test_" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path) << "user,item,rating\nu1,a,1\nu2,b,2\nu1,b,3\n";
  InteractionsOptions o = withRatings();
  o.path = path;
  auto data = InteractionsDataset::open(o);
  ASSERT_TRUE(data.ok()) << data.status().toString();
  for (const auto& check : aimass::testing::checkDataset(**data)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  Batch batch;
  std::vector<std::uint64_t> beyond = {3};
  EXPECT_EQ((*data)->read(beyond, batch).code(), StatusCode::kOutOfRange);
  std::filesystem::remove(path);
  EXPECT_EQ(InteractionsDataset::open(o).status().code(), StatusCode::kNotFound);
}

TEST(InteractionsDatasetTest, RegistersTheDocumentedParameters) {
  auto registered = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
  ASSERT_TRUE(registered.status.ok()) << registered.status.toString();
  ASSERT_EQ(registered.types.size(), 1u);
  EXPECT_EQ(registered.types[0].type, "dataset.interactions");
  std::vector<std::string> names;
  for (const auto& p : registered.types[0].params) {
    names.push_back(p.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"path", "user_column", "item_column", "rating_column",
                                             "timestamp_column", "holdout", "holdout_count", "part",
                                             "seed"}));
}

}  // namespace
}  // namespace aimass::plugins::dataset
