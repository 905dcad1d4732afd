// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: arbitrary bytes as a configuration file. Loading and validating must never
// crash, leak, hang or let an exception out, whatever the input; every problem must come back as
// a diagnostic. Built with clang++ -fsanitize=fuzzer,address,undefined by
// tests/fuzz/CMakeLists.txt.
#include <cstddef>
#include <cstdint>
#include <string>

#include "aimass/core/config.h"
#include "aimass/core/graph.h"
#include "aimass/core/type_registry.h"

namespace {

using aimass::NodeConfig;
using aimass::NodeKind;
using aimass::NodeType;
using aimass::ParamSpec;
using aimass::ParamType;

/// Factories are never called: the fuzzer validates but does not instantiate.
aimass::Expected<std::unique_ptr<aimass::Node>> notMade(const NodeConfig&) {
  return aimass::unimplemented("the fuzzer does not make nodes");
}

/// A few types covering every parameter type (records and maps of records too), ranges, choices
/// and both reference forms.
aimass::core::TypeRegistry makeRegistry() {
  aimass::core::TypeRegistry registry;
  std::vector<NodeType> types = {
      {"storage.mem",
       NodeKind::kStorage,
       "memory",
       {ParamSpec::path("path", "Folder.").withDefault(std::string("data")),
        ParamSpec::integer("capacity", "Slots.").withDefault(std::int64_t{10}).range(1, 1000),
        ParamSpec::string("mode", "Mode.").withDefault(std::string("a")).oneOf({"a", "b"}),
        ParamSpec::list("tags", ParamType::kStringList, "Tags.").optional(),
        ParamSpec::records("keys",
                           {ParamSpec::string("name", "Name."),
                            ParamSpec::string("role", "Role.").oneOf({"r", "w"}),
                            ParamSpec::list("sizes", ParamType::kIntList, "Sizes.").optional()},
                           "Keys.")
            .withDefault(std::vector<aimass::ParamRecord>{}),
        ParamSpec::map("models",
                       {ParamSpec::integer("batch", "Batch.").range(0, 64).optional(),
                        ParamSpec::path("file", "File.").withDefault(std::string("f"))},
                       "Per model.")
            .optional()},
       notMade},
      {"model.m",
       NodeKind::kModel,
       "model",
       {ParamSpec::integer("classes", "Classes.").atLeast(2),
        ParamSpec::number("lr", "Rate.").withDefault(0.1).range(0, 1),
        ParamSpec::list("layers", ParamType::kIntList, "Layers.")
            .withDefault(std::vector<std::int64_t>{}),
        ParamSpec::list("weights", ParamType::kFloatList, "Weights.").optional(),
        ParamSpec::ref("store", NodeKind::kStorage, "Store.").optional(),
        ParamSpec::boolean("verbose", "Chatty.").withDefault(false)},
       notMade},
      {"job.j",
       NodeKind::kJob,
       "job",
       {ParamSpec::ref("model", NodeKind::kModel, "Model."),
        ParamSpec::refList("after", NodeKind::kJob, "Jobs first.").optional(),
        ParamSpec::integer("epochs", "Epochs.").withDefault(std::int64_t{1}).atLeast(1)},
       notMade},
  };
  for (auto& type : types) {
    registry.add(std::move(type), nullptr, nullptr).ignoreError();
  }
  return registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const aimass::core::TypeRegistry registry = makeRegistry();
  std::string text(reinterpret_cast<const char*>(data), size);
  aimass::core::Diagnostics diagnostics;
  // Includes resolve against a folder that does not exist, so relative ones fail cleanly.
  auto document = aimass::core::loadConfigFromString(text, "fuzz.yaml", "/nonexistent/aimass-fuzz",
                                                     diagnostics);
  if (document) {
    auto graph = aimass::core::Graph::validate(*document, registry, diagnostics);
    if (graph && !diagnostics.empty()) {
      __builtin_trap();  // a graph is only returned when nothing was wrong
    }
  } else if (diagnostics.empty()) {
    __builtin_trap();  // a failed load always says why
  }
  aimass::core::formatDiagnostics(diagnostics);
  return 0;
}
