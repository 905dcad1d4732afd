// SPDX-License-Identifier: Apache-2.0
// Requests over fetch: base URL, auth headers, a timeout per call, retries with backoff, and
// every failure as an AimassError. Connection reuse (keep-alive) is fetch's own: Node's fetch
// pools connections per origin, browsers do the same.

import { AimassError, AimassTimeoutError } from "./errors.js";

/**
 * When a request is sent again: a request whose method is in `methods` (by default only the
 * idempotent reads GET and HEAD) and whose answer has a status in `statuses` is retried up to
 * `retries` times, waiting `backoffMs * 2^attempt` (capped at `maxBackoffMs`) before each try.
 */
export interface RetryPolicy {
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  statuses: readonly number[];
  methods: readonly string[];
}

export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  retries: 3, backoffMs: 100, maxBackoffMs: 2000, statuses: [503], methods: ["GET", "HEAD"],
});

export const NO_RETRY: Readonly<RetryPolicy> = Object.freeze({ ...DEFAULT_RETRY, retries: 0 });

/** Options of a Client's connection to one server. */
export interface TransportOptions {
  /** Sent as X-API-Key. */
  apiKey?: string;
  /** A JWT, sent as "Authorization: Bearer <token>". */
  token?: string;
  /** Bounds each call, from sending to the last byte of the answer (default 30000). */
  timeoutMs?: number;
  /** Which answers are retried (merged over DEFAULT_RETRY). */
  retry?: Partial<RetryPolicy>;
  /** Headers sent with every request. */
  headers?: Readonly<Record<string, string>>;
  /** The fetch to call (default: the global fetch). */
  fetch?: typeof fetch;
}

/** Per-call options. */
export interface CallOptions {
  timeoutMs?: number;
  /** Aborts the call (an AimassError with status null). */
  signal?: AbortSignal;
}

/** A complete answer. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

interface Request extends CallOptions {
  body?: Uint8Array | string;
  headers?: Readonly<Record<string, string>>;
  retry?: Readonly<RetryPolicy>;
}

/** Sends requests to one base URL. Holds no connection itself; safe to share between any number
 *  of concurrent calls. */
export class Transport {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retry: Readonly<RetryPolicy>;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, options: TransportOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl.includes("://") ? baseUrl : `http://${baseUrl}`);
    } catch {
      throw new AimassError(null, `base URL '${baseUrl}' is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new AimassError(null, `base URL '${baseUrl}': the scheme must be http or https`);
    }
    if (options.apiKey && options.token) throw new AimassError(null, "give apiKey or token, not both");
    this.baseUrl = url.origin + url.pathname.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 30000;
    if (!(this.timeoutMs > 0)) throw new AimassError(null, `timeoutMs ${this.timeoutMs} is not positive`);
    this.retry = Object.freeze({ ...DEFAULT_RETRY, ...(options.retry ?? {}) });
    this.headers = { Accept: "application/json" };
    if (options.apiKey) this.headers["X-API-Key"] = options.apiKey;
    if (options.token) this.headers["Authorization"] = `Bearer ${options.token}`;
    Object.assign(this.headers, options.headers ?? {});
    // The global fetch is called through a wrapper: called as a method of this object, a
    // browser's window.fetch throws "Illegal invocation".
    const chosen =
      options.fetch ?? (typeof fetch === "function" ? (input, init) => fetch(input, init) : undefined);
    if (chosen === undefined) throw new AimassError(null, "no fetch: Node 18+ or a browser has one");
    this.fetchImpl = chosen;
  }

  private async once(method: string, path: string, request: Request,
                     timeoutMs: number): Promise<Answer> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const outer = request.signal;
    const onAbort = () => controller.abort();
    outer?.addEventListener("abort", onAbort);
    try {
      if (outer?.aborted) controller.abort();
      const init: RequestInit = {
        method, headers: { ...this.headers, ...(request.headers ?? {}) },
        signal: controller.signal,
      };
      if (request.body !== undefined) init.body = request.body as BodyInit;
      const response = await this.fetchImpl(this.baseUrl + path, init);
      const body = new Uint8Array(await response.arrayBuffer());
      return { status: response.status, headers: response.headers, body };
    } catch (error) {
      if (timedOut) throw new AimassTimeoutError(`no answer within ${timeoutMs} ms`, method, path);
      if (controller.signal.aborted) throw new AimassError(null, "aborted", null, method, path);
      throw new AimassError(null, `cannot reach ${this.baseUrl}: ${describe(error)}`, null,
                            method, path);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onAbort);
    }
  }

  /** Sends one request, retrying per `request.retry` (default: the transport's policy); an
   *  answer >= 400 throws AimassError with the server's status and message. */
  async request(method: string, path: string, request: Request = {}): Promise<Answer> {
    const policy = request.retry ?? this.retry;
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; ++attempt) {
      const answer = await this.once(method, path, request, timeoutMs);
      if (policy.statuses.includes(answer.status) && policy.methods.includes(method) &&
          attempt < policy.retries) {
        await sleep(Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** attempt), request.signal);
        continue;
      }
      if (answer.status >= 400) throw errorOf(answer, method, path);
      return answer;
    }
  }

  /** request() with a JSON body (when `payload` is given) and a decoded JSON answer. */
  async json(method: string, path: string, payload?: unknown,
             call: CallOptions = {}): Promise<unknown> {
    const request: Request = { ...call };
    if (payload !== undefined) {
      request.body = JSON.stringify(payload);
      request.headers = { "Content-Type": "application/json" };
    }
    const answer = await this.request(method, path, request);
    try {
      return answer.body.length ? JSON.parse(new TextDecoder().decode(answer.body)) : null;
    } catch {
      throw new AimassError(answer.status, "the answer is not JSON", null, method, path);
    }
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    if (cause instanceof Error) {
      const code = (cause as Error & { code?: unknown }).code;
      return `${error.message} (${typeof code === "string" ? `${code}: ` : ""}${cause.message})`;
    }
    return error.message;
  }
  return String(error);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AimassError(null, "aborted"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AimassError(null, "aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large", 429: "Too Many Requests",
  500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout",
};

/** The AimassError of an answer >= 400: the JSON body's "error" member as the message. */
export function errorOf(answer: Answer, method: string, path: string): AimassError {
  let body: unknown = null;
  try {
    body = JSON.parse(new TextDecoder().decode(answer.body));
  } catch {
    body = null;
  }
  const member = typeof body === "object" && body !== null
      ? (body as Record<string, unknown>)["error"] : undefined;
  const message = typeof member === "string" ? member : STATUS_TEXT[answer.status] ?? "error";
  return new AimassError(answer.status, message, body, method, path);
}

/** A path segment, percent-encoded. */
export function quote(segment: string | number): string {
  return encodeURIComponent(String(segment));
}
