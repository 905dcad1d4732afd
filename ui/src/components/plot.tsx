// Small SVG figures for data that is not a metric over steps: ROC and PR curves, residuals,
// histograms, trial histories, parameter importances and parallel coordinates. They draw at
// most a few thousand marks (the server downsamples curves and samples residuals), where SVG is
// simple, crisp and readable by assistive technology; the long metric curves stay on uPlot
// (chart.tsx). Every figure has a text alternative: a title, a description and, where the
// numbers matter, a table of what is drawn.
import type { ComponentChildren } from "preact";
import { num } from "./common";

export const PALETTE = ["#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490"];

/** A linear map of [d0, d1] onto [r0, r1]; a flat domain maps to the middle. */
export function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (!(d1 > d0)) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi <= lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  }
  return out;
}

/** A tick's label: as many decimals as the step between ticks needs, no more. */
export function tickLabel(value: number, step: number): string {
  if (!Number.isFinite(value)) return "";
  if (Math.abs(value) >= 1e6 || (Math.abs(value) > 0 && Math.abs(value) < 1e-4)) {
    return value.toExponential(1);
  }
  const decimals = step > 0 ? Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9))) : 2;
  return value.toFixed(decimals);
}

/** [lo, hi] widened by `fraction` of its width on each side, so marks on the edges show whole. */
export function padded([lo, hi]: [number, number], fraction = 0.05): [number, number] {
  const pad = (hi - lo) * fraction;
  return [lo - pad, hi + pad];
}

/** The extent of finite values, widened a little when flat. */
export function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - (lo === 0 ? 1 : Math.abs(lo) * 0.1), hi + (hi === 0 ? 1 : Math.abs(hi) * 0.1)];
  return [lo, hi];
}

export interface Series {
  label: string;
  xs: number[];
  ys: number[];
  kind: "line" | "step" | "points";
  color?: string;
  dashed?: boolean;
  /** points only: a mark per point ("x" draws a cross), e.g. pruned trials */
  marks?: ("dot" | "x")[];
}

export interface Frame {
  width: number;
  height: number;
  x: [number, number];
  y: [number, number];
  xLabel: string;
  yLabel: string;
}

const M = { left: 64, right: 12, top: 10, bottom: 40 };

/** An x-y figure: axes with ticks, then the series. `extra` draws in the same coordinates. */
export function XYPlot({ title, description, frame, series, extra, testId }:
    { title: string; description: string; frame: Frame; series: Series[];
      extra?: (sx: (v: number) => number, sy: (v: number) => number) => ComponentChildren;
      testId?: string }) {
  const { width, height } = frame;
  const sx = scale(frame.x[0], frame.x[1], M.left, width - M.right);
  const sy = scale(frame.y[0], frame.y[1], height - M.bottom, M.top);
  const id = title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  return (
    <figure class="xyplot" data-testid={testId}>
      <svg viewBox={`0 0 ${width} ${height}`} width="100%" role="img"
           aria-labelledby={`${id}-t ${id}-d`} preserveAspectRatio="xMidYMid meet">
        <title id={`${id}-t`}>{title}</title>
        <desc id={`${id}-d`}>{description}</desc>
        <Axes frame={frame} sx={sx} sy={sy} />
        {extra?.(sx, sy)}
        {series.map((s, i) => <SeriesMarks s={s} color={s.color ?? PALETTE[i % PALETTE.length]!}
                                           sx={sx} sy={sy} />)}
      </svg>
      {series.length > 1 && (
        <figcaption class="legend">
          {series.map((s, i) => (
            <span><i style={{ background: s.color ?? PALETTE[i % PALETTE.length] }} />{s.label}</span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}

function Axes({ frame, sx, sy }:
    { frame: Frame; sx: (v: number) => number; sy: (v: number) => number }) {
  const { width, height } = frame;
  const xt = ticks(frame.x[0], frame.x[1]);
  const yt = ticks(frame.y[0], frame.y[1]);
  const step = (t: number[]) => (t.length > 1 ? t[1]! - t[0]! : 0);
  return (
    <g class="axes" aria-hidden="true">
      {xt.map((t) => (
        <g>
          <line x1={sx(t)} x2={sx(t)} y1={M.top} y2={height - M.bottom} class="gridline" />
          <text x={sx(t)} y={height - M.bottom + 14} text-anchor="middle">{tickLabel(t, step(xt))}</text>
        </g>
      ))}
      {yt.map((t) => (
        <g>
          <line x1={M.left} x2={width - M.right} y1={sy(t)} y2={sy(t)} class="gridline" />
          <text x={M.left - 6} y={sy(t) + 4} text-anchor="end">{tickLabel(t, step(yt))}</text>
        </g>
      ))}
      <rect x={M.left} y={M.top} width={width - M.left - M.right} height={height - M.top - M.bottom}
            class="frame" />
      <text x={(M.left + width - M.right) / 2} y={height - 6} text-anchor="middle" class="label">
        {frame.xLabel}</text>
      <text x={12} y={(M.top + height - M.bottom) / 2} text-anchor="middle" class="label"
            transform={`rotate(-90 12 ${(M.top + height - M.bottom) / 2})`}>{frame.yLabel}</text>
    </g>
  );
}

function SeriesMarks({ s, color, sx, sy }:
    { s: Series; color: string; sx: (v: number) => number; sy: (v: number) => number }) {
  if (s.kind === "points") {
    return (
      <g fill={color} stroke={color}>
        {s.xs.map((x, i) => {
          const y = s.ys[i]!;
          if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
          const cx = sx(x);
          const cy = sy(y);
          return s.marks?.[i] === "x"
              ? <path d={`M${cx - 3.5},${cy - 3.5}L${cx + 3.5},${cy + 3.5}M${cx - 3.5},${cy + 3.5}L${cx + 3.5},${cy - 3.5}`}
                      stroke-width="1.5" fill="none" />
              : <circle cx={cx} cy={cy} r="2.6" fill-opacity="0.75" stroke="none" />;
        })}
      </g>
    );
  }
  let d = "";
  let last: number | null = null;
  s.xs.forEach((x, i) => {
    const y = s.ys[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    const px = sx(x).toFixed(1);
    const py = sy(y).toFixed(1);
    if (d === "") d = `M${px},${py}`;
    else if (s.kind === "step" && last !== null) d += `H${px}V${py}`;
    else d += `L${px},${py}`;
    last = y;
  });
  return <path d={d} fill="none" stroke={color} stroke-width="1.8"
               stroke-dasharray={s.dashed ? "5 4" : undefined} />;
}

/** Horizontal bars with their values written next to them (importances, per-class figures). */
export function Bars({ title, items, max, format = num, testId }:
    { title: string; items: [string, number][]; max?: number; format?: (v: number) => string;
      testId?: string }) {
  const top = max ?? Math.max(1e-12, ...items.map(([, v]) => v));
  return (
    <table class="bars" data-testid={testId}>
      <caption class="sr-only">{title}</caption>
      <tbody>
        {items.map(([label, value]) => (
          <tr data-bar={label}>
            <th scope="row">{label}</th>
            <td class="bar-cell">
              <span class="bar" style={{ width: `${Math.max(0, Math.min(1, value / top)) * 100}%` }}
                    aria-hidden="true" />
            </td>
            <td class="bar-value">{format(value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
