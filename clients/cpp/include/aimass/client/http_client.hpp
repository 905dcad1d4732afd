// SPDX-License-Identifier: Apache-2.0
// aimass::client::HttpClient: the C++ client over HTTP, a RAII layer over the C library
// (libaimass_client.so.1, aimass_client.h), so both languages share one implementation.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aimass/client/jobs.hpp"
#include "aimass/client/registry.hpp"
#include "aimass/client/types.hpp"

namespace aimass::client {

/// When a request is sent again: an answer whose status is in `statuses` to a request whose
/// method is in `methods` is retried up to `retries` times, waiting backoff * 2^attempt (at
/// most max_backoff) before each. By default only the idempotent reads GET and HEAD, on 503.
struct RetryPolicy {
  int retries = 3;
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds max_backoff{2000};
  std::set<int> statuses{503};
  std::set<std::string> methods{"GET", "HEAD"};
};

/// How an HttpClient connects. Give an API key or a bearer token, not both.
struct ClientOptions {
  std::string api_key;                       ///< sent as X-API-Key
  std::string bearer_token;                  ///< a JWT, sent as Authorization: Bearer
  std::chrono::milliseconds timeout{30000};  ///< bounds each call (InferOptions can override)
  std::string ca_file;    ///< TLS: a PEM CA bundle to trust instead of the system's
  std::string cert_file;  ///< TLS: a PEM client certificate (mutual TLS)
  std::string key_file;   ///< TLS: its unencrypted PEM key
  bool verify = true;     ///< TLS: false turns verification off (tests only)
  RetryPolicy retry;
};

/// A request encoded without sending it (HttpClient::encodeRequest): the body and the
/// length of its JSON header (equal to body.size() for a plain JSON body).
struct EncodedRequest {
  std::string body;
  std::size_t header_length = 0;
};

/// A client of one aimass server's frontend.http.
///
/// Threading: one HttpClient holds one keep-alive connection and runs one call at a time; do
/// not call it from several threads at once (use one per thread). inferAsync() is the
/// exception: each call runs on its own thread with a connection of its own, taken from a
/// pool the client keeps (and shares with its futures, so a future may outlive the client).
/// Errors: every failure throws Error (status() is the HTTP status, 0 when no answer came).
/// Lifetime: a moved-from HttpClient may only be destroyed or assigned to.
class HttpClient {
 public:
  /// `base_url` such as "http://127.0.0.1:8080" or "https://host:8443". No connection is made
  /// yet. Throws Error(kInvalidArgument) for a URL or options that cannot work.
  explicit HttpClient(std::string base_url, ClientOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // ---- OIP v2 health and metadata: a probe answers false on 404 or 5xx, never retried.
  bool live();
  bool ready();
  bool modelReady(std::string_view model, std::string_view version = {});
  ServerMetadata serverMetadata();
  ModelMetadata modelMetadata(std::string_view model, std::string_view version = {});

  /// POST /v2/models/{model}[/versions/{v}]/infer. `inputs` may view caller memory
  /// (Tensor::view): it is read during the call only. Never retried unless the retry
  /// policy's methods include POST.
  InferResult infer(std::string_view model, std::span<const Tensor> inputs,
                    const InferOptions& options = {});
  /// infer() on another thread and connection. The inputs are made to own their data first
  /// (a view's data are copied), so the caller's buffers may go as soon as this returns. The
  /// future's destructor waits for the call (std::async).
  std::future<InferResult> inferAsync(std::string model, std::vector<Tensor> inputs,
                                      InferOptions options = {});

  // ---- /api/v1: registry, datasets, runs
  std::vector<ModelSummary> listModels();
  RegisteredModel getModel(std::string_view model);
  ModelVersion getModelVersion(std::string_view model, std::int64_t version);
  /// Points `alias` at `version`.
  ModelAlias promote(std::string_view model, std::string_view alias, std::int64_t version);
  /// Moves `alias` back to its previous target (Error with status 409 when it has none).
  ModelAlias rollback(std::string_view model, std::string_view alias);
  /// Replaces the version's whole tag set.
  ModelVersion setTags(std::string_view model, std::int64_t version,
                       const std::map<std::string, std::string>& tags);
  /// Sets `set` and removes `remove` in one atomic change.
  ModelVersion updateTags(std::string_view model, std::int64_t version,
                          const std::map<std::string, std::string>& set,
                          const std::vector<std::string>& remove = {});
  std::vector<DatasetSummary> listDatasets();
  RegisteredDataset getDataset(std::string_view name);
  RunList listRuns(const RunQuery& query = {});
  Run getRun(std::int64_t id);

  // ---- /api/v1/jobs and /api/v1/queues: the job service (docs/jobs.md)
  /// Queues a graph as a job (Error 400 naming the graph's FILE:LINE:COL errors, or a job
  /// larger than its queue could ever give; 404 for an unknown queue). Never retried unless
  /// the retry policy's methods include POST.
  Job submitJob(const JobSubmission& submission);
  /// The jobs by id, filtered by `query`.
  std::vector<Job> listJobs(const JobQuery& query = {});
  Job getJob(std::int64_t id);
  /// Cancels a queued job at once and stops a running one; the job as the cancel left it
  /// (Error 409 when it has ended).
  Job cancelJob(std::int64_t id);
  /// The end of the job's log: at most `bytes` bytes (nullopt: the server's default, 64 KiB).
  std::string jobLog(std::int64_t id, std::optional<std::int64_t> bytes = std::nullopt);
  /// The queues by name.
  std::vector<JobQueue> listQueues();
  /// Edits queue `name` while the service runs (kept in its store); the queue as edited.
  /// Admins only (Error 403 otherwise); 404 for an unknown queue, 400 for a bad value;
  /// Error kInvalidArgument, without a request, for an update that sets nothing.
  JobQueue updateQueue(std::string_view name, const JobQueueUpdate& update);

  // ---- /api/v1/schedules: jobs submitted at the times of a cron expression (docs/jobs.md)
  /// Creates a schedule (Error 400 naming a bad cron field, overlap or graph; 404 for an unknown
  /// queue). Never retried unless the retry policy's methods include POST.
  JobSchedule createSchedule(const JobScheduleSubmission& schedule);
  /// The schedules by id.
  std::vector<JobSchedule> listSchedules();
  /// Error 404 for an unknown id.
  JobSchedule getSchedule(std::int64_t id);
  /// Deletes a schedule (its owner or an admin; Error 403 otherwise); the jobs it submitted
  /// stay. The schedule as it was.
  JobSchedule deleteSchedule(std::int64_t id);

  /// The body infer() would send for `inputs` and `options`, built without a server.
  static EncodedRequest encodeRequest(std::span<const Tensor> inputs,
                                      const InferOptions& options = {});
  /// The InferResult of an answer `body` whose first `header_length` bytes are its JSON header
  /// (body.size() for a plain JSON answer), decoded without a server.
  static InferResult decodeResult(std::string_view body, std::size_t header_length);

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace aimass::client
