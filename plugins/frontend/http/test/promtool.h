// SPDX-License-Identifier: Apache-2.0
// `promtool check metrics` over a /metrics answer, for the tests that check the exposition
// format (Debian package `prometheus`, installed by scripts/install-deps.sh).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace aimass::plugins::frontend {

/// What promtool said and its exit code.
struct PromtoolResult {
  int code = -1;
  std::string report;
};

/// Writes `metrics` to a file in `dir` and runs `promtool check metrics` on it; nullopt when
/// promtool is not installed.
inline std::optional<PromtoolResult> checkWithPromtool(const std::string& metrics,
                                                       const std::filesystem::path& dir) {
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) != 0) {
    return std::nullopt;
  }
  std::filesystem::path file = dir / "metrics.txt";
  std::ofstream(file, std::ios::binary) << metrics;
  std::string command = std::string(promtool) + " check metrics < '" + file.string() + "' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) {
    return PromtoolResult{-1, "popen failed"};
  }
  PromtoolResult result;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) {
    result.report += buffer;
  }
  result.code = ::pclose(pipe);
  return result;
}

}  // namespace aimass::plugins::frontend
