// SPDX-License-Identifier: Apache-2.0
// The C ABI: errors, datatypes, JSON documents, options, the client, health and metadata, and
// the /api/v1 routes. Inference is in c_api_infer.cc.
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "aimass_client.h"
#include "c_boundary.h"
#include "client_failure.h"
#include "client_handle.h"
#include "json_value.h"

using aimass::client::detail::appendJsonInteger;
using aimass::client::detail::appendJsonString;
using aimass::client::detail::ClientFailure;
using aimass::client::detail::encodePathSegment;
using aimass::client::detail::guarded;
using aimass::client::detail::HttpBody;
using aimass::client::detail::HttpTransport;
using aimass::client::detail::invalidArgument;
using aimass::client::detail::JsonValue;
using aimass::client::detail::require;
using aimass::client::detail::TransportOptions;

struct aimass_client_json {
  std::string text;
  JsonValue root;
};

struct aimass_client_options {
  TransportOptions transport;
};

namespace {

struct TypeName {
  aimass_client_datatype type;
  const char* name;
  std::size_t size;
};

constexpr std::array<TypeName, 14> kTypeNames{{
    {AIMASS_CLIENT_BOOL, "BOOL", 1},
    {AIMASS_CLIENT_UINT8, "UINT8", 1},
    {AIMASS_CLIENT_UINT16, "UINT16", 2},
    {AIMASS_CLIENT_UINT32, "UINT32", 4},
    {AIMASS_CLIENT_UINT64, "UINT64", 8},
    {AIMASS_CLIENT_INT8, "INT8", 1},
    {AIMASS_CLIENT_INT16, "INT16", 2},
    {AIMASS_CLIENT_INT32, "INT32", 4},
    {AIMASS_CLIENT_INT64, "INT64", 8},
    {AIMASS_CLIENT_FP16, "FP16", 2},
    {AIMASS_CLIENT_FP32, "FP32", 4},
    {AIMASS_CLIENT_FP64, "FP64", 8},
    {AIMASS_CLIENT_BF16, "BF16", 2},
    {AIMASS_CLIENT_BYTES, "BYTES", 0},
}};

const JsonValue* node(const aimass_client_value* value) {
  return reinterpret_cast<const JsonValue*>(value);
}
const aimass_client_value* handle(const JsonValue* value) {
  return reinterpret_cast<const aimass_client_value*>(value);
}

/// A document of `text`; throws ClientFailure(kProtocol) when it is not JSON.
aimass_client_json* documentOf(std::string text) {
  auto doc = std::make_unique<aimass_client_json>();
  doc->text = std::move(text);
  doc->root = aimass::client::detail::parseJson(doc->text, "the answer");
  return doc.release();
}

std::string segment(const char* text, const char* what) {
  require(text, what);
  if (!*text) {
    invalidArgument(std::string(what) + " is empty");
  }
  return encodePathSegment(text);
}

/// Sends a JSON request and stores the answer's document in *out.
void jsonCall(aimass_client* client, const char* method, const std::string& path,
              const std::string* body, aimass_client_json** out) {
  require(client, "the client");
  require(out, "the out pointer");
  *out = nullptr;
  HttpBody request{body ? std::string_view(*body) : std::string_view(), false, 0};
  auto response = client->transport.send(method, path, body ? &request : nullptr, 0, true);
  if (!response.body.empty()) {
    *out = documentOf(std::move(response.body));
  }
}

std::string modelPath(const char* model, const char* version) {
  std::string path = "/v2/models/" + segment(model, "the model name");
  if (version && *version) {
    path += "/versions/" + encodePathSegment(version);
  }
  return path;
}

/// The health probe: 1 on 200, 0 on 404 or 5xx, never retried; other failures throw.
void probe(aimass_client* client, const std::string& path, int* ok) {
  require(client, "the client");
  require(ok, "the out pointer");
  try {
    client->transport.send("GET", path, nullptr, 0, false);
    *ok = 1;
  } catch (const ClientFailure& failure) {
    if (failure.code == AIMASS_CLIENT_HTTP && (failure.status == 404 || failure.status >= 500)) {
      *ok = 0;
      return;
    }
    throw;
  }
}

std::string registryModel(const char* model) {
  return "/api/v1/models/" + segment(model, "the model name");
}

std::string tagObject(const char* const* keys, const char* const* values, std::size_t count) {
  if (count && (!keys || !values)) {
    invalidArgument("the tag keys or values are NULL");
  }
  std::string body = "{";
  for (std::size_t i = 0; i < count; ++i) {
    if (!keys[i] || !values[i]) {
      invalidArgument("tag " + std::to_string(i) + " has a NULL key or value");
    }
    if (i) {
      body += ',';
    }
    appendJsonString(body, keys[i]);
    body += ':';
    appendJsonString(body, values[i]);
  }
  return body + "}";
}

}  // namespace

extern "C" {

// ---- codes, datatypes, errors ------------------------------------------------------------

const char* aimass_client_datatype_name(aimass_client_datatype type) {
  for (const auto& row : kTypeNames) {
    if (row.type == type) {
      return row.name;
    }
  }
  return "";
}

aimass_client_datatype aimass_client_datatype_parse(const char* name) {
  if (!name) {
    return AIMASS_CLIENT_INVALID_TYPE;
  }
  for (const auto& row : kTypeNames) {
    if (std::strcmp(row.name, name) == 0) {
      return row.type;
    }
  }
  return AIMASS_CLIENT_INVALID_TYPE;
}

size_t aimass_client_datatype_size(aimass_client_datatype type) {
  for (const auto& row : kTypeNames) {
    if (row.type == type) {
      return row.size;
    }
  }
  return 0;
}

aimass_client_code aimass_client_error_code(const aimass_client_error* error) {
  return error ? error->code : AIMASS_CLIENT_OK;
}
int aimass_client_error_status(const aimass_client_error* error) {
  return error ? error->status : 0;
}
const char* aimass_client_error_message(const aimass_client_error* error) {
  return error ? error->message.c_str() : "";
}
const char* aimass_client_error_body(const aimass_client_error* error) {
  return error ? error->body.c_str() : "";
}
void aimass_client_error_free(aimass_client_error* error) { delete error; }

// ---- JSON documents ----------------------------------------------------------------------

aimass_client_code aimass_client_json_parse(const char* text, size_t size, aimass_client_json** out,
                                            aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    if (size) {
      require(text, "the text");
    }
    *out = documentOf(std::string(text ? text : "", size));
  });
}

const aimass_client_value* aimass_client_json_root(const aimass_client_json* doc) {
  return doc ? handle(&doc->root) : nullptr;
}
const char* aimass_client_json_text(const aimass_client_json* doc) {
  return doc ? doc->text.c_str() : "";
}
void aimass_client_json_free(aimass_client_json* doc) { delete doc; }

aimass_client_json_type aimass_client_value_type(const aimass_client_value* value) {
  if (!value) {
    return AIMASS_CLIENT_JSON_MISSING;
  }
  switch (node(value)->type) {
    case JsonValue::Type::kNull:
      return AIMASS_CLIENT_JSON_NULL;
    case JsonValue::Type::kBool:
      return AIMASS_CLIENT_JSON_BOOL;
    case JsonValue::Type::kNumber:
      return AIMASS_CLIENT_JSON_NUMBER;
    case JsonValue::Type::kString:
      return AIMASS_CLIENT_JSON_STRING;
    case JsonValue::Type::kArray:
      return AIMASS_CLIENT_JSON_ARRAY;
    case JsonValue::Type::kObject:
      return AIMASS_CLIENT_JSON_OBJECT;
  }
  return AIMASS_CLIENT_JSON_MISSING;
}

const aimass_client_value* aimass_client_value_get(const aimass_client_value* value,
                                                   const char* key) {
  if (!value || !key) {
    return nullptr;
  }
  return handle(node(value)->get(key));
}

size_t aimass_client_value_size(const aimass_client_value* value) {
  if (!value) {
    return 0;
  }
  const JsonValue* v = node(value);
  bool container = v->type == JsonValue::Type::kArray || v->type == JsonValue::Type::kObject;
  return container ? v->items.size() : 0;
}

const aimass_client_value* aimass_client_value_at(const aimass_client_value* value, size_t index) {
  if (aimass_client_value_size(value) <= index) {
    return nullptr;
  }
  return handle(&node(value)->items[index]);
}

const char* aimass_client_value_key_at(const aimass_client_value* value, size_t index) {
  if (!value || node(value)->type != JsonValue::Type::kObject ||
      index >= node(value)->keys.size()) {
    return nullptr;
  }
  return node(value)->keys[index].c_str();
}

const char* aimass_client_value_string(const aimass_client_value* value, size_t* length) {
  if (!value || node(value)->type != JsonValue::Type::kString) {
    return nullptr;
  }
  if (length) {
    *length = node(value)->text.size();
  }
  return node(value)->text.c_str();
}

int aimass_client_value_int64(const aimass_client_value* value, int64_t* out) {
  if (!value || !out || !node(value)->is_int) {
    return 0;
  }
  *out = node(value)->integer;
  return 1;
}

int aimass_client_value_double(const aimass_client_value* value, double* out) {
  if (!value || !out || node(value)->type != JsonValue::Type::kNumber) {
    return 0;
  }
  *out = node(value)->number;
  return 1;
}

int aimass_client_value_bool(const aimass_client_value* value, int* out) {
  if (!value || !out || node(value)->type != JsonValue::Type::kBool) {
    return 0;
  }
  *out = node(value)->boolean ? 1 : 0;
  return 1;
}

const char* aimass_client_value_get_string(const aimass_client_value* value, const char* key) {
  return aimass_client_value_string(aimass_client_value_get(value, key), nullptr);
}

int64_t aimass_client_value_get_int64(const aimass_client_value* value, const char* key,
                                      int64_t fallback) {
  int64_t out = 0;
  return aimass_client_value_int64(aimass_client_value_get(value, key), &out) ? out : fallback;
}

// ---- options -----------------------------------------------------------------------------

aimass_client_options* aimass_client_options_create(void) {
  return new (std::nothrow) aimass_client_options;
}
void aimass_client_options_free(aimass_client_options* options) { delete options; }

aimass_client_code aimass_client_options_set_api_key(aimass_client_options* options,
                                                     const char* key) {
  return guarded(nullptr, [&] {
    require(options, "the options");
    options->transport.api_key = key ? key : "";
  });
}

aimass_client_code aimass_client_options_set_bearer_token(aimass_client_options* options,
                                                          const char* token) {
  return guarded(nullptr, [&] {
    require(options, "the options");
    options->transport.bearer_token = token ? token : "";
  });
}

aimass_client_code aimass_client_options_set_timeout_ms(aimass_client_options* options,
                                                        long timeout_ms) {
  if (!options || timeout_ms <= 0) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  options->transport.timeout_ms = timeout_ms;
  return AIMASS_CLIENT_OK;
}

aimass_client_code aimass_client_options_set_ca_file(aimass_client_options* options,
                                                     const char* path) {
  return guarded(nullptr, [&] {
    require(options, "the options");
    options->transport.ca_file = path ? path : "";
  });
}

aimass_client_code aimass_client_options_set_client_certificate(aimass_client_options* options,
                                                                const char* cert_path,
                                                                const char* key_path) {
  return guarded(nullptr, [&] {
    require(options, "the options");
    options->transport.cert_file = cert_path ? cert_path : "";
    options->transport.key_file = key_path ? key_path : "";
  });
}

aimass_client_code aimass_client_options_set_verify(aimass_client_options* options, int verify) {
  if (!options) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  options->transport.verify = verify != 0;
  return AIMASS_CLIENT_OK;
}

aimass_client_code aimass_client_options_set_retry(aimass_client_options* options, int retries,
                                                   long backoff_ms, long max_backoff_ms,
                                                   unsigned methods) {
  if (!options || retries < 0 || backoff_ms < 0 || max_backoff_ms < backoff_ms) {
    return AIMASS_CLIENT_INVALID_ARGUMENT;
  }
  options->transport.retries = retries;
  options->transport.backoff_ms = backoff_ms;
  options->transport.max_backoff_ms = max_backoff_ms;
  options->transport.retry_methods = methods;
  return AIMASS_CLIENT_OK;
}

aimass_client_code aimass_client_options_set_retry_statuses(aimass_client_options* options,
                                                            const int* statuses, size_t count) {
  return guarded(nullptr, [&] {
    require(options, "the options");
    if (count) {
      require(statuses, "the statuses");
    }
    options->transport.retry_statuses.assign(statuses, statuses + count);
  });
}

// ---- the client --------------------------------------------------------------------------

aimass_client_code aimass_client_create(const char* base_url, const aimass_client_options* options,
                                        aimass_client** out, aimass_client_error** error) {
  return guarded(error, [&] {
    require(out, "the out pointer");
    *out = nullptr;
    require(base_url, "the base URL");
    *out = new aimass_client(base_url, options ? options->transport : TransportOptions());
  });
}

void aimass_client_free(aimass_client* client) { delete client; }

aimass_client_code aimass_client_live(aimass_client* client, int* live,
                                      aimass_client_error** error) {
  return guarded(error, [&] { probe(client, "/v2/health/live", live); });
}

aimass_client_code aimass_client_ready(aimass_client* client, int* ready,
                                       aimass_client_error** error) {
  return guarded(error, [&] { probe(client, "/v2/health/ready", ready); });
}

aimass_client_code aimass_client_model_ready(aimass_client* client, const char* model,
                                             const char* version, int* ready,
                                             aimass_client_error** error) {
  return guarded(error, [&] { probe(client, modelPath(model, version) + "/ready", ready); });
}

aimass_client_code aimass_client_server_metadata(aimass_client* client, aimass_client_json** out,
                                                 aimass_client_error** error) {
  return guarded(error, [&] { jsonCall(client, "GET", "/v2", nullptr, out); });
}

aimass_client_code aimass_client_model_metadata(aimass_client* client, const char* model,
                                                const char* version, aimass_client_json** out,
                                                aimass_client_error** error) {
  return guarded(error, [&] { jsonCall(client, "GET", modelPath(model, version), nullptr, out); });
}

// ---- /api/v1 -----------------------------------------------------------------------------

aimass_client_code aimass_client_list_models(aimass_client* client, aimass_client_json** out,
                                             aimass_client_error** error) {
  return guarded(error, [&] { jsonCall(client, "GET", "/api/v1/models", nullptr, out); });
}

aimass_client_code aimass_client_get_model(aimass_client* client, const char* model,
                                           aimass_client_json** out, aimass_client_error** error) {
  return guarded(error, [&] { jsonCall(client, "GET", registryModel(model), nullptr, out); });
}

aimass_client_code aimass_client_get_model_version(aimass_client* client, const char* model,
                                                   int64_t version, aimass_client_json** out,
                                                   aimass_client_error** error) {
  return guarded(error, [&] {
    jsonCall(client, "GET", registryModel(model) + "/versions/" + std::to_string(version), nullptr,
             out);
  });
}

aimass_client_code aimass_client_promote(aimass_client* client, const char* model,
                                         const char* alias, int64_t version,
                                         aimass_client_json** out, aimass_client_error** error) {
  return guarded(error, [&] {
    std::string body = "{\"version\":";
    appendJsonInteger(body, version);
    body += '}';
    jsonCall(client, "POST", registryModel(model) + "/aliases/" + segment(alias, "the alias"),
             &body, out);
  });
}

aimass_client_code aimass_client_rollback(aimass_client* client, const char* model,
                                          const char* alias, aimass_client_json** out,
                                          aimass_client_error** error) {
  return guarded(error, [&] {
    std::string body = "{}";
    jsonCall(client, "POST",
             registryModel(model) + "/aliases/" + segment(alias, "the alias") + "/rollback", &body,
             out);
  });
}

aimass_client_code aimass_client_set_tags(aimass_client* client, const char* model, int64_t version,
                                          const char* const* keys, const char* const* values,
                                          size_t count, aimass_client_json** out,
                                          aimass_client_error** error) {
  return guarded(error, [&] {
    std::string body = tagObject(keys, values, count);
    jsonCall(client, "PUT", registryModel(model) + "/versions/" + std::to_string(version) + "/tags",
             &body, out);
  });
}

aimass_client_code aimass_client_update_tags(aimass_client* client, const char* model,
                                             int64_t version, const char* const* keys,
                                             const char* const* values, size_t count,
                                             const char* const* remove, size_t remove_count,
                                             aimass_client_json** out,
                                             aimass_client_error** error) {
  return guarded(error, [&] {
    if (remove_count) {
      require(remove, "the tags to remove");
    }
    std::string body = "{\"set\":" + tagObject(keys, values, count) + ",\"remove\":[";
    for (std::size_t i = 0; i < remove_count; ++i) {
      require(remove[i], "a tag to remove");
      if (i) {
        body += ',';
      }
      appendJsonString(body, remove[i]);
    }
    body += "]}";
    jsonCall(client, "PATCH",
             registryModel(model) + "/versions/" + std::to_string(version) + "/tags", &body, out);
  });
}

aimass_client_code aimass_client_list_datasets(aimass_client* client, aimass_client_json** out,
                                               aimass_client_error** error) {
  return guarded(error, [&] { jsonCall(client, "GET", "/api/v1/datasets", nullptr, out); });
}

aimass_client_code aimass_client_get_dataset(aimass_client* client, const char* name,
                                             aimass_client_json** out,
                                             aimass_client_error** error) {
  return guarded(error, [&] {
    jsonCall(client, "GET", "/api/v1/datasets/" + segment(name, "the dataset name"), nullptr, out);
  });
}

aimass_client_code aimass_client_list_runs(aimass_client* client, const char* experiment,
                                           const char* filter, const char* status, const char* sort,
                                           int desc, int64_t limit, aimass_client_json** out,
                                           aimass_client_error** error) {
  return guarded(error, [&] {
    std::string query;
    auto add = [&query](const char* key, const std::string& value) {
      query += query.empty() ? '?' : '&';
      query += key;
      query += '=';
      query += encodePathSegment(value);
    };
    const std::pair<const char*, const char*> strings[] = {
        {"experiment", experiment}, {"filter", filter}, {"status", status}, {"sort", sort}};
    for (const auto& [key, value] : strings) {
      if (value) {
        add(key, value);
      }
    }
    if (desc) {
      add("desc", "true");
    }
    if (limit >= 0) {
      add("limit", std::to_string(limit));
    }
    jsonCall(client, "GET", "/api/v1/runs" + query, nullptr, out);
  });
}

aimass_client_code aimass_client_get_run(aimass_client* client, int64_t id,
                                         aimass_client_json** out, aimass_client_error** error) {
  return guarded(
      error, [&] { jsonCall(client, "GET", "/api/v1/runs/" + std::to_string(id), nullptr, out); });
}

aimass_client_code aimass_client_request_json(aimass_client* client, const char* method,
                                              const char* path, const char* json_body,
                                              aimass_client_json** out,
                                              aimass_client_error** error) {
  return guarded(error, [&] {
    require(method, "the method");
    require(path, "the path");
    std::string_view m(method);
    if (m != "GET" && m != "POST" && m != "PUT" && m != "PATCH" && m != "DELETE") {
      invalidArgument("method '" + std::string(m) + "' is not GET, POST, PUT, PATCH or DELETE");
    }
    if (path[0] != '/') {
      invalidArgument("path '" + std::string(path) + "' does not start with '/'");
    }
    std::string body = json_body ? json_body : "";
    jsonCall(client, method, path, json_body ? &body : nullptr, out);
  });
}

}  // extern "C"
