// SPDX-License-Identifier: Apache-2.0
#include "aimass/client/http_client.hpp"

#include <mutex>
#include <utility>

#include "c_handles.h"
#include "jobs_decode.h"
#include "registry_decode.h"

namespace aimass::client {

using detail::call;
using detail::ClientHandle;
using detail::FreeJobList;
using detail::FreeQueue;
using detail::FreeQueueList;
using detail::FreeScheduleList;
using detail::FreeText;
using detail::JobHandle;
using detail::JsonHandle;
using detail::OptionsHandle;
using detail::RequestHandle;
using detail::ResultHandle;
using detail::ScheduleHandle;

// DataType's order is the C enum's, one lower (the C enum keeps 0 for "invalid").
static_assert(static_cast<int>(DataType::kBool) + 1 == AIMASS_CLIENT_BOOL);
static_assert(static_cast<int>(DataType::kFp32) + 1 == AIMASS_CLIENT_FP32);
static_assert(static_cast<int>(DataType::kBytes) + 1 == AIMASS_CLIENT_BYTES);
static_assert(static_cast<int>(ErrorCode::kInternal) == AIMASS_CLIENT_INTERNAL);

namespace {

std::string str(std::string_view s) { return std::string(s); }

unsigned methodMask(const std::set<std::string>& methods) {
  unsigned mask = 0;
  for (const auto& m : methods) {
    if (m == "GET")
      mask |= AIMASS_CLIENT_METHOD_GET;
    else if (m == "HEAD")
      mask |= AIMASS_CLIENT_METHOD_HEAD;
    else if (m == "POST")
      mask |= AIMASS_CLIENT_METHOD_POST;
    else if (m == "PUT")
      mask |= AIMASS_CLIENT_METHOD_PUT;
    else if (m == "PATCH")
      mask |= AIMASS_CLIENT_METHOD_PATCH;
    else if (m == "DELETE")
      mask |= AIMASS_CLIENT_METHOD_DELETE;
    else
      throw Error(ErrorCode::kInvalidArgument, 0, "retry method '" + m + "' is not an HTTP method");
  }
  return mask;
}

ClientHandle openClient(const std::string& url, const ClientOptions& o) {
  OptionsHandle options(aimass_client_options_create());
  if (!options) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for client options");
  }
  auto c = options.get();
  auto text = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  std::vector<int> statuses(o.retry.statuses.begin(), o.retry.statuses.end());
  if (aimass_client_options_set_api_key(c, text(o.api_key)) ||
      aimass_client_options_set_bearer_token(c, text(o.bearer_token)) ||
      aimass_client_options_set_ca_file(c, text(o.ca_file)) ||
      aimass_client_options_set_client_certificate(c, text(o.cert_file), text(o.key_file)) ||
      aimass_client_options_set_verify(c, o.verify ? 1 : 0) ||
      aimass_client_options_set_timeout_ms(c, static_cast<long>(o.timeout.count())) ||
      aimass_client_options_set_retry(
          c, o.retry.retries, static_cast<long>(o.retry.backoff.count()),
          static_cast<long>(o.retry.max_backoff.count()), methodMask(o.retry.methods)) ||
      aimass_client_options_set_retry_statuses(c, statuses.data(), statuses.size())) {
    throw Error(ErrorCode::kInvalidArgument, 0,
                "client options out of range (timeout and backoffs must be positive, "
                "max_backoff >= backoff, retries >= 0)");
  }
  aimass_client* client = nullptr;
  call([&](aimass_client_error** err) {
    return aimass_client_create(url.c_str(), c, &client, err);
  });
  return ClientHandle(client);
}

/// Builds the C request of `inputs` and `options` into `request` (cleared first).
void fillRequest(aimass_client_request* request, std::span<const Tensor> inputs,
                 const InferOptions& options) {
  aimass_client_request_clear(request);
  for (const Tensor& t : inputs) {
    const auto& shape = t.shape();
    if (t.dataType() == DataType::kBytes) {
      std::vector<const char*> data;
      std::vector<std::size_t> lengths;
      for (const auto& e : t.elements()) {
        data.push_back(e.data());
        lengths.push_back(e.size());
      }
      call([&](aimass_client_error** err) {
        return aimass_client_request_add_bytes_input(request, t.name().c_str(), shape.data(),
                                                     shape.size(), data.data(), lengths.data(),
                                                     data.size(), err);
      });
    } else {
      call([&](aimass_client_error** err) {
        return aimass_client_request_add_input(
            request, t.name().c_str(),
            static_cast<aimass_client_datatype>(static_cast<int>(t.dataType()) + 1), shape.data(),
            shape.size(), t.bytes().data(), t.bytes().size(), err);
      });
    }
  }
  for (const auto& name : options.outputs) {
    call([&](aimass_client_error** err) {
      return aimass_client_request_add_output(request, name.c_str(), err);
    });
  }
  if (!options.request_id.empty()) {
    call([&](aimass_client_error** err) {
      return aimass_client_request_set_id(request, options.request_id.c_str(), err);
    });
  }
  for (const auto& [key, value] : options.parameters) {
    const char* name = key.c_str();
    call([&](aimass_client_error** err) {
      if (const bool* b = std::get_if<bool>(&value)) {
        return aimass_client_request_set_parameter_bool(request, name, *b, err);
      }
      if (const std::int64_t* i = std::get_if<std::int64_t>(&value)) {
        return aimass_client_request_set_parameter_int64(request, name, *i, err);
      }
      if (const double* d = std::get_if<double>(&value)) {
        return aimass_client_request_set_parameter_double(request, name, *d, err);
      }
      return aimass_client_request_set_parameter_string(request, name,
                                                        std::get<std::string>(value).c_str(), err);
    });
  }
  aimass_client_request_set_binary(request, options.binary ? 1 : 0);
  if (aimass_client_request_set_timeout_ms(request, static_cast<long>(options.timeout.count()))) {
    throw Error(ErrorCode::kInvalidArgument, 0, "InferOptions::timeout is negative");
  }
}

InferResult resultOf(const aimass_client_result* r) {
  InferResult out;
  out.model_name = aimass_client_result_model_name(r);
  out.model_version = aimass_client_result_model_version(r);
  const char* id = aimass_client_result_id(r);
  out.id = id ? id : "";
  std::size_t n = aimass_client_result_output_count(r);
  out.outputs.reserve(n);
  out.binary.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const aimass_client_output* o = aimass_client_result_output(r, i);
    const int64_t* dims = aimass_client_output_shape(o);
    Tensor::Shape shape(dims, dims + aimass_client_output_rank(o));
    auto type = static_cast<DataType>(static_cast<int>(aimass_client_output_datatype(o)) - 1);
    if (type == DataType::kBytes) {
      std::vector<std::string> elements;
      elements.reserve(aimass_client_output_element_count(o));
      for (std::size_t e = 0; e < aimass_client_output_element_count(o); ++e) {
        std::size_t length = 0;
        const char* bytes = aimass_client_output_bytes_at(o, e, &length);
        elements.emplace_back(bytes, length);
      }
      out.outputs.push_back(
          Tensor::strings(aimass_client_output_name(o), std::move(shape), std::move(elements)));
    } else {
      std::size_t size = 0;
      const void* data = aimass_client_output_data(o, &size);
      out.outputs.push_back(Tensor::fromBytes(aimass_client_output_name(o), type, std::move(shape),
                                              {static_cast<const std::byte*>(data), size}));
    }
    out.binary.push_back(aimass_client_output_binary(o) != 0);
  }
  return out;
}

/// A connection for one call: the client's own, or (inferAsync) one from the pool.
InferResult inferOn(aimass_client* client, std::string_view model, std::span<const Tensor> inputs,
                    const InferOptions& options) {
  RequestHandle request(aimass_client_request_create());
  if (!request) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for a request");
  }
  fillRequest(request.get(), inputs, options);
  aimass_client_result* result = nullptr;
  std::string m(model);
  call([&](aimass_client_error** err) {
    return aimass_client_infer(client, m.c_str(),
                               options.version.empty() ? nullptr : options.version.c_str(),
                               request.get(), &result, err);
  });
  ResultHandle owned(result);
  return resultOf(owned.get());
}

}  // namespace

struct HttpClient::State {
  std::string url;
  ClientOptions options;
  ClientHandle client;
  std::mutex pool_mutex;
  std::vector<ClientHandle> idle;  // connections for inferAsync, returned after each call

  ClientHandle take() {
    {
      std::lock_guard lock(pool_mutex);
      if (!idle.empty()) {
        ClientHandle c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return openClient(url, options);
  }
  void give(ClientHandle c) {
    std::lock_guard lock(pool_mutex);
    idle.push_back(std::move(c));
  }
};

HttpClient::HttpClient(std::string base_url, ClientOptions options)
    : state_(std::make_shared<State>()) {
  state_->client = openClient(base_url, options);
  state_->url = std::move(base_url);
  state_->options = std::move(options);
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

bool HttpClient::live() {
  int ok = 0;
  call([&](aimass_client_error** err) {
    return aimass_client_live(state_->client.get(), &ok, err);
  });
  return ok != 0;
}

bool HttpClient::ready() {
  int ok = 0;
  call([&](aimass_client_error** err) {
    return aimass_client_ready(state_->client.get(), &ok, err);
  });
  return ok != 0;
}

bool HttpClient::modelReady(std::string_view model, std::string_view version) {
  int ok = 0;
  std::string m = str(model), v = str(version);
  call([&](aimass_client_error** err) {
    return aimass_client_model_ready(state_->client.get(), m.c_str(),
                                     v.empty() ? nullptr : v.c_str(), &ok, err);
  });
  return ok != 0;
}

// Runs a C call that answers a document `doc` (the call names `doc` and `error`), owned in
// `owned`, its root in `root`.
#define AIMASS_CLIENT_CALL_JSON(call_expression)                      \
  aimass_client_json* doc = nullptr;                                  \
  call([&](aimass_client_error** error) { return call_expression; }); \
  JsonHandle owned(doc);                                              \
  const aimass_client_value* root = aimass_client_json_root(owned.get())

ServerMetadata HttpClient::serverMetadata() {
  AIMASS_CLIENT_CALL_JSON(aimass_client_server_metadata(state_->client.get(), &doc, error));
  (void)root;
  return detail::serverMetadataOf(owned.get());
}

ModelMetadata HttpClient::modelMetadata(std::string_view model, std::string_view version) {
  std::string m = str(model), v = str(version);
  AIMASS_CLIENT_CALL_JSON(aimass_client_model_metadata(
      state_->client.get(), m.c_str(), v.empty() ? nullptr : v.c_str(), &doc, error));
  (void)root;
  return detail::modelMetadataOf(owned.get());
}

InferResult HttpClient::infer(std::string_view model, std::span<const Tensor> inputs,
                              const InferOptions& options) {
  return inferOn(state_->client.get(), model, inputs, options);
}

std::future<InferResult> HttpClient::inferAsync(std::string model, std::vector<Tensor> inputs,
                                                InferOptions options) {
  for (auto& t : inputs) {
    t.own();
  }
  std::shared_ptr<State> state = state_;
  return std::async(
      std::launch::async, [state, model = std::move(model), inputs = std::move(inputs),
                           options = std::move(options)]() {
        ClientHandle client = state->take();
        InferResult result = inferOn(client.get(), model, inputs, options);
        state->give(std::move(client));  // a failed call's connection is dropped, not pooled
        return result;
      });
}

std::vector<ModelSummary> HttpClient::listModels() {
  AIMASS_CLIENT_CALL_JSON(aimass_client_list_models(state_->client.get(), &doc, error));
  return detail::modelSummariesOf(root);
}

RegisteredModel HttpClient::getModel(std::string_view model) {
  std::string m = str(model);
  AIMASS_CLIENT_CALL_JSON(aimass_client_get_model(state_->client.get(), m.c_str(), &doc, error));
  return detail::registeredModelOf(root);
}

ModelVersion HttpClient::getModelVersion(std::string_view model, std::int64_t version) {
  std::string m = str(model);
  AIMASS_CLIENT_CALL_JSON(
      aimass_client_get_model_version(state_->client.get(), m.c_str(), version, &doc, error));
  return detail::modelVersionOf(root);
}

ModelAlias HttpClient::promote(std::string_view model, std::string_view alias,
                               std::int64_t version) {
  std::string m = str(model), a = str(alias);
  AIMASS_CLIENT_CALL_JSON(
      aimass_client_promote(state_->client.get(), m.c_str(), a.c_str(), version, &doc, error));
  return detail::modelAliasOf(root);
}

ModelAlias HttpClient::rollback(std::string_view model, std::string_view alias) {
  std::string m = str(model), a = str(alias);
  AIMASS_CLIENT_CALL_JSON(
      aimass_client_rollback(state_->client.get(), m.c_str(), a.c_str(), &doc, error));
  return detail::modelAliasOf(root);
}

namespace {
struct TagArrays {
  explicit TagArrays(const std::map<std::string, std::string>& tags) {
    for (const auto& [k, v] : tags) {
      keys.push_back(k.c_str());
      values.push_back(v.c_str());
    }
  }
  std::vector<const char*> keys;
  std::vector<const char*> values;
};
}  // namespace

ModelVersion HttpClient::setTags(std::string_view model, std::int64_t version,
                                 const std::map<std::string, std::string>& tags) {
  std::string m = str(model);
  TagArrays t(tags);
  AIMASS_CLIENT_CALL_JSON(aimass_client_set_tags(state_->client.get(), m.c_str(), version,
                                                 t.keys.data(), t.values.data(), t.keys.size(),
                                                 &doc, error));
  return detail::modelVersionOf(root);
}

ModelVersion HttpClient::updateTags(std::string_view model, std::int64_t version,
                                    const std::map<std::string, std::string>& set,
                                    const std::vector<std::string>& remove) {
  std::string m = str(model);
  TagArrays t(set);
  std::vector<const char*> gone;
  for (const auto& r : remove) {
    gone.push_back(r.c_str());
  }
  AIMASS_CLIENT_CALL_JSON(aimass_client_update_tags(state_->client.get(), m.c_str(), version,
                                                    t.keys.data(), t.values.data(), t.keys.size(),
                                                    gone.data(), gone.size(), &doc, error));
  return detail::modelVersionOf(root);
}

std::vector<DatasetSummary> HttpClient::listDatasets() {
  AIMASS_CLIENT_CALL_JSON(aimass_client_list_datasets(state_->client.get(), &doc, error));
  return detail::datasetSummariesOf(root);
}

RegisteredDataset HttpClient::getDataset(std::string_view name) {
  std::string n = str(name);
  AIMASS_CLIENT_CALL_JSON(aimass_client_get_dataset(state_->client.get(), n.c_str(), &doc, error));
  return detail::registeredDatasetOf(root);
}

RunList HttpClient::listRuns(const RunQuery& q) {
  auto text = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  AIMASS_CLIENT_CALL_JSON(aimass_client_list_runs(
      state_->client.get(), text(q.experiment), text(q.filter), text(q.status), text(q.sort),
      q.descending ? 1 : 0, q.limit.value_or(-1), &doc, error));
  return detail::runListOf(root);
}

Run HttpClient::getRun(std::int64_t id) {
  AIMASS_CLIENT_CALL_JSON(aimass_client_get_run(state_->client.get(), id, &doc, error));
  return detail::runOf(root);
}

#undef AIMASS_CLIENT_CALL_JSON

namespace {
const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }
}  // namespace

Job HttpClient::submitJob(const JobSubmission& s) {
  detail::SubmissionHandle c = detail::submissionOf(s);
  aimass_client_job* job = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_submit_job(state_->client.get(), c.get(), &job, error);
  });
  return detail::jobOf(JobHandle(job).get());
}

std::vector<Job> HttpClient::listJobs(const JobQuery& q) {
  aimass_client_job_list* list = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_list_jobs(state_->client.get(), orNull(q.state), orNull(q.queue),
                                   orNull(q.owner), &list, error);
  });
  std::unique_ptr<aimass_client_job_list, FreeJobList> owned(list);
  std::vector<Job> out;
  for (std::size_t i = 0; i < aimass_client_job_list_size(list); ++i) {
    out.push_back(detail::jobOf(aimass_client_job_list_at(list, i)));
  }
  return out;
}

Job HttpClient::getJob(std::int64_t id) {
  aimass_client_job* job = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_get_job(state_->client.get(), id, &job, error);
  });
  return detail::jobOf(JobHandle(job).get());
}

Job HttpClient::cancelJob(std::int64_t id) {
  aimass_client_job* job = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_cancel_job(state_->client.get(), id, &job, error);
  });
  return detail::jobOf(JobHandle(job).get());
}

std::string HttpClient::jobLog(std::int64_t id, std::optional<std::int64_t> bytes) {
  char* text = nullptr;
  std::size_t size = 0;
  call([&](aimass_client_error** error) {
    return aimass_client_job_log(state_->client.get(), id, bytes.value_or(0), &text, &size,
                                 error);
  });
  std::unique_ptr<char, FreeText> owned(text);
  return std::string(text, size);
}

std::vector<JobQueue> HttpClient::listQueues() {
  aimass_client_queue_list* list = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_list_queues(state_->client.get(), &list, error);
  });
  std::unique_ptr<aimass_client_queue_list, FreeQueueList> owned(list);
  std::vector<JobQueue> out;
  for (std::size_t i = 0; i < aimass_client_queue_list_size(list); ++i) {
    out.push_back(detail::jobQueueOf(aimass_client_queue_list_at(list, i)));
  }
  return out;
}

JobQueue HttpClient::updateQueue(std::string_view name, const JobQueueUpdate& update) {
  detail::QueueUpdateHandle c = detail::queueUpdateOf(update);
  const std::string queue_name(name);
  aimass_client_queue* queue = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_update_queue(state_->client.get(), queue_name.c_str(), c.get(), &queue,
                                      error);
  });
  return detail::jobQueueOf(std::unique_ptr<aimass_client_queue, FreeQueue>(queue).get());
}

JobSchedule HttpClient::createSchedule(const JobScheduleSubmission& s) {
  detail::SubmissionHandle c = detail::submissionOf(s.job);
  aimass_client_schedule* schedule = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_create_schedule(state_->client.get(), c.get(), s.cron.c_str(),
                                         orNull(s.overlap), orNull(s.name), &schedule, error);
  });
  return detail::jobScheduleOf(ScheduleHandle(schedule).get());
}

std::vector<JobSchedule> HttpClient::listSchedules() {
  aimass_client_schedule_list* list = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_list_schedules(state_->client.get(), &list, error);
  });
  std::unique_ptr<aimass_client_schedule_list, FreeScheduleList> owned(list);
  std::vector<JobSchedule> out;
  for (std::size_t i = 0; i < aimass_client_schedule_list_size(list); ++i) {
    out.push_back(detail::jobScheduleOf(aimass_client_schedule_list_at(list, i)));
  }
  return out;
}

JobSchedule HttpClient::getSchedule(std::int64_t id) {
  aimass_client_schedule* schedule = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_get_schedule(state_->client.get(), id, &schedule, error);
  });
  return detail::jobScheduleOf(ScheduleHandle(schedule).get());
}

JobSchedule HttpClient::deleteSchedule(std::int64_t id) {
  aimass_client_schedule* schedule = nullptr;
  call([&](aimass_client_error** error) {
    return aimass_client_delete_schedule(state_->client.get(), id, &schedule, error);
  });
  return detail::jobScheduleOf(ScheduleHandle(schedule).get());
}

EncodedRequest HttpClient::encodeRequest(std::span<const Tensor> inputs,
                                         const InferOptions& options) {
  RequestHandle request(aimass_client_request_create());
  if (!request) {
    throw Error(ErrorCode::kOutOfMemory, 0, "out of memory for a request");
  }
  fillRequest(request.get(), inputs, options);
  const char* body = nullptr;
  std::size_t size = 0;
  EncodedRequest out;
  call([&](aimass_client_error** err) {
    return aimass_client_request_encode(request.get(), &body, &size, &out.header_length, err);
  });
  out.body.assign(body, size);
  return out;
}

InferResult HttpClient::decodeResult(std::string_view body, std::size_t header_length) {
  aimass_client_result* result = nullptr;
  call([&](aimass_client_error** err) {
    return aimass_client_result_decode(body.data(), body.size(), header_length, &result, err);
  });
  ResultHandle owned(result);
  return resultOf(owned.get());
}

}  // namespace aimass::client
