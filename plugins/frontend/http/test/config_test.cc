// SPDX-License-Identifier: Apache-2.0
// frontend.http's record parameters read from YAML as `aimass validate` and `aimass run` read
// them: `api_keys` (a list of records) and `model_settings` (a map of records), with each
// mistake reported at its FILE:LINE:COL.
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
            "reader, operator, admin, but is 'root'");
  EXPECT_EQ(error("    api_keys:\n      - {name: ci, role: public, sha256: " + kHash + "}\n"),
            "web.yaml:5:26: error: parameter 'api_keys[0].role' of node 'web' must be one of: "
            "reader, operator, admin, but is 'public'");
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
      "reader, operator, admin, but the value of ${AIMASS_FRONTEND_CONFIG_TEST_ROLE} is not");
  ::unsetenv("AIMASS_FRONTEND_CONFIG_TEST_ROLE");
}

TEST_F(FrontendConfigTest, ModelSettingsAreAMapOfRecordsOverTheFrontendsOwn) {
  auto graph = validate(
      "    max_queue_size: 9\n"
      "    model_settings:\n"
      "      iris: {max_batch_size: 32, preferred_batch_sizes: [8, 16], max_queue_delay_us: 200,\n"
      "             queue_timeout_ms: 1000, version_policy: \"latest:2\"}\n"
      "      fashion: {}\n");
  ASSERT_NE(graph, nullptr) << core::formatDiagnostics(diagnostics_);
  const auto& values = graph->nodes().front().values;
  auto found = std::find_if(values.begin(), values.end(),
                            [](const auto& v) { return v.first == "model_settings"; });
  ASSERT_NE(found, values.end());
  const auto& map = std::get<ParamRecordMap>(found->second);
  ASSERT_EQ(map.size(), 2u);
  BatchingOptions defaults;
  defaults.max_queue_size = 9;
  auto iris = modelSettingsFromRecord("iris", map.at("iris"), defaults);
  ASSERT_TRUE(iris.ok()) << iris.status().toString();
  EXPECT_EQ(iris->model, "iris");
  EXPECT_EQ(iris->batching.max_batch_size, 32);
  EXPECT_EQ(iris->batching.preferred_batch_sizes, (std::vector<std::int64_t>{8, 16}));
  EXPECT_EQ(iris->batching.max_queue_delay_us, 200);
  EXPECT_EQ(iris->batching.max_queue_size, 9);
  EXPECT_EQ(iris->batching.timeout_ms, 1000);
  ASSERT_TRUE(iris->version_policy);
  EXPECT_EQ(iris->version_policy->latest, 2);
  auto fashion = modelSettingsFromRecord("fashion", map.at("fashion"), defaults);
  ASSERT_TRUE(fashion.ok());
  EXPECT_EQ(fashion->batching.max_queue_size, 9);
  EXPECT_FALSE(fashion->version_policy);
  EXPECT_TRUE(graph->instantiate(host_).ok());
}

TEST_F(FrontendConfigTest, ModelSettingsMistakesAreNamedAtTheirPlace) {
  EXPECT_EQ(error("    model_settings:\n      iris: {colour: red}\n"),
            "web.yaml:5:14: error: parameter 'model_settings.iris' of node 'web' has no field "
            "'colour'\n"
            "  hint: the fields are: max_batch_size, preferred_batch_sizes, max_queue_delay_us, "
            "max_queue_size, queue_timeout_ms, version_policy");
  EXPECT_EQ(error("    model_settings:\n      iris: {max_batch_size: -1}\n"),
            "web.yaml:5:30: error: parameter 'model_settings.iris.max_batch_size' of node 'web' "
            "must be in [0, 1048576], but is -1");
  EXPECT_EQ(error("    model_settings:\n      iris: {}\n      iris: {max_batch_size: 2}\n"),
            "web.yaml:6:7: error: parameter 'model_settings' of node 'web' names 'iris' twice; "
            "it was first given at web.yaml:5:7");
  EXPECT_EQ(error("    model_settings: [\"iris max_batch_size=32\"]\n"),
            "web.yaml:4:21: error: parameter 'model_settings' of node 'web' must be a map of "
            "names to records, not a list\n"
            "  hint: write one entry a line as 'NAME: {max_batch_size: ..., "
            "preferred_batch_sizes: ..., max_queue_delay_us: ..., max_queue_size: ..., "
            "queue_timeout_ms: ..., version_policy: ...}', or {} for none");

  Status above = instantiate(
      "    model_settings:\n      iris: {max_batch_size: 4, preferred_batch_sizes: [8]}\n");
  EXPECT_THAT(above.message(),
              ::testing::EndsWith("web.yaml:5:13: model_settings.iris: preferred batch size 8 "
                                  "must lie between 1 and max_batch_size (4)"));
  Status policy =
      instantiate("    model_settings:\n      iris: {version_policy: \"specific:x\"}\n");
  EXPECT_THAT(policy.message(), ::testing::HasSubstr("web.yaml:5:30: model_settings.iris."
                                                     "version_policy: "));
  EXPECT_THAT(policy.message(), ::testing::HasSubstr("version policy 'specific:x'"));
}

}  // namespace
}  // namespace aimass::plugins::frontend
