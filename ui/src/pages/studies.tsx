// Tuning studies (job.tune): the list, and a study's history (every trial's objective over
// trial numbers with the best-so-far line, pruned trials as crosses), its parameters in
// parallel coordinates, the parameter importances the tuner computed, and the leaderboard.
import { useMemo, useState } from "preact/hooks";
import type { SpaceDimension, Study, Trial } from "../api";
import { ErrorBox, Loading, Section, num, time, useLoad } from "../components/common";
import { Bars, PALETTE, XYPlot, extent, padded, scale } from "../components/plot";
import { useSigned } from "../context";
import { href } from "../router";

export function StudiesPage() {
  const { api } = useSigned();
  const { value: studies, error } = useLoad(() => api.studies(), []);
  return (
    <>
      <h1>Studies</h1>
      <ErrorBox error={error} />
      {studies === undefined && !error && <Loading what="studies" />}
      {studies !== undefined && studies.length === 0 &&
       <p>No tuning study in this store yet (a <code>job.tune</code> node makes one).</p>}
      {studies !== undefined && studies.length > 0 && (
        <table class="grid">
          <caption class="sr-only">Tuning studies</caption>
          <thead><tr><th scope="col">Study</th><th scope="col">Optimizer</th>
            <th scope="col">Objective</th><th scope="col">Trials</th><th scope="col">Complete</th>
            <th scope="col">Pruned</th><th scope="col">Failed</th><th scope="col">Running</th>
            <th scope="col">Best</th></tr></thead>
          <tbody>
            {studies.map((s) => (
              <tr key={s.study} data-study={s.study}>
                <th scope="row"><a href={href("studies", s.study)}>{s.study}</a></th>
                <td>{s.optimizer}</td>
                <td>{s.objective} ({s.direction})</td>
                <td>{s.trials}</td><td>{s.complete}</td><td>{s.pruned}</td><td>{s.failed}</td>
                <td>{s.running}</td>
                <td>{s.best ? `${num(s.best.value)} (trial ${s.best.number})` : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Trials in the order they started, and the best objective reached after each one. */
export function history(study: Study): { trials: Trial[]; best: (number | null)[] } {
  const trials = [...study.trials].sort((a, b) => a.number - b.number);
  const better = study.direction === "maximize" ? (a: number, b: number) => a > b
                                                : (a: number, b: number) => a < b;
  let best: number | null = null;
  const line = trials.map((t) => {
    if (t.state === "complete" && t.value !== null && (best === null || better(t.value, best))) {
      best = t.value;
    }
    return best;
  });
  return { trials, best: line };
}

export function StudyPage({ name }: { name: string }) {
  const { api } = useSigned();
  const { value: study, error } = useLoad(() => api.study(name), [name]);
  return (
    <>
      <p><a href={href("studies")}>Studies</a> /</p>
      <h1>{name}</h1>
      <ErrorBox error={error} />
      {study === undefined && !error && <Loading what="the study" />}
      {study !== undefined && <StudyView study={study} />}
    </>
  );
}

function StudyView({ study }: { study: Study }) {
  const { trials, best } = useMemo(() => history(study), [study]);
  const ended = trials.filter((t) => t.value !== null && (t.state === "complete" || t.state === "pruned"));
  const values = ended.map((t) => t.value!);
  const [ylo, yhi] = padded(extent(values));
  const importances = Object.entries(study.importances ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <>
      <dl class="facts">
        <dt>Objective</dt><dd>{study.objective} ({study.direction})</dd>
        <dt>Optimizer</dt><dd>{study.optimizer}, seed {study.seed}</dd>
        <dt>Trials</dt><dd>{trials.length}: {count(trials, "complete")} complete,{" "}
          {count(trials, "pruned")} pruned, {count(trials, "failed")} failed,{" "}
          {count(trials, "running")} running</dd>
        <dt>Best</dt><dd data-testid="study-best">{study.best
            ? <>{num(study.best.value)} in trial {study.best.number}{" "}
                <span class="muted">{Object.entries(study.best.params)
                    .map(([k, v]) => `${k}=${shown(v)}`).join(", ")}</span></>
            : "–"}</dd>
      </dl>
      <Section title="History">
        {ended.length === 0 ? <p>No trial has ended yet.</p> : (
          <XYPlot testId="study-history" title={`${study.objective} by trial`}
                  description={`Each ended trial's ${study.objective} against its number ` +
                               `(${count(trials, "pruned")} pruned trials as crosses, at their last ` +
                               `reported value), with the best so far as a step line.`}
                  frame={{ width: 720, height: 280, x: [0, Math.max(1, trials.length - 1)],
                           y: [ylo, yhi], xLabel: "trial", yLabel: study.objective }}
                  series={[
                    { label: "trials", kind: "points", xs: ended.map((t) => t.number), ys: values,
                      marks: ended.map((t) => (t.state === "pruned" ? "x" : "dot")) },
                    { label: "best so far", kind: "step", color: PALETTE[1],
                      xs: trials.map((t) => t.number), ys: best.map((b) => b ?? NaN) },
                  ]} />
        )}
      </Section>
      <Section title="Parameters">
        <ParallelCoordinates study={study} trials={trials} />
      </Section>
      <Section title="Importances">
        {importances.length === 0
          ? <p>Not computed yet (the tuner needs a few complete trials).</p>
          : <Bars testId="importances" title="Parameter importances" items={importances}
                  max={1} format={(v) => `${(v * 100).toFixed(1)}%`} />}
      </Section>
      <Section title="Trials">
        <Leaderboard study={study} />
      </Section>
    </>
  );
}

/** A parameter's value as a person reads it: numbers rounded, text as it is, lists as JSON. */
function shown(value: unknown): string {
  if (value === undefined || value === null) return "–";
  if (typeof value === "number") return num(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function count(trials: Trial[], state: Trial["state"]): number {
  return trials.filter((t) => t.state === state).length;
}

/** A parameter's position on its axis, 0 (bottom) to 1 (top); null for a value it lacks. */
function axisPosition(d: SpaceDimension, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (d.kind === "choice") {
    const index = (d.choices ?? []).findIndex((c) => JSON.stringify(c) === JSON.stringify(value));
    const n = (d.choices ?? []).length;
    return index < 0 ? null : n <= 1 ? 0.5 : index / (n - 1);
  }
  const v = Number(value);
  const lo = d.low ?? 0;
  const hi = d.high ?? 1;
  if (!Number.isFinite(v) || !(hi > lo)) return null;
  if (d.kind.startsWith("log_") && lo > 0 && v > 0) {
    return (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  }
  return (v - lo) / (hi - lo);
}

function ParallelCoordinates({ study, trials }: { study: Study; trials: Trial[] }) {
  const [highlight, setHighlight] = useState<"all" | "top">("all");
  const dims = study.space;
  const scored = trials.filter((t) => t.state === "complete" && t.value !== null);
  if (dims.length === 0 || scored.length === 0) return <p>No complete trial to draw yet.</p>;
  const width = 760;
  const height = 300;
  const top = 24;
  const bottom = 40;
  const axes = dims.length + 1;  // the objective is the last axis
  const ax = scale(0, axes - 1, 70, width - 70);
  const ay = (p: number) => top + (1 - p) * (height - top - bottom);
  const [vlo, vhi] = extent(scored.map((t) => t.value!));
  const goodness = (v: number) => {
    const p = vhi > vlo ? (v - vlo) / (vhi - vlo) : 1;
    return study.direction === "maximize" ? p : 1 - p;
  };
  const ranked = [...scored].sort((a, b) => goodness(b.value!) - goodness(a.value!));
  const cut = Math.max(1, Math.ceil(ranked.length * 0.1));
  const topSet = new Set(ranked.slice(0, cut).map((t) => t.number));
  const drawn = highlight === "top" ? ranked.slice(0, cut) : scored;
  return (
    <>
      <div class="controls" role="group" aria-label="Parallel coordinates options">
        <label><input type="radio" name="pc" checked={highlight === "all"}
                      onChange={() => setHighlight("all")} /> every complete trial</label>
        <label><input type="radio" name="pc" checked={highlight === "top"}
                      onChange={() => setHighlight("top")} /> the best 10% ({cut})</label>
      </div>
      <figure class="xyplot" data-testid="parallel-coordinates" data-lines={drawn.length}>
        <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img"
             aria-labelledby="pc-t pc-d">
          <title id="pc-t">Parameters of each complete trial</title>
          <desc id="pc-d">One line per trial across an axis per parameter and a last axis for
            {" "}{study.objective}; darker lines did better. The leaderboard below lists the same
            values.</desc>
          {drawn.map((t) => {
            const points = dims.map((d, i) => {
              const p = axisPosition(d, t.params[d.key]);
              return p === null ? null : `${ax(i).toFixed(1)},${ay(p).toFixed(1)}`;
            });
            points.push(`${ax(axes - 1).toFixed(1)},${ay((t.value! - vlo) / (vhi - vlo || 1)).toFixed(1)}`);
            const g = goodness(t.value!);
            return <polyline points={points.filter((p) => p !== null).join(" ")} fill="none"
                             stroke={topSet.has(t.number) ? PALETTE[1] : PALETTE[0]}
                             stroke-opacity={0.25 + 0.6 * g} stroke-width="1.3"
                             data-trial={t.number} />;
          })}
          {[...dims.map((d) => d.key), study.objective].map((label, i) => {
            const d = dims[i];
            const low = d ? (d.kind === "choice" ? shown(d.choices?.[0]) : num(d.low ?? 0)) : num(vlo);
            const high = d ? (d.kind === "choice" ? shown(d.choices?.[(d.choices?.length ?? 1) - 1])
                                                  : num(d.high ?? 1)) : num(vhi);
            return (
              <g class="axes" aria-hidden="true">
                <line x1={ax(i)} x2={ax(i)} y1={top} y2={height - bottom} class="axisline" />
                <text x={ax(i)} y={top - 8} text-anchor="middle" class="label">{label}</text>
                <text x={ax(i) + 4} y={height - bottom + 14}>{low}</text>
                <text x={ax(i) + 4} y={top + 10}>{high}</text>
              </g>
            );
          })}
        </svg>
      </figure>
    </>
  );
}

function Leaderboard({ study }: { study: Study }) {
  const keys = study.space.map((d) => d.key);
  return (
    <div class="scroll-x">
      <table class="grid compact" data-testid="leaderboard">
        <caption class="sr-only">Trials by rank</caption>
        <thead><tr><th scope="col">Rank</th><th scope="col">Trial</th><th scope="col">State</th>
          <th scope="col">{study.objective}</th><th scope="col">Epochs</th>
          {keys.map((k) => <th scope="col">{k}</th>)}
          <th scope="col">Run</th><th scope="col">Started</th><th scope="col">Duration</th>
          <th scope="col">Reason</th></tr></thead>
        <tbody>
          {study.trials.map((t) => (
            <tr key={t.number} data-trial={t.number} data-state={t.state}>
              <td>{t.rank}</td>
              <th scope="row">{t.number}</th>
              <td><span class={`state ${t.state}`}>{t.state}</span></td>
              <td>{num(t.value)}</td>
              <td>{t.epochs ?? "–"}</td>
              {keys.map((k) => <td>{shown(t.params[k])}</td>)}
              <td>{t.run_id > 0 ? <a href={href("runs", t.run_id)}>run {t.run_id}</a> : "–"}</td>
              <td>{time(t.started * 1000)}</td>
              <td>{t.duration === null ? "–" : `${t.duration.toFixed(1)} s`}</td>
              <td>{t.reason || "–"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
