// SPDX-License-Identifier: Apache-2.0
// A model that answers what it was given, for frontend.grpc's tests of every datatype and of
// request parameters.
#pragma once

#include <string>
#include <vector>

#include "aimass/model.h"

namespace aimass::plugins::frontend {

/// Inputs "text" BYTES [-1] (required), and "flag" BOOL, "small" INT8, "wide" UINT64 and
/// "half" FP16, all [-1] and optional; each input comes back as the output of the same name.
/// The output "options" BYTES [1] spells the request's options: "top_k=3 exclude_seen=true
/// note=hi" (every other parameter after the two, sorted by name).
class EchoModel final : public Model {
 public:
  ModelSchema schema() const override {
    ModelSchema s;
    s.inputs = {{"text", DType::kBytes, {-1}},
                {"flag", DType::kBool, {-1}, true},
                {"small", DType::kInt8, {-1}, true},
                {"wide", DType::kUInt64, {-1}, true},
                {"half", DType::kFloat16, {-1}, true}};
    s.outputs = {{"text", DType::kBytes, {-1}},         {"flag", DType::kBool, {-1}, true},
                 {"small", DType::kInt8, {-1}, true},   {"wide", DType::kUInt64, {-1}, true},
                 {"half", DType::kFloat16, {-1}, true}, {"options", DType::kBytes, {1}}};
    return s;
  }
  bool ready() const override { return true; }
  Status predict(const TensorMap& inputs, TensorMap& outputs,
                 const PredictOptions& options) const override {
    for (const auto& [name, tensor] : inputs) {
      outputs.set(name, tensor);
    }
    std::string spelled = "top_k=" + std::to_string(options.top_k) +
                          " exclude_seen=" + (options.exclude_seen ? "true" : "false");
    for (const auto& [name, value] : options.parameters) {
      spelled += " " + name + "=" + value;
    }
    outputs.set("options", Tensor::fromStrings({spelled}));
    return Status();
  }
  std::uint32_t formatVersion() const override { return 1; }
  Status save(std::string&) const override { return Status(); }
  Status load(std::string_view, std::uint32_t) override { return Status(); }
};

}  // namespace aimass::plugins::frontend
