// SPDX-License-Identifier: Apache-2.0
// ServingRuntime's payload logging settings (setPayloadLogging(), setPayloadStorage()): which
// versions get a PayloadTap, and the one PayloadLog that writes for all of them
// (monitoring/payload_log.h). The request path's side is in serving.cc (PinnedVersion::infer).
#include <cmath>
#include <utility>

#include "aimass/core/serving.h"
#include "aimass/util/number_text.h"
#include "data_profile.h"
#include "monitoring/payload_log.h"

namespace aimass::core {

void ServingRuntime::setPayloadLogging(std::string_view model, const PayloadLogging& settings) {
  {
    std::lock_guard lock(settings_mutex_);
    if (model.empty()) {
      default_payload_ = settings;
    } else {
      payload_[std::string(model)] = settings;
    }
  }
  remake(model);
}

void ServingRuntime::setPayloadStorage(std::shared_ptr<Storage> storage) {
  std::shared_ptr<PayloadLog> old;
  {
    std::lock_guard lock(settings_mutex_);
    old = std::move(payload_log_);
    if (storage) {
      payload_log_ = std::make_shared<PayloadLog>(
          std::move(storage), PayloadLogOptions{},
          [this](LogLevel level, const std::string& node, const std::string& message) {
            this->log(level, node, message);
          });
    }
  }
  remake("");
  if (old) {
    old->stop();  // writes what it queued (outside settings_mutex_: its writer may log)
  }
}

void ServingRuntime::flushPayloads() const {
  std::shared_ptr<PayloadLog> log;
  {
    std::lock_guard lock(settings_mutex_);
    log = payload_log_;
  }
  if (log) {
    log->flush();
  }
}

void ServingRuntime::stopPayloadLog() {
  std::shared_ptr<PayloadLog> log;
  {
    std::lock_guard lock(settings_mutex_);
    log = std::move(payload_log_);
    default_payload_ = PayloadLogging();
    payload_.clear();
  }
  if (log) {
    log->stop();
  }
}

std::string ServingRuntime::payloadMetrics() const {
  std::shared_ptr<PayloadLog> log;
  {
    std::lock_guard lock(settings_mutex_);
    log = payload_log_;
  }
  return log ? log->prometheusMetrics() : std::string();
}

std::shared_ptr<PayloadTap> ServingRuntime::payloadTapFor(const std::string& name,
                                                          const std::string& version,
                                                          const ModelSchema& schema,
                                                          const DataProfile* profile) const {
  PayloadLogging settings;
  std::shared_ptr<PayloadLog> payload_log;
  {
    std::lock_guard lock(settings_mutex_);
    auto it = payload_.find(name);
    settings = it == payload_.end() ? default_payload_ : it->second;
    payload_log = payload_log_;
  }
  if (settings.sample <= 0) {
    return nullptr;
  }
  const std::string which = "model '" + name + "' version '" + version + "'";
  if (!payload_log) {
    log(LogLevel::kWarning, "serving",
        which +
            ": payload_sample is set but no payload storage is, so its requests are not "
            "logged");
    return nullptr;
  }
  std::vector<std::string> numbers;
  if (profile != nullptr) {
    for (const auto& feature : profile->features) {
      if (feature.kind == FeatureProfile::Kind::kNumber) {
        numbers.push_back(feature.name);
      }
    }
  }
  std::string why;
  auto tap = PayloadTap::make(payload_log, name, version, schema, numbers, settings, why);
  if (!tap) {
    log(LogLevel::kWarning, "serving", which + ": " + why);
    return nullptr;
  }
  payload_log->setBounds(name, settings.max_rows, settings.max_age_s);
  std::string left_out;
  for (const auto& names : {&tap->excludedTensors(), &tap->maskedFeatures()}) {
    for (const auto& excluded : *names) {
      left_out += (left_out.empty() ? "" : ", ") + excluded;
    }
  }
  log(LogLevel::kInfo, "serving",
      which + " logs " + formatNumber(std::round(settings.sample * 10000) / 100) +
          "% of its requests to " + payload_log->storage().describe() + " (payloads/" + name + "/" +
          version + "/" + (left_out.empty() ? std::string(")") : "; left out: " + left_out + ")"));
  return tap;
}

}  // namespace aimass::core
