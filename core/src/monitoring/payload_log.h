// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "aimass/core/serving.h"
#include "aimass/model.h"
#include "aimass/storage.h"
#include "monitoring/payload_record.h"

/// Payload logging for the serving runtime (serving.runtime's payload_* settings): a sampled
/// share of requests, with their answers, written to storage in batches by one background
/// thread, bounded by rows and age per model. The request thread only decides whether to log
/// (PayloadTap::sampled(), one relaxed atomic add) and, for a sampled request, encodes its
/// tensors straight into the bytes of its version's next record (PayloadTap::record(), under
/// the queue's lock, into buffers the writer hands back after writing them); storage is never
/// touched on it, and nothing is allocated for it once the buffers have grown. (It copied each
/// sampled request into a PayloadEntry of its own once: a dozen allocations that the writer
/// thread freed, whose cross-thread frees contended with the serving threads' allocator.)
/// See monitoring/payload_record.h for what is stored and how to read it back.
namespace aimass::core {

/// Counters of one model's log, for /metrics. Thread-safe (atomics).
struct PayloadCounts {
  std::atomic<std::uint64_t> logged{0};        ///< entries written to storage
  std::atomic<std::uint64_t> dropped{0};       ///< entries dropped: the queue was full
  std::atomic<std::uint64_t> write_failed{0};  ///< entries lost: their record's write failed
  std::atomic<std::uint64_t> trimmed{0};       ///< records removed by max_rows or max_age_s
};

/// How the writer batches; the defaults are what serving uses.
struct PayloadLogOptions {
  std::size_t queue_entries = 4096;                 ///< most entries waiting to be written
  std::size_t queue_bytes = std::size_t{64} << 20;  ///< most tensor bytes waiting
  std::size_t batch_entries = 256;                  ///< a batch this big is written at once
  std::chrono::milliseconds flush_interval{200};    ///< else what waits is written this often
  /// How often the writer lists a model's records again (to see those other processes wrote
  /// to the same storage) and trims every model it knows by age.
  std::chrono::seconds relist_interval{60};
};

/// The writer: one queue and one thread for every model of the runtime, writing to one storage.
///
/// Lifetime: made when the runtime gets a payload storage; stop() (or the destructor) writes
/// what is queued and joins the thread. Entries offered after stop() are dropped and counted.
/// Threading: offer(), flush(), setBounds(), counts() and prometheusMetrics() are safe from any
/// thread; the storage is used by the writer thread only (and by flush()'s caller never).
class PayloadLog {
 public:
  using LogSink = std::function<void(LogLevel, const std::string&, const std::string&)>;

  PayloadLog(std::shared_ptr<Storage> storage, PayloadLogOptions options, LogSink log);
  ~PayloadLog();
  PayloadLog(const PayloadLog&) = delete;
  PayloadLog& operator=(const PayloadLog&) = delete;

  /// The 8 hex digits this log's record keys end in (random per log).
  const std::string& writer() const noexcept { return writer_; }
  const Storage& storage() const noexcept { return *storage_; }

  /// `model`'s bounds: most entries kept (whole records are removed, oldest first, once the
  /// model holds more) and most age of a record's last entry, in seconds.
  void setBounds(const std::string& model, std::int64_t max_rows, std::int64_t max_age_s);
  /// The counters of `model` (made on first use; they live as long as the log).
  std::shared_ptr<PayloadCounts> counts(const std::string& model);

  /// Queues `entry` (its unix_ns set here, strictly increasing, and its request_id made up
  /// when empty); false, counted as dropped in `counts`, when the queue is full or the log
  /// stopped. Never blocks on storage.
  bool offer(PayloadEntry entry, PayloadCounts& counts);
  /// The same for an entry of `model` version `version` given by its parts, encoded here from
  /// the tensors they point to (their unix_ns is set here); `tensor_bytes` (payloadTensorBytes()
  /// of its tensors) counts against the queue's byte bound.
  bool offer(std::string_view model, std::string_view version, PayloadEntryParts parts,
             std::size_t tensor_bytes, PayloadCounts& counts);
  /// Waits until every entry offered before the call is written (or failed).
  void flush();
  /// Writes what is queued and joins the writer; later offers are dropped. Idempotent.
  void stop();

  /// The aimass_payload_log_* families (logged, dropped, write_failed, trimmed) per model.
  std::string prometheusMetrics() const;

 private:
  struct Bounds {
    std::int64_t max_rows = 100000;
    std::int64_t max_age_s = 7 * 86400;
  };
  /// What the writer knows of a model's records: every one listed or written, oldest first.
  /// Entries of one model version waiting, encoded as its next record's entries section.
  struct Pending {
    std::string model;
    std::string version;
    std::string entries;  // appendPayloadEntry()'s bytes, back to back
    std::uint32_t count = 0;
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
  };
  struct ModelIndex {
    std::deque<PayloadRecordKey> records;
    std::uint64_t entries = 0;
    std::chrono::steady_clock::time_point listed{};
    bool ever_listed = false;
  };

  void work();
  void writeBatch(std::vector<Pending>& batch);
  void writeRecord(const Pending& pending);
  void refreshIndex(const std::string& model, ModelIndex& index);
  void trim(const std::string& model, ModelIndex& index);
  Bounds boundsOf(const std::string& model) const;
  void failed(const std::string& what);

  const std::shared_ptr<Storage> storage_;
  const PayloadLogOptions options_;
  const LogSink log_;
  const std::string writer_;

  mutable std::mutex mutex_;          // everything up to the thread
  std::condition_variable work_cv_;   // the writer waits for entries or stop
  std::condition_variable flush_cv_;  // flush() waits for the writer
  std::vector<Pending> pending_;      // one per model version with entries waiting
  std::vector<std::string> spare_;    // entry buffers written out, reused (capacity kept)
  std::size_t queued_entries_ = 0;
  std::size_t queued_bytes_ = 0;
  std::int64_t last_ns_ = 0;
  std::uint64_t generated_ids_ = 0;
  std::uint64_t offered_ = 0;  // entries accepted so far
  std::uint64_t written_ = 0;  // entries the writer finished (written or failed)
  bool flush_asked_ = false;
  bool stopping_ = false;
  std::map<std::string, Bounds, std::less<>> bounds_;
  std::map<std::string, std::shared_ptr<PayloadCounts>, std::less<>> counts_;
  std::uint64_t failures_ = 0;  // storage failures, for the rate-limited log

  std::map<std::string, ModelIndex> indexes_;  // the writer thread's own
  // The writer thread's record buffer, reused: a fresh one for every record (about 1 MB for a
  // batch of 256 W6 requests) cost page faults and unmapping on the serving machine.
  std::string record_;
  std::chrono::steady_clock::time_point aged_{};
  std::thread thread_;  // last: started once everything above exists
};

/// One served version's side of payload logging: whether a request is sampled, and the
/// encoding of a sampled one into the log's queue, without the excluded tensors and with the
/// excluded feature columns of "input" set to NaN.
///
/// Lifetime: made with the version (ServingRuntime::makeVersion()), shared by its requests;
/// it keeps the log alive. Threading: sampled() and record() are safe from any thread.
class PayloadTap {
 public:
  /// The tap of `model` version `version` (its inputs and outputs in `schema`, its training
  /// profile `profile` or null) under `settings`; null, with `why` saying so, when a name of
  /// settings.model_exclude matches none of the version's inputs, outputs or profiled number
  /// features (a misspelt exclusion must not log what it meant to leave out). Null without
  /// `why` when settings.sample is 0.
  static std::shared_ptr<PayloadTap> make(std::shared_ptr<PayloadLog> log, const std::string& model,
                                          const std::string& version, const ModelSchema& schema,
                                          const std::vector<std::string>& profiled_numbers,
                                          const PayloadLogging& settings, std::string& why);

  /// Whether this request is logged: floor(n x sample) of the first n requests, spread evenly
  /// (a shared counter, no randomness): logging 10% logs every tenth request.
  bool sampled() noexcept {
    const std::uint64_t n = seen_.fetch_add(1, std::memory_order_relaxed);
    return static_cast<std::uint64_t>(static_cast<double>(n + 1) * share_) >
           static_cast<std::uint64_t>(static_cast<double>(n) * share_);
  }

  /// Encodes a sampled request (`outputs` null for a failure) into the log's queue.
  void record(const std::string& request_id, const TensorMap& inputs, const TensorMap* outputs,
              std::int64_t latency_us, std::string_view outcome);

  /// The names left out of logged inputs and outputs, and the masked feature columns.
  const std::vector<std::string>& excludedTensors() const noexcept { return excluded_; }
  const std::vector<std::string>& maskedFeatures() const noexcept { return masked_names_; }

 private:
  PayloadTap() = default;

  std::shared_ptr<PayloadLog> log_;
  std::shared_ptr<PayloadCounts> counts_;
  std::string model_;
  std::string version_;
  double share_ = 0;
  std::vector<std::string> excluded_;         // input and output names
  std::vector<std::int64_t> masked_columns_;  // of "input"
  std::vector<std::string> masked_names_;
  std::atomic<std::uint64_t> seen_{0};
};

}  // namespace aimass::core
