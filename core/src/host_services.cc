// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/host_services.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

#include "aimass/util/utf8.h"

namespace aimass::core {
namespace {

std::string_view levelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

/// "2024-05-01T12:34:56.789Z"
std::string utcTimestamp() {
  auto now = std::chrono::system_clock::now();
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[32];
  std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%03dZ", static_cast<int>(millis));
  return buffer;
}

}  // namespace

void appendLogText(std::string& line, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto escape = [&](unsigned char c) {
    line += "\\x";
    line += kHex[c >> 4];
    line += kHex[c & 15];
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F) {
      line += static_cast<char>(c);
      ++i;
    } else if (c == '\n' || c == '\r' || c == '\t') {
      line += c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t";
      ++i;
    } else if (c < 0x80) {
      escape(c);  // the other C0 controls, ESC among them, and DEL
      ++i;
    } else if (const std::size_t length = utf8SequenceLength(text.substr(i)); length == 0) {
      escape(c);  // not UTF-8: a terminal might read 0x80-0x9F as C1 controls
      ++i;
    } else if (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      escape(c);  // U+0080-U+009F, the C1 controls, written in UTF-8
      escape(static_cast<unsigned char>(text[i + 1]));
      i += 2;
    } else {
      line.append(text.substr(i, length));
      i += length;
    }
  }
}

Status RouteTableImpl::add(Route route) {
  std::lock_guard lock(mutex_);
  for (const auto& r : routes_) {
    if (r.method == route.method && r.pattern == route.pattern) {
      return alreadyExists("route " + route.method + " " + route.pattern +
                           " is already taken by node '" + r.owner + "'");
    }
  }
  routes_.push_back(std::move(route));
  return okStatus();
}

std::vector<Route> RouteTableImpl::routes() const {
  std::lock_guard lock(mutex_);
  return routes_;
}

// A threads value below 1 means "not set": use every core.
HostServices::HostServices(std::filesystem::path base_dir, int threads)
    : base_dir_(std::move(base_dir)),
      threads_(threads >= 1 ? threads
                            : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {}

void HostServices::log(LogLevel level, std::string_view node, std::string_view message) {
  if (level < min_level_.load()) {
    return;
  }
  std::string line = utcTimestamp();
  line += ' ';
  line += levelName(level);
  if (log_rank_ >= 0) {
    line += " [rank ";
    line += std::to_string(log_rank_);
    line += ']';
  }
  line += " [";
  appendLogText(line, node.empty() ? std::string_view("host") : node);
  line += "] ";
  appendLogText(line, message);
  line += '\n';
  std::lock_guard lock(log_mutex_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void HostServices::setApiStorage(std::shared_ptr<Storage> storage) {
  if (!storage) {
    model_registry_.reset();
    dataset_registry_.reset();
    tracking_.reset();
    return;
  }
  model_registry_ = std::make_unique<StorageModelRegistry>(storage);
  dataset_registry_ = std::make_unique<StorageDatasetRegistry>(storage);
  tracking_ = std::make_unique<StorageTracking>(std::move(storage));
}

std::string_view HostServices::version() const { return hostVersion(); }

std::string_view hostVersion() { return AIMASS_VERSION; }

}  // namespace aimass::core
