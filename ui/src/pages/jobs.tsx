import { useEffect, useRef, useState } from "preact/hooks";
import { AimassError, type Job, type JobQueue, jobEnded } from "@aimass/client";
import { type Api, atLeast, describeError } from "../api";
import { ErrorBox, Loading, Section, bytes, duration, time, useLoad } from "../components/common";
import { useSigned } from "../context";
import { href, navigate } from "../router";

/** One error of a graph, from the server's "job.yaml:LINE:COL: error: ..." lines. */
export interface GraphError {
  line: number | null;
  column: number | null;
  message: string;
}

export function graphErrors(text: string): GraphError[] {
  const errors: GraphError[] = [];
  for (const raw of text.split("\n")) {
    const match = /^[^:\s]+\.ya?ml:(\d+):(\d+): (?:error: )?(.*)$/.exec(raw.trim());
    if (match) {
      errors.push({ line: Number(match[1]), column: Number(match[2]), message: match[3]! });
    } else if (raw.trim().startsWith("hint:") && errors.length > 0) {
      errors[errors.length - 1]!.message += ` (${raw.trim()})`;
    } else if (raw.trim() !== "" && !raw.endsWith("is not valid:")) {
      errors.push({ line: null, column: null, message: raw.trim() });
    }
  }
  return errors;
}

/** Puts the caret of `area` (holding `text`) at a line and column, and focuses it. */
export function focusAt(area: HTMLTextAreaElement | null, text: string, line: number,
                        column: number): void {
  if (!area) return;
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; ++i) offset += lines[i]!.length + 1;
  offset += Math.max(0, column - 1);
  area.focus();
  area.setSelectionRange(offset, offset);
}

/** A graph's errors: a list (each a button to its line in the editor) and the graph's lines
 * with the errors under theirs. */
export function GraphErrors({ id, title, text, errors, goTo }:
    { id: string; title: string; text: string; errors: GraphError[];
      goTo: (line: number, column: number) => void }) {
  const byLine = new Map<number, GraphError[]>();
  for (const err of errors) {
    if (err.line !== null) byLine.set(err.line, [...(byLine.get(err.line) ?? []), err]);
  }
  return (
    <div id={id} role="alert" class="graph-errors">
      <h3>{title}</h3>
      <ul>
        {errors.map((err) => (
          <li data-line={err.line ?? undefined}>
            {err.line !== null
              ? <button type="button" class="link" onClick={() => goTo(err.line!, err.column ?? 1)}>
                  Line {err.line}, column {err.column}</button>
              : null}{err.line !== null ? ": " : ""}{err.message}
          </li>
        ))}
      </ul>
      <ol class="listing" aria-label="The graph with its errors">
        {text.split("\n").map((line, i) => {
          const here = byLine.get(i + 1);
          return (
            <li class={here ? "bad" : undefined} data-line={i + 1} key={i}>
              <code>{line || " "}</code>
              {here && here.map((err) => <span class="line-error">{err.message}</span>)}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

function Usage({ label, used, nominal, format }:
    { label: string; used: number; nominal: number; format: (n: number) => string }) {
  const fraction = nominal > 0 ? Math.min(1, used / nominal) : 0;
  return (
    <div class="usage">
      <span>{label} {format(used)} / {format(nominal)}</span>
      <meter min={0} max={1} value={fraction} aria-label={`${label} used`} />
    </div>
  );
}

function Queues({ queues }: { queues: JobQueue[] }) {
  return (
    <div class="queues">
      {queues.map((q) => (
        <article class="queue" key={q.name} aria-labelledby={`queue-${q.name}`} data-queue={q.name}>
          <h3 id={`queue-${q.name}`}>{q.name}</h3>
          <p class="muted">cohort {q.cohort || "–"} · {q.ordering}
            {q.max_running > 0 ? ` · at most ${q.max_running} running` : ""}</p>
          <Usage label="threads" used={q.used.threads} nominal={q.nominal.threads} format={String} />
          <Usage label="memory" used={q.used.memory_bytes} nominal={q.nominal.memory_bytes} format={bytes} />
          {q.nominal.gpus > 0 && <Usage label="GPUs" used={q.used.gpus} nominal={q.nominal.gpus} format={String} />}
          <p>{q.running} running, {q.waiting} waiting</p>
        </article>
      ))}
    </div>
  );
}

function JobTable({ jobs, caption }: { jobs: Job[]; caption: string }) {
  if (jobs.length === 0) return <p>None.</p>;
  return (
    <div class="scroll-x">
      <table class="grid">
        <caption class="sr-only">{caption}</caption>
        <thead><tr><th scope="col">Job</th><th scope="col">Graph</th><th scope="col">State</th>
          <th scope="col">Queue</th><th scope="col">Owner</th><th scope="col">Submitted</th>
          <th scope="col">Ran</th><th scope="col">Reason</th></tr></thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-job={j.id}>
              <th scope="row"><a href={href("jobs", j.id)}>{j.id}</a></th>
              <td>{j.config_name || "–"}</td>
              <td><span class={`state ${j.state}`}>{j.state}</span></td>
              <td>{j.queue}</td><td>{j.owner}</td><td>{time(j.submitted_unix_ms)}</td>
              <td>{j.started_unix_ms ? duration(j.started_unix_ms, j.finished_unix_ms ?? Date.now()) : "–"}</td>
              <td>{j.reason || "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function JobsPage() {
  const { api, session } = useSigned();
  const [tick, setTick] = useState(0);
  const { value: queues, error: queueError } = useLoad(() => api.client.listQueues(), [tick]);
  const { value: jobs, error } = useLoad(() => api.client.listJobs(), [tick]);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, []);
  const newest = (a: Job, b: Job) => b.id - a.id;
  return (
    <>
      <h1>Jobs</h1>
      <Section title="Queues">
        <ErrorBox error={queueError} />
        {queues === undefined && !queueError ? <Loading what="queues" /> : <Queues queues={queues ?? []} />}
      </Section>
      <ErrorBox error={error} />
      {jobs === undefined && !error && <Loading what="jobs" />}
      {jobs !== undefined && (
        <>
          <Section title="Running">
            <JobTable caption="Running jobs" jobs={jobs.filter((j) => j.state === "running").sort(newest)} />
          </Section>
          <Section title="Waiting">
            <JobTable caption="Waiting jobs" jobs={jobs.filter((j) => j.state === "queued").sort(newest)} />
          </Section>
          <Section title="Ended">
            <JobTable caption="Ended jobs" jobs={jobs.filter((j) => jobEnded(j)).sort(newest).slice(0, 50)} />
          </Section>
        </>
      )}
      {atLeast(session.role, "operator") && <SubmitJob queues={queues ?? []} />}
    </>
  );
}

function SubmitJob({ queues }: { queues: JobQueue[] }) {
  const { api } = useSigned();
  const [yaml, setYaml] = useState("");
  const [name, setName] = useState("");
  const [queue, setQueue] = useState("");
  const [errors, setErrors] = useState<GraphError[]>([]);
  const [busy, setBusy] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors([]);
    try {
      const options: { config_name?: string; queue?: string } = {};
      if (name.trim()) options.config_name = name.trim();
      if (queue) options.queue = queue;
      const job = await api.client.submitJob(yaml, options);
      navigate(href("jobs", job.id));
    } catch (error) {
      setErrors(error instanceof AimassError && error.status === 400
          ? graphErrors(error.message) : [{ line: null, column: null, message: describeError(error) }]);
    } finally {
      setBusy(false);
    }
  };
  const goTo = (line: number, column: number) => focusAt(area.current, yaml, line, column);
  return (
    <Section title="Submit a job">
      <form onSubmit={submit} class="submit">
        <label for="job-yaml">Graph YAML</label>
        <textarea id="job-yaml" ref={area} rows={14} spellcheck={false} required value={yaml}
                  aria-describedby={errors.length ? "job-errors" : undefined}
                  aria-invalid={errors.length > 0}
                  onInput={(e) => setYaml((e.target as HTMLTextAreaElement).value)} />
        <div class="inline">
          <label>Or upload <input type="file" accept=".yaml,.yml,text/yaml" onChange={async (e) => {
            const file = (e.target as HTMLInputElement).files?.[0];
            if (!file) return;
            setYaml(await file.text());
            if (!name.trim()) setName(file.name);
          }} /></label>
          <label for="job-name">Name</label>
          <input id="job-name" value={name} placeholder="job.yaml"
                 onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <label for="job-queue">Queue</label>
          <select id="job-queue" value={queue} onChange={(e) => setQueue((e.target as HTMLSelectElement).value)}>
            <option value="">default</option>
            {queues.map((q) => <option value={q.name}>{q.name}</option>)}
          </select>
          <button type="submit" disabled={busy}>{busy ? "Submitting…" : "Submit"}</button>
        </div>
      </form>
      {errors.length > 0 && <GraphErrors id="job-errors" title="The graph was refused" text={yaml}
                                         errors={errors} goTo={goTo} />}
    </Section>
  );
}

const LOG_CHUNK = 65536;
const LOG_KEPT = 1 << 20;

/** Follows a job's log by byte offset: the first read takes its last 64 KiB (the server starts
 * them at a line), each later one only the bytes added since, so a long log costs nothing per
 * poll. The text kept is at most about 1 MiB, its oldest lines dropped first. */
export class LogFollower {
  private offset: number | null = null;
  private text = "";
  private dropped = false;
  private readonly decoder = new TextDecoder();

  constructor(private readonly api: Api, private readonly id: number) {}

  async read(): Promise<string> {
    if (this.offset === null) {
      const tail = await this.api.client.jobLogFrom(this.id, null, { bytes: LOG_CHUNK });
      this.text = this.decoder.decode(tail.bytes, { stream: true });
      this.dropped = tail.offset > 0;
      this.offset = tail.offset + tail.bytes.length;
    }
    // At most 16 chunks a poll: a log growing faster than 1 MiB per poll is caught up over polls.
    for (let i = 0; i < 16; ++i) {
      const chunk = await this.api.client.jobLogFrom(this.id, this.offset, { bytes: LOG_CHUNK });
      this.text += this.decoder.decode(chunk.bytes, { stream: true });
      this.offset = chunk.offset + chunk.bytes.length;
      if (chunk.bytes.length < LOG_CHUNK) break;
    }
    if (this.text.length > LOG_KEPT) {
      const cut = this.text.indexOf("\n", this.text.length - LOG_KEPT);
      this.text = this.text.slice(cut + 1);
      this.dropped = true;
    }
    return this.dropped ? `[earlier lines are not shown]\n${this.text}` : this.text;
  }
}

export function JobPage({ id }: { id: number }) {
  const { api, session } = useSigned();
  const [job, setJob] = useState<Job | undefined>(undefined);
  const [log, setLog] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<string | undefined>(undefined);
  const [follow, setFollow] = useState(true);
  const logBox = useRef<HTMLPreElement>(null);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const follower = new LogFollower(api, id);
    const poll = async () => {
      try {
        const current = await api.client.getJob(id);
        if (!live) return;
        setJob(current);
        // The log grows while the job runs; only what was added since the last poll is read.
        const text = await follower.read().catch(() => null);
        if (!live) return;
        if (text !== null) setLog(text);
        setError(undefined);
        if (!jobEnded(current)) timer = setTimeout(poll, 1500);
      } catch (e) {
        if (!live) return;
        setError(describeError(e));
        timer = setTimeout(poll, 5000);
      }
    };
    void poll();
    return () => { live = false; if (timer) clearTimeout(timer); };
  }, [id]);
  useEffect(() => {
    if (follow && logBox.current) logBox.current.scrollTop = logBox.current.scrollHeight;
  }, [log, follow]);
  const cancel = async () => {
    setActionError(undefined);
    try {
      setJob(await api.client.cancelJob(id));
    } catch (e) {
      setActionError(`Cancel failed: ${describeError(e)}`);
    }
  };
  const mayCancel = job !== undefined && !jobEnded(job) && !job.cancel_requested &&
      (atLeast(session.role, "admin") ||
       (atLeast(session.role, "operator") && job.owner === session.principal));
  return (
    <>
      <p><a href={href("jobs")}>Jobs</a> /</p>
      <h1>Job {id} {job && <span class={`state ${job.state}`} data-testid="job-state">{job.state}</span>}</h1>
      <ErrorBox error={error} />
      {job === undefined && !error && <Loading what={`job ${id}`} />}
      {job !== undefined && (
        <>
          <dl class="facts">
            <dt>Graph</dt><dd>{job.config_name || "–"}</dd>
            <dt>Queue</dt><dd>{job.queue}</dd>
            <dt>Owner</dt><dd>{job.owner}</dd>
            <dt>Resources</dt><dd>{job.resources.threads} threads, {bytes(job.resources.memory_bytes)}
              {job.resources.gpus ? `, ${job.resources.gpus} GPUs` : ""}</dd>
            <dt>Submitted</dt><dd>{time(job.submitted_unix_ms)}</dd>
            <dt>Started</dt><dd>{time(job.started_unix_ms)}</dd>
            <dt>Finished</dt><dd>{time(job.finished_unix_ms)}</dd>
            <dt>Reason</dt><dd>{job.reason || "–"}</dd>
            <dt>Attempts</dt><dd>{job.attempts}</dd>
            <dt>Runs</dt><dd>{job.runs.length ? job.runs.map((r) => <a href={href("runs", r)}>{r} </a>) : "–"}</dd>
          </dl>
          {mayCancel && <button type="button" class="danger" onClick={() => void cancel()}>Cancel job</button>}
          {job.cancel_requested && !jobEnded(job) && <p role="status">Cancellation requested…</p>}
          <ErrorBox error={actionError} />
        </>
      )}
      <Section title="Log">
        <label class="check"><input type="checkbox" checked={follow}
            onChange={(e) => setFollow((e.target as HTMLInputElement).checked)} /> Follow the end</label>
        <pre class="log" ref={logBox} tabIndex={0} aria-label={`Log of job ${id}`}
             aria-live="off">{log || "(empty)"}</pre>
        {job && !jobEnded(job) && <p class="muted">Updated every 1.5 s while the job runs.</p>}
      </Section>
    </>
  );
}
