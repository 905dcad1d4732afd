import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Run, RunDetails } from "@aimass/client";
import { describeError, type MetricPoint, type RunsQuery } from "../api";
import { type Axis, ChartControls, type Curve, CurveChart } from "../components/chart";
import { ErrorBox, Loading, Section, duration, num, time, useLoad } from "../components/common";
import { EvaluationView } from "../components/evaluation";
import { type Column, VirtualTable } from "../components/virtual_table";
import { useSigned } from "../context";
import { href, navigate, withQuery } from "../router";

const PAGE = 100;

function queryOf(q: URLSearchParams): RunsQuery {
  return {
    experiment: q.get("experiment") ?? "", filter: q.get("filter") ?? "",
    status: q.get("status") ?? "", sort: q.get("sort") ?? "", desc: q.get("desc") === "true",
  };
}

function runsLink(query: RunsQuery, columns: string[]): string {
  return withQuery(href("runs"), {
    experiment: query.experiment, filter: query.filter, status: query.status, sort: query.sort,
    desc: query.desc ? "true" : undefined, cols: columns.join(","),
  });
}

export function RunsPage({ query: search }: { query: URLSearchParams }) {
  const { api } = useSigned();
  const query = queryOf(search);
  const key = JSON.stringify(query);
  const [form, setForm] = useState(query);
  useEffect(() => setForm(query), [key]);
  const pages = useRef(new Map<number, Run[]>());
  const pending = useRef(new Set<number>());
  const generation = useRef(0);
  const [count, setCount] = useState<number | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [, setVersion] = useState(0);
  const [selected, setSelected] = useState<number[]>([]);
  const colsParam = search.get("cols");

  const load = (page: number) => {
    if (pages.current.has(page) || pending.current.has(page)) return;
    pending.current.add(page);
    const mine = generation.current;
    api.runsPage(query, page * PAGE, PAGE).then((answer) => {
      if (mine !== generation.current) return;
      pending.current.delete(page);
      pages.current.set(page, answer.runs);
      setCount(answer.matched);
      setVersion((v) => v + 1);
    }, (e) => {
      if (mine !== generation.current) return;
      pending.current.delete(page);
      setError(describeError(e));
    });
  };
  useEffect(() => {
    generation.current += 1;
    pages.current = new Map();
    pending.current = new Set();
    setCount(undefined);
    setError(undefined);
    load(0);
  }, [key]);

  // The params and metrics seen in the loaded pages: what the column picker offers.
  const seen = useMemo(() => {
    const metrics = new Set<string>();
    const params = new Set<string>();
    for (const runs of pages.current.values()) {
      for (const r of runs) {
        Object.keys(r.metrics).forEach((m) => metrics.add(m));
        Object.keys(r.params).forEach((p) => params.add(p));
      }
    }
    return { metrics: [...metrics].sort(), params: [...params].sort() };
  }, [pages.current.size, key]);
  const chosen = colsParam !== null ? colsParam.split(",").filter((c) => c !== "")
      : seen.metrics.filter((m) => m.startsWith("val_") || m === "loss").slice(0, 3)
          .map((m) => `m:${m}`);
  const setColumns = (cols: string[]) => navigate(runsLink(query, cols), true);
  const sortBy = (metric: string) => {
    const desc = query.sort === metric ? !query.desc : false;
    navigate(runsLink({ ...query, sort: metric, desc }, chosen));
  };
  const toggle = (id: number, on: boolean) =>
      setSelected((s) => (on ? [...s.filter((x) => x !== id), id] : s.filter((x) => x !== id)));

  const columns: Column<Run>[] = [
    { key: "select", width: 44, header: <span class="sr-only">Select for comparison</span>,
      cell: (r) => <input type="checkbox" aria-label={`Select run ${r.id}`}
                          checked={selected.includes(r.id)}
                          onChange={(e) => toggle(r.id, (e.target as HTMLInputElement).checked)} /> },
    { key: "id", width: 70, header: "Run", cell: (r) => <a href={href("runs", r.id)}>{r.id}</a> },
    { key: "experiment", width: 140, header: "Experiment", cell: (r) => r.experiment },
    { key: "status", width: 90, header: "Status", cell: (r) => <span class={`state ${r.status}`}>{r.status}</span> },
    { key: "start", width: 190, header: "Started", cell: (r) => time(r.start_unix_ms) },
    { key: "duration", width: 90, header: "Duration", cell: (r) => duration(r.start_unix_ms, r.end_unix_ms ?? Date.now()) },
    ...chosen.map((c): Column<Run> => {
      const name = c.slice(2);
      if (c.startsWith("p:")) {
        return { key: c, width: 130, header: <span title={`param ${name}`}>{name}</span>,
                 cell: (r) => r.params[name] ?? "–" };
      }
      const sorted = query.sort === name;
      return {
        key: c, width: 130, sort: sorted ? (query.desc ? "descending" : "ascending") : undefined,
        header: <button type="button" class="link" onClick={() => sortBy(name)}
                        title={`Sort by ${name}`}>{name}{sorted ? (query.desc ? " ↓" : " ↑") : ""}</button>,
        cell: (r) => num(r.metrics[name]),
      };
    }),
  ];

  const apply = (e: Event) => {
    e.preventDefault();
    navigate(runsLink(form, chosen));
  };
  const field = (name: keyof RunsQuery) => (e: Event) =>
      setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const compare = selected.length >= 2 && selected.length <= 10;
  return (
    <>
      <h1>Runs</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter runs">
        <label>Experiment <input value={form.experiment} onInput={field("experiment")}
                                  placeholder="all" /></label>
        <label>Filter <input value={form.filter} onInput={field("filter")} size={24}
                              placeholder="val_accuracy>0.8, loss<0.5" /></label>
        <label>Status{" "}
          <select value={form.status} onChange={field("status")}>
            <option value="">any</option>
            <option value="running">running</option>
            <option value="finished">finished</option>
            <option value="failed">failed</option>
          </select>
        </label>
        <button type="submit">Apply</button>
      </form>
      <div class="toolbar">
        <details class="picker">
          <summary>Columns</summary>
          <fieldset>
            <legend>Metrics</legend>
            {seen.metrics.map((m) => <ColumnBox id={`m:${m}`} label={m} chosen={chosen} set={setColumns} />)}
          </fieldset>
          <fieldset>
            <legend>Params</legend>
            {seen.params.map((p) => <ColumnBox id={`p:${p}`} label={p} chosen={chosen} set={setColumns} />)}
          </fieldset>
        </details>
        <span aria-live="polite" data-testid="run-count">
          {count === undefined ? "" : `${count} run${count === 1 ? "" : "s"} matched`}
        </span>
        <a class={compare ? "button" : "button disabled"} aria-disabled={!compare}
           href={compare ? withQuery(href("compare"), { ids: selected.join(",") }) : undefined}>
          Compare {selected.length} selected</a>
        {!compare && <span class="muted">Select 2 to 10 runs to compare.</span>}
      </div>
      <ErrorBox error={error} />
      {count === undefined && !error && <Loading what="runs" />}
      {count !== undefined && (
        <VirtualTable<Run> label="Runs" columns={columns} count={count} rowKey={(r) => r.id}
                           rowAt={(i) => pages.current.get(Math.floor(i / PAGE))?.[i % PAGE]}
                           onRange={(first, last) => {
                             for (let p = Math.floor(first / PAGE); p * PAGE < last; ++p) load(p);
                           }} />
      )}
    </>
  );
}

function ColumnBox({ id, label, chosen, set }:
    { id: string; label: string; chosen: string[]; set: (c: string[]) => void }) {
  return (
    <label class="check"><input type="checkbox" checked={chosen.includes(id)}
        onChange={(e) => set((e.target as HTMLInputElement).checked ? [...chosen, id]
                                                                   : chosen.filter((c) => c !== id))} />
      {label}</label>
  );
}

function useChartOptions() {
  const [axis, setAxis] = useState<Axis>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [log, setLog] = useState(false);
  const controls = <ChartControls axis={axis} setAxis={setAxis} smoothing={smoothing}
                                  setSmoothing={setSmoothing} log={log} setLog={setLog} />;
  return { axis, smoothing, log, controls };
}

/** The curves a run's page opens with: its validation metrics (else any), up to 4; a metric of
 * one value (an evaluation's, a final score) is no curve and is shown only when picked. */
function defaultMetrics(run: RunDetails): string[] {
  const names = Object.keys(run.metrics).filter((m) => run.metrics[m]!.points > 1).sort();
  const preferred = names.filter((m) => m.startsWith("val_") || m === "train_loss");
  return (preferred.length > 0 ? preferred : names).slice(0, 4);
}

export function RunPage({ id }: { id: number }) {
  const { api } = useSigned();
  const { value: loaded, error } = useLoad(() => api.client.getRun(id), [id]);
  const [fresh, setFresh] = useState<RunDetails | undefined>(undefined);
  const run = fresh?.id === id ? fresh : loaded;
  const [shown, setShown] = useState<string[] | undefined>(undefined);
  const [curves, setCurves] = useState<Record<string, MetricPoint[]>>({});
  const [curveError, setCurveError] = useState<string | undefined>(undefined);
  const [paramFilter, setParamFilter] = useState("");
  const options = useChartOptions();
  // job.evaluate's report, when this run is an evaluation (404: it is not).
  const { value: evaluation, error: evaluationError } = useLoad(() => api.evaluation(id), [id]);
  const metrics = shown ?? (run ? defaultMetrics(run) : []);
  const curvesNow = useRef(curves);
  const following = useRef(new Set<string>());
  curvesNow.current = curves;
  useEffect(() => {
    setShown(undefined);
    setCurves({});
    setFresh(undefined);
  }, [id]);
  useEffect(() => {
    for (const name of metrics) {
      if (curves[name] !== undefined) continue;
      api.metric(id, name).then((points) => setCurves((c) => ({ ...c, [name]: points })),
                                (e) => setCurveError(describeError(e)));
    }
  }, [id, metrics.join(",")]);
  // A running run is read again every 3 s: its status and metric summaries, and each shown
  // curve's new points (only the steps after the last one it has), until it ends.
  const running = run?.status === "running";
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => {
      api.client.getRun(id).then(setFresh, () => undefined);
      for (const name of metrics) {
        const have = curvesNow.current[name];
        if (!have || following.current.has(name)) continue;
        following.current.add(name);
        const after = have.length ? have[have.length - 1]!.step : undefined;
        api.client.getRunMetric(id, name, after === undefined ? {} : { afterStep: after })
            .then((page) => {
              if (page.points.length) {
                setCurves((c) => ({ ...c, [name]: [...(c[name] ?? []), ...page.points] }));
              }
            }, () => undefined)
            .finally(() => following.current.delete(name));
      }
    }, 3000);
    return () => clearInterval(timer);
  }, [id, running, metrics.join(",")]);

  if (error) return <><h1>Run {id}</h1><ErrorBox error={error} /></>;
  if (!run) return <Loading what={`run ${id}`} />;
  const params = Object.entries(run.params)
      .filter(([k, v]) => !paramFilter || k.includes(paramFilter) || v.includes(paramFilter));
  return (
    <>
      <p><a href={href("runs")}>Runs</a> /</p>
      <h1>Run {run.id} <span class={`state ${run.status}`}>{run.status}</span></h1>
      <dl class="facts">
        <dt>Experiment</dt><dd><a href={withQuery(href("runs"), { experiment: run.experiment })}>{run.experiment}</a></dd>
        <dt>Node</dt><dd>{run.node ?? "–"} ({run.type ?? "–"})</dd>
        <dt>Started</dt><dd>{time(run.start_unix_ms)}</dd>
        <dt>Duration</dt><dd>{duration(run.start_unix_ms, run.end_unix_ms ?? Date.now())}
          {run.status === "running" ? " so far" : ""}</dd>
        <dt>Host</dt><dd>{run.host ?? "–"} pid {run.pid ?? "–"}</dd>
        {run.error && <><dt>Error</dt><dd class="error">{run.error}</dd></>}
      </dl>
      <Section title="Metrics">
        <fieldset class="metric-picker">
          <legend>Curves shown</legend>
          {Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b)).map(([name, s]) => (
            <label class="check" key={name}>
              <input type="checkbox" checked={metrics.includes(name)}
                     onChange={(e) => setShown((e.target as HTMLInputElement).checked
                         ? [...metrics, name] : metrics.filter((m) => m !== name))} />
              {name} <span class="muted">last {num(s.last)} · {s.points} pts</span>
            </label>
          ))}
        </fieldset>
        {options.controls}
        <ErrorBox error={curveError} />
        <div class="charts">
          {metrics.map((name) => curves[name] === undefined ? <Loading what={name} key={name} /> : (
            <CurveChart key={name} title={name} curves={[{ label: name, points: curves[name]! }]}
                        axis={options.axis} smoothing={options.smoothing} log={options.log} />
          ))}
        </div>
      </Section>
      <ErrorBox error={evaluationError} />
      {evaluation && <EvaluationView report={evaluation} />}
      <Section title="Params">
        <label>Find a param <input type="search" value={paramFilter}
            onInput={(e) => setParamFilter((e.target as HTMLInputElement).value)} /></label>
        <table class="grid compact params">
          <caption class="sr-only">Params of run {run.id}</caption>
          <thead><tr><th scope="col">Param</th><th scope="col">Value</th></tr></thead>
          <tbody>{params.map(([k, v]) => <tr key={k}><th scope="row">{k}</th><td>{v}</td></tr>)}</tbody>
        </table>
      </Section>
      <Section title="Artifacts">
        {Object.keys(run.artifacts).length === 0 ? <p>None.</p> : (
          <table class="grid compact">
            <caption class="sr-only">Artifacts of run {run.id}</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Where</th></tr></thead>
            <tbody>{Object.entries(run.artifacts).map(([k, v]) => {
              const version = k === "model_version" ? /^(.+)\/(\d+)$/.exec(v) : null;
              return (
                <tr key={k}><th scope="row">{k}</th>
                  <td>{version ? <a href={href("models", version[1]!)}>{v}</a> : <code>{v}</code>}</td></tr>
              );
            })}</tbody>
          </table>
        )}
      </Section>
    </>
  );
}

export function ComparePage({ query }: { query: URLSearchParams }) {
  const { api } = useSigned();
  const ids = (query.get("ids") ?? "").split(",").map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  const key = ids.join(",");
  const { value: runs, error } = useLoad(() => Promise.all(ids.map((i) => api.client.getRun(i))), [key]);
  const [metric, setMetric] = useState<string | undefined>(undefined);
  const [curves, setCurves] = useState<Curve[] | undefined>(undefined);
  const [curveError, setCurveError] = useState<string | undefined>(undefined);
  const [onlyDiff, setOnlyDiff] = useState(true);
  const options = useChartOptions();
  const names = useMemo(() => [...new Set((runs ?? []).flatMap((r) => Object.keys(r.metrics)))].sort(),
                        [runs]);
  const chosen = metric ?? names.find((n) => n === "val_loss") ?? names[0];
  useEffect(() => {
    if (!runs || chosen === undefined) return;
    setCurves(undefined);
    let live = true;
    Promise.all(runs.map((r) => r.metrics[chosen] ? api.metric(r.id, chosen) : Promise.resolve([])))
        .then((all) => { if (live) setCurves(all.map((points, i) => ({ label: `run ${runs[i]!.id}`, points }))); },
              (e) => { if (live) setCurveError(describeError(e)); });
    return () => { live = false; };
  }, [runs, chosen]);

  if (ids.length < 2 || ids.length > 10) {
    return <><h1>Compare runs</h1><p role="alert">Choose 2 to 10 runs on the <a href={href("runs")}>Runs</a> page.</p></>;
  }
  if (error) return <><h1>Compare runs</h1><ErrorBox error={error} /></>;
  if (!runs) return <Loading what="runs" />;
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const differs = (k: string) => new Set(runs.map((r) => r.params[k] ?? "\u0000")).size > 1;
  const rows = onlyDiff ? keys.filter(differs) : keys;
  return (
    <>
      <p><a href={href("runs")}>Runs</a> /</p>
      <h1>Compare runs {runs.map((r) => r.id).join(", ")}</h1>
      <Section title="Curves">
        <label>Metric{" "}
          <select value={chosen} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
            {names.map((n) => <option value={n}>{n}</option>)}
          </select>
        </label>
        {options.controls}
        <ErrorBox error={curveError} />
        {chosen !== undefined && curves === undefined && <Loading what={chosen} />}
        {chosen !== undefined && curves !== undefined && (
          <CurveChart title={chosen} curves={curves} axis={options.axis}
                      smoothing={options.smoothing} log={options.log} height={320} />
        )}
      </Section>
      <Section title="Params">
        <label class="check"><input type="checkbox" checked={onlyDiff}
            onChange={(e) => setOnlyDiff((e.target as HTMLInputElement).checked)} /> Only params that differ</label>
        <div class="scroll-x">
          <table class="grid compact diff">
            <caption class="sr-only">Params of the compared runs</caption>
            <thead><tr><th scope="col">Param</th>
              {runs.map((r) => <th scope="col"><a href={href("runs", r.id)}>run {r.id}</a></th>)}</tr></thead>
            <tbody>
              {rows.map((k) => (
                <tr key={k} class={differs(k) ? "differs" : undefined} data-param={k}>
                  <th scope="row">{k}</th>{runs.map((r) => <td>{r.params[k] ?? "–"}</td>)}
                </tr>
              ))}
              {rows.length === 0 && <tr><td colSpan={runs.length + 1}>No param differs.</td></tr>}
            </tbody>
          </table>
        </div>
      </Section>
      <Section title="Last metric values">
        <div class="scroll-x">
          <table class="grid compact">
            <caption class="sr-only">Last value of each metric</caption>
            <thead><tr><th scope="col">Metric</th>{runs.map((r) => <th scope="col">run {r.id}</th>)}</tr></thead>
            <tbody>{names.map((n) => (
              <tr key={n}><th scope="row">{n}</th>{runs.map((r) => <td>{num(r.metrics[n]?.last)}</td>)}</tr>
            ))}</tbody>
          </table>
        </div>
      </Section>
    </>
  );
}
