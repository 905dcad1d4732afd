// SPDX-License-Identifier: Apache-2.0
#include "latency_histogram.h"

#include <algorithm>
#include <cstdio>

namespace aimass::core {

void LatencyHistogram::record(std::uint64_t ns) {
  const auto bound = std::lower_bound(kBoundsNs.begin(), kBoundsNs.end(), ns);
  ++counts_[static_cast<std::size_t>(bound - kBoundsNs.begin())];
  ++count_;
  sum_ns_ += ns;
}

namespace {

/// Nanoseconds as seconds, exactly (the bounds and any sum of whole nanoseconds).
std::string seconds(std::uint64_t ns) {
  char text[40];
  std::snprintf(text, sizeof text, "%llu.%09llu",
                static_cast<unsigned long long>(ns / 1'000'000'000),
                static_cast<unsigned long long>(ns % 1'000'000'000));
  // Trailing zeros and a bare point go: 0.000100000 -> 0.0001, 1.000000000 -> 1.
  std::string out(text);
  out.erase(out.find_last_not_of('0') + 1);
  if (out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

void LatencyHistogram::appendPrometheus(std::string& out, std::string_view metric,
                                        std::string_view labels) const {
  const std::string prefix(metric);
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= kBoundsNs.size(); ++i) {
    cumulative += counts_[i];
    const std::string le = i < kBoundsNs.size() ? seconds(kBoundsNs[i]) : "+Inf";
    out += prefix + "_bucket{" + std::string(labels) + sep + "le=\"" + le + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  const std::string braced = labels.empty() ? "" : "{" + std::string(labels) + "}";
  out += prefix + "_sum" + braced + " " + seconds(sum_ns_) + "\n";
  out += prefix + "_count" + braced + " " + std::to_string(count_) + "\n";
}

}  // namespace aimass::core
