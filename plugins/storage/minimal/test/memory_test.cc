// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "aimass/testing/storage_conformance.h"
#include "minimal.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::storage {
namespace {

NodeConfig defaultsOf(const NodeType& type) {
  NodeConfig config("store", type.type, nullptr);
  for (const auto& spec : type.params) {
    if (!std::holds_alternative<std::monostate>(spec.default_value)) {
      config.setValue(spec.name, spec.default_value);
    }
  }
  return config;
}

TEST(MemoryStorageTest, PassesTheStorageConformanceSuite) {
  MemoryStorage storage(0);
  for (const auto& check : aimass::testing::checkStorage(storage)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
  EXPECT_EQ(storage.bytesUsed(), 0u) << "the suite removes everything it wrote";
}

TEST(MemoryStorageTest, MaxBytesRefusesAWriteThatWouldExceedItAndKeepsTheOldValue) {
  MemoryStorage storage(20);
  ASSERT_TRUE(storage.put("k", "0123456789").ok());  // 11 bytes
  EXPECT_EQ(storage.bytesUsed(), 11u);
  Status too_big = storage.put("k", std::string(20, 'x'));
  EXPECT_EQ(too_big.code(), StatusCode::kResourceExhausted) << too_big.toString();
  EXPECT_NE(too_big.message().find("max_bytes 20"), std::string::npos) << too_big.message();
  EXPECT_EQ(storage.get("k").value(), "0123456789");

  auto cas = storage.compareAndSet("other", std::nullopt, std::string(15, 'y'));
  EXPECT_EQ(cas.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(storage.get("other").status().code(), StatusCode::kNotFound);

  // Replacing a value frees its old bytes; removing frees them all.
  ASSERT_TRUE(storage.put("k", std::string(19, 'z')).ok());
  EXPECT_EQ(storage.bytesUsed(), 20u);
  ASSERT_TRUE(storage.remove("k").ok());
  EXPECT_EQ(storage.bytesUsed(), 0u);
}

TEST(MemoryStorageTest, RegistersStorageMemoryWhoseFactoryUsesTheDefaults) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  ASSERT_NE(descriptor, nullptr);
  EXPECT_EQ(descriptor->abi_major, unsigned{AIMASS_ABI_MAJOR});
  EXPECT_STREQ(descriptor->name, "storage.memory");
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "storage.memory");
  EXPECT_EQ(type.kind, NodeKind::kStorage);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty()) << spec.name;
  }
  auto node = type.factory(defaultsOf(type));
  ASSERT_TRUE(node.ok()) << node.status().toString();
  auto& storage = static_cast<Storage&>(**node);
  EXPECT_EQ(storage.describe(), "memory");
  EXPECT_TRUE(storage.put("a", std::string(1 << 20, 'a')).ok()) << "unlimited by default";
}

}  // namespace
}  // namespace aimass::plugins::storage
