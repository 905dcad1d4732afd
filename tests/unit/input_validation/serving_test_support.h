// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the serving tests of this folder share: a log sink that keeps the lines, and the base
// of their made-up models.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/host.h"
#include "aimass/model.h"

namespace aimass::core {

/// Keeps what the runtime logs (ServingRuntime::setLog) for assertions.
struct Logged {
  std::vector<std::string> lines;
  std::function<void(LogLevel, const std::string&, const std::string&)> sink() {
    return [this](LogLevel, const std::string&, const std::string& m) { lines.push_back(m); };
  }
  std::string all() const {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

/// A ready model that is never saved or loaded: the tests serve it as made.
class UnsavedModel : public Model {
 public:
  bool ready() const override { return true; }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return unimplemented("test model"); }
  Status load(std::string_view, std::uint32_t) override { return unimplemented("test model"); }
};

}  // namespace aimass::core
