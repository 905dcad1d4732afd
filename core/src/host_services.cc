// SPDX-License-Identifier: Apache-2.0
#include "aimass/core/host_services.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>
#include <utility>

namespace aimass::core {
namespace {

/// Version strings that are all digits compare as numbers ("10" after "9"), and come before
/// any other string; other strings compare as text.
bool versionLess(std::string_view a, std::string_view b) {
  auto numeric = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  bool na = numeric(a), nb = numeric(b);
  if (na != nb) {
    return na;
  }
  if (!na) {
    return a < b;
  }
  auto strip = [](std::string_view s) {
    std::size_t zeros = s.find_first_not_of('0');
    return zeros == std::string_view::npos ? std::string_view("0") : s.substr(zeros);
  };
  a = strip(a);
  b = strip(b);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

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

void GraphModelCatalog::add(std::string name, std::string version,
                            std::shared_ptr<const Model> model) {
  std::lock_guard lock(mutex_);
  models_[std::move(name)][std::move(version)] = std::move(model);
}

void GraphModelCatalog::clear() {
  std::lock_guard lock(mutex_);
  models_.clear();
}

std::vector<ServedModel> GraphModelCatalog::list() const {
  std::lock_guard lock(mutex_);
  std::vector<ServedModel> out;
  for (const auto& [name, versions] : models_) {
    std::size_t first = out.size();
    for (const auto& [version, model] : versions) {
      out.push_back({name, version, model});
    }
    std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
              [](const ServedModel& a, const ServedModel& b) {
                return versionLess(a.version, b.version);
              });
  }
  return out;
}

Expected<ServedModel> GraphModelCatalog::find(std::string_view name,
                                              std::string_view version) const {
  std::lock_guard lock(mutex_);
  auto versions = models_.find(std::string(name));
  if (versions == models_.end() || versions->second.empty()) {
    return notFound("model '" + std::string(name) + "' is not found");
  }
  if (version.empty()) {
    auto best = versions->second.begin();
    for (auto it = versions->second.begin(); it != versions->second.end(); ++it) {
      if (versionLess(best->first, it->first)) {
        best = it;
      }
    }
    return ServedModel{versions->first, best->first, best->second};
  }
  auto found = versions->second.find(std::string(version));
  if (found == versions->second.end()) {
    return notFound("model '" + std::string(name) + "' has no version '" + std::string(version) +
                    "'");
  }
  return ServedModel{versions->first, found->first, found->second};
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
  line += " [";
  line += node.empty() ? std::string_view("host") : node;
  line += "] ";
  line += message;
  line += '\n';
  std::lock_guard lock(log_mutex_);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

std::string_view HostServices::version() const { return hostVersion(); }

std::string_view hostVersion() { return AIMASS_VERSION; }

}  // namespace aimass::core
