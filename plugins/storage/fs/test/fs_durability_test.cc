// SPDX-License-Identifier: Apache-2.0
// What storage.fs promises about power loss, checked at the system-call level through the
// syscall_faults seam: every change is written to a temporary file, flushed (fsync), renamed
// over the key's file, and the folder is then flushed, in that order; a failed flush, write or
// rename reaches the caller as an error and leaves the previous value.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fs.h"
#include "syscall_faults.h"
#include "temp_dir.h"

namespace aimass::plugins::storage {
namespace {

namespace fs = std::filesystem;
namespace faults = aimass::testing::syscall_faults;
using aimass::testing::TempDir;
using Trace = std::vector<std::string>;

class FsDurability : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(open(true)); }
  void TearDown() override { faults::stop(); }

  bool open(bool fsync) {
    auto opened = FsStorage::create(root_, fsync);
    EXPECT_TRUE(opened.ok()) << opened.status().toString();
    if (!opened.ok()) return false;
    store_ = std::move(opened).value();
    return true;
  }
  /// Starts recording the store's calls.
  void watch() { faults::watch(root_.string() + "/"); }
  /// Stops recording; the calls as "op path" ("rename from -> to"), paths relative to the
  /// root and each temporary file named tmp/#1, tmp/#2, ... in the order it first appears. A
  /// failed call ends in " !".
  Trace trace() {
    std::map<std::string, std::string> temps;
    auto name = [&](const std::string& path) {
      std::string relative = path.substr(root_.string().size() + 1);
      if (!relative.starts_with("tmp/")) return relative;
      return temps.try_emplace(relative, "tmp/#" + std::to_string(temps.size() + 1)).first->second;
    };
    Trace out;
    for (const auto& call : faults::stop()) {
      std::string text = call.op + " " + name(call.path);
      if (!call.to.empty()) text += " -> " + name(call.to);
      out.push_back(call.failed ? text + " !" : text);
    }
    return out;
  }
  /// Makes `op` on paths under `folder` of the store fail with `error`.
  void fail(const std::string& op, const std::string& folder, int error) {
    faults::fail(op, root_.string() + "/" + folder, error);
  }
  /// Files left in tmp/.
  std::size_t tempFiles() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(root_ / "tmp"), {}));
  }

  TempDir dir_;
  const fs::path root_ = fs::canonical(dir_.path()) / "store";
  std::unique_ptr<FsStorage> store_;
};

TEST_F(FsDurability, PutWritesATempFileFlushesItRenamesItThenFlushesTheFolder) {
  ASSERT_TRUE(store_->put("a/b", "old").ok());
  watch();
  ASSERT_TRUE(store_->put("a/b", "new").ok());
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "fsync tmp/#1", "rename tmp/#1 -> data/a/b.val",
                            "fsync data/a"}));
}

TEST_F(FsDurability, NewFoldersAreFlushedIntoTheirParentsBeforeTheRename) {
  watch();
  ASSERT_TRUE(store_->put("x/y/z", "v").ok());
  EXPECT_EQ(trace(),
            (Trace{"write tmp/#1", "fsync tmp/#1", "mkdir data/x", "fsync data", "mkdir data/x/y",
                   "fsync data/x", "rename tmp/#1 -> data/x/y/z.val", "fsync data/x/y"}));
}

TEST_F(FsDurability, StreamedBlobsCompareAndSetAndRemoveFlushTheSameWay) {
  ASSERT_TRUE(store_->put("k", "1").ok());
  watch();
  auto writer = store_->openWrite("blob");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->write("abc").ok());
  ASSERT_TRUE((*writer)->write("def").ok());
  ASSERT_TRUE((*writer)->commit().ok());
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "fsync tmp/#1", "rename tmp/#1 -> data/blob.val",
                            "fsync data"}));
  watch();
  ASSERT_TRUE(store_->compareAndSet("k", "1", "2").value());
  EXPECT_EQ(trace(),
            (Trace{"write tmp/#1", "fsync tmp/#1", "rename tmp/#1 -> data/k.val", "fsync data"}));
  watch();
  ASSERT_TRUE(store_->remove("k").ok());
  EXPECT_EQ(trace(), (Trace{"unlink data/k.val", "fsync data"}));
}

TEST_F(FsDurability, WithoutFsyncNothingIsFlushedButValuesAreStillRenamedIntoPlace) {
  ASSERT_TRUE(open(false));
  watch();
  ASSERT_TRUE(store_->put("a", "v").ok());
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "rename tmp/#1 -> data/a.val"}));
}

TEST_F(FsDurability, AFailedFlushOfTheValueIsAnErrorAndKeepsThePreviousValue) {
  ASSERT_TRUE(store_->put("a/b", "old").ok());
  watch();
  fail("fsync", "tmp/", EIO);
  Status put = store_->put("a/b", "new");
  EXPECT_EQ(put.code(), StatusCode::kInternal) << put.toString();
  EXPECT_NE(put.message().find("storing 'a/b'"), std::string::npos) << put.toString();
  EXPECT_NE(put.message().find("flushing: Input/output error"), std::string::npos)
      << put.toString();
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "fsync tmp/#1 !", "unlink tmp/#1"}));
  EXPECT_EQ(store_->get("a/b").value(), "old");
  EXPECT_EQ(tempFiles(), 0u);

  // compareAndSet and a streamed commit the same; a full disk is kResourceExhausted.
  watch();
  fail("fsync", "tmp/", ENOSPC);
  auto swapped = store_->compareAndSet("a/b", "old", "new");
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(swapped.status().message().find("No space left on device"), std::string::npos);
  {
    auto writer = store_->openWrite("a/b");
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->write("new").ok());
    Status committed = (*writer)->commit();
    EXPECT_EQ(committed.code(), StatusCode::kResourceExhausted) << committed.toString();
    EXPECT_NE(committed.message().find("committing blob 'a/b': flushing"), std::string::npos)
        << committed.toString();
  }
  EXPECT_EQ(store_->get("a/b").value(), "old");
  EXPECT_EQ(tempFiles(), 0u);
  for (const auto& call : trace()) EXPECT_FALSE(call.starts_with("rename")) << call;
}

TEST_F(FsDurability, AFailedWriteOrRenameIsAnErrorAndKeepsThePreviousValue) {
  ASSERT_TRUE(store_->put("a", "old").ok());
  watch();
  fail("write", "tmp/", ENOSPC);
  EXPECT_EQ(store_->put("a", "new").code(), StatusCode::kResourceExhausted);
  fail("rename", "tmp/", EIO);
  Status renamed = store_->put("a", "new");
  EXPECT_EQ(renamed.code(), StatusCode::kInternal);
  EXPECT_NE(renamed.message().find("storing 'a': renaming"), std::string::npos)
      << renamed.toString();
  EXPECT_EQ(trace(), (Trace{"write tmp/#1 !", "unlink tmp/#1", "write tmp/#2", "fsync tmp/#2",
                            "rename tmp/#2 -> data/a.val !", "unlink tmp/#2"}));
  EXPECT_EQ(store_->get("a").value(), "old");
  EXPECT_EQ(tempFiles(), 0u);
}

TEST_F(FsDurability, AFailedFlushOfANewFolderStopsBeforeTheRename) {
  watch();
  fail("fsync", "data", EIO);
  Status put = store_->put("x/y", "v");
  EXPECT_EQ(put.code(), StatusCode::kInternal);
  EXPECT_NE(put.message().find("flushing folder"), std::string::npos) << put.toString();
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "fsync tmp/#1", "mkdir data/x", "fsync data !",
                            "unlink tmp/#1"}));
  EXPECT_EQ(store_->get("x/y").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tempFiles(), 0u);
}

// The rename cannot be undone: when the folder flush after it fails, the caller gets the error
// (the new value may not survive a power loss) while readers already see the new value.
TEST_F(FsDurability, AFailedFlushOfTheFolderAfterTheRenameIsAnError) {
  ASSERT_TRUE(store_->put("a/b", "old").ok());
  watch();
  fail("fsync", "data/a", EIO);
  Status put = store_->put("a/b", "new");
  EXPECT_EQ(put.code(), StatusCode::kInternal);
  EXPECT_NE(put.message().find("storing 'a/b'"), std::string::npos) << put.toString();
  EXPECT_NE(put.message().find("flushing folder"), std::string::npos) << put.toString();
  // (put's clean-up then unlinks the temporary name, which the rename already took away.)
  EXPECT_EQ(trace(), (Trace{"write tmp/#1", "fsync tmp/#1", "rename tmp/#1 -> data/a/b.val",
                            "fsync data/a !", "unlink tmp/#1"}));
  EXPECT_EQ(store_->get("a/b").value(), "new");
  EXPECT_EQ(tempFiles(), 0u);
}

}  // namespace
}  // namespace aimass::plugins::storage
