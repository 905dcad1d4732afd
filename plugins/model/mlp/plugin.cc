// SPDX-License-Identifier: Apache-2.0
// model.mlp: entry point and registration.

#include "aimass/plugin.h"

#include <memory>

#include "aimass/host.h"
#include "mlp.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.mlp registration", [&]() -> aimass::Status {
    aimass::NodeType type;
    type.type = "model.mlp";
    type.kind = aimass::NodeKind::kModel;
    type.summary =
        "Multilayer perceptron (classification or regression, chosen from the data) on oneDNN";
    type.params.push_back(
        aimass::ParamSpec::list("hidden", aimass::ParamType::kIntList,
                                "Widths of the hidden layers, from the input to the output "
                                "layer, e.g. [256, 128]. Empty: a linear model.")
            .withDefault(std::vector<std::int64_t>{64}));
    type.params.push_back(
        aimass::ParamSpec::string("activation", "Activation after every hidden layer.")
            .withDefault(std::string("relu"))
            .oneOf({"relu", "tanh", "sigmoid", "gelu"}));
    type.params.push_back(
        aimass::ParamSpec::number("dropout",
                                  "Probability of zeroing each hidden unit while training "
                                  "(inverted dropout, seeded from the training seed). 0 disables "
                                  "it.")
            .withDefault(0.0)
            .range(0, 0.95));
    type.params.push_back(
        aimass::ParamSpec::string("device",
                                  "Where training and prediction run: 'cpu' (oneDNN) or 'cuda' "
                                  "(CUDA device 0, cuBLAS; needs a build with the CUDA backend "
                                  "and a GPU, checked when the node is created).")
            .withDefault(std::string("cpu"))
            .oneOf({"cpu", "cuda"}));
    type.params.push_back(
        aimass::ParamSpec::string(
            "precision",
            "What the training matrix products read: 'fp32'; 'bf16' (bf16 copies of weights, "
            "activations and gradients, FP32 accumulation, FP32 master weights, optimizer "
            "state, loss and softmax; needs a CPU with AVX512-BF16, an error elsewhere); or "
            "'auto' (bf16 where oneDNN reports AVX512-BF16, else fp32; the log says which). "
            "Prediction precision is the serving runtime's setting, not this.")
            .withDefault(std::string("fp32"))
            .oneOf({"fp32", "bf16", "auto"}));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::model::MlpOptions options;
      options.hidden = config.getIntList("hidden");
      for (std::int64_t width : options.hidden) {
        if (width <= 0) {
          return aimass::invalidArgument("hidden layer widths must be positive, got " +
                                         std::to_string(width));
        }
      }
      options.activation =
          aimass::compute::activationFromName(config.getString("activation")).value();
      options.dropout = config.getFloat("dropout");
      options.device =
          config.getString("device") == "cuda" ? aimass::Device::kCuda : aimass::Device::kCpu;
      if (aimass::Status usable = aimass::plugins::model::checkMlpDevice(options.device);
          !usable.ok()) {
        return usable;
      }
      const std::string precision_name = config.getString("precision");
      auto precision = aimass::plugins::model::mlpPrecision(precision_name, options.device);
      if (!precision.ok()) {
        return precision.status();
      }
      options.precision = *precision;
      if (precision_name == "auto") {
        config.host().log(aimass::LogLevel::kInfo, config.nodeName(),
                          aimass::compute::autoPrecisionNote(options.precision));
      }
      options.threads = std::max(1, config.host().threads());
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.mlp factory", [&] {
        node = std::make_unique<aimass::plugins::model::Mlp>(options);
      });
      if (!status.ok()) {
        return status;
      }
      return node;
    };
    return registrar.add(std::move(type));
  });
}

}  // namespace

AIMASS_PLUGIN("model.mlp", "1.0.0", "Multilayer perceptron on oneDNN", &registerTypes)
