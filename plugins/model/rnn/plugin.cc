// SPDX-License-Identifier: Apache-2.0
// model.rnn: entry point and registration.

#include "aimass/plugin.h"

#include <algorithm>
#include <memory>

#include "aimass/host.h"
#include "rnn.h"

namespace {

aimass::Status registerTypes(aimass::Registrar& registrar) {
  return aimass::guard("model.rnn registration", [&]() -> aimass::Status {
    using aimass::ParamSpec;
    aimass::NodeType type;
    type.type = "model.rnn";
    type.kind = aimass::NodeKind::kModel;
    type.summary =
        "Recurrent network (GRU or LSTM on oneDNN): language model with generation, sequence "
        "classification or forecasting, chosen from the data";
    type.params.push_back(ParamSpec::string("cell",
                                            "Recurrent cell: 'gru' (linear-before-reset, as "
                                            "PyTorch's nn.GRU) or 'lstm'.")
                              .withDefault(std::string("gru"))
                              .oneOf({"gru", "lstm"}));
    type.params.push_back(ParamSpec::integer("hidden", "Units per layer (and direction).")
                              .withDefault(std::int64_t{256})
                              .range(1, 65536));
    type.params.push_back(ParamSpec::integer("layers", "Stacked recurrent layers.")
                              .withDefault(std::int64_t{1})
                              .range(1, 64));
    type.params.push_back(
        ParamSpec::boolean("bidirectional",
                           "Run each layer in both directions (sequence classification only).")
            .withDefault(false));
    type.params.push_back(
        ParamSpec::integer("embedding", "Width of the token embedding (token inputs).")
            .withDefault(std::int64_t{64})
            .range(1, 65536));
    type.params.push_back(
        ParamSpec::number("dropout",
                          "Probability of zeroing each unit between stacked layers while "
                          "training (inverted dropout, seeded from the training seed).")
            .withDefault(0.0)
            .range(0, 0.95));
    type.params.push_back(
        ParamSpec::boolean("stateful",
                           "Language model: carry the state from one batch to the next when they "
                           "have the same number of rows (truncated backpropagation through time "
                           "over contiguous streams); reset at each epoch.")
            .withDefault(true));
    type.params.push_back(
        ParamSpec::string(
            "precision",
            "What training's recurrent products read: 'fp32'; 'bf16' (bf16 copies of the "
            "inputs, states and weights of each layer, FP32 accumulation, cell state, "
            "gradients, master weights, optimizer state and loss; needs a CPU with "
            "AVX512-BF16, an error elsewhere); or 'auto' (bf16 where oneDNN reports "
            "AVX512-BF16, else fp32; the log says which). Prediction precision is the "
            "serving runtime's setting, not this.")
            .withDefault(std::string("fp32"))
            .oneOf({"fp32", "bf16", "auto"}));
    type.params.push_back(
        ParamSpec::integer("threads",
                           "Training threads; 0: the graph's `threads:`. predict() runs each "
                           "call on one thread.")
            .withDefault(std::int64_t{0})
            .range(0, 1024));
    type.factory =
        [](const aimass::NodeConfig& config) -> aimass::Expected<std::unique_ptr<aimass::Node>> {
      aimass::plugins::model::RnnOptions options;
      options.cell = config.getString("cell") == "lstm" ? aimass::plugins::model::Cell::kLstm
                                                        : aimass::plugins::model::Cell::kGru;
      options.hidden = config.getInt("hidden");
      options.layers = config.getInt("layers");
      options.bidirectional = config.getBool("bidirectional");
      options.embedding = config.getInt("embedding");
      options.dropout = config.getFloat("dropout");
      options.stateful = config.getBool("stateful");
      const std::int64_t threads = config.getInt("threads");
      options.threads =
          threads > 0 ? static_cast<int>(threads) : std::max(1, config.host().threads());
      const std::string precision_name = config.getString("precision");
      auto precision = aimass::compute::trainingPrecision(precision_name);
      if (!precision.ok()) {
        return precision.status();
      }
      options.precision = *precision;
      if (precision_name == "auto") {
        config.host().log(aimass::LogLevel::kInfo, config.nodeName(),
                          aimass::compute::autoPrecisionNote(options.precision));
      }
      std::unique_ptr<aimass::Node> node;
      aimass::Status status = aimass::guard("model.rnn factory", [&] {
        node = std::make_unique<aimass::plugins::model::Rnn>(options);
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

AIMASS_PLUGIN("model.rnn", "1.0.0", "Recurrent networks (GRU, LSTM) on oneDNN", &registerTypes)
