// SPDX-License-Identifier: Apache-2.0
// A real `aimass run` for the client tests, as clients/python/tests/live_server.py makes one:
// pump_state (a softmax classifier of 4 FP32 features into 3 classes) trained into a SQLite
// store once (version 1, run 1), then a config that trains it again (version 2, run 2) and
// serves it with frontend.http on a free port of 127.0.0.1, over TLS or with auth when asked,
// and with frontend.grpc beside it (same TLS and auth parameters) when asked. With a
// service.jobs option it serves the job service instead (store, service.jobs, frontend.http):
// jobs then run in dir(), which holds pumps.csv.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "aimass_server.h"
#include "temp_dir.h"
#include "tls_test_support.h"

namespace aimass::client::testing {

namespace fs = std::filesystem;

class LiveAimass {
 public:
  /// TLS files of a mutual-TLS server (all in dir()): ca.crt signs server.crt and client.crt.
  struct Tls {
    fs::path ca, client_cert, client_key;
  };

  /// `web_extra`: more frontend.http parameters, YAML lines indented by 4 (auth, keys); with
  /// `grpc`, a frontend.grpc node gets the same TLS and `web_extra` parameters. `jobs`: when
  /// not empty, the parameters of a service.jobs node (YAML lines indented by 4, its queues
  /// among them) that the served config has in place of the training job.
  explicit LiveAimass(bool tls = false, const std::string& web_extra = "", bool grpc = false,
                      const std::string& jobs = "")
      : dir_("aimass-cclient") {
    const fs::path dir = dir_.path();
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv",
                  dir / "pumps.csv");
    std::string train =
        "nodes:\n"
        "  store: {type: storage.sqlite, path: " +
        (dir / "store.db").string() +
        "}\n"
        "  pumps: {type: dataset.csv, path: " +
        (dir / "pumps.csv").string() +
        ", label: state}\n"
        "  pump_state: {type: model.softmax}\n"
        "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
        "  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, epochs: 2,\n"
        "          seed: 7, validation_fraction: 0.2, storage: store}\n";
    std::string web = "  web:\n    type: frontend.http\n    host: 127.0.0.1\n    port: 0\n";
    std::string shared;  // the parameters both frontends take
    if (tls) {
      auto ca = aimass::testing::issue(dir, "ca", nullptr, true);
      auto server = aimass::testing::issue(dir, "server", &ca);
      auto client = aimass::testing::issue(dir, "client", &ca);
      tls_ = {ca.certificate_file, client.certificate_file, client.key_file};
      shared += "    tls_certificate: " + server.certificate_file.string() + "\n" +
                "    tls_private_key: " + server.key_file.string() + "\n" +
                "    tls_client_ca: " + ca.certificate_file.string() + "\n";
    }
    shared += web_extra;
    web += shared;
    if (grpc) {
      web += "  rpc:\n    type: frontend.grpc\n    host: 127.0.0.1\n    port: 0\n" + shared;
    }
    std::ofstream(dir / "train.yaml") << train;
    if (jobs.empty()) {
      std::ofstream(dir / "serve.yaml") << train << web;
    } else {
      std::ofstream(dir / "serve.yaml")
          << "nodes:\n  store: {type: storage.sqlite, path: " << (dir / "jobs.db").string()
          << "}\n  jobs:\n    type: service.jobs\n    storage: store\n"
          << jobs << web;
    }
    auto trained = aimass::testing::runAimass(dir, {"run", (dir / "train.yaml").string()});
    if (trained.code != 0) {
      ADD_FAILURE() << "aimass run train.yaml failed: " << trained.err;
      return;
    }
    server_ = std::make_unique<aimass::testing::AimassServer>((dir / "serve.yaml").string());
    const std::string scheme = tls ? "https" : "http";
    int port = server_->waitForPort(scheme);
    if (port <= 0) {
      ADD_FAILURE() << "aimass never served: " << server_->err();
      return;
    }
    url_ = scheme + "://127.0.0.1:" + std::to_string(port);
    if (grpc) {
      int grpc_port = server_->waitForPort(tls ? "grpcs" : "grpc");
      if (grpc_port <= 0) {
        ADD_FAILURE() << "aimass never served gRPC: " << server_->err();
        url_.clear();
        return;
      }
      grpc_target_ = "127.0.0.1:" + std::to_string(grpc_port);
    }
  }

  /// "" when the server did not start (a failure is reported already).
  const std::string& url() const { return url_; }
  /// frontend.grpc's "127.0.0.1:PORT" ("" when not asked for).
  const std::string& grpcTarget() const { return grpc_target_; }
  const fs::path& dir() const { return dir_.path(); }
  const Tls& tls() const { return tls_; }
  /// SIGTERM, then the exit code (0 for a clean stop).
  int stop() { return server_ ? server_->stop() : -1; }
  std::string log() const { return server_ ? server_->err() : std::string(); }

 private:
  aimass::testing::TempDir dir_;
  std::unique_ptr<aimass::testing::AimassServer> server_;
  std::string url_;
  std::string grpc_target_;
  Tls tls_;
};

/// How a LiveSuite's server serves: `kTls`, more frontend.http parameters (webExtra()),
/// whether frontend.grpc serves beside it (`kGrpc`) and, when it has a jobsService(), the
/// service.jobs parameters of a job service (LiveAimass's `jobs`).
struct PlainHttp {
  static constexpr bool kTls = false;
  static constexpr bool kGrpc = false;
  static std::string webExtra() { return ""; }
};
struct MutualTls {
  static constexpr bool kTls = true;
  static constexpr bool kGrpc = false;
  static std::string webExtra() { return ""; }
};

/// A job service (LiveAimass's `jobs`) with two queues of one thread each, fast and slow, so a
/// second job in one waits behind the first.
struct JobsServing {
  static constexpr bool kTls = false;
  static constexpr bool kGrpc = false;
  static std::string webExtra() { return ""; }
  static std::string jobsService() {
    return "    threads: 2\n    memory: 4GiB\n    gpus: 0\n    grace_period_ms: 2000\n"
           "    poll_interval_ms: 50\n    queues:\n"
           "      fast: {threads: 1, memory: 1GiB}\n"
           "      slow: {threads: 1, memory: 1GiB}\n";
  }
};

/// A graph a JobsServing job runs: an MLP trained on pumps.csv for `epochs` epochs of `batch`
/// rows, into a storage.fs store at `store` (in dir()).
inline std::string jobTrainGraph(int epochs, int batch, const std::string& store) {
  return "nodes:\n"
         "  store: {type: storage.fs, path: " +
         store +
         "}\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  model: {type: model.mlp, hidden: [64]}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.01}\n"
         "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, epochs: " +
         std::to_string(epochs) + ", batch_size: " + std::to_string(batch) +
         ", seed: 7, storage: store}\n";
}

/// A suite whose tests share one LiveAimass serving as `Serving` says, started before the first
/// test and stopped, expecting a clean exit, after the last.
template <typename Serving>
class LiveSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string jobs;
    if constexpr (requires { Serving::jobsService(); }) {
      jobs = Serving::jobsService();
    }
    server_ = new LiveAimass(Serving::kTls, Serving::webExtra(), Serving::kGrpc, jobs);
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_FALSE(server_->url().empty()); }

  static inline LiveAimass* server_ = nullptr;
};

}  // namespace aimass::client::testing
