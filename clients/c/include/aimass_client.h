/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aimass_client.h: the C client of aimass (libaimass_client.so.1, C99).
 *
 * Speaks to frontend.http: OIP v2 inference (health, metadata, infer with the binary tensor
 * data extension), the /api/v1 registry, runs and datasets routes and the job service's
 * /api/v1/jobs, /api/v1/schedules and /api/v1/queues routes (docs/rest-api.md).
 *
 * ABI: every type is an opaque handle or an enum; only aimass_client_* symbols are exported;
 * the SONAME changes only when a function's signature or meaning does.
 *
 * Ownership: whatever a function hands out through an `out` pointer is the caller's, freed
 * with the matching *_free function (each accepts NULL). A `const char*` or handle read from
 * another object (a result's output, a document's value) lives as long as that object.
 *
 * Errors: every fallible function returns an aimass_client_code (AIMASS_CLIENT_OK is 0) and,
 * when `error` is not NULL, stores a new aimass_client_error there on failure (NULL on
 * success) with the code, the HTTP status (0 when no answer came) and a message: the server's
 * own "error" text, which names what was wrong, or the client's description. No function
 * aborts or throws; a NULL handle or argument where one is required is
 * AIMASS_CLIENT_INVALID_ARGUMENT.
 *
 * Threading: an aimass_client holds one connection and runs one call at a time. Use a client
 * from one thread at a time (one client per thread); different clients are independent.
 * Requests, results and documents may be read from several threads at once when nothing
 * changes them. The library initializes libcurl once, on the first aimass_client_create.
 */
#ifndef AIMASS_CLIENT_H
#define AIMASS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AIMASS_CLIENT_VERSION_MAJOR 1
#define AIMASS_CLIENT_VERSION_MINOR 1

/* ---- codes, datatypes, errors ---------------------------------------------------------- */

typedef enum aimass_client_code {
  AIMASS_CLIENT_OK = 0,
  AIMASS_CLIENT_INVALID_ARGUMENT = 1, /* the client refused an argument (named in the message) */
  AIMASS_CLIENT_CONNECTION = 2,       /* could not connect, or the connection was lost */
  AIMASS_CLIENT_TIMEOUT = 3,          /* no complete answer within the call's timeout */
  AIMASS_CLIENT_TLS = 4,              /* TLS handshake or certificate verification failed */
  AIMASS_CLIENT_HTTP = 5,             /* the server answered >= 400 (status and message) */
  AIMASS_CLIENT_PROTOCOL = 6,         /* the answer could not be understood */
  AIMASS_CLIENT_OUT_OF_MEMORY = 7,
  AIMASS_CLIENT_INTERNAL = 8
} aimass_client_code;

/* OIP v2 datatypes. Numeric data are little-endian, row-major; BOOL one byte (0 or 1); FP16
 * and BF16 their 2-byte encodings; BYTES elements are length-delimited byte strings. */
typedef enum aimass_client_datatype {
  AIMASS_CLIENT_INVALID_TYPE = 0,
  AIMASS_CLIENT_BOOL = 1,
  AIMASS_CLIENT_UINT8 = 2,
  AIMASS_CLIENT_UINT16 = 3,
  AIMASS_CLIENT_UINT32 = 4,
  AIMASS_CLIENT_UINT64 = 5,
  AIMASS_CLIENT_INT8 = 6,
  AIMASS_CLIENT_INT16 = 7,
  AIMASS_CLIENT_INT32 = 8,
  AIMASS_CLIENT_INT64 = 9,
  AIMASS_CLIENT_FP16 = 10,
  AIMASS_CLIENT_FP32 = 11,
  AIMASS_CLIENT_FP64 = 12,
  AIMASS_CLIENT_BF16 = 13,
  AIMASS_CLIENT_BYTES = 14
} aimass_client_datatype;

/* The OIP name ("FP32") of a datatype; "" for an invalid one. Static storage. */
const char* aimass_client_datatype_name(aimass_client_datatype type);
/* The datatype named `name`; AIMASS_CLIENT_INVALID_TYPE for an unknown name. */
aimass_client_datatype aimass_client_datatype_parse(const char* name);
/* Bytes per element; 0 for BYTES and invalid types. */
size_t aimass_client_datatype_size(aimass_client_datatype type);

/* A failure: code, HTTP status (0: no answer) and message. Owned by the caller. */
typedef struct aimass_client_error aimass_client_error;
aimass_client_code aimass_client_error_code(const aimass_client_error* error);
/* The HTTP status of the answer, 0 when none came (or `error` is NULL). */
int aimass_client_error_status(const aimass_client_error* error);
/* The message (never NULL; "" for a NULL error). */
const char* aimass_client_error_message(const aimass_client_error* error);
/* The body of the server's error answer as it came ("" when none). */
const char* aimass_client_error_body(const aimass_client_error* error);
void aimass_client_error_free(aimass_client_error* error);

/* ---- JSON documents: metadata and registry answers, read with typed accessors ---------- */

/* A parsed JSON answer (owned by the caller) and its values (owned by the document). */
typedef struct aimass_client_json aimass_client_json;
typedef struct aimass_client_value aimass_client_value;

typedef enum aimass_client_json_type {
  AIMASS_CLIENT_JSON_MISSING = 0, /* a NULL value: absent member or index out of range */
  AIMASS_CLIENT_JSON_NULL = 1,
  AIMASS_CLIENT_JSON_BOOL = 2,
  AIMASS_CLIENT_JSON_NUMBER = 3,
  AIMASS_CLIENT_JSON_STRING = 4,
  AIMASS_CLIENT_JSON_ARRAY = 5,
  AIMASS_CLIENT_JSON_OBJECT = 6
} aimass_client_json_type;

/* Parses `size` bytes of JSON text (depth at most 128); for answers kept elsewhere. */
aimass_client_code aimass_client_json_parse(const char* text, size_t size,
                                            aimass_client_json** out,
                                            aimass_client_error** error);
const aimass_client_value* aimass_client_json_root(const aimass_client_json* doc);
/* The document's text as it came (NUL-terminated). */
const char* aimass_client_json_text(const aimass_client_json* doc);
void aimass_client_json_free(aimass_client_json* doc);

/* Every accessor takes NULL (and then reports MISSING, 0, NULL or failure). */
aimass_client_json_type aimass_client_value_type(const aimass_client_value* value);
/* The member `key` of an object; NULL when absent or `value` is not an object. */
const aimass_client_value* aimass_client_value_get(const aimass_client_value* value,
                                                   const char* key);
/* Element count of an array, member count of an object, else 0. */
size_t aimass_client_value_size(const aimass_client_value* value);
/* Element `index` of an array or the value of member `index` of an object; NULL past the end. */
const aimass_client_value* aimass_client_value_at(const aimass_client_value* value, size_t index);
/* The name of member `index` of an object; NULL otherwise. */
const char* aimass_client_value_key_at(const aimass_client_value* value, size_t index);
/* A string's text (NUL-terminated; `length`, when not NULL, gets its byte count, which counts
 * embedded NULs); NULL when `value` is not a string. */
const char* aimass_client_value_string(const aimass_client_value* value, size_t* length);
/* 1 and *out set when `value` is a number that is an exact int64; else 0. */
int aimass_client_value_int64(const aimass_client_value* value, int64_t* out);
/* 1 and *out set when `value` is a number; else 0. */
int aimass_client_value_double(const aimass_client_value* value, double* out);
/* 1 and *out (0 or 1) set when `value` is true or false; else 0. */
int aimass_client_value_bool(const aimass_client_value* value, int* out);
/* Shortcuts: member `key` as a string (NULL when absent or not a string), as an integer
 * (`fallback` when absent or not an integer). */
const char* aimass_client_value_get_string(const aimass_client_value* value, const char* key);
int64_t aimass_client_value_get_int64(const aimass_client_value* value, const char* key,
                                      int64_t fallback);

/* ---- client options ---------------------------------------------------------------------- */

typedef struct aimass_client_options aimass_client_options;

/* Methods, for the retry policy's mask. */
#define AIMASS_CLIENT_METHOD_GET 1u
#define AIMASS_CLIENT_METHOD_HEAD 2u
#define AIMASS_CLIENT_METHOD_POST 4u
#define AIMASS_CLIENT_METHOD_PUT 8u
#define AIMASS_CLIENT_METHOD_PATCH 16u
#define AIMASS_CLIENT_METHOD_DELETE 32u

/* Defaults: no auth, timeout 30000 ms, TLS verified against the system CAs, retry policy
 * (3 retries, backoff 100 ms doubling up to 2000 ms, on 503, for GET and HEAD only). NULL on
 * out of memory. The setters copy their strings; a NULL string clears the setting. */
aimass_client_options* aimass_client_options_create(void);
void aimass_client_options_free(aimass_client_options* options);
/* X-API-Key: `key`. Give an API key or a bearer token, not both. */
aimass_client_code aimass_client_options_set_api_key(aimass_client_options* options,
                                                     const char* key);
/* Authorization: Bearer `token` (a JWT). */
aimass_client_code aimass_client_options_set_bearer_token(aimass_client_options* options,
                                                          const char* token);
/* Bounds each call (connect, send, answer); > 0. A call's own timeout overrides it. */
aimass_client_code aimass_client_options_set_timeout_ms(aimass_client_options* options,
                                                        long timeout_ms);
/* TLS (https:// URLs): a PEM CA bundle to trust instead of the system's. */
aimass_client_code aimass_client_options_set_ca_file(aimass_client_options* options,
                                                     const char* path);
/* TLS: a PEM client certificate and its unencrypted PEM private key (mutual TLS). */
aimass_client_code aimass_client_options_set_client_certificate(aimass_client_options* options,
                                                                const char* cert_path,
                                                                const char* key_path);
/* TLS: verify = 0 turns certificate and host name verification off (tests only). */
aimass_client_code aimass_client_options_set_verify(aimass_client_options* options, int verify);
/* Retries: an answer whose status is in the retry statuses to a request whose method is in
 * `methods` (AIMASS_CLIENT_METHOD_* bits) is sent again up to `retries` times, waiting
 * backoff_ms * 2^attempt (at most max_backoff_ms) before each. retries = 0 turns retries off. */
aimass_client_code aimass_client_options_set_retry(aimass_client_options* options, int retries,
                                                   long backoff_ms, long max_backoff_ms,
                                                   unsigned methods);
/* The statuses retried (default {503}); count 0 retries none. */
aimass_client_code aimass_client_options_set_retry_statuses(aimass_client_options* options,
                                                            const int* statuses, size_t count);

/* ---- the client -------------------------------------------------------------------------- */

typedef struct aimass_client aimass_client;

/* A client of the server at `base_url` ("http://127.0.0.1:8080", "https://host:8443/prefix").
 * `options` may be NULL (defaults) and is copied. No connection is made yet: the first call
 * connects, and later calls reuse that keep-alive connection (reconnecting when the server
 * closed it). */
aimass_client_code aimass_client_create(const char* base_url, const aimass_client_options* options,
                                        aimass_client** out, aimass_client_error** error);
void aimass_client_free(aimass_client* client);

/* Health: *ready is 1 on 200, 0 on 404 or 5xx (a probe reports what it finds and is never
 * retried); any other failure (no answer, 401, ...) is an error. */
aimass_client_code aimass_client_live(aimass_client* client, int* live,
                                      aimass_client_error** error);
aimass_client_code aimass_client_ready(aimass_client* client, int* ready,
                                       aimass_client_error** error);
/* `version` may be NULL (the default version). */
aimass_client_code aimass_client_model_ready(aimass_client* client, const char* model,
                                             const char* version, int* ready,
                                             aimass_client_error** error);

/* GET /v2: {"name", "version", "extensions": [...]}. */
aimass_client_code aimass_client_server_metadata(aimass_client* client, aimass_client_json** out,
                                                 aimass_client_error** error);
/* GET /v2/models/{model}[/versions/{version}]: {"name", "versions", "platform", "inputs":
 * [{"name", "datatype", "shape"}], "outputs": [...], "parameters"}. */
aimass_client_code aimass_client_model_metadata(aimass_client* client, const char* model,
                                                const char* version, aimass_client_json** out,
                                                aimass_client_error** error);

/* ---- inference requests --------------------------------------------------------------- */

typedef struct aimass_client_request aimass_client_request;

/* An empty request (binary by default). NULL on out of memory. */
aimass_client_request* aimass_client_request_create(void);
void aimass_client_request_free(aimass_client_request* request);
/* Empties the request (inputs, outputs, id, parameters) keeping its buffers, to build the
 * next one without allocating again. */
void aimass_client_request_clear(aimass_client_request* request);

/* Adds a numeric input: `data` holds byte_size bytes of little-endian `type` elements
 * (copied), which must be exactly what `shape` (rank dimensions, each >= 0) holds. */
aimass_client_code aimass_client_request_add_input(aimass_client_request* request,
                                                   const char* name, aimass_client_datatype type,
                                                   const int64_t* shape, size_t rank,
                                                   const void* data, size_t byte_size,
                                                   aimass_client_error** error);
/* Adds a BYTES input of `count` elements: elements[i] has lengths[i] bytes (lengths may be
 * NULL for NUL-terminated strings). */
aimass_client_code aimass_client_request_add_bytes_input(aimass_client_request* request,
                                                         const char* name, const int64_t* shape,
                                                         size_t rank,
                                                         const char* const* elements,
                                                         const size_t* lengths, size_t count,
                                                         aimass_client_error** error);
/* Asks for output `name`; outputs come in the order asked. None asked: every output. */
aimass_client_code aimass_client_request_add_output(aimass_client_request* request,
                                                    const char* name,
                                                    aimass_client_error** error);
/* The request id echoed by the answer (NULL: none). */
aimass_client_code aimass_client_request_set_id(aimass_client_request* request, const char* id,
                                                aimass_client_error** error);
/* binary = 1 (default): numeric and BYTES inputs travel with the binary tensor data extension
 * and every output is asked for in binary; 0: plain JSON both ways. */
aimass_client_code aimass_client_request_set_binary(aimass_client_request* request, int binary);
/* Bounds this call; 0 (default) means the client's timeout. */
aimass_client_code aimass_client_request_set_timeout_ms(aimass_client_request* request,
                                                        long timeout_ms);
/* Request parameters passed to the model (top_k, ...); setting a key again replaces it. */
aimass_client_code aimass_client_request_set_parameter_string(aimass_client_request* request,
                                                              const char* key, const char* value,
                                                              aimass_client_error** error);
aimass_client_code aimass_client_request_set_parameter_int64(aimass_client_request* request,
                                                             const char* key, int64_t value,
                                                             aimass_client_error** error);
aimass_client_code aimass_client_request_set_parameter_double(aimass_client_request* request,
                                                              const char* key, double value,
                                                              aimass_client_error** error);
aimass_client_code aimass_client_request_set_parameter_bool(aimass_client_request* request,
                                                            const char* key, int value,
                                                            aimass_client_error** error);

/* Encodes the request as the body infer() sends, without sending it: *body (owned by the
 * request, valid until it changes or is freed), *body_size, and *header_length, the length
 * of the JSON header (equal to *body_size for a plain JSON body; otherwise the value of the
 * Inference-Header-Content-Length header). */
aimass_client_code aimass_client_request_encode(aimass_client_request* request, const char** body,
                                                size_t* body_size, size_t* header_length,
                                                aimass_client_error** error);

/* ---- inference results -------------------------------------------------------------------- */

typedef struct aimass_client_result aimass_client_result;
typedef struct aimass_client_output aimass_client_output;

/* POST /v2/models/{model}[/versions/{version}]/infer (version may be NULL). The request is
 * encoded into its own buffer (hence not const) and stays as it was built, so it may be sent
 * again. Never retried unless the retry policy's methods include POST. */
aimass_client_code aimass_client_infer(aimass_client* client, const char* model,
                                       const char* version, aimass_client_request* request,
                                       aimass_client_result** out, aimass_client_error** error);

/* Decodes an infer answer without a server: `body` of `size` bytes whose first header_length
 * bytes are the JSON header (header_length = size for a plain JSON answer). A malformed answer,
 * or header_length past the body, is AIMASS_CLIENT_PROTOCOL naming what was wrong. */
aimass_client_code aimass_client_result_decode(const char* body, size_t size, size_t header_length,
                                               aimass_client_result** out,
                                               aimass_client_error** error);
void aimass_client_result_free(aimass_client_result* result);

const char* aimass_client_result_model_name(const aimass_client_result* result);
const char* aimass_client_result_model_version(const aimass_client_result* result);
/* The answer's id; NULL when it has none. */
const char* aimass_client_result_id(const aimass_client_result* result);
size_t aimass_client_result_output_count(const aimass_client_result* result);
/* Output `index` in the answer's order; NULL past the end. */
const aimass_client_output* aimass_client_result_output(const aimass_client_result* result,
                                                        size_t index);
/* The output named `name`; NULL when the answer has none. */
const aimass_client_output* aimass_client_result_find_output(const aimass_client_result* result,
                                                             const char* name);

const char* aimass_client_output_name(const aimass_client_output* output);
aimass_client_datatype aimass_client_output_datatype(const aimass_client_output* output);
size_t aimass_client_output_rank(const aimass_client_output* output);
/* The shape (rank values); NULL for rank 0. */
const int64_t* aimass_client_output_shape(const aimass_client_output* output);
size_t aimass_client_output_element_count(const aimass_client_output* output);
/* A numeric output's data: little-endian elements of its datatype, aligned for it, as binary
 * tensor data or converted from JSON values; *byte_size (when not NULL) gets their size. NULL
 * for BYTES. */
const void* aimass_client_output_data(const aimass_client_output* output, size_t* byte_size);
/* Element `index` of a BYTES output (*length gets its size; not NUL-terminated in general,
 * though a NUL follows it); NULL past the end or for other datatypes. */
const char* aimass_client_output_bytes_at(const aimass_client_output* output, size_t index,
                                          size_t* length);
/* 1 when the output came as binary tensor data, 0 when as JSON. */
int aimass_client_output_binary(const aimass_client_output* output);

/* ---- /api/v1: registry, datasets, runs (docs/rest-api.md) ------------------------------- */

/* Each answers a document whose root is what docs/openapi.yaml names: */
/* GET /api/v1/models: an array of ModelSummary {model, versions, latest, aliases}. */
aimass_client_code aimass_client_list_models(aimass_client* client, aimass_client_json** out,
                                             aimass_client_error** error);
/* GET /api/v1/models/{model}: RegisteredModel {model, aliases, versions: [ModelVersion]}. */
aimass_client_code aimass_client_get_model(aimass_client* client, const char* model,
                                           aimass_client_json** out, aimass_client_error** error);
/* GET /api/v1/models/{model}/versions/{version}: ModelVersion {model, version, artifact,
 * sha256, type, created_unix_ms, metrics, tags, aliases, dataset?}. */
aimass_client_code aimass_client_get_model_version(aimass_client* client, const char* model,
                                                   int64_t version, aimass_client_json** out,
                                                   aimass_client_error** error);
/* POST .../aliases/{alias} {"version"}: ModelAlias {model, alias, version, history}. */
aimass_client_code aimass_client_promote(aimass_client* client, const char* model,
                                         const char* alias, int64_t version,
                                         aimass_client_json** out, aimass_client_error** error);
/* POST .../aliases/{alias}/rollback: ModelAlias (HTTP 409 when it has no earlier target). */
aimass_client_code aimass_client_rollback(aimass_client* client, const char* model,
                                          const char* alias, aimass_client_json** out,
                                          aimass_client_error** error);
/* PUT .../versions/{version}/tags: replaces the tag set with keys[i] = values[i]: ModelVersion. */
aimass_client_code aimass_client_set_tags(aimass_client* client, const char* model,
                                          int64_t version, const char* const* keys,
                                          const char* const* values, size_t count,
                                          aimass_client_json** out, aimass_client_error** error);
/* PATCH .../versions/{version}/tags: sets keys[i] = values[i] and removes remove[j], in one
 * atomic change: ModelVersion. */
aimass_client_code aimass_client_update_tags(aimass_client* client, const char* model,
                                             int64_t version, const char* const* keys,
                                             const char* const* values, size_t count,
                                             const char* const* remove, size_t remove_count,
                                             aimass_client_json** out,
                                             aimass_client_error** error);
/* GET /api/v1/datasets: [DatasetSummary {name, versions, latest: DatasetVersion}]. */
aimass_client_code aimass_client_list_datasets(aimass_client* client, aimass_client_json** out,
                                               aimass_client_error** error);
/* GET /api/v1/datasets/{name}: RegisteredDataset {name, versions: [DatasetVersion]}. */
aimass_client_code aimass_client_get_dataset(aimass_client* client, const char* name,
                                             aimass_client_json** out,
                                             aimass_client_error** error);
/* GET /api/v1/runs: RunList {matched, runs: [Run]}. Each string may be NULL (not filtered);
 * `filter` such as "val_accuracy>0.8"; desc != 0 sorts descending; limit < 0: no limit. */
aimass_client_code aimass_client_list_runs(aimass_client* client, const char* experiment,
                                           const char* filter, const char* status,
                                           const char* sort, int desc, int64_t limit,
                                           aimass_client_json** out, aimass_client_error** error);
/* GET /api/v1/runs/{id}: RunDetails (metrics: {name: {last, last_step, min, max, points}}). */
aimass_client_code aimass_client_get_run(aimass_client* client, int64_t id,
                                         aimass_client_json** out, aimass_client_error** error);

/* Any JSON route (one without a call of its own here, such as monitoring): `method` "GET", "POST", "PUT",
 * "PATCH" or "DELETE", `path` from the server root ("/api/v1/..."), `json_body` NULL or JSON
 * text. *out gets the answer's document (NULL for an empty answer). Retried per the policy. */
aimass_client_code aimass_client_request_json(aimass_client* client, const char* method,
                                              const char* path, const char* json_body,
                                              aimass_client_json** out,
                                              aimass_client_error** error);


/* ---- /api/v1/jobs and /api/v1/queues: the job service (docs/jobs.md) -------------------- */

/* What POST /api/v1/jobs submits: a graph's YAML text (required) and, each optional, what the
 * setters name; an unset one takes the server's default. Owned by the caller. */
typedef struct aimass_client_job_submission aimass_client_job_submission;
/* A submission of the graph `config_yaml` (copied); NULL when config_yaml is NULL or on out
 * of memory. */
aimass_client_job_submission* aimass_client_job_submission_create(const char* config_yaml);
void aimass_client_job_submission_free(aimass_client_job_submission* submission);
/* The name the job's errors and listing give the graph (a file name such as "train.yaml"). */
aimass_client_code aimass_client_job_submission_set_config_name(
    aimass_client_job_submission* submission, const char* config_name);
/* The queue (default the service's first). */
aimass_client_code aimass_client_job_submission_set_queue(aimass_client_job_submission* submission,
                                                          const char* queue);
aimass_client_code aimass_client_job_submission_set_priority(
    aimass_client_job_submission* submission, int64_t priority);
aimass_client_code aimass_client_job_submission_set_threads(
    aimass_client_job_submission* submission, int64_t threads);
/* Memory as the server reads it: "512MiB", "2GiB" or a byte count such as "1048576". */
aimass_client_code aimass_client_job_submission_set_memory(aimass_client_job_submission* submission,
                                                           const char* memory);
aimass_client_code aimass_client_job_submission_set_memory_bytes(
    aimass_client_job_submission* submission, int64_t memory_bytes);
aimass_client_code aimass_client_job_submission_set_gpus(aimass_client_job_submission* submission,
                                                         int64_t gpus);
/* MPI ranks (default 1); threads, memory and gpus are then per rank. A job of several ranks
 * needs a graph with a collective.mpi node its job uses, else the server refuses it (HTTP 400
 * naming what is missing; docs/jobs.md "Jobs of several ranks"). */
aimass_client_code aimass_client_job_submission_set_ranks(aimass_client_job_submission* submission,
                                                          int64_t ranks);
/* preemptible != 0: the job may be stopped and requeued for a job of a higher priority. */
aimass_client_code aimass_client_job_submission_set_preemptible(
    aimass_client_job_submission* submission, int preemptible);

/* One job (Job of docs/openapi.yaml). An aimass_client_job handed out through `out` is the
 * caller's (aimass_client_job_free); one read from a list lives as long as the list. */
typedef struct aimass_client_job aimass_client_job;
typedef struct aimass_client_job_list aimass_client_job_list;

/* POST /api/v1/jobs: the queued job (HTTP 400 naming the graph's FILE:LINE:COL errors, or a
 * job larger than its queue could ever give; 404 for an unknown queue). Never retried unless
 * the retry policy's methods include POST. */
aimass_client_code aimass_client_submit_job(aimass_client* client,
                                            const aimass_client_job_submission* submission,
                                            aimass_client_job** out, aimass_client_error** error);
/* GET /api/v1/jobs: the jobs by id; each of state ("queued", "running", "succeeded",
 * "failed", "cancelled"), queue and owner may be NULL (not filtered). */
aimass_client_code aimass_client_list_jobs(aimass_client* client, const char* state,
                                           const char* queue, const char* owner,
                                           aimass_client_job_list** out,
                                           aimass_client_error** error);
/* GET /api/v1/jobs/{id} (HTTP 404 for an unknown id). */
aimass_client_code aimass_client_get_job(aimass_client* client, int64_t id,
                                         aimass_client_job** out, aimass_client_error** error);
/* POST /api/v1/jobs/{id}/cancel: the job as the cancel left it (HTTP 409 when it has ended). */
aimass_client_code aimass_client_cancel_job(aimass_client* client, int64_t id,
                                            aimass_client_job** out, aimass_client_error** error);
/* GET /api/v1/jobs/{id}/log: the end of the job's log, at most `bytes` bytes (bytes <= 0: the
 * server's default, 65536). *out gets NUL-terminated text freed with aimass_client_text_free,
 * *size (when not NULL) its byte count. */
aimass_client_code aimass_client_job_log(aimass_client* client, int64_t id, int64_t bytes,
                                         char** out, size_t* size, aimass_client_error** error);
void aimass_client_text_free(char* text);

size_t aimass_client_job_list_size(const aimass_client_job_list* list);
/* Job `index`; NULL past the end. */
const aimass_client_job* aimass_client_job_list_at(const aimass_client_job_list* list,
                                                   size_t index);
void aimass_client_job_list_free(aimass_client_job_list* list);
void aimass_client_job_free(aimass_client_job* job);

/* A job's fields (0 or "" for a NULL job). Times are Unix milliseconds, 0 when not yet. */
int64_t aimass_client_job_id(const aimass_client_job* job);
/* "queued", "running", "succeeded", "failed" or "cancelled". */
const char* aimass_client_job_state(const aimass_client_job* job);
const char* aimass_client_job_queue(const aimass_client_job* job);
const char* aimass_client_job_owner(const aimass_client_job* job);
int64_t aimass_client_job_priority(const aimass_client_job* job);
/* What the job asked for; each pointer may be NULL. */
void aimass_client_job_resources(const aimass_client_job* job, int64_t* threads,
                                 int64_t* memory_bytes, int64_t* gpus);
int aimass_client_job_preemptible(const aimass_client_job* job);
const char* aimass_client_job_config_name(const aimass_client_job* job);
/* Why it failed, was cancelled, preempted or requeued ("" when nothing was said). */
const char* aimass_client_job_reason(const aimass_client_job* job);
int64_t aimass_client_job_attempts(const aimass_client_job* job);
int64_t aimass_client_job_submitted_unix_ms(const aimass_client_job* job);
/* Of the last attempt. */
int64_t aimass_client_job_started_unix_ms(const aimass_client_job* job);
int64_t aimass_client_job_finished_unix_ms(const aimass_client_job* job);
int aimass_client_job_cancel_requested(const aimass_client_job* job);
/* The running worker's process id; 0 when none. */
int64_t aimass_client_job_worker_pid(const aimass_client_job* job);
/* Its MPI ranks (1 for a job of one process); the resources are per rank. */
int64_t aimass_client_job_ranks(const aimass_client_job* job);
/* The batch system's id of the job (the Slurm job id under launcher: slurm); "" when none. */
const char* aimass_client_job_external_id(const aimass_client_job* job);
/* The schedule that submitted the job; 0 for a job submitted directly. */
int64_t aimass_client_job_schedule_id(const aimass_client_job* job);
/* The ids of the tracked runs the job made, in its graph's own store. */
size_t aimass_client_job_run_count(const aimass_client_job* job);
/* Run `index`'s id; 0 past the end. */
int64_t aimass_client_job_run_at(const aimass_client_job* job, size_t index);

/* The queues of the job service: quota, what they use, jobs waiting and running. */
typedef struct aimass_client_queue aimass_client_queue;
typedef struct aimass_client_queue_list aimass_client_queue_list;

/* Which resources of a queue aimass_client_queue_resources reads. */
typedef enum aimass_client_queue_quota {
  AIMASS_CLIENT_QUEUE_NOMINAL = 0,         /* its own quota */
  AIMASS_CLIENT_QUEUE_BORROWING_LIMIT = 1, /* the most it may borrow from its cohort */
  AIMASS_CLIENT_QUEUE_USED = 2             /* what its running jobs hold now */
} aimass_client_queue_quota;

/* GET /api/v1/queues, by name. */
aimass_client_code aimass_client_list_queues(aimass_client* client,
                                             aimass_client_queue_list** out,
                                             aimass_client_error** error);
size_t aimass_client_queue_list_size(const aimass_client_queue_list* list);
/* Queue `index`; NULL past the end. It lives as long as the list. */
const aimass_client_queue* aimass_client_queue_list_at(
    const aimass_client_queue_list* list, size_t index);
void aimass_client_queue_list_free(aimass_client_queue_list* list);
/* Frees a queue handed out through `out` (aimass_client_update_queue); never one read from a
 * list. */
void aimass_client_queue_free(aimass_client_queue* queue);

const char* aimass_client_queue_name(const aimass_client_queue* queue);
/* "" when it is in no cohort. */
const char* aimass_client_queue_cohort(const aimass_client_queue* queue);
/* "fifo" or "fair_share". */
const char* aimass_client_queue_ordering(const aimass_client_queue* queue);
/* Stores the resources `which` names (each pointer may be NULL) and returns 1; returns 0 and
 * stores nothing when the queue has no such limit (a borrowing limit that is what the cohort
 * leaves) or `queue` is NULL. */
int aimass_client_queue_resources(const aimass_client_queue* queue,
                                      aimass_client_queue_quota which, int64_t* threads,
                                      int64_t* memory_bytes, int64_t* gpus);
/* The most jobs it runs at once; 0: no limit. */
int64_t aimass_client_queue_max_running(const aimass_client_queue* queue);
int64_t aimass_client_queue_waiting(const aimass_client_queue* queue);
int64_t aimass_client_queue_running(const aimass_client_queue* queue);

/* ---- PUT /api/v1/queues/{name}: an admin's edit of a queue (docs/jobs.md) ---------------- */

/* What PUT /api/v1/queues/{name} changes: only the members set, at least one. Owned by the
 * caller. */
typedef struct aimass_client_queue_update aimass_client_queue_update;
/* An update that sets nothing yet; NULL on out of memory. */
aimass_client_queue_update* aimass_client_queue_update_create(void);
void aimass_client_queue_update_free(aimass_client_queue_update* update);
/* Each setter returns AIMASS_CLIENT_INVALID_ARGUMENT for a NULL update; a text setter given
 * NULL unsets its member. The nominal quota: */
aimass_client_code aimass_client_queue_update_set_threads(aimass_client_queue_update* update,
                                                          int64_t threads);
/* Memory as the server reads it ("16GiB" or a byte count as text); replaces set_memory_bytes. */
aimass_client_code aimass_client_queue_update_set_memory(aimass_client_queue_update* update,
                                                         const char* memory);
aimass_client_code aimass_client_queue_update_set_memory_bytes(aimass_client_queue_update* update,
                                                               int64_t memory_bytes);
aimass_client_code aimass_client_queue_update_set_gpus(aimass_client_queue_update* update,
                                                       int64_t gpus);
/* The most it may borrow from its cohort; a negative value removes the limit (JSON null: it
 * may borrow all the cohort lends). */
aimass_client_code aimass_client_queue_update_set_borrow_threads(
    aimass_client_queue_update* update, int64_t threads);
/* As set_memory; replaces set_borrow_memory_bytes. */
aimass_client_code aimass_client_queue_update_set_borrow_memory(
    aimass_client_queue_update* update, const char* memory);
aimass_client_code aimass_client_queue_update_set_borrow_memory_bytes(
    aimass_client_queue_update* update, int64_t memory_bytes);
aimass_client_code aimass_client_queue_update_set_borrow_gpus(aimass_client_queue_update* update,
                                                              int64_t gpus);
/* The most jobs it runs at once; 0: no limit. */
aimass_client_code aimass_client_queue_update_set_max_running(aimass_client_queue_update* update,
                                                              int64_t max_running);
/* "fifo" or "fair_share". */
aimass_client_code aimass_client_queue_update_set_ordering(aimass_client_queue_update* update,
                                                           const char* ordering);
/* strict_fifo != 0: a job that does not fit holds back the jobs behind it. */
aimass_client_code aimass_client_queue_update_set_strict_fifo(aimass_client_queue_update* update,
                                                              int strict_fifo);

/* PUT /api/v1/queues/{name}: edits the queue while the service runs (kept in its store) and
 * hands out the queue as edited (aimass_client_queue_free). Admins only (HTTP 403 otherwise);
 * 404 for an unknown queue, 400 for a bad value. AIMASS_CLIENT_INVALID_ARGUMENT, without a
 * request, when `update` sets nothing. Retried per the policy (PUT is idempotent). */
aimass_client_code aimass_client_update_queue(aimass_client* client, const char* name,
                                              const aimass_client_queue_update* update,
                                              aimass_client_queue** out,
                                              aimass_client_error** error);

/* ---- /api/v1/schedules: jobs submitted at the times of a cron expression (docs/jobs.md) -- */

/* One schedule (JobSchedule of docs/openapi.yaml). One handed out through `out` is the
 * caller's (aimass_client_schedule_free); one read from a list lives as long as the list. */
typedef struct aimass_client_schedule aimass_client_schedule;
typedef struct aimass_client_schedule_list aimass_client_schedule_list;

/* POST /api/v1/schedules: submits `job` (not kept; its ranks are sent but not reported back by
 * the schedule's JSON) at each time of `cron`, a cron expression in UTC ("30 3 * * mon-fri",
 * "@daily"). `overlap` says what a firing does while the schedule's last job has not ended:
 * "skip" (NULL: the server's default), "queue" or "replace"; `name` may be NULL. HTTP 400
 * naming a bad cron field or overlap, 404 for an unknown queue. Never retried unless the
 * retry policy's methods include POST. */
aimass_client_code aimass_client_create_schedule(aimass_client* client,
                                                 const aimass_client_job_submission* job,
                                                 const char* cron, const char* overlap,
                                                 const char* name, aimass_client_schedule** out,
                                                 aimass_client_error** error);
/* GET /api/v1/schedules, by id. */
aimass_client_code aimass_client_list_schedules(aimass_client* client,
                                                aimass_client_schedule_list** out,
                                                aimass_client_error** error);
/* GET /api/v1/schedules/{id} (HTTP 404 for an unknown id). */
aimass_client_code aimass_client_get_schedule(aimass_client* client, int64_t id,
                                              aimass_client_schedule** out,
                                              aimass_client_error** error);
/* DELETE /api/v1/schedules/{id}: its owner or an admin (HTTP 403 otherwise; 404 for an unknown
 * id); the jobs it submitted stay. *out (when `out` is not NULL) gets the schedule as it was. */
aimass_client_code aimass_client_delete_schedule(aimass_client* client, int64_t id,
                                                 aimass_client_schedule** out,
                                                 aimass_client_error** error);

size_t aimass_client_schedule_list_size(const aimass_client_schedule_list* list);
/* Schedule `index`; NULL past the end. */
const aimass_client_schedule* aimass_client_schedule_list_at(
    const aimass_client_schedule_list* list, size_t index);
void aimass_client_schedule_list_free(aimass_client_schedule_list* list);
void aimass_client_schedule_free(aimass_client_schedule* schedule);

/* A schedule's fields (0 or "" for a NULL schedule). Times are Unix milliseconds, 0 when not
 * yet (last_fire before the first firing). */
int64_t aimass_client_schedule_id(const aimass_client_schedule* schedule);
const char* aimass_client_schedule_name(const aimass_client_schedule* schedule);
const char* aimass_client_schedule_cron(const aimass_client_schedule* schedule);
/* "skip", "queue" or "replace". */
const char* aimass_client_schedule_overlap(const aimass_client_schedule* schedule);
/* The queue, owner, priority, resources, preemptible and config name of the jobs it submits. */
const char* aimass_client_schedule_queue(const aimass_client_schedule* schedule);
const char* aimass_client_schedule_owner(const aimass_client_schedule* schedule);
int64_t aimass_client_schedule_priority(const aimass_client_schedule* schedule);
/* Each pointer may be NULL. */
void aimass_client_schedule_resources(const aimass_client_schedule* schedule, int64_t* threads,
                                      int64_t* memory_bytes, int64_t* gpus);
int aimass_client_schedule_preemptible(const aimass_client_schedule* schedule);
const char* aimass_client_schedule_config_name(const aimass_client_schedule* schedule);
int64_t aimass_client_schedule_created_unix_ms(const aimass_client_schedule* schedule);
int64_t aimass_client_schedule_next_fire_unix_ms(const aimass_client_schedule* schedule);
int64_t aimass_client_schedule_last_fire_unix_ms(const aimass_client_schedule* schedule);
/* The id of the job its last firing submitted; 0 when none. */
int64_t aimass_client_schedule_last_job(const aimass_client_schedule* schedule);
/* How many firings submitted a job, and how many were skipped (overlap "skip"). */
int64_t aimass_client_schedule_fires(const aimass_client_schedule* schedule);
int64_t aimass_client_schedule_skips(const aimass_client_schedule* schedule);
/* What its last firing did ("" before the first). */
const char* aimass_client_schedule_last_result(const aimass_client_schedule* schedule);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* AIMASS_CLIENT_H */
