// SPDX-License-Identifier: Apache-2.0
#include "serving_settings.h"

#include <map>
#include <utility>

#include "aimass/util/version_policy_text.h"
#include "input_check.h"
#include "param_conversion.h"

namespace aimass::core {

std::vector<ParamSpec> modelSettingsFields() {
  return {
      ParamSpec::integer("max_batch_size",
                         "Dynamic batching: most rows per model execution; 0 or 1 runs each "
                         "request alone at once.")
          .range(0, 1 << 20)
          .optional(),
      ParamSpec::list("preferred_batch_sizes", ParamType::kIntList,
                      "Batch sizes worth dispatching at once without waiting out "
                      "max_queue_delay_us (the largest counts).")
          .range(1, 1 << 20)
          .optional(),
      ParamSpec::integer("max_queue_delay_us",
                         "How long the oldest queued request waits for a batch to fill.")
          .range(0, 10'000'000)
          .optional(),
      ParamSpec::integer("max_queue_size",
                         "Requests that may wait per model; one more gets 503 (back-pressure).")
          .range(1, 1 << 20)
          .optional(),
      ParamSpec::integer("queue_timeout_ms",
                         "How long a request may wait in a model's batching queue before it "
                         "fails with 503; 0: no limit.")
          .range(0, 3'600'000)
          .optional(),
      ParamSpec::string("version_policy",
                        "Which registry versions a model loaded by name serves: latest, "
                        "latest:N, all or specific:V1,V2.")
          .optional(),
      ParamSpec::string("precision",
                        "The precision the model predicts in, whatever it was trained in: "
                        "fp32; bf16 (model.mlp, model.rnn: bf16 products with FP32 "
                        "accumulation; every request fails on a CPU without AVX512-BF16); auto "
                        "(bf16 where the CPU has it). A request's own 'precision' parameter "
                        "wins; models with one precision ignore it.")
          .oneOf({"fp32", "bf16", "auto"})
          .optional(),
      ParamSpec::string("input_validation",
                        "Checks each request's rows against the training-data profile job.train "
                        "saved with the model (docs/monitoring.md): off (no work per request); "
                        "warn (answers, logs and counts what was wrong in /metrics as "
                        "aimass_input_validation_flagged_total); reject (400 naming the row, the "
                        "feature and what was wrong). Checks: NaN where training had no gaps, "
                        "Inf, numbers beyond the training range widened by input_margin, unseen "
                        "categories, wrong types and widths. Models without a profile are "
                        "served unchecked (logged).")
          .oneOf({"off", "warn", "reject"})
          .optional(),
      ParamSpec::number("input_margin",
                        "How far beyond the training range [min, max] a number may lie before "
                        "input validation flags it, as a share of max - min (0.1: 10% either "
                        "side).")
          .range(0, 1000)
          .optional(),
      ParamSpec::string("outlier_scores",
                        "Scores each row of a request's \"input\" block against the training "
                        "data with the outlier scorer of the training-data profile "
                        "(docs/monitoring.md): off (no work per request); on (every answer "
                        "carries an FP32 output outlier_score of one score a row, listed in the "
                        "model's schema; rows above the threshold learnt from the training data "
                        "are counted in /metrics as aimass_outliers_total). Versions without a "
                        "scorer are served without it (logged).")
          .oneOf({"off", "on"})
          .optional(),
      ParamSpec::number("payload_sample",
                        "Payload logging: the share of requests logged with their answers, "
                        "model version, latency, outcome and request id to `payload_storage` "
                        "(docs/monitoring.md), from 0 (off: no work per request) to 1: 0.1 logs "
                        "every tenth request. The request thread only copies a logged request's "
                        "tensors into a bounded queue; a background thread writes them in "
                        "batches (a full queue drops entries, counted in "
                        "aimass_payload_log_dropped_total).")
          .range(0, 1)
          .optional(),
      ParamSpec::list("payload_exclude", ParamType::kStringList,
                      "Payload logging: inputs, outputs, or number features of the model's "
                      "training-data profile (columns of its \"input\" block, logged as NaN) "
                      "left out of the log, e.g. personal data. The node's names apply to every "
                      "model that has them; a model's own add to them and must each name "
                      "something of every version it logs, else that version is not logged "
                      "(said in the log).")
          .optional(),
      ParamSpec::integer("payload_max_rows",
                         "Payload logging: most logged requests kept per model (all versions "
                         "together); past it the oldest records are removed.")
          .range(1, 1e12)
          .optional(),
      ParamSpec::integer("payload_max_age_s",
                         "Payload logging: records whose newest request is older than this "
                         "many seconds are removed.")
          .range(1, 10.0 * 365 * 86400)
          .optional(),
  };
}

std::vector<ParamSpec> servingDefaultsParams() {
  const std::map<std::string, ParamValue> defaults = {
      {"max_batch_size", std::int64_t{0}},
      {"preferred_batch_sizes", std::vector<std::int64_t>{}},
      {"max_queue_delay_us", std::int64_t{500}},
      {"max_queue_size", std::int64_t{1024}},
      {"queue_timeout_ms", std::int64_t{0}},
      {"version_policy", std::string("latest")},
      {"precision", std::string("fp32")},
      {"input_validation", std::string("off")},
      {"input_margin", 0.1},
      {"outlier_scores", std::string("off")},
      {"payload_sample", 0.0},
      {"payload_exclude", std::vector<std::string>{}},
      {"payload_max_rows", std::int64_t{100000}},
      {"payload_max_age_s", std::int64_t{7 * 86400}},
  };
  std::vector<ParamSpec> params;
  for (auto& field : modelSettingsFields()) {
    ParamValue value = defaults.at(field.name);
    params.push_back(std::move(field).withDefault(std::move(value)));
  }
  return params;
}

Expected<ModelSettings> modelSettingsFromRecord(const std::string& model, const ParamRecord& record,
                                                const BatchingOptions& defaults) {
  ModelSettings settings;
  settings.model = model;
  BatchingOptions& batching = settings.batching;
  batching = defaults;
  auto read = [&](const char* field, std::int64_t& out) {
    if (record.has(field)) {
      out = record.getInt(field);
    }
  };
  read("max_batch_size", batching.max_batch_size);
  read("max_queue_delay_us", batching.max_queue_delay_us);
  read("max_queue_size", batching.max_queue_size);
  read("queue_timeout_ms", batching.timeout_ms);
  if (record.has("preferred_batch_sizes")) {
    batching.preferred_batch_sizes = record.getIntList("preferred_batch_sizes");
  }
  if (record.has("version_policy")) {
    auto policy = parseVersionPolicy(record.getString("version_policy"));
    if (!policy.ok()) {
      return invalidArgument(placeOf(record, "version_policy") +
                             ".version_policy: " + policy.status().message());
    }
    settings.version_policy = std::move(policy).value();
  }
  if (record.has("precision")) {
    settings.precision = record.getString("precision");
  }
  if (record.has("input_validation")) {
    settings.input_validation = parseInputPolicy(record.getString("input_validation"));
  }
  if (record.has("input_margin")) {
    settings.input_margin = record.getFloat("input_margin");
  }
  if (record.has("outlier_scores")) {
    settings.outlier_scores = record.getString("outlier_scores") == "on";
  }
  if (record.has("payload_sample")) {
    settings.payload_sample = record.getFloat("payload_sample");
    settings.payload_place = placeOf(record, "payload_sample") + ".payload_sample";
  }
  if (record.has("payload_exclude")) {
    settings.payload_exclude = record.getStringList("payload_exclude");
    AIMASS_RETURN_IF_ERROR(validatePayloadExclude(
        settings.payload_exclude, placeOf(record, "payload_exclude") + ".payload_exclude"));
  }
  if (record.has("payload_max_rows")) {
    settings.payload_max_rows = record.getInt("payload_max_rows");
  }
  if (record.has("payload_max_age_s")) {
    settings.payload_max_age_s = record.getInt("payload_max_age_s");
  }
  AIMASS_RETURN_IF_ERROR(validateBatching(batching, placeOf(record)));
  return settings;
}

Status validateBatching(const BatchingOptions& options, std::string_view where) {
  auto bad = [&](const std::string& what) {
    return invalidArgument(std::string(where) + ": " + what);
  };
  if (options.max_batch_size < 0) {
    return bad("max_batch_size must be 0 (no batching) or more");
  }
  for (auto p : options.preferred_batch_sizes) {
    if (p < 1 || (options.max_batch_size > 1 && p > options.max_batch_size)) {
      return bad("preferred batch size " + std::to_string(p) +
                 " must lie between 1 and max_batch_size (" +
                 std::to_string(options.max_batch_size) + ")");
    }
  }
  if (options.max_queue_delay_us < 0) {
    return bad("max_queue_delay_us must be 0 or more");
  }
  if (options.max_queue_size < 1) {
    return bad("max_queue_size must be 1 or more");
  }
  if (options.timeout_ms < 0) {
    return bad("queue_timeout_ms must be 0 (no limit) or more");
  }
  return okStatus();
}

Status validatePayloadExclude(const std::vector<std::string>& names, std::string_view where) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) {
      return invalidArgument(std::string(where) + "[" + std::to_string(i) +
                             "]: a name to leave out of the payload log must not be empty");
    }
  }
  return okStatus();
}

}  // namespace aimass::core
