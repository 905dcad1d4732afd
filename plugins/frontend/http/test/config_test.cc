// SPDX-License-Identifier: Apache-2.0
// frontend.http's record parameters read from YAML as `aimass validate` and `aimass run` read
// them: `api_keys` (a list of records), with each mistake reported at its FILE:LINE:COL. (The
// per-model serving settings are the built-in serving.runtime node's: tests/unit/serving_node.)
#include "aimass/core/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <utility>

#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/type_registry.h"
#include "aimass/testing/registration.h"
#include "authenticator.h"
#include "http_frontend.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::frontend {
namespace {

const std::string kHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

class FrontendConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registrar = aimass::testing::collectRegisteredTypes(*aimass_plugin_descriptor_fn());
    ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
    for (auto& type : registrar.types) {
      ASSERT_TRUE(registry_.add(std::move(type), nullptr, nullptr).ok());
    }
  }

  /// The nodes of `yaml` (the text after "nodes:\n  web:\n    type: frontend.http\n"),
  /// validated; null with diagnostics_ filled on a mistake.
  std::unique_ptr<core::Graph> validate(const std::string& params) {
    const std::string text = "nodes:\n  web:\n    type: frontend.http\n" + params;
    auto document = core::loadConfigFromString(text, "web.yaml", ".", diagnostics_);
    if (!document) {
      return nullptr;
    }
    return core::Graph::validate(*document, registry_, diagnostics_);
  }

  /// The one diagnostic of `params`, formatted.
  std::string error(const std::string& params) {
    diagnostics_.clear();
    EXPECT_EQ(validate(params), nullptr);
    EXPECT_EQ(diagnostics_.size(), 1u) << core::formatDiagnostics(diagnostics_);
    return diagnostics_.empty() ? std::string() : diagnostics_.front().format();
  }

  /// Every diagnostic of `params`, formatted, in file order.
  std::string errors(const std::string& params) {
    diagnostics_.clear();
    EXPECT_EQ(validate(params), nullptr);
    return core::formatDiagnostics(diagnostics_);
  }

  /// The frontend of `params`, made; its status when the factory refuses it.
  Status instantiate(const std::string& params) {
    diagnostics_.clear();
    auto graph = validate(params);
    if (!graph) {
      return invalidArgument(core::formatDiagnostics(diagnostics_));
    }
    return graph->instantiate(host_);
  }

  core::TypeRegistry registry_;
  core::HostServices host_{".", 1};
  core::Diagnostics diagnostics_;
};

TEST_F(FrontendConfigTest, ApiKeysAreRecordsWithTheirFieldsChecked) {
  EXPECT_TRUE(instantiate("    api_keys:\n"
                          "      - {name: ci, role: reader, sha256: " +
                          kHash +
                          "}\n"
                          "      - name: deployer\n"
                          "        role: operator\n"
                          "        sha256: " +
                          kHash + "\n")
                  .ok())
      << core::formatDiagnostics(diagnostics_);

  EXPECT_EQ(error("    api_keys:\n      - {name: ci, role: root, sha256: " + kHash + "}\n"),
            "web.yaml:5:26: error: parameter 'api_keys[0].role' of node 'web' must be one of: "
            "annotator, reader, operator, admin, but is 'root'");
  EXPECT_EQ(error("    api_keys:\n      - {name: ci, role: public, sha256: " + kHash + "}\n"),
            "web.yaml:5:26: error: parameter 'api_keys[0].role' of node 'web' must be one of: "
            "annotator, reader, operator, admin, but is 'public'");
  EXPECT_EQ(errors("    api_keys:\n      - {name: ci, rol: reader, sha256: " + kHash + "}\n"),
            "web.yaml:5:9: error: parameter 'api_keys[0]' of node 'web' is missing the required "
            "field 'role'\n"
            "  hint: role (string): What the key may do.\n"
            "web.yaml:5:20: error: parameter 'api_keys[0]' of node 'web' has no field 'rol'\n"
            "  hint: did you mean 'role'?");
  EXPECT_EQ(error("    api_keys:\n      - {name: ci, sha256: " + kHash + "}\n"),
            "web.yaml:5:9: error: parameter 'api_keys[0]' of node 'web' is missing the required "
            "field 'role'\n"
            "  hint: role (string): What the key may do.");
  EXPECT_EQ(error("    api_keys: [\"ci reader " + kHash + "\"]\n"),
            "web.yaml:4:16: error: parameter 'api_keys[0]' of node 'web' must be a record (a map "
            "of field names to values), not a scalar\n"
            "  hint: write it as {name: ..., role: ..., sha256: ...}");
}

TEST_F(FrontendConfigTest, AKeyHashThatIsNotAHashIsNamedAtItsPlaceAndNeverQuoted) {
  Status status = instantiate(
      "    api_keys:\n"
      "      - {name: ci, role: reader, sha256: " +
      kHash +
      "}\n"
      "      - {name: bad, role: reader, sha256: my-secret-key}\n");
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(),
              ::testing::EndsWith("web.yaml:6:43: api_keys[1] (key 'bad'): the hash must be the "
                                  "64 hex digits of the key's SHA-256, found 13 characters (is "
                                  "this the key itself? store only its hash)"));
  EXPECT_THAT(status.message(), ::testing::Not(::testing::HasSubstr("my-secret-key")));
}

TEST_F(FrontendConfigTest, AKeyHashFromTheEnvironmentIsNeverShown) {
  ::setenv("AIMASS_FRONTEND_CONFIG_TEST_ROLE", "root-secret", 1);
  EXPECT_EQ(
      error("    api_keys:\n      - {name: ci, role: \"${AIMASS_FRONTEND_CONFIG_TEST_ROLE}\", "
            "sha256: " +
            kHash + "}\n"),
      "web.yaml:5:26: error: parameter 'api_keys[0].role' of node 'web' must be one of: "
      "annotator, reader, operator, admin, but the value of ${AIMASS_FRONTEND_CONFIG_TEST_ROLE} is "
      "not");
  ::unsetenv("AIMASS_FRONTEND_CONFIG_TEST_ROLE");
}

}  // namespace
}  // namespace aimass::plugins::frontend
