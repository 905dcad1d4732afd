// SPDX-License-Identifier: Apache-2.0
// W7, the aimass side: each search optimizer plugin minimises Branin and Hartmann6
// (sdk/testing's search_functions.h) through the tuner's Study, 50 trials, seeds 0-4, once
// with the study in memory and once in a storage.sqlite file, and prints one JSON line: per
// optimizer the median best values and the median milliseconds per trial of each storage (the
// functions cost nanoseconds, so this is the optimizer's and the study's own overhead).
//
//   bench/w7 [--trials N] [--seeds N] [--folder DIR] TYPE...   (TYPE: optimizer.tpe, ...)
//
// Plugins come from <folder of this program>/../lib/aimass/plugins, as for aimass itself.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "aimass/core/graph.h"
#include "aimass/core/host_services.h"
#include "aimass/core/plugin_loader.h"
#include "aimass/core/storage_uri.h"
#include "aimass/core/type_registry.h"
#include "aimass/testing/search_functions.h"
#include "aimass/util/json_writer.h"
#include "tune/study.h"

namespace {

namespace fs = std::filesystem;
using aimass::core::Study;
using aimass::core::StudySettings;
using aimass::core::Trial;
using aimass::core::TuneDimension;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::vector<TuneDimension> dimensionsOf(const aimass::SearchSpace& space) {
  std::vector<TuneDimension> dimensions;
  for (const auto& s : space) {
    TuneDimension d;
    d.key = "f." + s.name;
    d.node = "f";
    d.param = s.name;
    d.kind = TuneDimension::Kind::kUniform;
    d.low = s.low;
    d.high = s.high;
    dimensions.push_back(std::move(d));
  }
  return dimensions;
}

struct Run {
  double best = INFINITY;
  double ms_per_trial = 0;
};

/// One study of `trials` trials of `f` through Study, as job.tune drives it (ask, evaluate,
/// finish), with the study in `storage` (null: memory).
aimass::Expected<Run> search(aimass::SearchOptimizer& optimizer, const std::string& type,
                             const aimass::testing::SearchFunction& f, std::uint64_t seed,
                             int trials, std::shared_ptr<aimass::Storage> storage,
                             const std::string& name) {
  StudySettings settings;
  settings.name = name;
  settings.dimensions = dimensionsOf(f.space);
  settings.optimizer_type = type;
  settings.seed = seed;
  settings.objective = "value";
  const auto start = std::chrono::steady_clock::now();
  auto study = Study::open(std::move(storage), settings, optimizer);
  if (!study.ok()) {
    return study.status();
  }
  Run run;
  for (int i = 0; i < trials; ++i) {
    auto trial = (*study)->startTrial();
    if (!trial.ok()) {
      return trial.status();
    }
    if (!trial->has_value()) {
      break;
    }
    const double value = f.evaluate((*trial)->values);
    run.best = std::min(run.best, value);
    Study::Outcome outcome;
    outcome.value = value;
    AIMASS_RETURN_IF_ERROR((*study)->finish((*trial)->number, outcome));
  }
  const std::chrono::duration<double, std::milli> spent = std::chrono::steady_clock::now() - start;
  run.ms_per_trial = spent.count() / trials;
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 50;
  int seeds = 5;
  fs::path folder = fs::temp_directory_path() / "aimass-w7";
  std::vector<std::string> types;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if ((word == "--trials" || word == "--seeds" || word == "--folder") && i + 1 < argc) {
      const std::string value = argv[++i];
      if (word == "--folder") {
        folder = value;
      } else {
        (word == "--trials" ? trials : seeds) = std::stoi(value);
      }
    } else {
      types.push_back(word);
    }
  }
  if (types.empty() || trials < 1 || seeds < 1) {
    std::cerr << "usage: w7 [--trials N] [--seeds N] [--folder DIR] optimizer.TYPE...\n";
    return 2;
  }
  aimass::core::TypeRegistry registry;
  aimass::core::registerBuiltinTypes(registry);
  aimass::core::PluginLoader loader(registry);
  loader.discover({});
  aimass::core::HostServices host(fs::current_path(), 1);
  host.setLogLevel(aimass::LogLevel::kWarning);
  fs::remove_all(folder);
  fs::create_directories(folder);
  auto storage = aimass::core::openStorageUri("sqlite:" + (folder / "study.db").string(),
                                              registry, host, fs::current_path());
  if (!storage.ok()) {
    std::cerr << "w7: " << storage.status().toString() << "\n";
    return 1;
  }
  const aimass::testing::SearchFunction functions[] = {aimass::testing::branin(),
                                                       aimass::testing::hartmann6()};
  aimass::JsonWriter json;
  json.beginObject().key("trials").value(std::int64_t{trials});
  json.key("seeds").value(std::int64_t{seeds});
  int study_number = 0;
  for (const auto& type : types) {
    aimass::core::NodeDecl decl;
    decl.name = "search";
    decl.type = type;
    aimass::core::Diagnostics diagnostics;
    auto config = aimass::core::validateNode(decl, registry, host, diagnostics);
    auto node = config ? registry.instantiate(*config, aimass::NodeKind::kOptimizer)
                       : aimass::Expected<std::shared_ptr<aimass::Node>>(
                             aimass::invalidArgument("no such optimizer type " + type));
    auto optimizer = node.ok() ? std::dynamic_pointer_cast<aimass::SearchOptimizer>(*node)
                               : nullptr;
    if (!optimizer) {
      std::cerr << "w7: " << type << " is not a search optimizer type: "
                << (node.ok() ? "" : node.status().toString()) << "\n";
      return 1;
    }
    json.key(type).beginObject();
    std::vector<double> memory_ms, sqlite_ms;
    for (const auto& f : functions) {
      std::vector<double> bests;
      for (int seed = 0; seed < seeds; ++seed) {
        for (bool stored : {false, true}) {
          auto run = search(*optimizer, type, f, static_cast<std::uint64_t>(seed), trials,
                            stored ? *storage : nullptr,
                            "w7-" + std::to_string(study_number++));
          if (!run.ok()) {
            std::cerr << "w7: " << type << " on " << f.name << ": " << run.status().toString()
                      << "\n";
            return 1;
          }
          (stored ? sqlite_ms : memory_ms).push_back(run->ms_per_trial);
          if (!stored) {
            bests.push_back(run->best);
          }
        }
      }
      json.key(f.name + "_best_value").value(median(bests));
    }
    json.key("ms_per_trial").value(median(memory_ms));
    json.key("ms_per_trial_sqlite").value(median(sqlite_ms));
    json.endObject();
  }
  json.endObject();
  std::string text = json.str();
  text.erase(std::remove(text.begin(), text.end(), '\n'), text.end());
  std::cout << text << "\n";
  fs::remove_all(folder);
  return 0;
}
