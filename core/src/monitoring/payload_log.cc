// SPDX-License-Identifier: Apache-2.0
#include "monitoring/payload_log.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <random>
#include <utility>

#include "aimass/tensor_names.h"
#include "prometheus_text.h"

namespace aimass::core {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t unixNanosNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string randomWriter() {
  std::random_device device;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(device()));
  return hex;
}

// Entry buffers the writer keeps for reuse once their record is written: one per model version
// being served covers the usual case.
constexpr std::size_t kSpareBuffers = 4;

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

PayloadLog::PayloadLog(std::shared_ptr<Storage> storage, PayloadLogOptions options, LogSink log)
    : storage_(std::move(storage)),
      options_(options),
      log_(std::move(log)),
      writer_(randomWriter()),
      thread_([this] { work(); }) {}

PayloadLog::~PayloadLog() { stop(); }

void PayloadLog::setBounds(const std::string& model, std::int64_t max_rows,
                           std::int64_t max_age_s) {
  std::lock_guard lock(mutex_);
  bounds_[model] = Bounds{max_rows, max_age_s};
}

PayloadLog::Bounds PayloadLog::boundsOf(const std::string& model) const {
  std::lock_guard lock(mutex_);
  auto it = bounds_.find(model);
  return it == bounds_.end() ? Bounds{} : it->second;
}

std::shared_ptr<PayloadCounts> PayloadLog::counts(const std::string& model) {
  std::lock_guard lock(mutex_);
  auto& counts = counts_[model];
  if (!counts) {
    counts = std::make_shared<PayloadCounts>();
  }
  return counts;
}

bool PayloadLog::offer(PayloadEntry entry, PayloadCounts& counts) {
  return offer(entry.model, entry.version, payloadEntryParts(entry),
               payloadTensorBytes(entry.inputs) + payloadTensorBytes(entry.outputs), counts);
}

bool PayloadLog::offer(std::string_view model, std::string_view version, PayloadEntryParts parts,
                       std::size_t tensor_bytes, PayloadCounts& counts) {
  const std::int64_t now = unixNanosNow();
  std::unique_lock lock(mutex_);
  if (stopping_ || queued_entries_ >= options_.queue_entries ||
      (queued_entries_ > 0 && queued_bytes_ + tensor_bytes > options_.queue_bytes)) {
    lock.unlock();
    counts.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  auto pending = std::find_if(pending_.begin(), pending_.end(), [&](const Pending& p) {
    return p.model == model && p.version == version;
  });
  std::size_t before = 0;  // the pending bytes before this entry
  try {
    if (pending == pending_.end()) {
      Pending fresh;
      fresh.model = std::string(model);
      fresh.version = std::string(version);
      if (!spare_.empty()) {
        fresh.entries = std::move(spare_.back());
        spare_.pop_back();
      }
      pending_.push_back(std::move(fresh));
      pending = std::prev(pending_.end());
    }
    // Strictly increasing per log: the keys of its records are then unique and disjoint in time.
    const std::int64_t unix_ns = std::max(now, last_ns_ + 1);
    char made_up[64];  // on the stack: the serving thread allocates nothing here
    const bool make_id = parts.request_id.empty();
    if (make_id) {
      const int n =
          std::snprintf(made_up, sizeof made_up, "gen-%lld-%llu", static_cast<long long>(unix_ns),
                        static_cast<unsigned long long>(generated_ids_ + 1));
      parts.request_id = std::string_view(made_up, static_cast<std::size_t>(n));
    }
    parts.unix_ns = unix_ns;
    before = pending->entries.size();
    appendPayloadEntry(parts, pending->entries);
    last_ns_ = unix_ns;
    generated_ids_ += make_id ? 1 : 0;
    if (pending->count == 0) {
      pending->first_ns = unix_ns;
    }
    pending->last_ns = unix_ns;
    ++pending->count;
  } catch (...) {  // std::bad_alloc: counted as dropped, as a full queue is
    if (pending != pending_.end()) {
      if (pending->count == 0) {
        pending_.erase(pending);
      } else {
        pending->entries.resize(before);  // no half-written entry in the record
      }
    }
    lock.unlock();
    counts.dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  ++queued_entries_;
  queued_bytes_ += tensor_bytes;
  ++offered_;
  if (queued_entries_ == options_.batch_entries) {
    work_cv_.notify_one();  // a full batch: no need to wait out the interval
  }
  return true;
}

void PayloadLog::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = offered_;
  flush_asked_ = true;
  work_cv_.notify_one();
  // Entries offered before stop() are all written before the writer returns, so this ends.
  flush_cv_.wait(lock, [&] { return written_ >= target; });
}

void PayloadLog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      return;
    }
    stopping_ = true;
  }
  work_cv_.notify_one();
  thread_.join();
  flush_cv_.notify_all();
}

void PayloadLog::work() {
  std::unique_lock lock(mutex_);
  std::vector<Pending> batch;
  while (true) {
    work_cv_.wait_for(lock, options_.flush_interval, [&] {
      return stopping_ || flush_asked_ || queued_entries_ >= options_.batch_entries;
    });
    batch.swap(pending_);  // pending_ takes the empty vector, and its capacity
    const std::size_t taken = queued_entries_;
    queued_entries_ = 0;
    queued_bytes_ = 0;
    flush_asked_ = false;
    const bool last = stopping_;
    lock.unlock();
    writeBatch(batch);
    lock.lock();
    written_ += taken;
    for (Pending& written : batch) {
      if (spare_.size() < kSpareBuffers) {
        written.entries.clear();
        spare_.push_back(std::move(written.entries));
      }
    }
    batch.clear();
    flush_cv_.notify_all();
    if (last) {
      return;
    }
  }
}

void PayloadLog::writeBatch(std::vector<Pending>& batch) {
  // One record per model version, its entries in time order (the order they were offered).
  for (const Pending& pending : batch) {
    writeRecord(pending);
  }
  const auto now = Clock::now();
  if (now - aged_ >= options_.relist_interval) {
    aged_ = now;
    for (auto& [model, index] : indexes_) {
      refreshIndex(model, index);
      trim(model, index);
    }
  }
}

void PayloadLog::writeRecord(const Pending& pending) {
  const std::string& model = pending.model;
  const std::shared_ptr<PayloadCounts> counts = this->counts(model);
  const std::string key =
      payloadKey(model, pending.version, pending.first_ns, pending.last_ns, pending.count, writer_);
  ModelIndex& index = indexes_[model];
  refreshIndex(model, index);  // before the write, so the listing does not hold the new record
  Status written = guard("writing logged payloads", [&]() -> Status {
    encodePayloadRecordFromEntries(model, pending.version, pending.count, pending.entries, record_);
    AIMASS_ASSIGN_OR_RETURN(bool fresh, storage_->compareAndSet(key, std::nullopt, record_));
    return fresh ? okStatus() : alreadyExists("the key is taken");
  });
  if (!written.ok()) {
    counts->write_failed.fetch_add(pending.count, std::memory_order_relaxed);
    failed("cannot write " + std::to_string(pending.count) + " logged payloads of model '" + model +
           "' as '" + key + "' in " + storage_->describe() + ": " + written.message());
    return;
  }
  counts->logged.fetch_add(pending.count, std::memory_order_relaxed);
  if (auto parsed = parsePayloadKey(key)) {
    index.records.push_back(std::move(*parsed));
    index.entries += pending.count;
  }
  trim(model, index);
}

void PayloadLog::refreshIndex(const std::string& model, ModelIndex& index) {
  const auto now = Clock::now();
  if (index.ever_listed && now - index.listed < options_.relist_interval) {
    return;
  }
  auto records = listPayloadRecords(*storage_, model);
  if (!records.ok()) {
    failed(records.status().message());
    return;
  }
  index.records.assign(records->begin(), records->end());
  index.entries = 0;
  for (const auto& record : index.records) {
    index.entries += record.entries;
  }
  index.listed = now;
  index.ever_listed = true;
}

void PayloadLog::trim(const std::string& model, ModelIndex& index) {
  const Bounds bounds = boundsOf(model);
  const std::int64_t oldest_kept =
      unixNanosNow() -
      std::min<std::int64_t>(bounds.max_age_s,
                             std::numeric_limits<std::int64_t>::max() / 1'000'000'000) *
          1'000'000'000;
  const std::shared_ptr<PayloadCounts> counts = this->counts(model);
  // Oldest first; records of every version of the model count together.
  auto older = [](const auto& a, const auto& b) { return a.last_ns < b.last_ns; };
  if (!std::is_sorted(index.records.begin(), index.records.end(), older)) {
    std::sort(index.records.begin(), index.records.end(), older);
  }
  while (!index.records.empty() && (index.entries > static_cast<std::uint64_t>(bounds.max_rows) ||
                                    index.records.front().last_ns < oldest_kept)) {
    const PayloadRecordKey& oldest = index.records.front();
    Status removed = storage_->remove(oldest.key);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      failed("cannot trim logged payloads '" + oldest.key + "' in " + storage_->describe() + ": " +
             removed.message());
      return;
    }
    counts->trimmed.fetch_add(1, std::memory_order_relaxed);
    index.entries -= std::min(index.entries, oldest.entries);
    index.records.pop_front();
  }
}

void PayloadLog::failed(const std::string& what) {
  std::uint64_t n = 0;
  {
    std::lock_guard lock(mutex_);
    n = ++failures_;
  }
  // The 1st, 2nd, 4th, 8th ... failure: a storage that stays down does not flood the log.
  if (log_ && (n & (n - 1)) == 0) {
    log_(LogLevel::kWarning, "serving",
         "payload logging: " + what + " (" + std::to_string(n) + " storage failures so far)");
  }
}

std::string PayloadLog::prometheusMetrics() const {
  std::vector<std::pair<std::string, std::shared_ptr<PayloadCounts>>> models;
  {
    std::lock_guard lock(mutex_);
    models.assign(counts_.begin(), counts_.end());
  }
  if (models.empty()) {
    return {};
  }
  std::string out;
  auto family = [&](const char* metric, const char* help,
                    std::atomic<std::uint64_t> PayloadCounts::*field) {
    out += std::string("# HELP ") + metric + " " + help + "\n# TYPE " + metric + " counter\n";
    for (const auto& [model, counts] : models) {
      out += std::string(metric) + "{model=\"" + prometheusLabel(model) + "\"} " +
             std::to_string(((*counts).*field).load(std::memory_order_relaxed)) + "\n";
    }
  };
  family("aimass_payload_log_logged_total",
         "Sampled requests (payload logging) written to the payload storage.",
         &PayloadCounts::logged);
  family("aimass_payload_log_dropped_total",
         "Sampled requests not logged because the payload log's queue was full.",
         &PayloadCounts::dropped);
  family("aimass_payload_log_write_failed_total",
         "Sampled requests lost because writing their record to the payload storage failed.",
         &PayloadCounts::write_failed);
  family("aimass_payload_log_trimmed_records_total",
         "Payload records removed to keep a model within payload_max_rows and "
         "payload_max_age_s.",
         &PayloadCounts::trimmed);
  return out;
}

std::shared_ptr<PayloadTap> PayloadTap::make(std::shared_ptr<PayloadLog> log,
                                             const std::string& model, const std::string& version,
                                             const ModelSchema& schema,
                                             const std::vector<std::string>& profiled_numbers,
                                             const PayloadLogging& settings, std::string& why) {
  if (!log || settings.sample <= 0) {
    return nullptr;
  }
  std::shared_ptr<PayloadTap> tap(new PayloadTap());
  auto apply = [&](const std::string& name) {
    bool matched = false;
    for (const auto& specs : {&schema.inputs, &schema.outputs}) {
      for (const auto& spec : *specs) {
        if (spec.name == name) {
          matched = true;
          if (!contains(tap->excluded_, name)) {
            tap->excluded_.push_back(name);
          }
        }
      }
    }
    auto column = std::find(profiled_numbers.begin(), profiled_numbers.end(), name);
    if (column != profiled_numbers.end()) {
      matched = true;
      if (!contains(tap->masked_names_, name)) {
        tap->masked_names_.push_back(name);
        tap->masked_columns_.push_back(column - profiled_numbers.begin());
      }
    }
    return matched;
  };
  for (const auto& name : settings.exclude) {
    apply(name);  // node-wide: wherever the version has it
  }
  for (const auto& name : settings.model_exclude) {
    if (!apply(name)) {
      why = "payload_exclude names '" + name + "', which is none of its inputs, outputs or " +
            "training-profile number features, so it is not logged (a misspelt exclusion " +
            "must not log what it meant to leave out)";
      return nullptr;
    }
  }
  tap->log_ = std::move(log);
  tap->counts_ = tap->log_->counts(model);
  tap->model_ = model;
  tap->version_ = version;
  tap->share_ = std::min(settings.sample, 1.0);
  return tap;
}

void PayloadTap::record(const std::string& request_id, const TensorMap& inputs,
                        const TensorMap* outputs, std::int64_t latency_us,
                        std::string_view outcome) {
  PayloadEntryParts parts;
  parts.request_id = request_id;
  parts.latency_us = latency_us;
  parts.outcome = outcome;
  parts.masked_features = &masked_names_;
  parts.inputs = &inputs;
  parts.outputs = outputs;
  parts.excluded = &excluded_;
  parts.masked_columns = &masked_columns_;
  const std::size_t bytes =
      payloadTensorBytes(inputs) + (outputs == nullptr ? 0 : payloadTensorBytes(*outputs));
  log_->offer(model_, version_, parts, bytes, *counts_);
}

}  // namespace aimass::core
