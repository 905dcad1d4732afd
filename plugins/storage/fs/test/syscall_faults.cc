// SPDX-License-Identifier: Apache-2.0
#include "syscall_faults.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <optional>

namespace aimass::testing::syscall_faults {
namespace {

struct Fault {
  std::string op;
  std::string path_part;
  int error = 0;
  int times = 0;  // < 0: always
};

struct State {
  std::mutex mutex;
  std::string folder;
  std::vector<Call> calls;
  std::optional<Fault> fault;
};

State& state() {
  static State* s = new State();  // never destroyed: calls may come during static destruction
  return *s;
}

std::atomic<bool> watching{false};

/// The C library's `name` (the next definition after this executable's).
template <typename Fn>
Fn real(const char* name) {
  void* symbol = ::dlsym(RTLD_NEXT, name);
  if (symbol == nullptr) {
    std::fprintf(stderr, "syscall_faults: no %s in the C library\n", name);
    std::abort();
  }
  return reinterpret_cast<Fn>(symbol);
}

std::string pathOfFd(int fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string();
}

/// Records the call when `path` is under the watched folder (the caller checked `watching`); true
/// when the fault says to fail it (errno is set).
bool intercept(const char* op, const std::string& path, const std::string& to = "") {
  State& s = state();
  std::lock_guard lock(s.mutex);
  if (path.compare(0, s.folder.size(), s.folder) != 0) return false;
  bool fail = false;
  if (s.fault && s.fault->op == op && path.find(s.fault->path_part) != std::string::npos &&
      s.fault->times != 0) {
    fail = true;
    if (s.fault->times > 0) --s.fault->times;
  }
  const bool repeat = !s.calls.empty() && s.calls.back().op == op && s.calls.back().op == "write" &&
                      s.calls.back().path == path && !fail && !s.calls.back().failed;
  if (!repeat) s.calls.push_back(Call{.op = op, .path = path, .to = to, .failed = fail});
  if (fail) errno = s.fault->error;
  return fail;
}

/// fsync or fdatasync: `next` is the C library's.
int flush(const char* op, int fd, int (*next)(int)) {
  if (watching.load(std::memory_order_acquire) && intercept(op, pathOfFd(fd))) {
    return -1;
  }
  return next(fd);
}

}  // namespace

void watch(const std::string& folder) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.folder = folder;
  s.calls.clear();
  s.fault.reset();
  watching.store(true, std::memory_order_release);
}

std::vector<Call> stop() {
  State& s = state();
  watching.store(false, std::memory_order_release);
  std::lock_guard lock(s.mutex);
  s.fault.reset();
  return std::move(s.calls);
}

void fail(const std::string& op, const std::string& path_part, int error, int times) {
  State& s = state();
  std::lock_guard lock(s.mutex);
  s.fault = Fault{.op = op, .path_part = path_part, .error = error, .times = times};
}

}  // namespace aimass::testing::syscall_faults

// The interposed calls. Their declarations must match the C library's headers exactly (the
// ones glibc marks __THROW are noexcept in C++).
namespace faults = aimass::testing::syscall_faults;

extern "C" {

ssize_t write(int fd, const void* buffer, size_t n) {
  static const auto next = faults::real<ssize_t (*)(int, const void*, size_t)>("write");
  if (faults::watching.load(std::memory_order_acquire) &&
      faults::intercept("write", faults::pathOfFd(fd))) {
    return -1;
  }
  return next(fd, buffer, n);
}

int fsync(int fd) {
  static const auto next = faults::real<int (*)(int)>("fsync");
  return faults::flush("fsync", fd, next);
}

int fdatasync(int fd) {
  static const auto next = faults::real<int (*)(int)>("fdatasync");
  return faults::flush("fdatasync", fd, next);
}

int rename(const char* from, const char* to) noexcept {
  static const auto next = faults::real<int (*)(const char*, const char*)>("rename");
  if (faults::watching.load(std::memory_order_acquire) && faults::intercept("rename", from, to)) {
    return -1;
  }
  return next(from, to);
}

int mkdir(const char* path, mode_t mode) noexcept {
  static const auto next = faults::real<int (*)(const char*, mode_t)>("mkdir");
  if (faults::watching.load(std::memory_order_acquire) && faults::intercept("mkdir", path)) {
    return -1;
  }
  return next(path, mode);
}

int unlink(const char* path) noexcept {
  static const auto next = faults::real<int (*)(const char*)>("unlink");
  if (faults::watching.load(std::memory_order_acquire) && faults::intercept("unlink", path)) {
    return -1;
  }
  return next(path);
}

}  // extern "C"
