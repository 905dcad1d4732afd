// SPDX-License-Identifier: Apache-2.0
#include "aimass/testing/registration.h"

#include <gtest/gtest.h>

namespace aimass::testing {
namespace {

Status addTwo(Registrar& registrar) {
  for (const char* name : {"model.one", "model.two"}) {
    NodeType type;
    type.type = name;
    type.kind = NodeKind::kModel;
    AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
  }
  return Status();
}

Status failAfterOne(Registrar& registrar) {
  NodeType type;
  type.type = "model.one";
  AIMASS_RETURN_IF_ERROR(registrar.add(std::move(type)));
  return invalidArgument("the second type is broken");
}

TEST(CollectRegisteredTypes, ReturnsEveryTypeInOrder) {
  AimassPluginDescriptor d{1, 0, "", "p", "1", "", &addTwo};
  auto got = collectRegisteredTypes(d);
  ASSERT_TRUE(got.status.ok());
  ASSERT_EQ(got.types.size(), 2u);
  EXPECT_EQ(got.types[0].type, "model.one");
  EXPECT_EQ(got.types[1].type, "model.two");
}

TEST(CollectRegisteredTypes, KeepsTheCallbacksFailureAndWhatItAddedBefore) {
  AimassPluginDescriptor d{1, 0, "", "p", "1", "", &failAfterOne};
  auto got = collectRegisteredTypes(d);
  EXPECT_EQ(got.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(got.types.size(), 1u);
}

TEST(CollectRegisteredTypes, ADescriptorWithoutCallbackIsAFailure) {
  AimassPluginDescriptor d{1, 0, "", "p", "1", "", nullptr};
  EXPECT_EQ(collectRegisteredTypes(d).status.code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace aimass::testing
