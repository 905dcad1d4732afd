// SPDX-License-Identifier: Apache-2.0
// The client: OIP v2 health, metadata and inference, and the /api/v1 registry, runs, datasets
// and job service, over fetch.

import { type EncodeOptions, InferResult, decodeInferResponse, encodeInferRequest } from "./codec.js";
import { AimassError } from "./errors.js";
import {
  type Job, type JobLogChunk, type JobQuery, type JobQueue, type JobSchedule, type JobSubmission,
  type QueueUpdate, type ScheduleOptions, jobRequest, scheduleRequest,
} from "./jobs.js";
import { type Tensor, type TensorData, flatTensor } from "./tensors.js";
import {
  type CallOptions, NO_RETRY, Transport, type TransportOptions, quote,
} from "./transport.js";
import type {
  DatasetSummary, MetricHistory, MetricQuery, ModelAlias, ModelMetadata, ModelSummary,
  ModelVersion, RegisteredDataset, RegisteredModel, RunDetails, RunList, RunQuery, ServerMetadata,
} from "./types.js";

export type ClientOptions = TransportOptions;

/** A model's version: a number, or a version string such as an alias. */
export type Version = number | string;

/** Inputs of infer(): by name (datatypes and shapes from the model's metadata, fetched once and
 *  cached), with data alone or a partial Tensor; or a list of Tensors, sent as they are. */
export type Inputs =
  | Readonly<Record<string, TensorData | Omit<Tensor, "name">>>
  | readonly Tensor[];

export interface InferOptions extends EncodeOptions, CallOptions {
  version?: Version;
}

function modelPath(model: string, version?: Version): string {
  const path = `/v2/models/${quote(model)}`;
  return version === undefined ? path : `${path}/versions/${quote(version)}`;
}

function checked<T>(value: unknown, kind: "object" | "array", what: string): T {
  const ok = kind === "array" ? Array.isArray(value)
                              : typeof value === "object" && value !== null && !Array.isArray(value);
  if (!ok) throw new AimassError(null, `the answer to ${what} is not a JSON ${kind}`);
  return value as T;
}

/**
 * A client of one aimass server (`baseUrl` such as "http://127.0.0.1:8080").
 *
 * Holds no connection of its own (fetch pools them), so one Client serves any number of
 * concurrent calls. Every failure rejects with an AimassError. Auth: `apiKey` or `token`; HTTPS
 * trust is the platform's (docs/clients.md: NODE_EXTRA_CA_CERTS for a private CA in Node).
 */
export class Client {
  private readonly transport: Transport;
  private readonly metadata = new Map<string, Promise<ModelMetadata>>();

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.transport = new Transport(baseUrl, options);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  // ---- OIP v2: health and metadata ----------------------------------------------------------

  /** True on 200, false on 404 or 5xx (never retried: a probe reports what it finds); any
   *  other failure (no answer, 401, 403) rejects. */
  private async ok(path: string, call: CallOptions): Promise<boolean> {
    try {
      await this.transport.request("GET", path, { ...call, retry: NO_RETRY });
      return true;
    } catch (error) {
      if (error instanceof AimassError && error.status !== null &&
          (error.status === 404 || error.status >= 500)) {
        return false;
      }
      throw error;
    }
  }

  /** GET /v2/health/live. */
  live(call: CallOptions = {}): Promise<boolean> {
    return this.ok("/v2/health/live", call);
  }

  /** GET /v2/health/ready: whether every served model is ready. */
  ready(call: CallOptions = {}): Promise<boolean> {
    return this.ok("/v2/health/ready", call);
  }

  /** Whether `model` (version) is ready; false for an unknown one. */
  modelReady(model: string, version?: Version, call: CallOptions = {}): Promise<boolean> {
    return this.ok(`${modelPath(model, version)}/ready`, call);
  }

  /** GET /v2: name, version, extensions. */
  async serverMetadata(call: CallOptions = {}): Promise<ServerMetadata> {
    return checked(await this.transport.json("GET", "/v2", undefined, call), "object", "GET /v2");
  }

  /** GET /v2/models/{model}[/versions/{v}]: name, versions, platform, inputs, outputs. */
  async modelMetadata(model: string, version?: Version,
                      call: CallOptions = {}): Promise<ModelMetadata> {
    const path = modelPath(model, version);
    return checked(await this.transport.json("GET", path, undefined, call), "object", path);
  }

  // ---- OIP v2: inference --------------------------------------------------------------------

  private async tensorsOf(model: string, version: Version | undefined,
                          inputs: Inputs): Promise<Tensor[]> {
    if (Array.isArray(inputs)) return [...(inputs as readonly Tensor[])];
    const key = `${model}/${version ?? ""}`;
    let pending = this.metadata.get(key);
    if (pending === undefined) {
      pending = this.modelMetadata(model, version);
      this.metadata.set(key, pending);
      pending.catch(() => this.metadata.delete(key));
    }
    const meta = await pending;
    const declared = new Map((meta.inputs ?? []).map((i) => [i.name, i]));
    return Object.entries(inputs as Record<string, TensorData | Omit<Tensor, "name">>)
        .map(([name, value]) => {
          const given: Tensor = ArrayBuffer.isView(value) || Array.isArray(value)
              ? { name, data: value as TensorData } : { name, ...(value as Omit<Tensor, "name">) };
          const spec = declared.get(name);
          if (spec === undefined) return given;
          return flatTensor({ ...given, datatype: given.datatype ?? spec.datatype }, spec.shape);
        });
  }

  /**
   * POST /v2/models/{model}[/versions/{v}]/infer. Numeric inputs go as binary tensor data and
   * the outputs come back binary unless `binary: false`; `outputs` picks outputs and their
   * order; `requestId` comes back as the result's id. Never retried (not idempotent).
   */
  async infer(model: string, inputs: Inputs, options: InferOptions = {}): Promise<InferResult> {
    const tensors = await this.tensorsOf(model, options.version, inputs);
    const { body, headers } = encodeInferRequest(tensors, options);
    const path = `${modelPath(model, options.version)}/infer`;
    const call: Parameters<Transport["request"]>[2] = { body, headers };
    if (options.timeoutMs !== undefined) call.timeoutMs = options.timeoutMs;
    if (options.signal !== undefined) call.signal = options.signal;
    const answer = await this.transport.request("POST", path, call);
    const length = answer.headers.get("inference-header-content-length");
    let headerLength: number | null = null;
    if (length !== null) {
      headerLength = /^\d+$/.test(length) ? Number(length) : NaN;
    }
    try {
      return decodeInferResponse(answer.body, headerLength);
    } catch (error) {
      if (!(error instanceof AimassError)) throw error;
      throw new AimassError(answer.status, error.message, null, "POST", path);
    }
  }

  // ---- /api/v1: registry, datasets, runs ----------------------------------------------------

  private async object<T>(method: string, path: string, payload?: unknown,
                          call: CallOptions = {}): Promise<T> {
    return checked<T>(await this.transport.json(method, path, payload, call), "object",
                      `${method} ${path}`);
  }

  async listModels(call: CallOptions = {}): Promise<ModelSummary[]> {
    return checked(await this.transport.json("GET", "/api/v1/models", undefined, call), "array",
                   "GET /api/v1/models");
  }

  getModel(model: string, call: CallOptions = {}): Promise<RegisteredModel> {
    return this.object("GET", `/api/v1/models/${quote(model)}`, undefined, call);
  }

  getModelVersion(model: string, version: number, call: CallOptions = {}): Promise<ModelVersion> {
    return this.object("GET", `/api/v1/models/${quote(model)}/versions/${quote(version)}`,
                       undefined, call);
  }

  /** Points `alias` at `version` (POST .../aliases/{alias}). */
  promote(model: string, alias: string, version: number,
          call: CallOptions = {}): Promise<ModelAlias> {
    return this.object("POST", `/api/v1/models/${quote(model)}/aliases/${quote(alias)}`,
                       { version }, call);
  }

  /** Moves `alias` back to its previous version (409 when it has none). */
  rollback(model: string, alias: string, call: CallOptions = {}): Promise<ModelAlias> {
    return this.object("POST", `/api/v1/models/${quote(model)}/aliases/${quote(alias)}/rollback`,
                       {}, call);
  }

  /** Replaces the version's whole tag set (PUT .../tags). */
  setTags(model: string, version: number, tags: Readonly<Record<string, string>>,
          call: CallOptions = {}): Promise<ModelVersion> {
    return this.object("PUT", `/api/v1/models/${quote(model)}/versions/${quote(version)}/tags`,
                       tags, call);
  }

  /** Sets and removes tags in one atomic change (PATCH .../tags). */
  tag(model: string, version: number,
      change: { set?: Readonly<Record<string, string>>; remove?: readonly string[] },
      call: CallOptions = {}): Promise<ModelVersion> {
    return this.object("PATCH", `/api/v1/models/${quote(model)}/versions/${quote(version)}/tags`,
                       { set: change.set ?? {}, remove: change.remove ?? [] }, call);
  }

  async listDatasets(call: CallOptions = {}): Promise<DatasetSummary[]> {
    return checked(await this.transport.json("GET", "/api/v1/datasets", undefined, call), "array",
                   "GET /api/v1/datasets");
  }

  getDataset(name: string, call: CallOptions = {}): Promise<RegisteredDataset> {
    return this.object("GET", `/api/v1/datasets/${quote(name)}`, undefined, call);
  }

  /** GET /api/v1/runs with its query. */
  listRuns(query: RunQuery = {}, call: CallOptions = {}): Promise<RunList> {
    const params = new URLSearchParams();
    for (const key of ["experiment", "filter", "status", "sort"] as const) {
      const value = query[key];
      if (value !== undefined) params.set(key, value);
    }
    if (query.desc) params.set("desc", "true");
    if (query.limit !== undefined) params.set("limit", String(Math.trunc(query.limit)));
    if (query.offset !== undefined) params.set("offset", String(Math.trunc(query.offset)));
    const text = params.toString();
    return this.object("GET", `/api/v1/runs${text ? `?${text}` : ""}`, undefined, call);
  }

  getRun(id: number, call: CallOptions = {}): Promise<RunDetails> {
    return this.object("GET", `/api/v1/runs/${quote(id)}`, undefined, call);
  }

  /** GET /api/v1/runs/{id}/metrics/{name}: one metric's values by step. */
  getRunMetric(id: number, metric: string, query: MetricQuery = {},
               call: CallOptions = {}): Promise<MetricHistory> {
    const params = new URLSearchParams();
    if (query.afterStep !== undefined) {
      params.set("after_step", String(Math.trunc(query.afterStep)));
    }
    if (query.limit !== undefined) params.set("limit", String(Math.trunc(query.limit)));
    const text = params.toString();
    const path = `/api/v1/runs/${quote(id)}/metrics/${quote(metric)}`;
    return this.object("GET", `${path}${text ? `?${text}` : ""}`, undefined, call);
  }

  // ---- /api/v1: the job service (service.jobs, docs/jobs.md) ------------------------------

  private async listed<T>(path: string, member: string, call: CallOptions): Promise<T[]> {
    const answer = await this.object<Record<string, unknown>>("GET", path, undefined, call);
    return checked<T[]>(answer[member], "array", `GET ${path} (${member})`);
  }

  /** GET /api/v1/jobs, filtered by state, queue and owner. */
  listJobs(query: JobQuery = {}, call: CallOptions = {}): Promise<Job[]> {
    const params = new URLSearchParams();
    for (const key of ["state", "queue", "owner"] as const) {
      const value = query[key];
      if (value !== undefined) params.set(key, value);
    }
    const text = params.toString();
    return this.listed(`/api/v1/jobs${text ? `?${text}` : ""}`, "jobs", call);
  }

  /**
   * POST /api/v1/jobs: queues the graph `config` (its YAML text) and resolves to the queued
   * job. A bad graph rejects with status 400 and its FILE:LINE:COL errors (citing
   * `config_name`), an unknown queue with 404. Never retried.
   */
  async submitJob(config: string, options: JobSubmission = {},
                  call: CallOptions = {}): Promise<Job> {
    return this.object("POST", "/api/v1/jobs", jobRequest(config, options), call);
  }

  /** GET /api/v1/jobs/{id} (404 for an unknown job). */
  getJob(id: number, call: CallOptions = {}): Promise<Job> {
    return this.object("GET", `/api/v1/jobs/${quote(id)}`, undefined, call);
  }

  /** POST /api/v1/jobs/{id}/cancel: a queued job is cancelled at once, a running one is asked to
   *  stop (the job returned may still be running); 409 for a job that has ended. */
  cancelJob(id: number, call: CallOptions = {}): Promise<Job> {
    return this.object("POST", `/api/v1/jobs/${quote(id)}/cancel`, {}, call);
  }

  /** GET /api/v1/jobs/{id}/log: the end of the job's log, its last `bytes` bytes (the server's
   *  default is 65536). */
  async jobLog(id: number, options: { bytes?: number } = {}, call: CallOptions = {}): Promise<string> {
    let path = `/api/v1/jobs/${quote(id)}/log`;
    if (options.bytes !== undefined) {
      if (!Number.isSafeInteger(options.bytes) || options.bytes < 0) {
        throw new AimassError(null, `bytes must be a count, not ${String(options.bytes)}`);
      }
      path += `?bytes=${options.bytes}`;
    }
    const answer = await this.transport.request("GET", path, {
      ...call, headers: { Accept: "text/plain" },
    });
    return new TextDecoder().decode(answer.body);
  }

  /** GET /api/v1/jobs/{id}/log?offset=N: the log from byte `offset` on (at most `bytes` bytes,
   *  the server's default 65536), where the chunk starts and how long the whole log is now; a
   *  follower passes `offset + bytes.length` next time. At the end the chunk is empty; an
   *  offset past the end is refused (400). With `offset` null, the log's last `bytes` bytes
   *  from the start of a line, and where that is. */
  async jobLogFrom(id: number, offset: number | null, options: { bytes?: number } = {},
                   call: CallOptions = {}): Promise<JobLogChunk> {
    for (const [name, value] of [["offset", offset ?? undefined], ["bytes", options.bytes]] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
        throw new AimassError(null, `${name} must be a count, not ${String(value)}`);
      }
    }
    const query = [offset === null ? "" : `offset=${offset}`,
                   options.bytes === undefined ? "" : `bytes=${options.bytes}`].filter((q) => q);
    const path = `/api/v1/jobs/${quote(id)}/log${query.length ? `?${query.join("&")}` : ""}`;
    const answer = await this.transport.request("GET", path, {
      ...call, headers: { Accept: "text/plain" },
    });
    const header = (name: string) => {
      const value = Number(answer.headers.get(name));
      if (answer.headers.get(name) === null || !Number.isSafeInteger(value)) {
        throw new AimassError(answer.status, `the log's answer has no ${name} header`, null,
                              "GET", path);
      }
      return value;
    };
    return { bytes: answer.body, offset: header("X-Log-Offset"), size: header("X-Log-Size") };
  }

  /** GET /api/v1/queues: each queue's quota, use, waiting and running jobs. */
  listQueues(call: CallOptions = {}): Promise<JobQueue[]> {
    return this.listed("/api/v1/queues", "queues", call);
  }

  /** PUT /api/v1/queues/{name}: edits a queue while the service runs (admins only, 403
   *  otherwise); a bad value rejects with 400 naming the field. Never retried. */
  updateQueue(name: string, update: QueueUpdate, call: CallOptions = {}): Promise<JobQueue> {
    if (Object.keys(update).length === 0) {
      throw new AimassError(null, "updateQueue needs at least one field");
    }
    return this.object("PUT", `/api/v1/queues/${quote(name)}`, update, call);
  }

  /** POST /api/v1/schedules: submits `config` as a job at each time of `cron` (UTC); a bad
   *  expression rejects with 400 naming the field and column. Never retried. */
  createSchedule(config: string, cron: string, options: ScheduleOptions = {},
                 call: CallOptions = {}): Promise<JobSchedule> {
    return this.object("POST", "/api/v1/schedules", scheduleRequest(config, cron, options), call);
  }

  /** GET /api/v1/schedules. */
  listSchedules(call: CallOptions = {}): Promise<JobSchedule[]> {
    return this.listed("/api/v1/schedules", "schedules", call);
  }

  /** GET /api/v1/schedules/{id} (404 for an unknown schedule). */
  getSchedule(id: number, call: CallOptions = {}): Promise<JobSchedule> {
    return this.object("GET", `/api/v1/schedules/${quote(id)}`, undefined, call);
  }

  /** DELETE /api/v1/schedules/{id}: its owner or an admin; the jobs it submitted stay. */
  deleteSchedule(id: number, call: CallOptions = {}): Promise<JobSchedule> {
    return this.object("DELETE", `/api/v1/schedules/${quote(id)}`, {}, call);
  }
}
