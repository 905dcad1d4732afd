// Metric curves with uPlot: a canvas chart that draws 100,000-point series in milliseconds.
// Drag across the plot to zoom into a range of steps (or times); double-click or "Reset zoom"
// shows everything again. The points the chart was given are on the figure as data-series
// (JSON) and in an accessible table, so that a person with a screen reader, or a test, reads
// exactly what is drawn.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { MetricPoint } from "../api";
import { num, time } from "./common";

export interface Curve {
  label: string;
  points: MetricPoint[];
}

export type Axis = "step" | "time";

const COLORS = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207",
                "#be185d", "#4d7c0f", "#374151"];

/** Exponential moving average with weight `alpha` on the past (0: none); nulls stay gaps. */
export function smooth(values: (number | null)[], alpha: number): (number | null)[] {
  if (alpha <= 0) return values;
  let last: number | null = null;
  let weight = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    // Debiased like TensorBoard's, so the first points are not pulled towards zero.
    last = (last ?? 0) * alpha + (1 - alpha) * v;
    weight = weight * alpha + (1 - alpha);
    return last / weight;
  });
}

function xOf(point: MetricPoint, axis: Axis): number {
  return axis === "step" ? point.step : point.unix_ms / 1000;
}

/** One x column shared by every curve (uPlot's aligned data), gaps where a curve has no point. */
function aligned(curves: Curve[], axis: Axis, alpha: number, log: boolean): uPlot.AlignedData {
  const tables = curves.map((c) => {
    const xs: number[] = [];
    const ys: (number | null)[] = [];
    for (const p of c.points) {
      const x = xOf(p, axis);
      // uPlot needs ascending x; a repeated x (several values at one step) keeps the last.
      if (xs.length > 0 && x <= xs[xs.length - 1]!) {
        if (x === xs[xs.length - 1]) ys[ys.length - 1] = p.value;
        continue;
      }
      xs.push(x);
      ys.push(p.value);
    }
    let smoothed = smooth(ys, alpha);
    if (log) smoothed = smoothed.map((v) => (v !== null && v > 0 ? v : null));
    return [xs, smoothed] as uPlot.AlignedData;
  });
  if (tables.length === 1) return tables[0]!;
  return uPlot.join(tables);
}

export function CurveChart({ curves, title, axis, smoothing, log, height = 260 }:
    { curves: Curve[]; title: string; axis: Axis; smoothing: number; log: boolean;
      height?: number }) {
  const holder = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [width, setWidth] = useState(600);
  const [tableOpen, setTableOpen] = useState(false);
  const data = useMemo(() => aligned(curves, axis, smoothing, log),
                       [curves, axis, smoothing, log]);

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const observer = new ResizeObserver(() => setWidth(Math.max(240, element.clientWidth)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    const element = holder.current;
    if (!element) return;
    const options: uPlot.Options = {
      width: Math.max(240, element.clientWidth), height,
      scales: {
        x: { time: axis === "time" },
        y: log ? { distr: 3 } : {},
      },
      axes: [
        { label: axis === "step" ? "step" : "time (UTC)", stroke: "#1f2937" },
        { stroke: "#1f2937", size: 60 },
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      // The x range in view, on the figure for tests and tools (data-x-range="MIN,MAX").
      hooks: {
        setScale: [(u, key) => {
          const figure = element.parentElement;
          if (key === "x" && figure) {
            figure.dataset["xRange"] = `${u.scales["x"]!.min ?? ""},${u.scales["x"]!.max ?? ""}`;
          }
        }],
      },
      legend: { show: true },
      series: [
        { label: axis },
        ...curves.map((c, i) => ({
          label: c.label, stroke: COLORS[i % COLORS.length]!, width: 1.5,
          // A curve of one point is a dot; longer ones are lines.
          spanGaps: curves.length > 1, points: { show: c.points.length === 1 },
        })),
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(options, data, element);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [data, height, log, axis, curves.length]);

  // A new width resizes the chart in place (keeping its zoom) rather than drawing a new one.
  useEffect(() => {
    plot.current?.setSize({ width, height });
  }, [width]);

  const resetZoom = () => {
    const p = plot.current;
    const xs = data[0];
    if (p && xs.length > 0) p.setScale("x", { min: xs[0]!, max: xs[xs.length - 1]! });
  };

  const series = useMemo(() => JSON.stringify(curves.map((c) => ({
    label: c.label, steps: c.points.map((p) => p.step), values: c.points.map((p) => p.value),
  }))), [curves]);
  return (
    <figure class="chart" data-series={series} data-title={title}>
      <figcaption>
        <span class="chart-title">{title}</span>
        <button type="button" class="small" onClick={resetZoom}>Reset zoom</button>
      </figcaption>
      <div ref={holder} class="plot" role="img"
           aria-label={`${title}: ${curves.map((c) => `${c.label}, ${c.points.length} points`)
               .join("; ")}. Drag to zoom; the points are in the table below.`} />
      <details class="points" onToggle={(e) => setTableOpen((e.target as HTMLDetailsElement).open)}>
        <summary>Points of {title} as a table</summary>
        {tableOpen && <div class="points-scroll">
          {curves.map((c) => (
            <table class="grid compact" key={c.label}>
              <caption>{c.label}</caption>
              <thead><tr><th scope="col">step</th><th scope="col">value</th>
                <th scope="col">time</th></tr></thead>
              <tbody>
                {c.points.slice(0, 2000).map((p) => (
                  <tr><td>{p.step}</td><td>{num(p.value)}</td><td>{time(p.unix_ms)}</td></tr>
                ))}
              </tbody>
              {c.points.length > 2000 &&
               <tfoot><tr><td colSpan={3}>First 2,000 of {c.points.length} points.</td></tr></tfoot>}
            </table>
          ))}
        </div>}
      </details>
    </figure>
  );
}

export function ChartControls({ axis, setAxis, smoothing, setSmoothing, log, setLog }:
    { axis: Axis; setAxis: (a: Axis) => void; smoothing: number;
      setSmoothing: (s: number) => void; log: boolean; setLog: (l: boolean) => void }) {
  return (
    <div class="controls" role="group" aria-label="Chart options">
      <label>X axis{" "}
        <select value={axis} onChange={(e) => setAxis((e.target as HTMLSelectElement).value as Axis)}>
          <option value="step">step</option>
          <option value="time">time</option>
        </select>
      </label>
      <label>Smoothing{" "}
        <input type="range" min="0" max="0.99" step="0.01" value={String(smoothing)}
               onInput={(e) => setSmoothing(Number((e.target as HTMLInputElement).value))} />
        <output>{smoothing.toFixed(2)}</output>
      </label>
      <label><input type="checkbox" checked={log}
                    onChange={(e) => setLog((e.target as HTMLInputElement).checked)} /> Log scale</label>
    </div>
  );
}
