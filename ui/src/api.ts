// Where the API is and how the console calls it. The console is served at <prefix>/ui/ (by
// frontend.http, maybe behind a reverse proxy that adds <prefix>), so the API's base is the page's
// path up to that /ui/ segment: no absolute URL is built in.
import { AimassError, Client, type RunList, type RunQuery } from "@aimass/client";

/** Each role may do what the ones before it may (annotator < reader < operator < admin); an
 * annotator sees only the annotation projects it takes part in. */
export type Role = "annotator" | "reader" | "operator" | "admin";

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

  private get<T>(path: string): Promise<T> {
    return this.send<T>("GET", path);
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

  /** One call; an error answer (or no answer) thrown as AimassError with the server's
   * message. */
  private async respond(method: string, path: string, headers: Record<string, string>,
                        body?: string): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(this.base + path, { method, body, headers });
    } catch (error) {
      throw new AimassError(null, `cannot reach the server: ${String(error)}`, null, method, path);
    }
    if (!response.ok) {
      const parsed = parseJson(await response.text());
      const member = typeof parsed === "object" && parsed !== null
          ? (parsed as Record<string, unknown>)["error"] : undefined;
      throw new AimassError(response.status,
                            typeof member === "string" ? member : `HTTP ${response.status}`,
                            parsed, method, path);
    }
    return response;
  }

  /** One call; a JSON answer parsed (null when empty). */
  private async send<T>(method: string, path: string, body?: string,
                        contentType?: string): Promise<T> {
    const headers = contentType ? { ...this.headers, "Content-Type": contentType } : this.headers;
    const response = await this.respond(method, path, headers, body);
    return parseJson(await response.text()) as T;
  }

  /** GET /api/v1/studies: every tuning study in the store. */
  studies(): Promise<StudyRow[]> {
    return this.get<{ studies: StudyRow[] }>("/api/v1/studies").then((b) => b.studies);
  }

  /** GET /api/v1/studies/{name}: settings, every trial, importances and the best trial. */
  study(name: string): Promise<Study> {
    return this.get<Study>(`/api/v1/studies/${encodeURIComponent(name)}`);
  }

  /** GET /api/v1/monitoring: each monitored model's summary. */
  monitoredModels(): Promise<MonitorSummary[]> {
    return this.get<{ models: MonitorSummary[] }>("/api/v1/monitoring").then((b) => b.models);
  }

  /** GET /api/v1/monitoring/{model}: one monitored model's summary. */
  monitor(model: string): Promise<MonitorSummary> {
    return this.get<MonitorSummary>(`/api/v1/monitoring/${encodeURIComponent(model)}`);
  }

  /** Every drift window of a model kept in the store, oldest first, after `after` (unix ns). */
  async driftWindows(model: string, after = 0): Promise<DriftWindow[]> {
    const windows: DriftWindow[] = [];
    for (;;) {
      const page = await this.get<{ windows: DriftWindow[]; more: boolean }>(
          `/api/v1/monitoring/${encodeURIComponent(model)}/windows?limit=5000&after=${after}`);
      windows.push(...page.windows);
      if (!page.more || page.windows.length === 0) return windows;
      after = page.windows[page.windows.length - 1]!.unix_ns;
    }
  }

  /** GET /api/v1/plugins: every node type with its parameters. */
  nodeTypes(): Promise<NodeType[]> {
    return this.get<{ node_types: NodeType[] }>("/api/v1/plugins").then((b) => b.node_types);
  }

  /** POST /api/v1/graphs/validate: a YAML graph checked as `aimass validate` checks it, or
   * (asJob) as a job submission is (it must end). */
  validateGraph(yaml: string, asJob = false): Promise<GraphValidation> {
    return this.send<GraphValidation>("POST", `/api/v1/graphs/validate${asJob ? "?as=job" : ""}`,
                                      yaml, "application/yaml");
  }

  /** GET /api/v1/runs/{id}/evaluation: job.evaluate's report of that run; null when it has none. */
  async evaluation(run: number): Promise<EvaluationReport | null> {
    try {
      return await this.get<EvaluationReport>(`/api/v1/runs/${run}/evaluation`);
    } catch (error) {
      if (error instanceof AimassError && error.status === 404) return null;
      throw error;
    }
  }

  /** GET /api/v1/models/{name}/versions/{version}/run: the run that trained the version; null
   * when none was recorded (404 for a version that exists). */
  async versionRun(model: string, version: number): Promise<number | null> {
    try {
      return (await this.get<{ run_id: number }>(
          `/api/v1/models/${encodeURIComponent(model)}/versions/${version}/run`)).run_id;
    } catch (error) {
      if (error instanceof AimassError && error.status === 404) return null;
      throw error;
    }
  }

  /** GET /api/v1/models/{name}/versions/{version}/evaluations, newest first. */
  versionEvaluations(model: string, version: number): Promise<EvaluationSummary[]> {
    return this.get<{ evaluations: EvaluationSummary[] }>(
        `/api/v1/models/${encodeURIComponent(model)}/versions/${version}/evaluations`)
        .then((b) => b.evaluations);
  }

  /** GET /v2/models/{model}/stats: the serving runtime's counters of each loaded version; null
   * when this server serves no such model (404) or nothing at all (503). */
  async servedStats(model: string): Promise<ServedStats[] | null> {
    try {
      return (await this.get<{ model_stats: ServedStats[] }>(
          `/v2/models/${encodeURIComponent(model)}/stats`)).model_stats;
    } catch (error) {
      if (error instanceof AimassError && (error.status === 404 || error.status === 503)) return null;
      throw error;
    }
  }

  /** GET /metrics as text (Prometheus exposition). */
  async metricsText(): Promise<string> {
    const response = await fetch(this.base + "/metrics", { headers: { ...this.headers, Accept: "text/plain" } });
    if (!response.ok) throw new AimassError(response.status, `HTTP ${response.status}`, null, "GET", "/metrics");
    return response.text();
  }

  /** A JSON body sent with `method`; the answer parsed as send() does. */
  private sendJson<T>(method: string, path: string, body: unknown): Promise<T> {
    return this.send<T>(method, path, JSON.stringify(body), "application/json");
  }

  /** A binary answer (an image, an export) with the credential; errors as send() throws them. */
  async blob(method: string, path: string, body?: unknown): Promise<Blob> {
    const headers: Record<string, string> = body === undefined
        ? { ...this.headers, Accept: "*/*" }
        : { ...this.headers, Accept: "*/*", "Content-Type": "application/json" };
    const response = await this.respond(method, path, headers,
                                        body === undefined ? undefined : JSON.stringify(body));
    return response.blob();
  }

  /** GET /api/v1/annotation/projects: the projects the caller takes part in (readers: all). */
  annotationProjects(): Promise<AnnotationProject[]> {
    return this.get<{ projects: AnnotationProject[] }>("/api/v1/annotation/projects")
        .then((b) => b.projects);
  }

  /** GET /api/v1/annotation/projects/{p}: one project's summary. */
  annotationProject(project: string): Promise<AnnotationProject> {
    return this.get<AnnotationProject>(projectPath(project));
  }

  /** GET .../next: the caller's next task (held for it a while), or none left. */
  nextTask(project: string): Promise<NextTask> {
    return this.get<NextTask>(`${projectPath(project)}/next`);
  }

  /** GET .../review/next: the next task awaiting the caller's review, or none. */
  nextReview(project: string): Promise<NextTask> {
    return this.get<NextTask>(`${projectPath(project)}/review/next`);
  }

  /** GET .../tasks/{N}: one task as the caller may see it. */
  annotationTask(project: string, task: number): Promise<AnnotationTask> {
    return this.get<AnnotationTask>(`${projectPath(project)}/tasks/${task}`);
  }

  /** PUT .../tasks/{N}/annotation: the caller's answer (replacing its earlier one). */
  annotate(project: string, task: number, answer: Answer, seconds: number,
           suggested: boolean): Promise<{ task: number; state: TaskState }> {
    return this.sendJson("PUT", `${projectPath(project)}/tasks/${task}/annotation`,
                         { ...answer, seconds, suggested });
  }

  /** POST .../tasks/{N}/review: accept, reject, or correct with the reviewer's answer. */
  reviewTask(project: string, task: number, decision: "accept" | "reject" | "correct",
             answer?: Answer): Promise<{ task: number; state: TaskState }> {
    return this.sendJson("POST", `${projectPath(project)}/tasks/${task}/review`,
                         { decision, ...(answer ?? {}) });
  }

  /** GET .../agreement: the project's and each annotator's agreement (reviewers, readers). */
  agreement(project: string): Promise<AgreementReport> {
    return this.get<AgreementReport>(`${projectPath(project)}/agreement`);
  }

  /** POST .../exports {"format": "dataset"}: the accepted labels registered as a dataset
   * version. */
  exportDataset(project: string): Promise<DatasetExport> {
    return this.sendJson<DatasetExport>("POST", `${projectPath(project)}/exports`,
                                        { format: "dataset" });
  }

  /** POST .../exports with "csv" or "coco": the file itself. */
  exportFile(project: string, format: "csv" | "coco"): Promise<Blob> {
    return this.blob("POST", `${projectPath(project)}/exports`, { format });
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

/** `text` as JSON; null when it is empty or no JSON. */
function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** The message a person should read for a failed call. */
export function describeError(error: unknown): string {
  if (error instanceof AimassError) {
    return error.status !== null ? `${error.message} (HTTP ${error.status})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

export function atLeast(role: Role, needed: Role): boolean {
  const order: Role[] = ["annotator", "reader", "operator", "admin"];
  return order.indexOf(role) >= order.indexOf(needed);
}

export interface StudyRow {
  study: string;
  optimizer: string;
  objective: string;
  direction: "maximize" | "minimize";
  trials: number;
  complete: number;
  pruned: number;
  failed: number;
  running: number;
  best: { number: number; value: number } | null;
}

export interface SpaceDimension {
  key: string;
  kind: "uniform" | "log_uniform" | "int" | "log_int" | "choice";
  param_type: string;
  choices?: unknown[];
  low?: number;
  high?: number;
}

export interface Trial {
  rank: number;
  number: number;
  state: "running" | "complete" | "pruned" | "failed";
  value: number | null;
  epochs: number | null;
  intermediate: Record<string, number>;
  params: Record<string, unknown>;
  reason: string;
  run_id: number;
  artifact: string;
  started: number;
  ended: number;
  duration: number | null;
}

export interface Study {
  study: string;
  optimizer: string;
  seed: number;
  objective: string;
  direction: "maximize" | "minimize";
  space: SpaceDimension[];
  trials: Trial[];
  importances: Record<string, number> | null;
  best: { number: number; value: number; params: Record<string, unknown> } | null;
}

export interface FeatureDrift {
  feature: string;
  test: string;
  tested: boolean;
  statistic: number | null;
  p_value: number | null;
  adjusted_p_value: number | null;
  psi: number | null;
  drifted: boolean;
  note?: string;
}

export interface DriftWindow {
  unix_ns: number;
  rows: number;
  first_unix_ns?: number;
  last_unix_ns?: number;
  drifted: boolean;
  tested: number;
  drifted_features: number;
  features: FeatureDrift[];
}

export interface LiveMetric {
  version: number;
  metric: "accuracy" | "rmse";
  value: number;
  window_rows?: number;
  labelled_rows?: number;
  unix_ms?: number;
}

/** A monitored model's summary (GET /api/v1/monitoring[/{model}]). */
export interface MonitorSummary {
  model: string;
  windows: number;
  last_window_unix_ns: number | null;
  last_drifted: boolean | null;
  last_window: { rows: number; tested: number; drifted_features: number } | null;
  live: LiveMetric[];
  state: Record<string, number | null> | null;
  features?: FeatureDrift[];
}

export interface NodeParam {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  min: number | null;
  max: number | null;
  choices: string[];
  ref_kind: string | null;
  example: string;
  description: string;
  fields?: NodeParam[];
}

export interface NodeType {
  type: string;
  kind: string;
  plugin: string;
  plugin_version: string;
  summary: string;
  params: NodeParam[];
}

export interface GraphValidation {
  valid: boolean;
  nodes?: { name: string; type: string; kind: string }[];
  /** line and column are 1-based, 0 when unknown */
  errors?: { file: string; line: number; column: number; message: string; hint?: string }[];
}

/** job.evaluate's report; the parts the console draws are typed, the rest shown as JSON. */
export interface EvaluationReport {
  [field: string]: unknown;
}

export interface EvaluationSummary {
  run_id: number;
  dataset: string;
  dataset_version?: number | string | null;
  unix_ms: number;
  metrics: Record<string, number>;
}

export interface ServedStats {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, { count: number; ns: number }>;
  batch_stats: { batch_size: number; compute_infer: { count: number; ns: number } }[];
  failure_reasons: Record<string, number>;
  pending_requests: number;
}

function projectPath(project: string): string {
  return `/api/v1/annotation/projects/${encodeURIComponent(project)}`;
}

export type LabelTaskKind = "class" | "classes" | "value" | "boxes" | "spans";
export type TaskState = "open" | "awaiting_review" | "accepted";

export interface AgreementFigure {
  measure: string;
  value: number | null;
  tasks: number;
  note?: string;
}

export interface AgreementReport {
  project: AgreementFigure;
  annotators: { annotator: string; annotations: number; with_others: AgreementFigure;
                with_accepted: AgreementFigure }[];
}

/** A project's summary (GET /api/v1/annotation/projects[/{p}]). */
export interface AnnotationProject {
  name: string;
  task: LabelTaskKind;
  choices?: string[];
  min?: number;
  max?: number;
  show: "image" | "text" | "table";
  annotations_per_task: number;
  review: boolean;
  model: string;
  sampling: string;
  dataset_name: string;
  may_annotate: boolean;
  may_review: boolean;
  may_export: boolean;
  counts: {
    tasks: number; annotated: number; awaiting_review: number; accepted: number;
    rejected_rounds: number; annotations: number;
    by_annotator: Record<string, number>; by_reviewer: Record<string, number>;
  };
  ranking: { strategy: string; model: string; version: string; unix_ms: number; rows: number;
             note: string };
  loop: { every: number; since: number; job: number; retrains: number; last_error: string };
}

export interface AnswerBox { x: number; y: number; w: number; h: number; label: string }
export interface AnswerSpan { start: number; end: number; label: string }

/** One answer: the members of the project's task. */
export interface Answer {
  label?: string;
  labels?: string[];
  value?: number;
  boxes?: AnswerBox[];
  spans?: AnswerSpan[];
}

export type TaskContent =
  | { kind: "image"; width: number; height: number; image: string }
  | { kind: "text"; text: string }
  | { kind: "table"; columns: { name: string; value: number | string | null }[] };

export interface AnnotationTask {
  task: number;
  state: TaskState;
  content: TaskContent;
  characters?: number;
  suggestion?: { model: string; version: string; answer: Answer; score?: number };
  score: number | null;
  rejections: number;
  annotations: { annotator: string; unix_ms: number; seconds: number; suggested: boolean;
                 answer: Answer }[];
  review?: { reviewer: string; decision: "accept" | "correct"; unix_ms: number; answer?: Answer };
  accepted?: Answer;
}

/** A "next" route's answer: a task, or none with the server's note. */
export type NextTask = AnnotationTask | { task: null; note: string };

export interface DatasetExport {
  dataset: string;
  path: string;
  rows: number;
  sha256: string;
}
