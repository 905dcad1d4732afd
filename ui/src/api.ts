// Where the API is and how the console calls it. The console is served at <prefix>/ui/ (by
// frontend.http, maybe behind a reverse proxy that adds <prefix>), so the API's base is the page's
// path up to that /ui/ segment: no absolute URL is built in.
import { AimassError, Client, type RunList, type RunQuery } from "@aimass/client";

export type Role = "reader" | "operator" | "admin";

export interface Credential {
  kind: "key" | "jwt";
  secret: string;
}

export interface Session {
  principal: string;
  role: Role;
  authentication: boolean;
}

/** The path prefix in front of /ui/ ("" when served at the root, or by `vite` in development). */
export function apiPrefix(pathname: string = location.pathname): string {
  const at = pathname.indexOf("/ui/");
  if (at >= 0) return pathname.slice(0, at);
  return pathname.endsWith("/ui") ? pathname.slice(0, -3) : "";
}

// An API key and a JWT travel the same way, as `Authorization: Bearer` (docs/security.md); the
// kind only changes what the sign-in form says.
function headersOf(credential: Credential | null): Record<string, string> {
  return credential === null ? {} : { Authorization: `Bearer ${credential.secret}` };
}

/** The calls the TypeScript client does not have (yet), over the same base and credentials,
 * and the client's calls put together as the pages need them. */
export class Api {
  readonly client: Client;
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(readonly credential: Credential | null) {
    this.base = location.origin + apiPrefix();
    const options = credential === null ? {} : { token: credential.secret };
    this.client = new Client(this.base, { ...options, timeoutMs: 30000 });
    this.headers = { Accept: "application/json", ...headersOf(credential) };
  }

  private async get<T>(path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(this.base + path, { headers: this.headers });
    } catch (error) {
      throw new AimassError(null, `cannot reach the server: ${String(error)}`, null, "GET", path);
    }
    const text = await response.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!response.ok) {
      const member = typeof body === "object" && body !== null
          ? (body as Record<string, unknown>)["error"] : undefined;
      throw new AimassError(response.status,
                            typeof member === "string" ? member : `HTTP ${response.status}`,
                            body, "GET", path);
    }
    return body as T;
  }

  /** GET /api/v1/session: who the credential is and what it may do. */
  session(): Promise<Session> {
    return this.get<Session>("/api/v1/session");
  }

  /** GET /api/v1/models/{name}/events, oldest first, every page. */
  async modelEvents(model: string): Promise<ModelEvent[]> {
    const events: ModelEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await this.get<{ events: ModelEvent[] }>(
          `/api/v1/models/${encodeURIComponent(model)}/events?limit=1000&after=${after}`);
      events.push(...page.events);
      if (page.events.length < 1000) return events;
      after = page.events[page.events.length - 1]!.sequence;
    }
  }

  /** GET /api/v1/runs: one page of a listing (`offset`, `limit`) and how many runs matched. */
  runsPage(query: RunsQuery, offset: number, limit: number): Promise<RunsPage> {
    return this.client.listRuns({ ...clean(query), limit, offset });
  }

  /** Every value of a run's metric, following the route's pages. */
  async metric(run: number, name: string): Promise<MetricPoint[]> {
    const points: MetricPoint[] = [];
    let afterStep: number | undefined;
    for (;;) {
      const query = afterStep === undefined ? { limit: 100000 } : { limit: 100000, afterStep };
      const page = await this.client.getRunMetric(run, name, query);
      points.push(...page.points);
      if (!page.more || page.points.length === 0) return points;
      afterStep = page.points[page.points.length - 1]!.step;
    }
  }
}

export interface ModelEvent {
  sequence: number;
  unix_ms: number;
  kind: string;
  version: number | null;
  alias: string | null;
  actor: string;
  message: string;
  details: unknown;
}

export interface RunsQuery {
  experiment?: string;
  filter?: string;
  status?: string;
  sort?: string;
  desc?: boolean;
}

export type RunsPage = RunList;

/** The query without its empty fields (the form's blanks mean "any"). */
function clean(query: RunsQuery): RunQuery {
  const out: RunQuery = {};
  if (query.experiment) out.experiment = query.experiment;
  if (query.filter) out.filter = query.filter;
  if (query.status) out.status = query.status;
  if (query.sort) out.sort = query.sort;
  if (query.desc) out.desc = true;
  return out;
}

export interface MetricPoint {
  step: number;
  value: number | null;
  unix_ms: number;
}

/** The message a person should read for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof AimassError) {
    return error.status !== null ? `${error.message} (HTTP ${error.status})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function atLeast(role: Role, needed: Role): boolean {
  const order: Role[] = ["reader", "operator", "admin"];
  return order.indexOf(role) >= order.indexOf(needed);
}
