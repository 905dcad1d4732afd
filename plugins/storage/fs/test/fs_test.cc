// SPDX-License-Identifier: Apache-2.0
#include "fs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "aimass/plugin.h"
#include "aimass/testing/registration.h"
#include "aimass/testing/storage_conformance.h"
#include "temp_dir.h"

extern "C" const AimassPluginDescriptor* aimass_plugin_descriptor_fn();

namespace aimass::plugins::storage {
namespace {

namespace fs = std::filesystem;

using aimass::testing::TempDir;

std::unique_ptr<FsStorage> open(const fs::path& root, bool fsync = false) {
  auto storage = FsStorage::create(root, fsync);
  EXPECT_TRUE(storage.ok()) << storage.status().toString();
  return storage.ok() ? std::move(storage).value() : nullptr;
}

void expectConformance(Storage& storage) {
  for (const auto& check : aimass::testing::checkStorage(storage)) {
    EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
  }
}

TEST(FsStorageTest, PassesTheStorageConformanceSuiteWithFsync) {
  TempDir dir;
  auto storage = open(dir.path() / "store", true);
  ASSERT_NE(storage, nullptr);
  expectConformance(*storage);
}

TEST(FsStorageTest, PassesTheStorageConformanceSuiteWithoutFsync) {
  TempDir dir;
  auto storage = open(dir.path() / "store", false);
  ASSERT_NE(storage, nullptr);
  expectConformance(*storage);
  // The suite cleaned up after itself: no key files, no empty folders, no temporary files.
  EXPECT_TRUE(fs::is_empty(dir.path() / "store" / "data"));
  EXPECT_TRUE(fs::is_empty(dir.path() / "store" / "tmp"));
}

TEST(FsStorageTest, CreatesTheFolderWithParentsAndDescribesIt) {
  TempDir dir;
  fs::path root = dir.path() / "a" / "b" / "store";
  auto storage = open(root);
  ASSERT_NE(storage, nullptr);
  EXPECT_TRUE(fs::is_directory(root / "data"));
  EXPECT_EQ(storage->describe(), "fs:" + root.string());
}

TEST(FsStorageTest, RefusesAPathThatIsAFile) {
  TempDir dir;
  fs::path file = dir.path() / "file";
  std::ofstream(file) << "x";
  auto storage = FsStorage::create(file / "store", true);
  ASSERT_FALSE(storage.ok());
  EXPECT_EQ(storage.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(storage.status().message().find((file / "store").string()), std::string::npos)
      << storage.status().message();
  EXPECT_NE(storage.status().message().find("Not a directory"), std::string::npos)
      << storage.status().message();

  auto empty = FsStorage::create("", true);
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST(FsStorageTest, RefusesAFolderItMayNotWriteWithPermissionDenied) {
  TempDir dir;
  fs::path locked = dir.path() / "locked";
  fs::create_directory(locked);
  fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
  // Root ignores permissions, so the check runs in a child that drops to an ordinary user.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) {
      ::_exit(10);
    }
    auto storage = FsStorage::create(locked / "store", true);
    if (storage.ok()) ::_exit(11);
    if (storage.status().code() != StatusCode::kPermissionDenied) ::_exit(12);
    const std::string& message = storage.status().message();
    if (message.find((locked / "store").string()) == std::string::npos) ::_exit(13);
    if (message.find("Permission denied") == std::string::npos) ::_exit(14);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: could not drop privileges, 11: accepted, 12: wrong code, 13: path not named, "
         "14: OS error not named";
}

TEST(FsStorageTest, OddKeysBecomeEscapedFilesInsideTheDataFolder) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  const std::string key = "a b/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/..x/.hidden/100%.txt";
  ASSERT_TRUE(storage->put(key, "value").ok());
  fs::path expected = dir.path() / "data" / "a%20b" / "%D0%BA%D0%BB%D1%8E%D1%87" / "%2E%2Ex" /
                      "%2Ehidden" / "100%25%2Etxt.val";
  EXPECT_EQ(storage->pathForKey(key), expected);
  ASSERT_TRUE(fs::is_regular_file(expected));
  std::ifstream in(expected);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "value");
  // Nothing escaped the data folder.
  for (const auto& entry : fs::recursive_directory_iterator(dir.path())) {
    auto rel = fs::relative(entry.path(), dir.path()).string();
    EXPECT_TRUE(rel.starts_with("data") || rel.starts_with("tmp") || rel == "lock") << rel;
  }
  EXPECT_EQ(storage->list("a b/").value(), std::vector<std::string>{key});

  EXPECT_EQ(FsStorage::escapeSegment("a.b-c_D9"), "a%2Eb-c_D9");
  EXPECT_EQ(FsStorage::unescapeSegment("a%2Eb-c_D9"), "a.b-c_D9");
  EXPECT_EQ(FsStorage::unescapeSegment("a%2"), std::nullopt);
  EXPECT_EQ(FsStorage::unescapeSegment("a%41"), std::nullopt) << "'A' is never escaped";
  EXPECT_EQ(FsStorage::unescapeSegment("x.y"), std::nullopt);
}

TEST(FsStorageTest, ASegmentTooLongForTheFileSystemIsRefusedClearly) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  const std::string segment(100, '.');  // 300 bytes once escaped
  Status put = storage->put("k/" + segment, "v");
  EXPECT_EQ(put.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(put.message().find("File name too long"), std::string::npos) << put.message();
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp")) << "the temporary file is removed";
}

TEST(FsStorageTest, ValuesSurviveReopeningAndRemoveDropsEmptyFolders) {
  TempDir dir;
  {
    auto storage = open(dir.path());
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->put("models/iris/1", "weights").ok());
    ASSERT_TRUE(storage->put("x/y/z", "deep").ok());
  }
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  EXPECT_EQ(storage->get("models/iris/1").value(), "weights");
  ASSERT_TRUE(storage->remove("x/y/z").ok());
  EXPECT_FALSE(fs::exists(dir.path() / "data" / "x"));
  EXPECT_TRUE(fs::exists(dir.path() / "data" / "models" / "iris"));
}

TEST(FsStorageTest, ErrorsNameTheKey) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  auto missing = storage->get("no/such");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("'no/such'"), std::string::npos);
  Status removed = storage->remove("no/such");
  EXPECT_NE(removed.message().find("'no/such'"), std::string::npos);
}

TEST(FsStorageTest, ReadersNeverSeeAHalfWrittenValue) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  const std::string a(1 << 20, 'a'), b(1 << 20, 'b');
  ASSERT_TRUE(storage->put("v", a).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 60; ++i) {
      EXPECT_TRUE(storage->put("v", i % 2 ? a : b).ok());
    }
    done = true;
  });
  int reads = 0;
  while (!done || reads < 10) {
    auto value = storage->get("v");
    ASSERT_TRUE(value.ok()) << value.status().toString();
    ASSERT_TRUE(*value == a || *value == b) << "torn read of " << value->size() << " bytes";
    ++reads;
  }
  writer.join();
}

TEST(FsStorageTest, AKilledWriterLeavesTheOldOrTheNewValue) {
  TempDir dir;
  const std::string a(2 << 20, 'a'), b(2 << 20, 'b');
  {
    auto storage = open(dir.path(), true);
    ASSERT_NE(storage, nullptr);
    ASSERT_TRUE(storage->put("v", a).ok());
  }
  for (int round = 0; round < 3; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto storage = FsStorage::create(dir.path(), true);
      for (int i = 0; storage.ok(); ++i) {
        (*storage)->put("v", i % 2 ? a : b).ignoreError();
      }
      ::_exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + 20 * round));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    auto storage = open(dir.path());
    ASSERT_NE(storage, nullptr);
    auto value = storage->get("v");
    ASSERT_TRUE(value.ok()) << value.status().toString();
    EXPECT_TRUE(*value == a || *value == b) << "torn value of " << value->size() << " bytes";
  }
}

TEST(FsStorageTest, CompareAndSetIsAtomicAcrossProcesses) {
  TempDir dir;
  constexpr int kIncrements = 100;
  auto increment = [&](FsStorage& storage) -> bool {
    for (int i = 0; i < kIncrements; ++i) {
      for (;;) {
        auto current = storage.get("counter");
        if (!current.ok()) return false;
        auto set = storage.compareAndSet("counter", std::string_view(*current),
                                         std::to_string(std::stoi(*current) + 1));
        if (!set.ok()) return false;
        if (*set) break;
      }
    }
    return true;
  };
  auto storage = open(dir.path(), true);
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("counter", "0").ok());
  std::vector<pid_t> children;
  for (int c = 0; c < 2; ++c) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto own = FsStorage::create(dir.path(), true);
      ::_exit(own.ok() && increment(**own) ? 0 : 1);
    }
    children.push_back(child);
  }
  EXPECT_TRUE(increment(*storage));
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(storage->get("counter").value(), std::to_string(3 * kIncrements));
}

TEST(FsStorageTest, AnOpenReaderKeepsItsSnapshotWhenTheValueIsReplaced) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  ASSERT_TRUE(storage->put("blob", "first version").ok());
  auto reader = storage->openRead("blob");
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(storage->put("blob", "second, longer version").ok());
  ASSERT_TRUE(storage->remove("blob").ok());
  std::string back(64, '\0');
  auto n = (*reader)->read(back.data(), back.size());
  ASSERT_TRUE(n.ok());
  back.resize(*n);
  EXPECT_EQ(back, "first version");
  EXPECT_EQ((*reader)->size(), 13u);
}

TEST(FsStorageTest, AnAbandonedWriterLeavesNoTemporaryFile) {
  TempDir dir;
  auto storage = open(dir.path());
  ASSERT_NE(storage, nullptr);
  {
    auto writer = storage->openWrite("blob");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write("partial").ok());
    EXPECT_FALSE(fs::is_empty(dir.path() / "tmp"));
  }
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
  EXPECT_EQ(storage->get("blob").status().code(), StatusCode::kNotFound);

  auto writer = storage->openWrite("blob");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->commit().ok());
  EXPECT_EQ((*writer)->commit().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage->get("blob").value(), "");
}

TEST(FsStorageTest, StartupRemovesOnlyStaleTemporaryFiles) {
  TempDir dir;
  ASSERT_NE(open(dir.path()), nullptr);
  fs::path stale = dir.path() / "tmp" / "tmp-1-2-3";
  fs::path fresh = dir.path() / "tmp" / "tmp-4-5-6";
  std::ofstream(stale) << "left by a killed writer";
  std::ofstream(fresh) << "being written right now";
  fs::last_write_time(stale, fs::file_time_type::clock::now() - std::chrono::hours(2));
  ASSERT_NE(open(dir.path()), nullptr);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fresh));
}

TEST(FsStorageTest, RegistersStorageFsWithAnExamplePath) {
  const AimassPluginDescriptor* descriptor = aimass_plugin_descriptor_fn();
  auto registrar = aimass::testing::collectRegisteredTypes(*descriptor);
  ASSERT_TRUE(registrar.status.ok()) << registrar.status.toString();
  ASSERT_EQ(registrar.types.size(), 1u);
  const NodeType& type = registrar.types[0];
  EXPECT_EQ(type.type, "storage.fs");
  TempDir dir;
  NodeConfig config("store", type.type, nullptr);
  for (const auto& spec : type.params) {
    EXPECT_FALSE(spec.doc.empty());
    if (spec.required) {
      ASSERT_FALSE(spec.example.empty()) << spec.name;
      std::string value = spec.example;
      value.replace(value.find("{tmp}"), 5, dir.path().string());
      config.setValue(spec.name, value);
    } else {
      config.setValue(spec.name, spec.default_value);
    }
  }
  auto node = type.factory(config);
  ASSERT_TRUE(node.ok()) << node.status().toString();
  EXPECT_TRUE(fs::is_directory(dir.path() / "store" / "data"));
}

}  // namespace
}  // namespace aimass::plugins::storage
