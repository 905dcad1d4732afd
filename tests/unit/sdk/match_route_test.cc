// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "aimass/http.h"
#include "allocation_counter.h"

namespace aimass::testing {
namespace {

using Params = std::map<std::string, std::string>;

TEST(MatchRoute, FillsCapturesOfAMatchingPath) {
  Params params;
  ASSERT_TRUE(matchRoute("/v2/models/{model}/versions/{version}/infer",
                         "/v2/models/iris/versions/3/infer", params));
  EXPECT_EQ(params, (Params{{"model", "iris"}, {"version", "3"}}));
  ASSERT_TRUE(matchRoute("/v2/health/live", "/v2/health/live", params));
  EXPECT_TRUE(params.empty()) << "a match without captures leaves none from before";
}

TEST(MatchRoute, RefusesOtherPathsAndLeavesParamsAlone) {
  const Params before{{"kept", "yes"}};
  for (const char* path : {"/v2/models/iris/ready", "/v2/models/iris", "/v2/models/iris/infer/x",
                           "/v2/models//infer", "/v2/models/iris/infer/", "/v3/models/iris/infer",
                           ""}) {
    Params params = before;
    EXPECT_FALSE(matchRoute("/v2/models/{model}/infer", path, params)) << path;
    EXPECT_EQ(params, before) << path;
  }
}

// Routes are tried in turn for every request, so the ones that do not match must be cheap.
TEST(MatchRoute, AFailedMatchAllocatesNothing) {
  Params params;
  const long before = heapAllocations();
  EXPECT_FALSE(matchRoute("/v2/models/{model}/versions/{version}/stats",
                          "/v2/models/a-model-name-longer-than-short-strings/infer", params));
  EXPECT_FALSE(matchRoute("/v2/models/{model}/ready",
                          "/v2/models/a-model-name-longer-than-short-strings/infer", params));
  EXPECT_EQ(heapAllocations(), before);
}

}  // namespace
}  // namespace aimass::testing
