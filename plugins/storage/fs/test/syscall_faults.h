// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

// A fault-injection seam for the file system calls storage.fs makes. syscall_faults.cc defines
// write, fsync, fdatasync, rename, mkdir and unlink in the test executable itself; the dynamic
// linker binds the executable's calls (fs.cc is compiled into it) to these definitions before
// the C library's, as an LD_PRELOAD shim would be, and each forwards to the C library's
// function (dlsym RTLD_NEXT). Link syscall_faults.cc only into a test executable of its own.
//
// Only calls on paths under the watched folder are recorded or failed; every other call (gtest's
// output, the C++ library) passes straight through.
//
// Threading: the recorder and the fault are guarded by a mutex; calls from several threads are
// recorded in the order they finish.

namespace aimass::testing::syscall_faults {

/// One call on a watched path. `path` is the file or folder (a descriptor's path is read from
/// /proc/self/fd); `to` is rename's target. `op` is "write", "fsync", "fdatasync", "rename",
/// "mkdir" or "unlink"; consecutive writes to one file are recorded once.
struct Call {
  std::string op;
  std::string path;
  std::string to;
  bool failed = false;  ///< failed by the injected fault
};

/// Starts recording calls on paths under `folder` (an absolute path), forgetting earlier ones,
/// and clears the fault.
void watch(const std::string& folder);
/// Stops watching and returns the calls recorded since watch(), in order.
std::vector<Call> stop();

/// Makes the next `times` calls of `op` on a watched path containing `path_part` fail with
/// `error` (errno), doing nothing. times < 0: every such call.
void fail(const std::string& op, const std::string& path_part, int error, int times = -1);

}  // namespace aimass::testing::syscall_faults
