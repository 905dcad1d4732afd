// SPDX-License-Identifier: Apache-2.0
// Makes registry changes on a store, one after another, until it is killed:
//   registry_crash_worker sqlite|fs PATH SEED ACK_FD
// registry_crash_test kills it with SIGKILL at random points and checks the store after each
// kill. Every change is one the registry must make all-or-nothing: saving and registering a
// model version (with its dataset), promoting and rolling back aliases, deleting versions
// (forced or not), setting tags and collecting garbage.
//
// It reports to the parent on the pipe ACK_FD, one line per write() (shorter than PIPE_BUF, so a
// kill never leaves half a line): "ready" once the store is open; "begin <change>" before each
// change; and, once the registry returned success, what the store now holds for certain
// (acknowledged_writes.h describes the lines). A change without its acknowledgement is the one
// the kill interrupted, or one refused as expected (which changes nothing).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "aimass/core/dataset_registry.h"
#include "aimass/core/registry.h"
#include "aimass/core/sha256.h"
#include "fs.h"
#include "sqlite.h"

namespace {

using aimass::Status;
using aimass::StatusCode;
using aimass::Storage;
using namespace aimass::core;

/// Failures the workload expects (an alias with no history, a delete refused while aliased);
/// anything else is a bug the test must see.
bool expected(const Status& status) {
  return status.ok() || status.code() == StatusCode::kFailedPrecondition ||
         status.code() == StatusCode::kNotFound;
}

int fail(const std::string& what, const Status& status) {
  std::fprintf(stderr, "registry_crash_worker: %s: %s\n", what.c_str(), status.toString().c_str());
  return 1;
}

/// Writes one line to the parent in one write(); exits when the pipe is gone (the parent died).
void tell(int fd, const std::string& line) {
  const std::string text = line + "\n";
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::fprintf(stderr, "registry_crash_worker: cannot report to the parent\n");
    std::_Exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: registry_crash_worker sqlite|fs PATH SEED ACK_FD\n");
    return 2;
  }
  const std::string backend = argv[1];
  const int ack = std::atoi(argv[4]);
  std::unique_ptr<Storage> storage;
  if (backend == "sqlite") {
    auto opened = aimass::plugins::storage::SqliteStorage::create(argv[2], 10000);
    if (!opened.ok()) return fail("opening " + std::string(argv[2]), opened.status());
    storage = std::move(opened).value();
  } else {
    auto opened = aimass::plugins::storage::FsStorage::create(argv[2], true);
    if (!opened.ok()) return fail("opening " + std::string(argv[2]), opened.status());
    storage = std::move(opened).value();
  }
  tell(ack, "ready");

  std::mt19937_64 rng(std::strtoull(argv[3], nullptr, 10));
  auto pick = [&](std::uint64_t n) { return rng() % n; };
  ModelRegistry models(*storage);
  DatasetRegistry datasets(*storage);
  const char* kModels[] = {"alpha", "beta"};
  const char* kAliases[] = {"champion", "challenger"};
  for (;;) {
    const std::string model = kModels[pick(2)];
    const std::string alias = kAliases[pick(2)];
    auto versions = models.listVersions(model);
    if (!versions.ok() && versions.status().code() != StatusCode::kNotFound) {
      return fail("listing " + model, versions.status());
    }
    const std::int64_t some_version =
        versions.ok() && !versions->empty() ? (*versions)[pick(versions->size())].version : 0;
    switch (pick(8)) {
      case 0:
      case 1:
      case 2: {  // train-and-register: dataset version, streamed artifact, model version
        tell(ack, "begin register " + model);
        NewDatasetVersion data;
        data.type = "dataset.synthetic";
        data.sha256 = Sha256::of("content " + std::to_string(pick(4)));
        data.rows = 100;
        auto dataset = datasets.registerVersion("rows", data);
        if (!dataset.ok()) return fail("registering the dataset", dataset.status());
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        const std::string key = "models/" + model + "/artifacts/" + std::to_string(ns) + ".aimass";
        auto writer = storage->openWrite(key);
        if (!writer.ok()) return fail("opening " + key, writer.status());
        const std::size_t chunks = 1 + pick(6);
        for (std::size_t c = 0; c < chunks; ++c) {
          std::string chunk(64 * 1024, '\0');
          for (char& byte : chunk) byte = static_cast<char>(rng());
          Status wrote = (*writer)->write(chunk);
          if (!wrote.ok()) return fail("writing " + key, wrote);
        }
        Status committed = (*writer)->commit();
        if (!committed.ok()) return fail("committing " + key, committed);
        NewModelVersion info;
        info.artifact_key = key;
        info.node = model;
        info.node_type = "model.synthetic";
        info.dataset_name = dataset->name;
        info.dataset_version = dataset->version;
        info.dataset_sha256 = dataset->sha256;
        info.metrics = {{"loss", static_cast<double>(pick(1000)) / 1000}};
        auto registered = models.registerVersion(model, info);
        if (!registered.ok()) return fail("registering " + key, registered.status());
        tell(ack, "version " + model + " " + std::to_string(registered->version) + " " + key);
        break;
      }
      case 3:
        if (some_version > 0) {
          const std::string target = std::to_string(some_version);
          tell(ack, "begin promote " + model + " " + alias + " " + target);
          auto moved = models.promote(model, alias, some_version);
          if (!expected(moved.status())) return fail("promoting", moved.status());
          if (moved.ok()) tell(ack, "alias " + model + " " + alias + " " + target);
        }
        break;
      case 4: {
        tell(ack, "begin rollback " + model + " " + alias);
        auto moved = models.rollback(model, alias);
        if (!expected(moved.status())) return fail("rolling back", moved.status());
        if (moved.ok()) {
          tell(ack, "alias " + model + " " + alias + " " + std::to_string(moved->version));
        }
        break;
      }
      case 5:
        if (some_version > 0) {
          const std::string target = std::to_string(some_version);
          tell(ack, "begin delete " + model + " " + target);
          Status deleted = models.deleteVersion(model, some_version, pick(2) == 0);
          if (!expected(deleted)) return fail("deleting", deleted);
          if (deleted.ok()) tell(ack, "deleted " + model + " " + target);
        }
        break;
      case 6:
        if (some_version > 0) {
          const std::string change =
              model + " " + std::to_string(some_version) + " " + std::to_string(pick(100));
          tell(ack, "begin tag " + change);
          const std::string stage = change.substr(change.rfind(' ') + 1);
          auto tagged = models.setTags(model, some_version, {{"stage", stage}}, {});
          if (!expected(tagged.status())) return fail("tagging", tagged.status());
          if (tagged.ok()) tell(ack, "tag " + change);
        }
        break;
      default: {
        tell(ack, "begin collect");
        auto collected = models.collectGarbage(false, 0);
        if (!collected.ok()) return fail("collecting garbage", collected.status());
        break;
      }
    }
  }
}
