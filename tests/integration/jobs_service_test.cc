// SPDX-License-Identifier: Apache-2.0
// The job service (service.jobs, docs/jobs.md) in a real `aimass run`, over real sockets: jobs
// submitted through /api/v1/jobs and `aimass jobs`, each run in a worker process; bad graphs
// and requests refused with their reasons; cancellation; preemption that checkpoints and
// resumes; kill -9 of the service with jobs running and queued; the memory limit; schedules;
// queue edits by admins; a schedule firing by the wall clock; memory limits by cgroup and by
// address space; `aimass serve`.
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "aimass_server.h"
#include "http_call.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using aimass::testing::AimassServer;
using aimass::testing::httpCall;
using aimass::testing::HttpReply;
using aimass::testing::runAimass;
using ::testing::HasSubstr;

// Not a speed check: only so a broken build fails instead of hanging.
constexpr auto kHangLimit = std::chrono::seconds(120);

std::string trainGraph(int epochs, const std::string& store) {
  return "nodes:\n"
         "  store: {type: storage.fs, path: " + store + "}\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  model: {type: model.softmax}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.05}\n"
         "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, epochs: " +
         std::to_string(epochs) + ", seed: 7, storage: store, checkpoint_every: 100000}\n";
}

// Trains for as long as the test needs (a million epochs of 240 single-row steps of a
// 256-unit MLP) and checkpoints when stopped (checkpoint_every with a storage).
std::string longTrainGraph(const std::string& store) {
  return "nodes:\n"
         "  store: {type: storage.fs, path: " + store + "}\n"
         "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
         "  model: {type: model.mlp, hidden: [256]}\n"
         "  sgd: {type: optimizer.sgd, learning_rate: 0.01}\n"
         "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, "
         "epochs: 1000000, batch_size: 1, seed: 7, storage: store, checkpoint_every: 100000}\n";
}

const std::string kWaitGraph = "nodes:\n  wait: {type: job.fixture_wait}\n";

const std::string kOpenWeb = "  web: {type: frontend.http, host: 127.0.0.1, port: 0}\n";
// Authentication on, with the operators ann and bob and the admin root (their keys are
// "operator-key-ann", "operator-key-bob" and "admin-key-root").
const std::string kAuthWeb =
    "  web:\n"
    "    type: frontend.http\n"
    "    host: 127.0.0.1\n"
    "    port: 0\n"
    "    auth: on\n"
    "    api_keys:\n"
    "      - {name: ann, role: operator,\n"
    "         sha256: 238afef5a57c7b196e435df2e3ac3ed82a6173db2790769676f37ab6cf85982f}\n"
    "      - {name: bob, role: operator,\n"
    "         sha256: 01d415e7481825f74b742dc88b673b2f0b08ba6c77dbe364329b887137f1be58}\n"
    "      - {name: root, role: admin,\n"
    "         sha256: 4c0dedbad5261d0d75429f2ac3116cd23f4f692efff8afb52996d9c257ea95bf}\n";

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

Poco::JSON::Object::Ptr parse(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

class JobsService : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy_file(fs::path(AIMASS_SOURCE_DIR) / "configs" / "data" / "pumps.csv",
                  dir_.path() / "pumps.csv");
  }

  // The service: a SQLite store, queues a and b of one thread each in cohort lab (so a job of
  // two threads in a borrows b's), and c of one thread alone; frontend.http on a free port.
  void start(const std::string& queues = "", const std::string& web = kOpenWeb) {
    const std::string config =
        "plugins: [" + std::string(AIMASS_FIXTURE_DIR) + "/libaimass_fixture_wait_job.so]\n"
        "nodes:\n"
        "  store: {type: storage.sqlite, path: service.db}\n"
        "  jobs:\n"
        "    type: service.jobs\n"
        "    storage: store\n"
        "    threads: 3\n"
        "    memory: 6GiB\n"
        "    gpus: 0\n"
        "    grace_period_ms: 5000\n"
        "    poll_interval_ms: 50\n" +
        service_extra_ +
        "    queues:\n" +
        (queues.empty() ? "      a: {threads: 1, memory: 2GiB, cohort: lab}\n"
                          "      b: {threads: 1, memory: 2GiB, cohort: lab}\n"
                          "      c: {threads: 1, memory: 2GiB}\n"
                        : queues) +
        web;
    writeText(dir_.path() / "service.yaml", config);
    // `aimass serve`: the command for a long-lived graph (what `aimass run` does, checked).
    server_ = std::make_unique<AimassServer>((dir_.path() / "service.yaml").string(), "serve");
    port_ = static_cast<std::uint16_t>(server_->waitForPort());
    ASSERT_GT(port_, 0) << server_->err();
  }

  HttpReply submit(const std::string& graph, const std::string& queue, int threads = 1,
                   const std::string& memory = "1GiB", const std::string& more = "") {
    return httpCall(port_, "POST", "/api/v1/jobs",
                    "{\"config\": " + quoted(graph) + ", \"config_name\": \"job.yaml\", " +
                        "\"queue\": \"" + queue + "\", \"threads\": " + std::to_string(threads) +
                        ", \"memory\": \"" + memory + "\"" + more + "}");
  }

  std::int64_t submitted(const HttpReply& reply) {
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.status == 201 ? parse(reply.body)->getValue<std::int64_t>("id") : 0;
  }

  Poco::JSON::Object::Ptr job(std::int64_t id) {
    HttpReply reply = httpCall(port_, "GET", "/api/v1/jobs/" + std::to_string(id), "", read_key_);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return parse(reply.body);
  }

  // Polls the job until its state is one of `states`; returns the job then.
  Poco::JSON::Object::Ptr waitFor(std::int64_t id, const std::set<std::string>& states) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    for (;;) {
      Poco::JSON::Object::Ptr current = job(id);
      if (states.count(current->getValue<std::string>("state")) != 0) return current;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << " stayed " << current->getValue<std::string>("state")
                      << "; service log:\n" << server_->err();
        return current;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  // Polls the job's log until it holds `text`.
  std::string waitForLog(std::int64_t id, const std::string& text) {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    for (;;) {
      HttpReply reply = httpCall(port_, "GET", "/api/v1/jobs/" + std::to_string(id) + "/log");
      if (reply.body.find(text) != std::string::npos) return reply.body;
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "job " << id << "'s log never said '" << text << "':\n" << reply.body;
        return reply.body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  /// A GET of a job's log: its text, and the X-Log-Offset and X-Log-Size headers.
  std::tuple<std::string, std::size_t, std::size_t> logWithPosition(const std::string& target) {
    Poco::Net::HTTPClientSession session("127.0.0.1", port_);
    Poco::Net::HTTPRequest request("GET", target, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::istream& in = session.receiveResponse(response);
    std::string text;
    Poco::StreamCopier::copyToString(in, text);
    return {text, std::stoull(response.get("X-Log-Offset", "0")),
            std::stoull(response.get("X-Log-Size", "0"))};
  }

  static bool processGone(std::int64_t pid) { return pid <= 0 || kill(static_cast<pid_t>(pid), 0) != 0; }

  aimass::testing::TempDir dir_;
  std::string read_key_;  ///< the key job() reads with, where authentication is on
  std::unique_ptr<AimassServer> server_;
  std::string service_extra_;  ///< more service.jobs parameters, indented by 4
  std::uint16_t port_ = 0;
};

TEST_F(JobsService, RunsASubmittedGraphInAWorkerAndLinksItsRun) {
  start();
  const std::int64_t id = submitted(submit(trainGraph(3, "job-store"), "c"));
  Poco::JSON::Object::Ptr done = waitFor(id, {"succeeded", "failed"});
  ASSERT_EQ(done->getValue<std::string>("state"), "succeeded") << done->getValue<std::string>("reason");
  EXPECT_EQ(done->getValue<std::int64_t>("attempts"), 1);
  EXPECT_EQ(done->getArray("runs")->size(), 1U);
  EXPECT_EQ(done->getValue<std::string>("owner"), "anonymous");
  // The worker ran in the service's folder: the job's store is there, its log in jobs/<id>/.
  EXPECT_TRUE(fs::exists(dir_.path() / "job-store"));
  HttpReply log = httpCall(port_, "GET", "/api/v1/jobs/" + std::to_string(id) + "/log");
  EXPECT_EQ(log.status, 200);
  EXPECT_THAT(log.body, HasSubstr("attempt 1 of job " + std::to_string(id)));
  EXPECT_THAT(log.body, HasSubstr("job finished"));

  // Followed from offsets, 100 bytes at a time, the log is the same text as read whole.
  const std::string log_path = "/api/v1/jobs/" + std::to_string(id) + "/log";
  const std::string whole = httpCall(port_, "GET", log_path + "?offset=0&bytes=16777216").body;
  ASSERT_GT(whole.size(), 200U);
  std::string followed;
  for (;;) {
    HttpReply piece =
        httpCall(port_, "GET", log_path + "?bytes=100&offset=" + std::to_string(followed.size()));
    ASSERT_EQ(piece.status, 200) << piece.body;
    ASSERT_LE(piece.body.size(), 100U);
    if (piece.body.empty()) break;
    followed += piece.body;
  }
  EXPECT_EQ(followed, whole);
  HttpReply past = httpCall(port_, "GET", log_path + "?offset=" + std::to_string(whole.size() + 1));
  EXPECT_EQ(past.status, 400);
  EXPECT_THAT(past.body, HasSubstr("past the end of the log"));
  // The end of the log says where it starts: from there on, it is the whole log's end.
  auto [tail, tail_offset, log_size] = logWithPosition(log_path + "?bytes=120");
  EXPECT_EQ(log_size, whole.size());
  ASSERT_LE(tail_offset + tail.size(), whole.size());
  EXPECT_EQ(whole.substr(tail_offset), tail);
  EXPECT_EQ(whole[tail_offset - 1], '\n') << "the end starts at a line";

  HttpReply listed = httpCall(port_, "GET", "/api/v1/jobs?state=succeeded");
  EXPECT_EQ(parse(listed.body)->getArray("jobs")->size(), 1U);
  HttpReply queues = httpCall(port_, "GET", "/api/v1/queues");
  EXPECT_EQ(parse(queues.body)->getArray("queues")->size(), 3U);
  HttpReply metrics = httpCall(port_, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_jobs_waiting{queue=\"c\"} 0"));
  EXPECT_THAT(metrics.body, HasSubstr("aimass_jobs_quota_nominal{queue=\"a\",resource=\"threads\"} 1"));
}

TEST_F(JobsService, RefusesBadGraphsAndRequestsWithTheirReasons) {
  start();
  HttpReply bad = submit("nodes:\n  oops: {type: model.sofmax}\n", "a");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("job.yaml:2:"));
  EXPECT_THAT(bad.body, HasSubstr("model.sofmax"));

  HttpReply serving = submit("nodes:\n  web: {type: frontend.http, port: 0}\n", "a");
  EXPECT_EQ(serving.status, 400);
  EXPECT_THAT(serving.body, HasSubstr("never ends"));

  HttpReply big = submit(kWaitGraph, "a", 3);
  EXPECT_EQ(big.status, 400);
  EXPECT_THAT(big.body, HasSubstr("asks for threads 3"));
  EXPECT_THAT(big.body, HasSubstr("at most threads 2"));

  HttpReply unknown = submit(kWaitGraph, "nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_THAT(unknown.body, HasSubstr("no queue named 'nope'"));

  HttpReply memory = submit(kWaitGraph, "a", 1, "lots");
  EXPECT_EQ(memory.status, 400);
  EXPECT_THAT(memory.body, HasSubstr("'lots' is not a memory size"));

  HttpReply field = httpCall(port_, "POST", "/api/v1/jobs", "{\"config\": \"x\", \"color\": 1}");
  EXPECT_EQ(field.status, 400);
  EXPECT_THAT(field.body, HasSubstr("unknown field 'color'"));
  EXPECT_EQ(parse(httpCall(port_, "GET", "/api/v1/jobs").body)->getArray("jobs")->size(), 0U);
}

TEST_F(JobsService, CancelStopsARunningJobAndAQueuedOne) {
  start();
  const std::int64_t running = submitted(submit(kWaitGraph, "c"));
  const std::int64_t queued = submitted(submit(kWaitGraph, "c"));
  Poco::JSON::Object::Ptr live = waitFor(running, {"running"});
  waitForLog(running, "waiting for a stop request");
  const std::int64_t pid = job(running)->getValue<std::int64_t>("worker_pid");
  EXPECT_EQ(job(queued)->getValue<std::string>("state"), "queued");

  HttpReply cancel_queued = httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(queued) + "/cancel");
  EXPECT_EQ(cancel_queued.status, 200) << cancel_queued.body;
  EXPECT_EQ(parse(cancel_queued.body)->getValue<std::string>("state"), "cancelled");

  HttpReply cancel = httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(running) + "/cancel");
  EXPECT_EQ(cancel.status, 200) << cancel.body;
  Poco::JSON::Object::Ptr ended = waitFor(running, {"cancelled", "failed", "succeeded"});
  EXPECT_EQ(ended->getValue<std::string>("state"), "cancelled");
  EXPECT_THAT(ended->getValue<std::string>("reason"), HasSubstr("cancelled while running"));
  EXPECT_TRUE(processGone(pid));

  HttpReply again = httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(running) + "/cancel");
  EXPECT_EQ(again.status, 409);
  EXPECT_THAT(again.body, HasSubstr("has already ended (cancelled)"));
  EXPECT_EQ(httpCall(port_, "POST", "/api/v1/jobs/999/cancel").status, 404);
}

TEST_F(JobsService, ARunningJobListsTheRunsItHasStartedBeforeItEnds) {
  start();
  const std::int64_t id = submitted(submit(longTrainGraph("job-store"), "c"));
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  Poco::JSON::Object::Ptr running = job(id);
  while (running->getValue<std::string>("state") != "running" ||
         running->getArray("runs")->size() == 0) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "job " << id << " never listed a run while running; service log:\n"
        << server_->err();
    ASSERT_TRUE(running->getValue<std::string>("state") == "queued" ||
                running->getValue<std::string>("state") == "running")
        << running->getValue<std::string>("reason");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    running = job(id);
  }
  const std::int64_t run = running->getArray("runs")->getElement<std::int64_t>(0);
  auto listed = parse(httpCall(port_, "GET", "/api/v1/jobs?state=running").body)->getArray("jobs");
  ASSERT_EQ(listed->size(), 1U);
  EXPECT_EQ(listed->getObject(0)->getArray("runs")->size(), 1U);
  EXPECT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(id) + "/cancel").status, 200);
  Poco::JSON::Object::Ptr ended = waitFor(id, {"cancelled", "failed", "succeeded"});
  ASSERT_EQ(ended->getArray("runs")->size(), 1U);
  EXPECT_EQ(ended->getArray("runs")->getElement<std::int64_t>(0), run);
}

// `aimass serve` adds the console's routes for its frontend (core/src/console_api/): the node
// types it loaded, a graph validated as a submission is, the studies and monitoring records of
// its store.
TEST_F(JobsService, ServesTheConsolesRoutes) {
  start();
  HttpReply plugins = httpCall(port_, "GET", "/api/v1/plugins");
  ASSERT_EQ(plugins.status, 200) << plugins.body;
  EXPECT_THAT(plugins.body, HasSubstr("\"type\": \"job.fixture_wait\""));
  EXPECT_THAT(plugins.body, HasSubstr("\"type\": \"service.jobs\""));
  EXPECT_EQ(parse(httpCall(port_, "GET", "/api/v1/studies").body)->getArray("studies")->size(), 0U);
  EXPECT_EQ(parse(httpCall(port_, "GET", "/api/v1/monitoring").body)->getArray("models")->size(),
            0U);
  Poco::Net::HTTPClientSession session("127.0.0.1", port_);
  Poco::Net::HTTPRequest request("POST", "/api/v1/graphs/validate",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  const std::string graph = "nodes:\n  wait: {type: job.fixture_wai}\n";
  request.setContentType("application/yaml");
  request.setContentLength(static_cast<std::streamsize>(graph.size()));
  session.sendRequest(request) << graph;
  Poco::Net::HTTPResponse response;
  std::string body;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
  aimass::testing::recordPocoExchange(request, graph, response, body);
  ASSERT_EQ(response.getStatus(), 200) << body;
  auto verdict = parse(body);
  EXPECT_FALSE(verdict->getValue<bool>("valid"));
  EXPECT_EQ(verdict->getArray("errors")->getObject(0)->getValue<int>("line"), 2);
  EXPECT_THAT(body, HasSubstr("job.fixture_wait"));  // did you mean
}

TEST_F(JobsService, PreemptionCheckpointsTheBorrowerAndItResumes) {
  start();
  // Two threads in queue a: one of its own and one borrowed from b.
  const std::int64_t borrower = submitted(submit(longTrainGraph("borrower-store"), "a", 2));
  waitFor(borrower, {"running"});
  waitForLog(borrower, "job started");
  // b wants its thread back: the borrower is stopped, checkpoints, and waits again.
  const std::int64_t owner = submitted(submit(kWaitGraph, "b"));
  Poco::JSON::Object::Ptr requeued = waitFor(borrower, {"queued"});
  EXPECT_THAT(requeued->getValue<std::string>("reason"), HasSubstr("preempted"));
  waitForLog(borrower, "written, run again to resume");
  waitFor(owner, {"running"});
  // b's job ends: the borrower runs again, from its checkpoint.
  ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(owner) + "/cancel").status, 200);
  waitFor(borrower, {"running"});
  waitForLog(borrower, "resuming from");
  EXPECT_EQ(job(borrower)->getValue<std::int64_t>("attempts"), 2);
  ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(borrower) + "/cancel").status, 200);
  waitFor(borrower, {"cancelled"});
}

TEST_F(JobsService, KillMinusNineLosesNoJobAndResumesTheRunningOne) {
  start();
  const std::int64_t running = submitted(submit(kWaitGraph, "c"));
  const std::int64_t queued = submitted(submit(trainGraph(3, "queued-store"), "c"));
  waitFor(running, {"running"});
  waitForLog(running, "waiting for a stop request");
  const std::int64_t pid = job(running)->getValue<std::int64_t>("worker_pid");
  server_->kill9();
  // The worker dies with its service.
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  while (!processGone(pid) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(processGone(pid));

  start();
  Poco::JSON::Object::Ptr again = waitFor(running, {"running"});
  EXPECT_EQ(again->getValue<std::int64_t>("attempts"), 2);
  ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(running) + "/cancel").status, 200);
  Poco::JSON::Object::Ptr done = waitFor(queued, {"succeeded", "failed"});
  EXPECT_EQ(done->getValue<std::string>("state"), "succeeded") << done->getValue<std::string>("reason");
}

TEST_F(JobsService, AJobsMemoryLimitCountsItsDataNotTheCodeOfItsPlugins) {
  start();
  // Every installed plugin maps its code into the worker (NCCL's alone is some hundred MiB where
  // it is built); 64 MiB is ample for this graph's data and model, and is all the job asks for.
  const std::string graph =
      "nodes:\n"
      "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
      "  model: {type: model.mlp, hidden: [16]}\n"
      "  sgd: {type: optimizer.sgd}\n"
      "  train: {type: job.train, model: model, dataset: pumps, optimizer: sgd, epochs: 1}\n";
  const std::int64_t id = submitted(submit(graph, "c", 1, "64MiB"));
  Poco::JSON::Object::Ptr done = waitFor(id, {"failed", "succeeded"});
  EXPECT_EQ(done->getValue<std::string>("state"), "succeeded") << done->getValue<std::string>("reason");
}

// Two hidden layers of 20,000 units hold 400 million weights (1.6 GB, and Adam's state twice
// that): far over 512 MiB, whether counted as address space or as resident memory.
const std::string kTooBigGraph =
    "nodes:\n"
    "  pumps: {type: dataset.csv, path: pumps.csv, label: state}\n"
    "  model: {type: model.mlp, hidden: [20000, 20000]}\n"
    "  adam: {type: optimizer.adam}\n"
    "  train: {type: job.train, model: model, dataset: pumps, optimizer: adam, epochs: 1}\n";

TEST_F(JobsService, AJobOverItsAddressSpaceLimitFailsWithThatReason) {
  service_extra_ = "    memory_limit: rlimit\n";
  start();
  const std::int64_t id = submitted(submit(kTooBigGraph, "c", 1, "512MiB"));
  Poco::JSON::Object::Ptr failed = waitFor(id, {"failed", "succeeded"});
  EXPECT_EQ(failed->getValue<std::string>("state"), "failed");
  EXPECT_THAT(failed->getValue<std::string>("reason"),
              HasSubstr("over its memory limit of 512 MiB (address space, RLIMIT_AS)"));
}

TEST_F(JobsService, AJobOverItsMemoryCgroupsLimitIsKilledAndItsGroupRemoved) {
  service_extra_ = "    memory_limit: cgroup\n";
  const std::string config_error = "no memory cgroup can be made";
  start();
  if (port_ == 0 && server_->err().find(config_error) != std::string::npos) {
    GTEST_SKIP() << "this machine lets no process make a memory cgroup: " << server_->err();
  }
  ASSERT_TRUE(server_->waitForLog("job memory limits by cgroup")) << server_->err();
  const std::int64_t id = submitted(submit(kTooBigGraph, "c", 1, "512MiB"));
  Poco::JSON::Object::Ptr failed = waitFor(id, {"failed", "succeeded"});
  EXPECT_EQ(failed->getValue<std::string>("state"), "failed");
  EXPECT_THAT(failed->getValue<std::string>("reason"),
              testing::MatchesRegex(".*over its memory limit of 512 MiB \\(cgroup v[12] memory; "
                                    "killed by the kernel's OOM killer\\).*"));
  // The job's group went with it; a small job then runs within its limit.
  const std::string log = server_->err();
  const std::string marker = "job memory limits by cgroup v";
  const auto at = log.find(marker);
  ASSERT_NE(at, std::string::npos);
  const auto open = log.find('(', at);
  const fs::path base = log.substr(open + 1, log.find(')', open) - open - 1);
  EXPECT_FALSE(fs::exists(base / ("job-" + std::to_string(id) + "-1")));
  const std::int64_t small = submitted(submit(trainGraph(2, "runs"), "c", 1, "256MiB"));
  EXPECT_EQ(waitFor(small, {"failed", "succeeded"})->getValue<std::string>("state"), "succeeded");
}

TEST_F(JobsService, TheCommandLineSubmitsListsShowsAndCancels) {
  start();
  writeText(dir_.path() / "wait.yaml", kWaitGraph);
  const std::string config = (dir_.path() / "service.yaml").string();
  auto submitted_cli = runAimass(dir_.path(), {"jobs", "submit", (dir_.path() / "wait.yaml").string(),
                                               "--config", config, "--queue", "c", "--priority", "3"});
  ASSERT_EQ(submitted_cli.code, 0) << submitted_cli.err;
  EXPECT_THAT(submitted_cli.out, HasSubstr("job 1 submitted to queue 'c'"));
  // The running service picks it up from the store.
  waitFor(1, {"running"});
  auto list = runAimass(dir_.path(), {"jobs", "list", "--config", config});
  EXPECT_EQ(list.code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("running"));
  auto show = runAimass(dir_.path(), {"jobs", "show", "1", "--config", config, "--json"});
  EXPECT_EQ(parse(show.out)->getValue<std::int64_t>("priority"), 3);
  auto cancel = runAimass(dir_.path(), {"jobs", "cancel", "1", "--config", config});
  EXPECT_EQ(cancel.code, 0) << cancel.err;
  EXPECT_THAT(cancel.out, HasSubstr("cancel requested"));
  waitFor(1, {"cancelled"});
  auto logs = runAimass(dir_.path(), {"jobs", "logs", "1", "--config", config});
  EXPECT_THAT(logs.out, HasSubstr("waiting for a stop request"));

  writeText(dir_.path() / "bad.yaml", "nodes:\n  x: {type: job.nothing}\n");
  auto bad = runAimass(dir_.path(), {"jobs", "submit", (dir_.path() / "bad.yaml").string(),
                                     "--config", config});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("bad.yaml:2:"));
  auto missing = runAimass(dir_.path(), {"jobs", "show", "9", "--config", config});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no job 9"));
}

// Firing is driven by a clock the unit tests set (jobs_test: ScheduleFiring.*); here the real
// service checks, stores, shows and deletes schedules, computing the next firing in UTC.
TEST_F(JobsService, SchedulesAreCheckedStoredShownAndDeleted) {
  start();
  const std::string body = "{\"config\": " + quoted(kWaitGraph) +
                           ", \"config_name\": \"nightly.yaml\", \"queue\": \"c\", "
                           "\"cron\": \"30 3 * * *\", \"overlap\": \"replace\", "
                           "\"name\": \"nightly\"}";
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  HttpReply created = httpCall(port_, "POST", "/api/v1/schedules", body);
  ASSERT_EQ(created.status, 201) << created.body;
  Poco::JSON::Object::Ptr schedule = parse(created.body);
  const std::int64_t id = schedule->getValue<std::int64_t>("id");
  EXPECT_EQ(schedule->getValue<std::string>("overlap"), "replace");
  EXPECT_EQ(schedule->getValue<std::string>("owner"), "anonymous");
  const std::int64_t next = schedule->getValue<std::int64_t>("next_fire_unix_ms");
  constexpr std::int64_t kDay = 86'400'000;
  EXPECT_EQ(next % kDay, (3 * 60 + 30) * 60'000) << "03:30 UTC";
  EXPECT_GT(next, before);
  EXPECT_LE(next, before + kDay);
  EXPECT_TRUE(schedule->isNull("last_fire_unix_ms"));

  HttpReply shown = httpCall(port_, "GET", "/api/v1/schedules/" + std::to_string(id));
  EXPECT_EQ(shown.status, 200);
  EXPECT_EQ(parse(shown.body)->getValue<std::string>("cron"), "30 3 * * *");
  EXPECT_EQ(parse(httpCall(port_, "GET", "/api/v1/schedules").body)->getArray("schedules")->size(),
            1U);

  HttpReply bad_graph = httpCall(port_, "POST", "/api/v1/schedules",
                                 "{\"config\": " + quoted("nodes:\n  oops: {type: model.sofmax}\n") +
                                     ", \"config_name\": \"nightly.yaml\", \"cron\": \"@daily\"}");
  EXPECT_EQ(bad_graph.status, 400);
  EXPECT_THAT(bad_graph.body, HasSubstr("nightly.yaml:2:"));
  HttpReply bad_cron = httpCall(port_, "POST", "/api/v1/schedules",
                                "{\"config\": " + quoted(kWaitGraph) + ", \"cron\": \"0 3 * * frj\"}");
  EXPECT_EQ(bad_cron.status, 400);
  EXPECT_THAT(bad_cron.body, HasSubstr("cron field 'day-of-week' (column 9): 'frj'"));

  // The command line reads and writes the same store.
  writeText(dir_.path() / "wait.yaml", kWaitGraph);
  const std::string config = (dir_.path() / "service.yaml").string();
  auto made = runAimass(dir_.path(), {"jobs", "schedule", "create",
                                      (dir_.path() / "wait.yaml").string(), "--config", config,
                                      "--cron", "@weekly", "--overlap", "skip", "--queue", "c"});
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("schedule 2 created: '@weekly' (UTC), next at"));
  auto listed = runAimass(dir_.path(), {"jobs", "schedule", "list", "--config", config});
  EXPECT_THAT(listed.out, HasSubstr("nightly"));
  EXPECT_THAT(listed.out, HasSubstr("@weekly"));
  auto refused = runAimass(dir_.path(), {"jobs", "schedule", "create",
                                         (dir_.path() / "wait.yaml").string(), "--config", config,
                                         "--cron", "61 * * * *"});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("cron field 'minute' (column 1): 61 is out of range 0-59"));
  auto removed = runAimass(dir_.path(), {"jobs", "schedule", "delete", "2", "--config", config});
  EXPECT_EQ(removed.code, 0) << removed.err;

  EXPECT_EQ(httpCall(port_, "DELETE", "/api/v1/schedules/" + std::to_string(id)).status, 200);
  EXPECT_EQ(httpCall(port_, "GET", "/api/v1/schedules/" + std::to_string(id)).status, 404);
  EXPECT_EQ(parse(httpCall(port_, "GET", "/api/v1/schedules").body)->getArray("schedules")->size(),
            0U);
  HttpReply metrics = httpCall(port_, "GET", "/metrics");
  EXPECT_THAT(metrics.body, HasSubstr("aimass_jobs_schedule_firings_total{outcome=\"skipped\"} 0"));
}

// The firing logic is tested with an injected clock (tests/unit/jobs/schedule_test.cc); this
// is the real clock, the real loop and a real worker: a schedule of every minute fires within
// a minute and its job runs.
TEST_F(JobsService, AScheduleFiresByTheWallClockAndItsJobRuns) {
  start();
  HttpReply created = httpCall(
      port_, "POST", "/api/v1/schedules",
      "{\"config\": " + quoted(trainGraph(2, "runs")) +
          ", \"config_name\": \"minutely.yaml\", \"queue\": \"c\", \"memory\": \"1GiB\", "
          "\"cron\": \"* * * * *\", \"overlap\": \"skip\", \"name\": \"minutely\"}");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::int64_t id = parse(created.body)->getValue<std::int64_t>("id");
  const std::string path = "/api/v1/schedules/" + std::to_string(id);
  // A minute and the poll interval at most; kHangLimit only keeps a broken build from hanging.
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  Poco::JSON::Object::Ptr schedule = parse(httpCall(port_, "GET", path).body);
  while (schedule->isNull("last_job") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    schedule = parse(httpCall(port_, "GET", path).body);
  }
  ASSERT_FALSE(schedule->isNull("last_job")) << "the schedule never fired";
  EXPECT_GE(schedule->getValue<std::int64_t>("fires"), 1);
  EXPECT_EQ(schedule->getValue<std::string>("last_result"),
            "submitted job " + std::to_string(schedule->getValue<std::int64_t>("last_job")));
  EXPECT_EQ(schedule->getValue<std::int64_t>("next_fire_unix_ms") % 60'000, 0)
      << "the next firing is at a whole minute";
  EXPECT_GT(schedule->getValue<std::int64_t>("next_fire_unix_ms"),
            schedule->getValue<std::int64_t>("last_fire_unix_ms"));
  const std::int64_t job = schedule->getValue<std::int64_t>("last_job");
  Poco::JSON::Object::Ptr done = waitFor(job, {"succeeded", "failed", "cancelled"});
  EXPECT_EQ(done->getValue<std::string>("state"), "succeeded") << done->getValue<std::string>("reason");
  EXPECT_EQ(done->getValue<std::int64_t>("schedule_id"), id);
  EXPECT_EQ(done->getValue<std::string>("config_name"), "minutely.yaml");
  EXPECT_THAT(httpCall(port_, "GET", "/metrics").body,
              HasSubstr("aimass_jobs_schedule_firings_total{outcome=\"submitted\"} "));
  EXPECT_EQ(httpCall(port_, "DELETE", path).status, 200);
}

TEST_F(JobsService, OnlyTheOwnerOrAnAdminDeletesASchedule) {
  start("", kAuthWeb);
  const std::string body =
      "{\"config\": " + quoted(kWaitGraph) + ", \"queue\": \"c\", \"cron\": \"@hourly\"}";
  HttpReply created = httpCall(port_, "POST", "/api/v1/schedules", body, "operator-key-ann");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(parse(created.body)->getValue<std::string>("owner"), "ann");
  HttpReply other = httpCall(port_, "DELETE", "/api/v1/schedules/1", "", "operator-key-bob");
  EXPECT_EQ(other.status, 403);
  EXPECT_THAT(other.body, HasSubstr("belongs to 'ann'"));
  EXPECT_EQ(httpCall(port_, "DELETE", "/api/v1/schedules/1", "", "admin-key-root").status, 200);
}

TEST_F(JobsService, AdminsEditQueuesAndEditsSurviveARestartUntilTheConfigChanges) {
  start("", kAuthWeb);
  read_key_ = "admin-key-root";
  const std::string two_threads = "{\"threads\": 2}";
  HttpReply refused = httpCall(port_, "PUT", "/api/v1/queues/c", two_threads, "operator-key-ann");
  EXPECT_EQ(refused.status, 403);
  EXPECT_THAT(refused.body, HasSubstr("admin"));
  // Before the edit a job of two threads is more than queue c could ever give.
  EXPECT_EQ(httpCall(port_, "POST", "/api/v1/jobs",
                     "{\"config\": " + quoted(kWaitGraph) + ", \"queue\": \"c\", \"threads\": 2}",
                     "operator-key-ann")
                .status,
            400);
  HttpReply edited = httpCall(port_, "PUT", "/api/v1/queues/c", two_threads, "admin-key-root");
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(parse(edited.body)->getObject("nominal")->getValue<std::int64_t>("threads"), 2);
  const std::int64_t id = submitted(httpCall(
      port_, "POST", "/api/v1/jobs",
      "{\"config\": " + quoted(kWaitGraph) + ", \"queue\": \"c\", \"threads\": 2}",
      "operator-key-ann"));
  waitFor(id, {"running"});

  HttpReply bad = httpCall(port_, "PUT", "/api/v1/queues/c", "{\"max_running\": -2}", "admin-key-root");
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(bad.body, HasSubstr("'max_running'"));
  HttpReply no_cohort = httpCall(port_, "PUT", "/api/v1/queues/c", "{\"borrow_threads\": 1}",
                                 "admin-key-root");
  EXPECT_EQ(no_cohort.status, 400);
  EXPECT_THAT(no_cohort.body, HasSubstr("no cohort to borrow from"));
  // Lowering the quota stops no running job.
  ASSERT_EQ(httpCall(port_, "PUT", "/api/v1/queues/c", "{\"threads\": 1}", "admin-key-root").status,
            200);
  EXPECT_EQ(job(id)->getValue<std::string>("state"), "running");
  ASSERT_EQ(httpCall(port_, "PUT", "/api/v1/queues/c", "{\"threads\": 2, \"max_running\": 3}",
                     "admin-key-root")
                .status,
            200);
  ASSERT_EQ(httpCall(port_, "POST", "/api/v1/jobs/" + std::to_string(id) + "/cancel", "",
                     "admin-key-root")
                .status,
            200);
  waitFor(id, {"cancelled"});

  // Queue c as GET /api/v1/queues shows it (once the service has published its queues).
  auto queue_c = [this] {
    const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
    for (;;) {
      HttpReply queues = httpCall(port_, "GET", "/api/v1/queues", "", "admin-key-root");
      Poco::JSON::Array::Ptr list =
          queues.status == 200 ? parse(queues.body)->getArray("queues") : nullptr;
      for (std::size_t i = 0; list && i < list->size(); ++i) {
        Poco::JSON::Object::Ptr object = list->getObject(static_cast<unsigned>(i));
        if (object->getValue<std::string>("name") == "c") return object;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "no queue c: " << queues.status << " " << queues.body;
        Poco::JSON::Object::Ptr empty = new Poco::JSON::Object;
        empty->set("max_running", -1);
        empty->set("nominal", Poco::JSON::Object::Ptr(new Poco::JSON::Object));
        return empty;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  server_.reset();
  start("", kAuthWeb);
  EXPECT_EQ(queue_c()->getObject("nominal")->getValue<std::int64_t>("threads"), 2);
  EXPECT_EQ(queue_c()->getValue<std::int64_t>("max_running"), 3);

  // The command line edits the same store; the running service applies it.
  const std::string config = (dir_.path() / "service.yaml").string();
  auto set = runAimass(dir_.path(), {"jobs", "queues", "--config", config, "--set", "c",
                                     "max_running=1", "memory=1GiB"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_THAT(set.out, HasSubstr("threads 2, memory 1024 MiB"));
  const auto deadline = std::chrono::steady_clock::now() + kHangLimit;
  while (queue_c()->getValue<std::int64_t>("max_running") != 1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(queue_c()->getValue<std::int64_t>("max_running"), 1);
  auto wrong = runAimass(dir_.path(), {"jobs", "queues", "--config", config, "--set", "c",
                                       "weight=3"});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("unknown queue setting 'weight'"));

  // A changed definition in the configuration wins over the stored edit.
  server_.reset();
  start("      a: {threads: 1, memory: 2GiB, cohort: lab}\n"
        "      b: {threads: 1, memory: 2GiB, cohort: lab}\n"
        "      c: {threads: 1, memory: 3GiB}\n",
        kAuthWeb);
  EXPECT_EQ(queue_c()->getObject("nominal")->getValue<std::int64_t>("threads"), 1);
  EXPECT_EQ(queue_c()->getValue<std::int64_t>("max_running"), 0);
}

TEST(JobsServiceServe, ServeRefusesAGraphThatServesNothing) {
  aimass::testing::TempDir dir;
  writeText(dir.path() / "ends.yaml",
            "nodes:\n  pumps: {type: dataset.csv, path: " + std::string(AIMASS_SOURCE_DIR) +
                "/configs/data/pumps.csv, label: state}\n");
  auto refused = runAimass(dir.path(), {"serve", (dir.path() / "ends.yaml").string()});
  EXPECT_EQ(refused.code, 2);
  EXPECT_THAT(refused.err, HasSubstr("has no frontend or service node"));
  EXPECT_THAT(refused.err, HasSubstr("aimass run"));
  auto help = runAimass(dir.path(), {"help", "serve"});
  EXPECT_EQ(help.code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("aimass serve configs/jobs_service.yaml"));
}

TEST(JobsServiceConfigs, TheShippedExamplesValidate) {
  aimass::testing::TempDir dir;
  for (const char* config : {"configs/jobs_service.yaml", "configs/jobs/train_pumps.yaml"}) {
    auto result = runAimass(dir.path(), {"validate", std::string(AIMASS_SOURCE_DIR) + "/" + config});
    EXPECT_EQ(result.code, 0) << config << ": " << result.err;
  }
}

}  // namespace
