// SPDX-License-Identifier: Apache-2.0
#include "jobs/queue_edits.h"

#include <limits>
#include <optional>

#include "aimass/util/memory_size.h"
#include "jobs/job_store.h"
#include "jobs/record_fields.h"
#include "record_text.h"

namespace aimass::core::jobs {
namespace {

constexpr std::string_view kHeader = "aimass-job-queue-edit 1";
constexpr std::string_view kEditPrefix = "jobs/queue_edits/";
constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max() / 4;

std::string editKey(const std::string& queue) {
  return std::string(kEditPrefix) + record::escape(queue);
}

std::string numbers(const Resources& r) {
  return std::to_string(r.threads) + " " + std::to_string(r.memory_bytes) + " " +
         std::to_string(r.gpus);
}

// The editable part of a spec (and its cohort), as the lines of a record.
std::string specLines(const QueueSpec& spec) {
  std::string out;
  fields::addLine(out, "cohort", {spec.cohort});
  out += "nominal " + numbers(spec.nominal) + "\n";
  out += "borrow " + (spec.borrowing_limit ? numbers(*spec.borrowing_limit) : "none") + "\n";
  out += "max_running " + std::to_string(spec.max_running) + "\n";
  out += std::string("ordering ") +
         (spec.ordering == Ordering::kFairShare ? "fair_share" : "fifo") + "\n";
  out += std::string("strict_fifo ") + (spec.strict_fifo ? "1" : "0") + "\n";
  return out;
}

Expected<Resources> readResources(fields::FieldReader& read, const std::string& name) {
  Resources r;
  AIMASS_RETURN_IF_ERROR(read.numbers(name, {&r.threads, &r.memory_bytes, &r.gpus}));
  return r;
}

// The stored edit of `configured`, when there is one made against this very definition.
Expected<std::optional<QueueSpec>> storedEdit(Storage& storage, const QueueSpec& configured) {
  const std::string key = editKey(configured.name);
  auto text = storage.get(key);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) return std::optional<QueueSpec>();
    return text.status();
  }
  auto lines = record::parseRecord(*text, kHeader);
  if (!lines.ok()) return lines.status().withContext("queue edit '" + key + "'");
  fields::FieldReader read(*lines);
  if (read.text("base") != specLines(configured)) {
    // The configuration's definition changed since the edit: the configuration wins.
    AIMASS_RETURN_IF_ERROR(storage.remove(key));
    return std::optional<QueueSpec>();
  }
  QueueSpec spec = configured;
  AIMASS_ASSIGN_OR_RETURN(spec.nominal, readResources(read, "nominal"));
  if (read.list("borrow").size() == 1) {
    spec.borrowing_limit.reset();
  } else {
    AIMASS_ASSIGN_OR_RETURN(Resources limit, readResources(read, "borrow"));
    spec.borrowing_limit = limit;
  }
  spec.max_running = read.number("max_running");
  spec.ordering = read.text("ordering") == "fair_share" ? Ordering::kFairShare : Ordering::kFifo;
  spec.strict_fifo = read.number("strict_fifo") != 0;
  if (!read.error().ok()) return read.error().withContext("queue edit '" + key + "'");
  return std::optional<QueueSpec>(std::move(spec));
}

Status atLeast(const char* field, std::int64_t value, std::int64_t lowest) {
  if (value >= lowest) return okStatus();
  return invalidArgument("'" + std::string(field) + "' must be at least " +
                         std::to_string(lowest) + ", not " + std::to_string(value));
}

// Applies the fields of `update` that are set.
Status apply(const JobQueueUpdate& update, QueueSpec& spec) {
  auto set = [](const char* field, const std::optional<std::int64_t>& value,
                std::int64_t& target) -> Status {
    if (!value) return okStatus();
    AIMASS_RETURN_IF_ERROR(atLeast(field, *value, 0));
    target = *value;
    return okStatus();
  };
  AIMASS_RETURN_IF_ERROR(set("threads", update.threads, spec.nominal.threads));
  AIMASS_RETURN_IF_ERROR(set("memory_bytes", update.memory_bytes, spec.nominal.memory_bytes));
  AIMASS_RETURN_IF_ERROR(set("gpus", update.gpus, spec.nominal.gpus));
  AIMASS_RETURN_IF_ERROR(set("max_running", update.max_running, spec.max_running));
  const std::pair<const char*, const std::optional<std::int64_t>*> borrows[] = {
      {"borrow_threads", &update.borrow_threads},
      {"borrow_memory_bytes", &update.borrow_memory_bytes},
      {"borrow_gpus", &update.borrow_gpus}};
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& [field, value] = borrows[i];
    if (!*value) continue;
    AIMASS_RETURN_IF_ERROR(atLeast(field, **value, -1));
    if (spec.cohort.empty() && **value >= 0) {
      return invalidArgument("'" + std::string(field) + "': queue '" + spec.name +
                             "' has no cohort to borrow from");
    }
    Resources limit = spec.borrowing_limit.value_or(Resources{kUnlimited, kUnlimited, kUnlimited});
    std::int64_t* target[] = {&limit.threads, &limit.memory_bytes, &limit.gpus};
    *target[i] = **value < 0 ? kUnlimited : **value;
    spec.borrowing_limit = limit;
    if (limit == Resources{kUnlimited, kUnlimited, kUnlimited}) spec.borrowing_limit.reset();
  }
  if (update.ordering) {
    if (*update.ordering != "fifo" && *update.ordering != "fair_share") {
      return invalidArgument("'ordering' must be fifo or fair_share, not '" + *update.ordering +
                             "'");
    }
    spec.ordering = *update.ordering == "fair_share" ? Ordering::kFairShare : Ordering::kFifo;
  }
  if (update.strict_fifo) spec.strict_fifo = *update.strict_fifo;
  return okStatus();
}

}  // namespace

Expected<std::vector<QueueSpec>> effectiveQueues(Storage& storage,
                                                 const std::vector<QueueSpec>& configured) {
  std::vector<QueueSpec> queues;
  for (const QueueSpec& spec : configured) {
    AIMASS_ASSIGN_OR_RETURN(std::optional<QueueSpec> edited, storedEdit(storage, spec));
    queues.push_back(edited ? std::move(*edited) : spec);
  }
  return queues;
}

Expected<QueueSpec> editQueueInStore(Storage& storage, const std::vector<QueueSpec>& configured,
                                     const Resources& capacity, const std::string& name,
                                     const JobQueueUpdate& update) {
  AIMASS_ASSIGN_OR_RETURN(std::vector<QueueSpec> queues, effectiveQueues(storage, configured));
  const QueueSpec* base = nullptr;
  for (const QueueSpec& spec : configured) {
    if (spec.name == name) base = &spec;
  }
  if (base == nullptr) {
    std::string names;
    for (const QueueSpec& q : configured) names += (names.empty() ? "" : ", ") + q.name;
    return notFound("no queue named '" + name + "' (queues: " + names + ")");
  }
  JobScheduler check(capacity);
  QueueSpec edited;
  for (QueueSpec& spec : queues) {
    if (spec.name == name) {
      AIMASS_RETURN_IF_ERROR(apply(update, spec));
      edited = spec;
    }
    AIMASS_RETURN_IF_ERROR(check.addQueue(spec));
  }
  std::string text(kHeader);
  text += '\n';
  fields::addLine(text, "base", {specLines(*base)});
  text += specLines(edited);
  AIMASS_RETURN_IF_ERROR(storage.put(editKey(name), text));
  AIMASS_RETURN_IF_ERROR(record::takeNextNumber(storage, kJobChangesKey).status());
  return edited;
}

Status parseQueueSetting(const std::string& word, JobQueueUpdate& update) {
  const std::size_t equals = word.find('=');
  if (equals == std::string::npos) {
    return invalidArgument("--set takes NAME key=value ..., not '" + word + "'");
  }
  const std::string key = word.substr(0, equals);
  const std::string value = word.substr(equals + 1);
  auto whole = [&](std::optional<std::int64_t>& into, bool none_allowed) -> Status {
    if (none_allowed && value == "none") {
      into = -1;
      return okStatus();
    }
    auto parsed = record::parseInt(value);
    if (!parsed) return invalidArgument("'" + key + "' takes a whole number, not '" + value + "'");
    into = *parsed;
    return okStatus();
  };
  auto size = [&](std::optional<std::int64_t>& into, bool none_allowed) -> Status {
    if (none_allowed && value == "none") {
      into = -1;
      return okStatus();
    }
    AIMASS_ASSIGN_OR_RETURN(into, parseMemorySize(value, "'" + key + "'"));
    return okStatus();
  };
  if (key == "threads") return whole(update.threads, false);
  if (key == "gpus") return whole(update.gpus, false);
  if (key == "max_running") return whole(update.max_running, false);
  if (key == "borrow_threads") return whole(update.borrow_threads, true);
  if (key == "borrow_gpus") return whole(update.borrow_gpus, true);
  if (key == "memory") return size(update.memory_bytes, false);
  if (key == "borrow_memory") return size(update.borrow_memory_bytes, true);
  if (key == "ordering") {
    update.ordering = value;
    return okStatus();
  }
  if (key == "strict_fifo") {
    if (value != "true" && value != "false") {
      return invalidArgument("'strict_fifo' takes true or false, not '" + value + "'");
    }
    update.strict_fifo = value == "true";
    return okStatus();
  }
  return invalidArgument("unknown queue setting '" + key +
                         "' (threads, memory, gpus, borrow_threads, borrow_memory, borrow_gpus, "
                         "max_running, ordering, strict_fifo)");
}

}  // namespace aimass::core::jobs
