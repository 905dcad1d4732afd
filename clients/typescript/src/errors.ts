// SPDX-License-Identifier: Apache-2.0
// The one error type the client throws (and its timeout subclass).

/**
 * A failed call: the server's HTTP status and error message, or a failure with no answer.
 *
 * `status` is the HTTP status, or `null` when no answer came (connection refused, TLS failure,
 * timeout, abort) or when the client refused an argument itself. `message` is the server's
 * `"error"` member (or what went wrong locally), never a raw body; `body` is the decoded JSON
 * error body when the server sent one. `method` and `path` name the request ("" when none was
 * sent).
 */
export class AimassError extends Error {
  readonly status: number | null;
  readonly body: unknown;
  readonly method: string;
  readonly path: string;

  constructor(status: number | null, message: string, body: unknown = null, method = "",
              path = "") {
    super(message);
    this.name = "AimassError";
    this.status = status;
    this.body = body;
    this.method = method;
    this.path = path;
  }

  /** "AimassError: POST /v2/models/x/infer: HTTP 404: unknown model 'x'". */
  override toString(): string {
    const where = this.method ? `${this.method} ${this.path}: ` : "";
    const code = this.status !== null ? `HTTP ${this.status}: ` : "";
    return `${this.name}: ${where}${code}${this.message}`;
  }
}

/** No complete answer within the call's timeout (`status` is null). */
export class AimassTimeoutError extends AimassError {
  constructor(message: string, method = "", path = "") {
    super(null, message, null, method, path);
    this.name = "AimassTimeoutError";
  }
}
