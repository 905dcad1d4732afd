// SPDX-License-Identifier: Apache-2.0
// The plugin loader against real libraries: a good fixture, and one fixture per way a library
// can be refused (see fixtures/). Every refusal must name the library's path and the reason
// (with both versions where versions are the reason), add no type at all, and let loading
// carry on.
#include "aimass/core/plugin_loader.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

#include "aimass/storage.h"
#include "scoped_env.h"

namespace aimass::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path fixture(const std::string& name) {
  return fs::canonical(fs::path(AIMASS_FIXTURE_DIR) / ("libaimass_fixture_" + name + ".so"));
}

std::string path(const std::string& name) { return fixture(name).string(); }

const std::string kHostAbi =
    std::to_string(AIMASS_ABI_MAJOR) + "." + std::to_string(AIMASS_ABI_MINOR);

/// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "aimass-loader-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& path() const { return dir_; }
  fs::path copy(const fs::path& from, const std::string& name) const {
    fs::create_directories(dir_);
    fs::copy_file(from, dir_ / name, fs::copy_options::overwrite_existing);
    return dir_ / name;
  }

 private:
  fs::path dir_;
};

using ::aimass::testing::ScopedEnv;

std::vector<std::string> typeNames(const TypeRegistry& registry) {
  std::vector<std::string> names;
  for (const auto* type : registry.all()) {
    names.push_back(type->type.type);
  }
  return names;
}

/// True while the library at `path` is mapped into this process.
bool isMapped(const fs::path& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (handle) {
    dlclose(handle);
  }
  return handle != nullptr;
}

TEST(PluginLoader, LoadsGoodPluginAndRegistersItsTypes) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  Status status = loader.load(fixture("good"));
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_TRUE(loader.failures().empty());
  EXPECT_THAT(typeNames(registry),
              ::testing::ElementsAre("model.fixture_linear", "storage.fixture_memory"));

  ASSERT_EQ(loader.loaded().size(), 1u);
  const auto& info = *loader.loaded()[0];
  EXPECT_EQ(info.name, "fixture.good");
  EXPECT_EQ(info.version, "1.0.0");
  EXPECT_EQ(info.library, path("good"));
  EXPECT_EQ(info.toolchain, AIMASS_TOOLCHAIN_TAG);

  const RegisteredType* storage = registry.find("storage.fixture_memory");
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->type.kind, NodeKind::kStorage);
  EXPECT_EQ(storage->plugin->name, "fixture.good");
  EXPECT_NE(storage->library, nullptr);
}

TEST(PluginLoader, AcceptsAnOlderOrEqualAbiMinor) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  Status status = loader.load(fixture("older_minor"));
  ASSERT_TRUE(status.ok()) << status.toString();
  EXPECT_NE(registry.find("model.fixture_older_minor"), nullptr);
  EXPECT_LE(loader.loaded()[0]->abi_minor, static_cast<std::uint32_t>(AIMASS_ABI_MINOR));
}

struct Refusal {
  std::string fixture;
  std::string expected;  // the whole message, with "{path}" standing for the library's path
};

std::string expand(std::string text, const std::string& library) {
  for (auto pos = text.find("{path}"); pos != std::string::npos; pos = text.find("{path}")) {
    text.replace(pos, 6, library);
  }
  return text;
}

class RefusedFixture : public ::testing::TestWithParam<Refusal> {};

TEST_P(RefusedFixture, IsRefusedWithPathAndReasonAndAddsNoType) {
  const Refusal& refusal = GetParam();
  TypeRegistry registry;
  PluginLoader loader(registry);
  const std::string library = path(refusal.fixture);
  const std::string expected = expand(refusal.expected, library);

  Status status = loader.load(library);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), expected);
  ASSERT_EQ(loader.failures().size(), 1u);
  EXPECT_EQ(loader.failures()[0].library, library);
  EXPECT_EQ(loader.failures()[0].reason, expected);
  EXPECT_TRUE(loader.loaded().empty());
  EXPECT_TRUE(registry.all().empty()) << "a refused library must add no type";
}

INSTANTIATE_TEST_SUITE_P(
    EveryReason, RefusedFixture,
    ::testing::Values(
        Refusal{"abi_major_mismatch",
                "'{path}' (plugin 'fixture.abi_major_mismatch' 2.0.0) was built for plugin ABI " +
                    std::to_string(AIMASS_ABI_MAJOR + 1) + ".0, but this host supports " +
                    kHostAbi + ": major versions differ"},
        Refusal{"newer_minor",
                "'{path}' (plugin 'fixture.newer_minor' 1.3.0) was built for plugin ABI " +
                    std::to_string(AIMASS_ABI_MAJOR) + "." + std::to_string(AIMASS_ABI_MINOR + 3) +
                    ", newer than this host's " + kHostAbi},
        Refusal{"toolchain_mismatch",
                "'{path}' (plugin 'fixture.toolchain_mismatch' 1.0.0) was built with toolchain "
                "'x86_64-itanium-libc++-abi1', but this host uses '" AIMASS_TOOLCHAIN_TAG "'"},
        Refusal{"missing_entry",
                "'{path}' has no 'aimass_plugin_entry' symbol: is it an aimass plugin?"},
        Refusal{"null_descriptor", "'{path}': entry point returned no descriptor"},
        Refusal{"null_register",
                "'{path}' (plugin 'fixture.null_register' 1.0.0) has no register callback"},
        Refusal{"register_fails",
                "'{path}' (plugin 'fixture.register_fails' 1.0.0): register_types failed: "
                "unavailable: fixture cannot reach its license server"},
        Refusal{"register_throws",
                "'{path}' (plugin 'fixture.register_throws' 1.0.0): register_types threw: "
                "fixture exploded while registering"},
        Refusal{"malformed_type",
                "'{path}' (plugin 'fixture.malformed_type' 1.0.0): type "
                "'model.fixture_malformed': parameter 'epochs' has default 0 outside its range "
                "[1, 100]"}),
    [](const ::testing::TestParamInfo<Refusal>& info) { return info.param.fixture; });

TEST(PluginLoader, RefusesAFileThatIsNotASharedLibrary) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  const std::string bogus = fs::canonical(fs::path(AIMASS_FIXTURE_DIR) / "libaimass_bogus.so");
  Status status = loader.load(bogus);
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), ::testing::StartsWith("cannot load '" + bogus + "': "));
  // dlopen's own reason follows, without repeating the path.
  EXPECT_GT(status.message().size(), ("cannot load '" + bogus + "': ").size());
  EXPECT_THAT(status.message().substr(bogus.size() + 16), ::testing::Not(HasSubstr(bogus)));
  EXPECT_TRUE(registry.all().empty());
}

TEST(PluginLoader, RefusesAMissingFileNamingItsAbsolutePath) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  TempDir dir;
  const fs::path missing = dir.path() / "libaimass_missing.so";
  Status status = loader.load(missing);
  EXPECT_EQ(status.message(), "cannot load '" + missing.string() + "': no such file");
  ASSERT_EQ(loader.failures().size(), 1u);
  EXPECT_EQ(loader.failures()[0].library, missing.string());
}

TEST(PluginLoader, RefusesADuplicateTypeAndKeepsTheFirstOwner) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load(fixture("good")).ok());
  Status status = loader.load(fixture("duplicate_type"));
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "'" + path("duplicate_type") +
                                  "' (plugin 'fixture.duplicate_type' 1.0.0): type "
                                  "'storage.fixture_memory' is already registered by plugin "
                                  "'fixture.good' (" +
                                  path("good") + ")");
  // All or nothing: the type only the refused library offered is not there either.
  EXPECT_EQ(registry.find("storage.fixture_unique"), nullptr);
  EXPECT_EQ(registry.find("storage.fixture_memory")->plugin->name, "fixture.good");
}

TEST(PluginLoader, RefusesAUriSchemeForATypeThePluginDoesNotRegister) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  Status status = loader.load(fixture("bad_uri_scheme"));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "'" + path("bad_uri_scheme") +
                                  "' (plugin 'fixture.bad_uri_scheme' 1.0.0): the URI schemes of "
                                  "'storage.fixture_elsewhere' name a type the plugin does not "
                                  "register");
  EXPECT_EQ(registry.find("storage.fixture_schemed"), nullptr);
  EXPECT_EQ(registry.findUriScheme("fixture"), nullptr);
}

TEST(PluginLoader, RegistersThePluginsCommandsAndTheirHandlersRun) {
  TypeRegistry registry;
  {
    PluginLoader loader(registry);
    ASSERT_TRUE(loader.load(fixture("command")).ok());
  }
  std::vector<std::string> names;
  for (const RegisteredCommand* command : registry.commands()) {
    names.push_back(command->command.name);
    EXPECT_EQ(command->plugin->name, "fixture.command");
  }
  EXPECT_THAT(names, ::testing::ElementsAre("fixture-tool fail", "fixture-tool greet",
                                            "fixture-tool throw"));
  const RegisteredCommand* greet = registry.findCommand("fixture-tool greet");
  ASSERT_NE(greet, nullptr);
  EXPECT_EQ(greet->command.usage, "fixture-tool greet [ARGS...]");
  // The handler keeps the library loaded after the loader is gone.
  std::istringstream in("from stdin");
  std::ostringstream out, err;
  CommandStreams io{in, out, err};
  EXPECT_EQ(greet->command.handler({"a", "b"}, io), 0);
  EXPECT_EQ(out.str(), "hello a b\n");
  EXPECT_EQ(err.str(), "from stdin");
  EXPECT_EQ(registry.findCommand("fixture-tool"), nullptr);
}

TEST(PluginLoader, RefusesADuplicateCommandAndKeepsTheFirstOwner) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load(fixture("command")).ok());
  Status status = loader.load(fixture("duplicate_command"));
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "'" + path("duplicate_command") +
                                  "' (plugin 'fixture.duplicate_command' 1.0.0): command "
                                  "'fixture-tool greet' is already added by plugin "
                                  "'fixture.command'");
  // All or nothing: neither its fresh command nor its type is there.
  EXPECT_EQ(registry.findCommand("fixture-fresh"), nullptr);
  EXPECT_EQ(registry.find("model.fixture_uncommanded"), nullptr);
  EXPECT_EQ(registry.findCommand("fixture-tool greet")->plugin->name, "fixture.command");
}

TEST(PluginLoader, CarriesOnAfterRefusalsAndListsEveryFailure) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  const std::vector<std::string> broken = {
      "abi_major_mismatch", "newer_minor",   "toolchain_mismatch", "missing_entry",
      "null_descriptor",    "null_register", "register_fails",     "register_throws",
      "duplicate_type",     "malformed_type"};
  ASSERT_TRUE(loader.load(fixture("good")).ok());
  for (const auto& name : broken) {
    EXPECT_FALSE(loader.load(fixture(name)).ok()) << name;
  }
  EXPECT_TRUE(loader.load(fixture("older_minor")).ok());

  ASSERT_EQ(loader.failures().size(), broken.size());
  for (std::size_t i = 0; i < broken.size(); ++i) {
    EXPECT_EQ(loader.failures()[i].library, path(broken[i]));
    EXPECT_THAT(loader.failures()[i].reason, HasSubstr(path(broken[i])));
  }
  ASSERT_EQ(loader.loaded().size(), 2u);
  EXPECT_EQ(loader.loaded()[0]->name, "fixture.good");
  EXPECT_EQ(loader.loaded()[1]->name, "fixture.older_minor");
  EXPECT_THAT(typeNames(registry),
              ::testing::ElementsAre("model.fixture_linear", "model.fixture_older_minor",
                                     "storage.fixture_memory"));
}

TEST(PluginLoader, LoadsTheSameLibraryOnceEvenThroughASymlink) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  TempDir dir;
  fs::create_directories(dir.path());
  const fs::path link = dir.path() / "libaimass_link.so";
  fs::create_symlink(fixture("good"), link);

  EXPECT_TRUE(loader.load(fixture("good")).ok());
  EXPECT_TRUE(loader.load(fixture("good")).ok());
  EXPECT_TRUE(loader.load(link).ok());
  EXPECT_EQ(loader.loaded().size(), 1u);
  EXPECT_TRUE(loader.failures().empty());
  EXPECT_EQ(registry.all().size(), 2u);

  // A refused library is refused once, with the same answer every time.
  Status first = loader.load(fixture("newer_minor"));
  Status second = loader.load(fixture("newer_minor"));
  EXPECT_EQ(first.message(), second.message());
  EXPECT_EQ(loader.failures().size(), 1u);
}

TEST(PluginLoader, LoadDirectoryLoadsPluginNamedLibrariesInNameOrder) {
  TempDir dir;
  // Name order decides who owns storage.fixture_memory: a_dup comes before b_good.
  dir.copy(fixture("good"), "libaimass_b_good.so");
  dir.copy(fixture("duplicate_type"), "libaimass_a_dup.so");
  dir.copy(fs::path(AIMASS_FIXTURE_DIR) / "libaimass_bogus.so", "libaimass_z_bogus.so");
  dir.copy(fixture("newer_minor"), "not_a_plugin_name.so");
  dir.copy(fixture("newer_minor"), "libaimass_c_wrong_suffix.so.1");

  TypeRegistry registry;
  PluginLoader loader(registry);
  loader.loadDirectory(dir.path());

  ASSERT_EQ(loader.loaded().size(), 1u);
  EXPECT_EQ(loader.loaded()[0]->name, "fixture.duplicate_type");
  EXPECT_EQ(loader.loaded()[0]->library, (dir.path() / "libaimass_a_dup.so").string());
  ASSERT_EQ(loader.failures().size(), 2u);
  EXPECT_EQ(loader.failures()[0].library, (dir.path() / "libaimass_b_good.so").string());
  EXPECT_THAT(loader.failures()[0].reason,
              HasSubstr("type 'storage.fixture_memory' is already registered by plugin "
                        "'fixture.duplicate_type'"));
  EXPECT_EQ(loader.failures()[1].library, (dir.path() / "libaimass_z_bogus.so").string());
  EXPECT_THAT(loader.failures()[1].reason, ::testing::StartsWith("cannot load '"));
}

TEST(PluginLoader, LoadDirectoryIgnoresAMissingDirectory) {
  TypeRegistry registry;
  PluginLoader loader(registry);
  loader.loadDirectory("/nonexistent/aimass/plugins");
  EXPECT_TRUE(loader.failures().empty());
  EXPECT_TRUE(loader.loaded().empty());
}

TEST(PluginLoader, DiscoverSearchesConfigPathsThenEnvironmentThenDefaultDir) {
  TempDir config_dir, env_dir;
  // The configuration names one file; the environment holds a folder with a library offering
  // the same type, which must lose to the configuration's.
  const fs::path config_lib = config_dir.copy(fixture("duplicate_type"), "libaimass_dup.so");
  env_dir.copy(fixture("good"), "libaimass_good.so");
  env_dir.copy(fixture("older_minor"), "libaimass_older.so");
  const fs::path missing_env = env_dir.path() / "no-such-folder";
  const std::string plugin_path = env_dir.path().string() + "::" + missing_env.string();
  ScopedEnv env("AIMASS_PLUGIN_PATH", plugin_path.c_str());

  TypeRegistry registry;
  PluginLoader loader(registry);
  loader.discover({config_lib, config_dir.path() / "missing.so"});

  ASSERT_GE(loader.loaded().size(), 2u);
  EXPECT_EQ(loader.loaded()[0]->library, config_lib.string());
  EXPECT_EQ(loader.loaded()[1]->library, (env_dir.path() / "libaimass_older.so").string());
  EXPECT_EQ(registry.find("storage.fixture_memory")->plugin->name, "fixture.duplicate_type");

  ASSERT_GE(loader.failures().size(), 3u);
  EXPECT_EQ(loader.failures()[0].reason, "plugin path '" +
                                             (config_dir.path() / "missing.so").string() +
                                             "' (from the configuration) does not exist");
  EXPECT_EQ(loader.failures()[1].library, (env_dir.path() / "libaimass_good.so").string());
  EXPECT_THAT(loader.failures()[1].reason, HasSubstr("already registered by plugin "
                                                     "'fixture.duplicate_type'"));
  EXPECT_EQ(loader.failures()[2].reason,
            "plugin path '" + missing_env.string() + "' (from AIMASS_PLUGIN_PATH) does not exist");
  // Whatever the default folder holds comes after everything named explicitly.
  const std::string default_dir = PluginLoader::defaultPluginDir().string();
  for (std::size_t i = 2; i < loader.loaded().size(); ++i) {
    EXPECT_THAT(loader.loaded()[i]->library, ::testing::StartsWith(default_dir));
  }
}

TEST(PluginLoader, DefaultPluginDirIsBesideTheExecutable) {
  // Tests run from <build>/tests, so the default folder is <build>/lib/aimass/plugins, the
  // same folder the build puts plugins in (and the install tree mirrors).
  EXPECT_EQ(fs::weakly_canonical(PluginLoader::defaultPluginDir()),
            fs::weakly_canonical(AIMASS_PLUGIN_FOLDER_PATH));
}

TEST(PluginLoader, NodeKeepsItsLibraryLoadedAfterLoaderAndRegistryAreGone) {
  const fs::path library = fixture("good");
  std::shared_ptr<Node> node;
  {
    TypeRegistry registry;
    PluginLoader loader(registry);
    ASSERT_TRUE(loader.load(library).ok());
    const RegisteredType* type = registry.find("storage.fixture_memory");
    ASSERT_NE(type, nullptr);
    NodeConfig config("store", type->type.type, nullptr);  // the fixture never uses the host
    config.setValue("label", std::string("kept"));
    auto made = type->type.factory(config);
    ASSERT_TRUE(made.ok()) << made.status().toString();
    // As the graph does: the deleter holds the library, and destroys the node first.
    std::shared_ptr<void> handle = type->library;
    Node* raw = made.value().release();
    node = std::shared_ptr<Node>(raw, [handle](Node* n) { delete n; });
  }
  ASSERT_TRUE(isMapped(library));
  auto& storage = static_cast<Storage&>(*node);
  EXPECT_EQ(storage.describe(), "fixture-memory:kept");
  ASSERT_TRUE(storage.put("a/b", "value").ok());
  auto value = storage.get("a/b");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value.value(), "value");

  node.reset();
  EXPECT_FALSE(isMapped(library)) << "the last node gone, nothing should hold the library";
}

}  // namespace
}  // namespace aimass::core
