// SPDX-License-Identifier: Apache-2.0
// Records as job.tune and service.monitor store them, written through their own functions, for
// the tests of the console's routes (console_api_test.cc, openapi_exchanges_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "aimass/storage.h"
#include "monitoring/drift_report_cli.h"
#include "monitoring/monitor_node.h"
#include "monitoring/monitor_state.h"
#include "tune/study.h"

namespace aimass::testing {

/// The study "widths" as the tuner stores it: one choice dimension, trials 0 and 1 complete,
/// 2 running.
inline void putStudy(Storage& storage) {
  aimass::core::StudySettings settings;
  settings.name = "widths";
  settings.optimizer_type = "optimizer.random_search";
  settings.seed = 3;
  settings.objective = "val_accuracy";
  settings.maximize = true;
  aimass::core::TuneDimension width;
  width.key = "net.width";
  width.node = "net";
  width.param = "width";
  width.kind = aimass::core::TuneDimension::Kind::kChoice;
  width.param_type = aimass::ParamType::kInt;
  width.choices = {"32", "64"};
  settings.dimensions = {width};
  ASSERT_TRUE(storage.put("tune/widths/study", aimass::core::studySettingsJson(settings)).ok());
  for (std::uint64_t n = 0; n < 3; ++n) {
    aimass::core::Trial t;
    t.number = n;
    t.candidate = n + 1;
    t.values = {static_cast<double>(n % 2)};
    t.started = 1000.0 + static_cast<double>(n);
    t.run_id = static_cast<std::int64_t>(n + 1);
    if (n < 2) {
      t.state = aimass::core::Trial::State::kComplete;
      t.value = 0.8 + 0.1 * static_cast<double>(n);
      t.intermediate = {{1, 0.5}, {2, *t.value}};
      t.ended = t.started + 5;
      t.told = n + 1;
    }
    ASSERT_TRUE(
        storage.put(aimass::core::trialRecordKey("widths", n), aimass::core::trialJson(t)).ok());
  }
}

/// A window's result as the monitor stores it (windowDriftJson with its span).
inline std::string windowRecord(bool drifted, std::int64_t first_ns) {
  aimass::core::WindowDrift drift;
  aimass::core::FeatureDrift a;
  a.feature = "a";
  a.test = "ks";
  a.values = 100;
  a.tested = true;
  a.p_value_test = true;
  a.statistic = drifted ? 0.4 : 0.05;
  a.p_value = drifted ? 1e-6 : 0.7;
  a.adjusted_p_value = a.p_value;
  a.psi = 0.01;
  a.drifted = drifted;
  aimass::core::FeatureDrift b;
  b.feature = "b";
  b.test = "ks";
  b.tested = false;
  b.note = "too few values";
  drift.features = {a, b};
  drift.tested = 1;
  drift.drifted_features = drifted ? 1 : 0;
  drift.drifted = drifted;
  aimass::core::WindowSpan span{"r1", "r100", first_ns, first_ns + 99};
  return aimass::core::windowDriftJson(drift, 100, &span);
}

inline std::string windowKey(const std::string& model, std::int64_t unix_ns) {
  char key[96];
  std::snprintf(key, sizeof key, "monitoring/%s/windows/%020lld", model.c_str(),
                static_cast<long long>(unix_ns));
  return key;
}

/// Model "pumps": three windows (at 1000, 2000, 3000 ns; the last drifted), its state, live
/// accuracy of versions 2 and 10, a labelled-rows record. Model "quiet": only labelled rows.
inline void putMonitoring(Storage& storage) {
  for (std::int64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(storage.put(windowKey("pumps", i * 1000), windowRecord(i == 3, i * 10)).ok());
  }
  ASSERT_TRUE(storage
                  .put("monitoring/pumps/state",
                       R"({"truth_cursor":"x","retrain_job":4,"retrain_started_ms":5,)"
                       R"("last_retrain_ms":6,"labelled_since_retrain":7,"expected_champion":2,)"
                       R"("watched":2,"previous_champion":1,"baseline":0.75})")
                  .ok());
  aimass::core::MonitorState state;
  state.live[2].scores = {1, 0, 1, 1};
  state.live[2].sum = 3;
  state.live[2].labelled = 4;
  state.live[10].scores = {1};
  state.live[10].sum = 1;
  state.live[10].labelled = 1;
  for (std::int64_t version : {2, 10}) {
    ASSERT_TRUE(storage
                    .put(aimass::core::liveMetricKey("pumps", version),
                         aimass::core::liveMetricRecord(state, version))
                    .ok());
  }
  ASSERT_TRUE(storage.put(aimass::core::labelledRowsPrefix("pumps") + "1", "1,2,a\n").ok());
  ASSERT_TRUE(storage.put(aimass::core::labelledRowsPrefix("quiet") + "1", "1,2,a\n").ok());
}

}  // namespace aimass::testing
