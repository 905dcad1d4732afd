// Monitoring: each monitored model's drift windows over time (per feature, as the monitor
// tested them against the training-data profile), its live accuracy or RMSE from feedback, and
// its alerts (the drift, retraining, gate, promotion and rollback events of the registry).
import { useEffect, useMemo, useState } from "preact/hooks";
import type { DriftWindow, ModelEvent, MonitorSummary } from "../api";
import { ErrorBox, Loading, Section, num, time, useLoad } from "../components/common";
import { PALETTE, XYPlot, padded } from "../components/plot";
import { useSigned } from "../context";
import { href } from "../router";

export function MonitoringPage() {
  const { api } = useSigned();
  const { value: models, error } = useLoad(() => api.monitoredModels(), []);
  return (
    <>
      <h1>Monitoring</h1>
      <ErrorBox error={error} />
      {models === undefined && !error && <Loading what="monitored models" />}
      {models !== undefined && models.length === 0 &&
       <p>No model is monitored in this store (a <code>service.monitor</code> node records drift windows).</p>}
      {models !== undefined && models.length > 0 && (
        <table class="grid">
          <caption class="sr-only">Monitored models</caption>
          <thead><tr><th scope="col">Model</th><th scope="col">Windows kept</th>
            <th scope="col">Last window</th><th scope="col">Drift</th></tr></thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.model} data-monitored={m.model}>
                <th scope="row"><a href={href("monitoring", m.model)}>{m.model}</a></th>
                <td>{m.windows}</td>
                <td>{m.last_window_unix_ns ? time(m.last_window_unix_ns / 1e6) : "–"}</td>
                <td>{m.last_drifted === null ? "–"
                     : <span class={m.last_drifted ? "state failed" : "state succeeded"}>
                         {m.last_drifted ? "drifted" : "no drift"}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

// What the monitor records in the model's events (core/src/monitoring): drift episodes, the
// policy's triggers and retraining jobs, gate reports, promotions, rollbacks and watch results.
const ALERT_KINDS = new Set(["drift", "drift_cleared", "prediction_drift", "trigger", "retrain_job",
                             "retrain_failed", "gate", "promotion", "rollback", "rollback_failed",
                             "watch_passed"]);

/** Events a person watching a model wants to see: drift and what the policy did about it. */
export function isAlert(event: ModelEvent): boolean {
  return ALERT_KINDS.has(event.kind);
}

export function MonitorPage({ model }: { model: string }) {
  const { api } = useSigned();
  const [tick, setTick] = useState(0);
  const { value: summary, error } = useLoad(() => api.monitor(model), [model, tick]);
  const { value: windows, error: windowsError } = useLoad(() => api.driftWindows(model), [model, tick]);
  const { value: events } = useLoad(() => api.modelEvents(model).catch(() => [] as ModelEvent[]),
                                    [model, tick]);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 10000);
    return () => clearInterval(timer);
  }, []);
  const alerts = (events ?? []).filter(isAlert).reverse();
  return (
    <>
      <p><a href={href("monitoring")}>Monitoring</a> /</p>
      <h1>{model}</h1>
      <ErrorBox error={error} />
      {summary !== undefined && <SummaryFacts summary={summary} />}
      <Section title="Live performance">
        {summary === undefined ? <Loading what="live metrics" />
         : summary.live.length === 0 ? <p>No ground truth joined yet (post it to
             {" "}<code>/v2/models/{model}/ground_truth</code>).</p>
         : (
          <table class="grid compact" data-testid="live-metrics">
            <caption class="sr-only">Live metrics from ground truth</caption>
            <thead><tr><th scope="col">Version</th><th scope="col">Metric</th>
              <th scope="col">Value</th><th scope="col">Over rows</th>
              <th scope="col">Labelled rows</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {summary.live.map((l) => <tr data-live-version={l.version}><th scope="row">{l.version}</th>
                <td>{l.metric}</td><td>{num(l.value)}</td><td>{l.window_rows ?? "–"}</td>
                <td>{l.labelled_rows ?? "–"}</td><td>{time(l.unix_ms)}</td></tr>)}
            </tbody>
          </table>
        )}
      </Section>
      <Section title="Drift over time">
        <ErrorBox error={windowsError} />
        {windows === undefined && !windowsError && <Loading what="drift windows" />}
        {windows !== undefined && windows.length === 0 && <p>No window tested yet.</p>}
        {windows !== undefined && windows.length > 0 && <DriftView windows={windows} />}
      </Section>
      <Section title="Alerts">
        {alerts.length === 0 ? <p>No drift or policy event recorded.</p> : (
          <ol class="events" reversed data-testid="alerts">
            {alerts.slice(0, 200).map((e) => (
              <li key={e.sequence} data-kind={e.kind}>
                <span class="muted">{time(e.unix_ms)}</span> <strong>{e.kind}</strong>
                {e.version !== null ? ` (version ${e.version})` : ""} {e.message}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}

function SummaryFacts({ summary }: { summary: MonitorSummary }) {
  const state = summary.state ?? {};
  const ms = (key: string) => (typeof state[key] === "number" && state[key]! > 0 ? time(state[key]) : "–");
  return (
    <dl class="facts" data-testid="monitor-summary">
      <dt>Windows kept</dt><dd>{summary.windows}</dd>
      <dt>Last window</dt><dd>{summary.last_window_unix_ns ? time(summary.last_window_unix_ns / 1e6) : "–"}
        {summary.last_window && ` (${summary.last_window.rows} rows, ${summary.last_window.drifted_features} of ` +
                                `${summary.last_window.tested} features drifted)`}</dd>
      <dt>Verdict</dt><dd>{summary.last_drifted === null ? "–" : summary.last_drifted ? "drifted" : "no drift"}</dd>
      <dt>Retraining</dt><dd>{state["retrain_job"] ? `job ${state["retrain_job"]} since ${ms("retrain_started_ms")}`
                              : `none running; last ${ms("last_retrain_ms")}`}</dd>
      <dt>Watching</dt><dd>{state["watched"] ? `version ${state["watched"]} (promoted over ${state["previous_champion"] ?? "–"})`
                            : "no promoted version under watch"}</dd>
    </dl>
  );
}

const HEATMAP_WINDOWS = 120;

/** -log10 of a p-value, capped at 10: 0 is no evidence of drift, 10 overwhelming. */
function evidence(p: number | null): number {
  if (p === null || !Number.isFinite(p)) return 0;
  return Math.min(10, -Math.log10(Math.max(p, 1e-10)));
}

function DriftView({ windows }: { windows: DriftWindow[] }) {
  const [metric, setMetric] = useState<"p" | "psi">("p");
  const recent = windows.slice(-HEATMAP_WINDOWS);
  const features = useMemo(() => {
    const names: string[] = [];
    const seen = new Set<string>();
    for (const w of recent) for (const f of w.features) {
      if (!seen.has(f.feature)) { seen.add(f.feature); names.push(f.feature); }
    }
    return names;
  }, [recent]);
  // Windows are numbered oldest first: several can close in one monitor cycle, at one time.
  const xs = windows.map((_, i) => i + 1);
  const cell = 12;
  const labelWidth = 130;
  const width = labelWidth + recent.length * cell + 10;
  const height = features.length * cell + 4;
  const colour = (value: number, drifted: boolean) => {
    const t = metric === "p" ? value / 10 : Math.min(1, value / 0.5);
    const light = Math.round(96 - 60 * t);
    return drifted ? `hsl(0 70% ${Math.min(light, 55)}%)` : `hsl(215 60% ${light}%)`;
  };
  return (
    <>
      <XYPlot testId="drift-count" title="Drifted features per window"
              description={`How many of the tested features drifted in each of the ${windows.length} ` +
                           `windows kept, oldest first; drifted windows marked.`}
              frame={{ width: 720, height: 200, x: [1, Math.max(2, windows.length)],
                       y: padded([0, Math.max(1, ...windows.map((w) => w.tested))]),
                       xLabel: `window (${time(windows[0]!.unix_ns / 1e6)} to ` +
                               `${time(windows[windows.length - 1]!.unix_ns / 1e6)})`,
                       yLabel: "drifted features" }}
              series={[{ label: "drifted features", kind: "step", xs,
                         ys: windows.map((w) => w.drifted_features) },
                       { label: "drifted window", kind: "points", color: PALETTE[4],
                         xs: xs.filter((_, i) => windows[i]!.drifted),
                         ys: windows.filter((w) => w.drifted).map((w) => w.drifted_features) }]} />
      <div class="controls" role="group" aria-label="Heat map colour">
        <label><input type="radio" name="heat" checked={metric === "p"} onChange={() => setMetric("p")} />
          {" "}evidence (−log10 adjusted p)</label>
        <label><input type="radio" name="heat" checked={metric === "psi"} onChange={() => setMetric("psi")} />
          {" "}PSI</label>
      </div>
      <figure class="xyplot heatmap" data-testid="drift-heatmap" data-windows={recent.length}>
        <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img"
             aria-labelledby="hm-t hm-d">
          <title id="hm-t">Drift per feature and window</title>
          <desc id="hm-d">One row per feature, one column per window (the last {recent.length}),
            darker for stronger evidence of drift, red where the feature drifted. The table below
            lists the last window's figures.</desc>
          {features.map((name, row) => (
            <text x={labelWidth - 6} y={row * cell + cell - 2} text-anchor="end" class="small">{name}</text>
          ))}
          {recent.map((w, col) => w.features.map((f) => {
            const row = features.indexOf(f.feature);
            const value = metric === "p" ? evidence(f.adjusted_p_value) : (f.psi ?? 0);
            return (
              <rect x={labelWidth + col * cell} y={row * cell} width={cell - 1} height={cell - 1}
                    fill={f.tested ? colour(value, f.drifted) : "#e5e7eb"}>
                <title>{`${f.feature}, ${time(w.unix_ns / 1e6)}: ${f.test} p=${num(f.adjusted_p_value)} ` +
                        `psi=${num(f.psi)}${f.drifted ? ", drifted" : ""}`}</title>
              </rect>
            );
          }))}
        </svg>
        <figcaption class="muted">The last {recent.length} windows, {time(recent[0]!.unix_ns / 1e6)} to
          {" "}{time(recent[recent.length - 1]!.unix_ns / 1e6)}, oldest on the left.</figcaption>
      </figure>
      <LastWindow window={windows[windows.length - 1]!} />
    </>
  );
}

function LastWindow({ window }: { window: DriftWindow }) {
  return (
    <div class="scroll-x">
      <table class="grid compact" data-testid="last-window">
        <caption>Last window: {time(window.unix_ns / 1e6)}, {window.rows} rows,{" "}
          {window.drifted_features} of {window.tested} tested features drifted</caption>
        <thead><tr><th scope="col">Feature</th><th scope="col">Test</th><th scope="col">Statistic</th>
          <th scope="col">p</th><th scope="col">Adjusted p</th><th scope="col">PSI</th>
          <th scope="col">Drifted</th></tr></thead>
        <tbody>
          {window.features.map((f) => (
            <tr data-feature={f.feature} class={f.drifted ? "differs" : undefined}>
              <th scope="row">{f.feature}</th><td>{f.test}{f.note ? ` (${f.note})` : ""}</td>
              <td>{num(f.statistic)}</td><td>{num(f.p_value)}</td><td>{num(f.adjusted_p_value)}</td>
              <td>{num(f.psi)}</td><td>{f.tested ? (f.drifted ? "yes" : "no") : "not tested"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
