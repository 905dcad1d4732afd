// SPDX-License-Identifier: Apache-2.0
#include "fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

namespace aimass::plugins::storage {

namespace fs = std::filesystem;

namespace {

std::string osMessage(int err) { return std::system_category().message(err); }

/// A Status for a failed system call; `what` says what was being done ("put 'k': rename ...").
Status osError(int err, const std::string& what) {
  std::string message = what + ": " + osMessage(err);
  switch (err) {
    case ENOENT:
      return notFound(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
      return permissionDenied(std::move(message));
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return resourceExhausted(std::move(message));
    case ENOTDIR:
    case ENAMETOOLONG:
    case EEXIST:
      return invalidArgument(std::move(message));
    default:
      return internalError(std::move(message));
  }
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string quote(const fs::path& p) { return "'" + p.string() + "'"; }

/// The process-wide reader-writer lock of a root folder, shared by every FsStorage open on it in
/// this process (flock alone does not order threads that share one open file description).
std::shared_ptr<std::shared_mutex> processMutexFor(const fs::path& root) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<std::shared_mutex>> registry;
  std::lock_guard guard(registry_mutex);
  for (auto it = registry.begin(); it != registry.end();) {
    it = it->second.expired() ? registry.erase(it) : std::next(it);
  }
  auto& slot = registry[root.string()];
  auto mutex = slot.lock();
  if (!mutex) {
    mutex = std::make_shared<std::shared_mutex>();
    slot = mutex;
  }
  return mutex;
}

Status writeAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return osError(errno, what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return okStatus();
}

/// Reads a whole open file into `out`.
Status readAll(int fd, std::string& out, const std::string& what) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return osError(errno, what);
  }
  out.clear();
  out.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return osError(errno, what);
    }
    if (n == 0) {
      return okStatus();
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

/// Opens `path` for reading; nullopt when it does not exist.
Expected<std::optional<int>> openIfExists(const fs::path& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return std::optional<int>();
    }
    return osError(errno, what);
  }
  return std::optional<int>(fd);
}

/// The current value of a file, or nullopt when it does not exist.
Expected<std::optional<std::string>> readIfExists(const fs::path& path, const std::string& what) {
  AIMASS_ASSIGN_OR_RETURN(auto fd, openIfExists(path, what));
  if (!fd) {
    return std::optional<std::string>();
  }
  std::string value;
  Status status = guard(what, [&] { return readAll(*fd, value, what); });
  ::close(*fd);
  if (!status.ok()) {
    return status;
  }
  return std::optional<std::string>(std::move(value));
}

bool keptAsIs(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// True when `candidate` (a key or a key folder ending in '/') can be or lead to a key with
/// `prefix`.
bool mayMatch(std::string_view candidate, std::string_view prefix) {
  return candidate.size() >= prefix.size() ? candidate.starts_with(prefix)
                                           : prefix.starts_with(candidate);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Locking

/// Holds the process mutex and an flock on the root's lock file, shared or exclusive. Each lock
/// opens its own descriptor so flock also orders lockers within one process.
class FsStorage::RootLock {
 public:
  RootLock(std::shared_mutex* mutex, bool exclusive) : mutex_(mutex), exclusive_(exclusive) {}
  RootLock(RootLock&& other) noexcept
      : mutex_(std::exchange(other.mutex_, nullptr)),
        exclusive_(other.exclusive_),
        fd_(std::exchange(other.fd_, -1)) {}
  RootLock& operator=(RootLock&&) = delete;
  ~RootLock() {
    if (fd_ >= 0) {
      ::close(fd_);  // releases the flock
    }
    if (mutex_) {
      exclusive_ ? mutex_->unlock() : mutex_->unlock_shared();
    }
  }

  Status acquireFile(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      return osError(errno, "opening lock file " + quote(path));
    }
    while (::flock(fd_, exclusive_ ? LOCK_EX : LOCK_SH) != 0) {
      if (errno != EINTR) {
        return osError(errno, "locking " + quote(path));
      }
    }
    return okStatus();
  }

 private:
  std::shared_mutex* mutex_;
  bool exclusive_;
  int fd_ = -1;
};

Expected<FsStorage::RootLock> FsStorage::lock(bool exclusive) const {
  if (exclusive) {
    process_mutex_->lock();
  } else {
    process_mutex_->lock_shared();
  }
  RootLock held(process_mutex_.get(), exclusive);
  AIMASS_RETURN_IF_ERROR(held.acquireFile(lock_path_));
  return held;
}

// ---------------------------------------------------------------------------------------------
// Streaming

class FsStorage::FileWriter final : public BlobWriter {
 public:
  FileWriter(const FsStorage& storage, std::string key, TempFile temp)
      : storage_(storage), key_(std::move(key)), temp_(std::move(temp)) {}
  ~FileWriter() override {
    if (temp_.fd >= 0) {
      ::close(temp_.fd);
    }
    if (!published_) {
      ::unlink(temp_.path.c_str());
    }
  }

  Status write(std::string_view chunk) override {
    if (temp_.fd < 0) {
      return failedPrecondition("blob " + quote(key_) + " is already committed or failed");
    }
    return writeAll(temp_.fd, chunk, "writing blob " + quote(key_) + " to " + quote(temp_.path));
  }

  Status commit() override {
    if (temp_.fd < 0) {
      return failedPrecondition("blob " + quote(key_) + " is already committed or failed");
    }
    const std::string what = "committing blob " + quote(key_);
    int fd = std::exchange(temp_.fd, -1);
    if (storage_.fsync_ && ::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      return osError(err, what + ": flushing " + quote(temp_.path));
    }
    if (::close(fd) != 0) {
      return osError(errno, what + ": closing " + quote(temp_.path));
    }
    return guard(what, [&]() -> Status {
      AIMASS_ASSIGN_OR_RETURN(auto held, storage_.lock(false));
      AIMASS_RETURN_IF_ERROR(storage_.publish(key_, temp_.path));
      published_ = true;
      return okStatus();
    });
  }

 private:
  const FsStorage& storage_;
  std::string key_;
  TempFile temp_;
  bool published_ = false;
};

class FsStorage::FileReader final : public BlobReader {
 public:
  FileReader(int fd, std::uint64_t size, std::string key)
      : fd_(fd), size_(size), key_(std::move(key)) {}
  ~FileReader() override { ::close(fd_); }

  std::uint64_t size() const override { return size_; }

  Expected<std::size_t> read(char* buffer, std::size_t n) override {
    for (;;) {
      ssize_t got = ::read(fd_, buffer, n);
      if (got >= 0) {
        return static_cast<std::size_t>(got);
      }
      if (errno != EINTR) {
        return osError(errno, "reading blob " + quote(key_));
      }
    }
  }

 private:
  int fd_;
  std::uint64_t size_;
  std::string key_;
};

// ---------------------------------------------------------------------------------------------
// Construction

Expected<std::unique_ptr<FsStorage>> FsStorage::create(const fs::path& root, bool fsync) {
  if (root.empty()) {
    return invalidArgument("storage.fs: 'path' is empty");
  }
  std::unique_ptr<FsStorage> storage;
  Status status = guard("storage.fs", [&]() -> Status {
    std::error_code ec;
    fs::path absolute = fs::absolute(root, ec).lexically_normal();
    if (ec) {
      return osError(ec.value(), "storage.fs: resolving " + quote(root));
    }
    if (absolute.has_relative_path() && !absolute.has_filename()) {
      absolute = absolute.parent_path();  // drop a trailing '/'
    }
    fs::create_directories(absolute, ec);
    if (ec) {
      Status s = osError(ec.value(), "storage.fs: cannot create folder " + quote(absolute));
      return s.code() == StatusCode::kPermissionDenied ? s : invalidArgument(s.message());
    }
    if (!fs::is_directory(absolute, ec)) {
      return invalidArgument("storage.fs: " + quote(absolute) + " exists and is not a folder");
    }
    for (const char* sub : {"data", "tmp"}) {
      fs::path dir = absolute / sub;
      if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return osError(errno, "storage.fs: cannot create folder " + quote(dir));
      }
      if (!fs::is_directory(dir, ec)) {
        return invalidArgument("storage.fs: " + quote(dir) + " exists and is not a folder");
      }
    }
    storage.reset(new FsStorage(absolute, fsync, processMutexFor(absolute)));
    // Prove the folder is writable now rather than at the first put.
    AIMASS_ASSIGN_OR_RETURN(auto probe, storage->createTempFile("(write probe)"));
    ::close(probe.fd);
    ::unlink(probe.path.c_str());
    storage->removeStaleTempFiles();
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return storage;
}

FsStorage::FsStorage(fs::path root, bool fsync, std::shared_ptr<std::shared_mutex> process_mutex)
    : root_(std::move(root)),
      data_dir_(root_ / "data"),
      tmp_dir_(root_ / "tmp"),
      lock_path_(root_ / "lock"),
      fsync_(fsync),
      process_mutex_(std::move(process_mutex)) {}

FsStorage::~FsStorage() = default;

void FsStorage::removeStaleTempFiles() const {
  // A writer that was killed leaves its temporary file behind. Live writers touch theirs on
  // every write, so an hour without change means nobody will commit it.
  const auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  std::error_code ec;
  for (fs::directory_iterator it(tmp_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec) && it->last_write_time(entry_ec) < cutoff && !entry_ec) {
      fs::remove(it->path(), entry_ec);
    }
  }
}

std::string FsStorage::describe() const { return "fs:" + root_.string(); }

// ---------------------------------------------------------------------------------------------
// Key mapping

std::string FsStorage::escapeSegment(std::string_view segment) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (unsigned char c : segment) {
    if (keptAsIs(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> FsStorage::unescapeSegment(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (keptAsIs(c)) {
      out += static_cast<char>(c);
      continue;
    }
    if (c != '%' || i + 2 >= name.size()) {
      return std::nullopt;
    }
    int hi = hexValue(name[i + 1]);
    int lo = hexValue(name[i + 2]);
    if (hi < 0 || lo < 0) {
      return std::nullopt;
    }
    char decoded = static_cast<char>(hi * 16 + lo);
    if (keptAsIs(static_cast<unsigned char>(decoded))) {
      return std::nullopt;  // escapeSegment never writes these as %XX
    }
    out += decoded;
    i += 2;
  }
  return out;
}

fs::path FsStorage::pathForKey(std::string_view key) const {
  fs::path path = data_dir_;
  std::size_t start = 0;
  for (;;) {
    std::size_t slash = key.find('/', start);
    if (slash == std::string_view::npos) {
      return path / (escapeSegment(key.substr(start)) + std::string(kValueSuffix));
    }
    path /= escapeSegment(key.substr(start, slash - start));
    start = slash + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

Expected<FsStorage::TempFile> FsStorage::createTempFile(std::string_view key) const {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 random(std::random_device{}() ^
                                      std::hash<std::thread::id>{}(std::this_thread::get_id()));
  for (int attempt = 0;; ++attempt) {
    TempFile temp;
    temp.path = tmp_dir_ /
                ("tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)) +
                 "-" + std::to_string(random() % 1000000007ull));
    temp.fd = ::open(temp.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (temp.fd >= 0) {
      return temp;
    }
    if (errno != EEXIST || attempt >= 100) {
      return osError(
          errno, "storing " + quote(key) + ": cannot create temporary file " + quote(temp.path));
    }
  }
}

Expected<fs::path> FsStorage::writeTempFile(std::string_view key, std::string_view value) const {
  AIMASS_ASSIGN_OR_RETURN(TempFile temp, createTempFile(key));
  const std::string what = "storing " + quote(key) + " in " + quote(temp.path);
  Status status = writeAll(temp.fd, value, what);
  if (status.ok() && fsync_ && ::fsync(temp.fd) != 0) {
    status = osError(errno, what + ": flushing");
  }
  if (::close(temp.fd) != 0 && status.ok()) {
    status = osError(errno, what + ": closing");
  }
  if (!status.ok()) {
    ::unlink(temp.path.c_str());
    return status;
  }
  return temp.path;
}

Status FsStorage::ensureFolders(const fs::path& dir) const {
  if (dir == data_dir_) {
    return okStatus();
  }
  struct stat info {};
  if (::stat(dir.c_str(), &info) == 0) {
    return S_ISDIR(info.st_mode) ? okStatus()
                                 : invalidArgument(quote(dir) + " exists and is not a folder");
  }
  AIMASS_RETURN_IF_ERROR(ensureFolders(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0755) != 0) {
    if (errno == EEXIST) {
      return okStatus();
    }
    return osError(errno, "creating folder " + quote(dir));
  }
  return syncFolder(dir.parent_path());
}

Status FsStorage::syncFolder(const fs::path& dir) const {
  if (!fsync_) {
    return okStatus();
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return osError(errno, "opening folder " + quote(dir) + " to flush it");
  }
  Status status;
  if (::fsync(fd) != 0) {
    status = osError(errno, "flushing folder " + quote(dir));
  }
  ::close(fd);
  return status;
}

Status FsStorage::publish(std::string_view key, const fs::path& temp) const {
  fs::path target = pathForKey(key);
  Status folders = ensureFolders(target.parent_path());
  if (!folders.ok()) {
    return folders.withContext("storing " + quote(key));
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return osError(errno,
                   "storing " + quote(key) + ": renaming " + quote(temp) + " to " + quote(target));
  }
  return syncFolder(target.parent_path()).withContext("storing " + quote(key));
}

Status FsStorage::put(std::string_view key, std::string_view value) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  return guard("storage.fs put", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(fs::path temp, writeTempFile(key, value));
    Status status = [&]() -> Status {
      AIMASS_ASSIGN_OR_RETURN(auto held, lock(false));
      return publish(key, temp);
    }();
    if (!status.ok()) {
      ::unlink(temp.c_str());
    }
    return status;
  });
}

Expected<std::unique_ptr<BlobWriter>> FsStorage::openWrite(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::unique_ptr<BlobWriter> writer;
  Status status = guard("storage.fs openWrite", [&]() -> Status {
    AIMASS_ASSIGN_OR_RETURN(TempFile temp, createTempFile(key));
    writer = std::make_unique<FileWriter>(*this, std::string(key), std::move(temp));
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return writer;
}

Status FsStorage::remove(std::string_view key) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  return guard("storage.fs remove", [&]() -> Status {
    fs::path target = pathForKey(key);
    AIMASS_ASSIGN_OR_RETURN(auto held, lock(true));
    if (::unlink(target.c_str()) != 0) {
      if (errno == ENOENT) {
        return notFound("cannot remove key " + quote(key) + ": it does not exist");
      }
      return osError(errno, "removing " + quote(key) + " (" + quote(target) + ")");
    }
    // Drop folders the removal emptied; rmdir refuses non-empty ones, which ends the walk.
    // Holding the lock exclusively means no put is between creating a folder and renaming
    // into it.
    fs::path dir = target.parent_path();
    fs::path last_existing = dir;
    while (dir != data_dir_ && ::rmdir(dir.c_str()) == 0) {
      dir = dir.parent_path();
      last_existing = dir;
    }
    return syncFolder(last_existing).withContext("removing " + quote(key));
  });
}

Expected<bool> FsStorage::compareAndSet(std::string_view key,
                                        std::optional<std::string_view> expected,
                                        std::string_view desired) {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  bool swapped = false;
  Status status = guard("storage.fs compareAndSet", [&]() -> Status {
    fs::path target = pathForKey(key);
    AIMASS_ASSIGN_OR_RETURN(auto held, lock(true));
    AIMASS_ASSIGN_OR_RETURN(auto current, readIfExists(target, "compareAndSet " + quote(key) +
                                                                   ": reading " + quote(target)));
    bool matches = expected.has_value() ? (current && *current == *expected) : !current;
    if (!matches) {
      return okStatus();
    }
    AIMASS_ASSIGN_OR_RETURN(fs::path temp, writeTempFile(key, desired));
    Status published = publish(key, temp);
    if (!published.ok()) {
      ::unlink(temp.c_str());
      return published;
    }
    swapped = true;
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return swapped;
}

// ---------------------------------------------------------------------------------------------
// Reading

Expected<std::string> FsStorage::get(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::optional<std::string> value;
  Status status = guard("storage.fs get", [&]() -> Status {
    fs::path target = pathForKey(key);
    AIMASS_ASSIGN_OR_RETURN(
        value, readIfExists(target, "reading " + quote(key) + " (" + quote(target) + ")"));
    return value ? okStatus() : notFound("no value under key " + quote(key));
  });
  if (!status.ok()) {
    return status;
  }
  return std::move(*value);
}

Expected<std::unique_ptr<BlobReader>> FsStorage::openRead(std::string_view key) const {
  AIMASS_RETURN_IF_ERROR(validateStorageKey(key));
  std::unique_ptr<BlobReader> reader;
  Status status = guard("storage.fs openRead", [&]() -> Status {
    fs::path target = pathForKey(key);
    const std::string what = "opening " + quote(key) + " (" + quote(target) + ")";
    AIMASS_ASSIGN_OR_RETURN(auto fd, openIfExists(target, what));
    if (!fd) {
      return notFound("no value under key " + quote(key));
    }
    struct stat info {};
    if (::fstat(*fd, &info) != 0) {
      int err = errno;
      ::close(*fd);
      return osError(err, what);
    }
    reader = std::make_unique<FileReader>(*fd, static_cast<std::uint64_t>(info.st_size),
                                          std::string(key));
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return reader;
}

Expected<std::vector<std::string>> FsStorage::list(std::string_view prefix) const {
  std::vector<std::string> keys;
  Status status = guard("storage.fs list", [&]() -> Status {
    // Depth-first over data/, descending only into folders that can hold a matching key.
    // Folders removed meanwhile by another thread or process are skipped, not errors.
    std::vector<std::pair<fs::path, std::string>> pending = {{data_dir_, ""}};
    while (!pending.empty()) {
      auto [dir, base] = std::move(pending.back());
      pending.pop_back();
      DIR* handle = ::opendir(dir.c_str());
      if (handle == nullptr) {
        if (errno == ENOENT) {
          continue;
        }
        return osError(errno, "listing " + quote(prefix) + ": opening " + quote(dir));
      }
      std::unique_ptr<DIR, int (*)(DIR*)> closer(handle, &::closedir);
      errno = 0;
      while (dirent* entry = ::readdir(handle)) {
        std::string_view name = entry->d_name;
        bool is_value = name.ends_with(kValueSuffix);
        std::string_view stem = is_value ? name.substr(0, name.size() - kValueSuffix.size()) : name;
        auto segment = unescapeSegment(stem);
        if (!segment || segment->empty()) {
          continue;  // ".", "..", and anything we did not write
        }
        std::string candidate = base + *segment;
        if (is_value) {
          if (candidate.starts_with(prefix)) {
            keys.push_back(std::move(candidate));
          }
        } else {
          candidate += '/';
          if (mayMatch(candidate, prefix)) {
            pending.emplace_back(dir / name, std::move(candidate));
          }
        }
        errno = 0;
      }
      if (errno != 0) {
        return osError(errno, "listing " + quote(prefix) + ": reading " + quote(dir));
      }
    }
    std::sort(keys.begin(), keys.end());
    return okStatus();
  });
  if (!status.ok()) {
    return status;
  }
  return keys;
}

}  // namespace aimass::plugins::storage
