// job.evaluate's report on a run's page: the headline metrics; for classifiers the per-class
// metrics and the confusion matrix, and for binary ones the ROC and precision-recall curves; for
// regression the residuals against the predictions and their histogram. The report's shape is
// evaluationJson()'s (core/include/aimass/core/evaluation.h).
import type { EvaluationReport } from "../api";
import { Section, num } from "./common";
import { Bars, PALETTE, XYPlot, extent, padded } from "./plot";

interface ClassRow {
  name: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

interface Roc {
  positive_class: string;
  fpr: number[];
  tpr: number[];
}

interface Pr {
  positive_class: string;
  recall: number[];
  precision: number[];
  average_precision: number | null;
}

interface Residuals {
  predicted: number[];
  actual: number[];
  stride: number;
  values: number;
}

interface Histogram {
  edges: number[];
  counts: number[];
}

function field<T>(report: EvaluationReport, key: string): T | undefined {
  const value = report[key];
  return value === null || value === undefined ? undefined : (value as T);
}

export function EvaluationView({ report }: { report: EvaluationReport }) {
  const metrics = field<Record<string, number | null>>(report, "metrics") ?? {};
  const classes = field<ClassRow[]>(report, "classes");
  const confusion = field<number[][]>(report, "confusion_matrix");
  const roc = field<Roc>(report, "roc");
  const pr = field<Pr>(report, "pr");
  const residuals = field<Residuals>(report, "residuals");
  const histogram = field<Histogram>(report, "residual_histogram");
  const task = field<string>(report, "task") ?? "evaluation";
  return (
    <Section title="Evaluation">
      <p class="muted">job.evaluate ({task}) of {String(report["model"] ?? "?")} on{" "}
        {String(report["dataset"] ?? "?")}, {String(report["rows"] ?? "?")} rows.</p>
      <table class="grid compact narrow" data-testid="evaluation-metrics">
        <caption class="sr-only">Evaluation metrics</caption>
        <tbody>
          {Object.entries(metrics).filter(([, v]) => v !== null && typeof v !== "object").map(([k, v]) => (
            <tr data-metric={k}><th scope="row">{k}</th><td>{typeof v === "number" ? num(v) : String(v)}</td></tr>
          ))}
        </tbody>
      </table>
      {classes && classes.length > 0 && <PerClass classes={classes} />}
      {confusion && classes && <ConfusionMatrix matrix={confusion} names={classes.map((c) => c.name)} />}
      {(roc || pr) && (
        <div class="charts">
          {roc && <RocCurve roc={roc} auc={metrics["roc_auc"] ?? null} />}
          {pr && <PrCurve pr={pr} />}
        </div>
      )}
      {(residuals || histogram) && (
        <div class="charts">
          {residuals && <ResidualPlot residuals={residuals} />}
          {histogram && <ResidualHistogram histogram={histogram} />}
        </div>
      )}
    </Section>
  );
}

function PerClass({ classes }: { classes: ClassRow[] }) {
  return (
    <>
      <h3>Per class</h3>
      <div class="scroll-x">
        <table class="grid compact narrow" data-testid="per-class">
          <caption class="sr-only">Precision, recall, F1 and support per class</caption>
          <thead><tr><th scope="col">Class</th><th scope="col">Precision</th><th scope="col">Recall</th>
            <th scope="col">F1</th><th scope="col">Support</th></tr></thead>
          <tbody>
            {classes.map((c) => (
              <tr data-class={c.name}><th scope="row">{c.name}</th><td>{num(c.precision)}</td>
                <td>{num(c.recall)}</td><td>{num(c.f1)}</td><td>{c.support}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
      <Bars title="F1 per class" items={classes.map((c) => [c.name, c.f1])} max={1} />
    </>
  );
}

/** Rows are the true classes, columns the predicted ones; each cell is shaded by its share of
 * its row, so a class's errors stand out whatever its size. */
export function ConfusionMatrix({ matrix, names }: { matrix: number[][]; names: string[] }) {
  return (
    <>
      <h3>Confusion matrix</h3>
      <div class="scroll-x">
        <table class="grid compact narrow confusion" data-testid="confusion-matrix">
          <caption class="sr-only">Confusion matrix: rows are true classes, columns predicted classes</caption>
          <thead>
            <tr><th scope="col">true \ predicted</th>{names.map((n) => <th scope="col">{n}</th>)}</tr>
          </thead>
          <tbody>
            {matrix.map((row, t) => {
              const total = row.reduce((a, b) => a + b, 0);
              return (
                <tr data-true={names[t]}>
                  <th scope="row">{names[t]}</th>
                  {row.map((count, p) => {
                    const share = total > 0 ? count / total : 0;
                    // Pale to mid tones only, so the dark text keeps 4.5:1 on every cell.
                    const light = Math.round(100 - 28 * share);
                    return (
                      <td class={p === t ? "diagonal" : undefined} data-cell={`${t},${p}`}
                          style={{ background: count > 0 ? `hsl(${p === t ? 215 : 0} 75% ${light}%)` : undefined }}>
                        {count}</td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

function RocCurve({ roc, auc }: { roc: Roc; auc: number | null }) {
  return (
    <XYPlot testId="roc-curve" title="ROC curve"
            description={`True positive rate against false positive rate for class ` +
                         `${roc.positive_class}, ${roc.fpr.length} points` +
                         (auc !== null ? `, area ${num(auc)}.` : ".")}
            frame={{ width: 420, height: 320, x: [-0.02, 1.02], y: [-0.02, 1.02],
                     xLabel: "false positive rate", yLabel: "true positive rate" }}
            series={[{ label: `class ${roc.positive_class}`, kind: "line", xs: roc.fpr, ys: roc.tpr },
                     { label: "chance", kind: "line", color: "#6b7280", dashed: true, xs: [0, 1], ys: [0, 1] }]} />
  );
}

function PrCurve({ pr }: { pr: Pr }) {
  return (
    <XYPlot testId="pr-curve" title="Precision-recall curve"
            description={`Precision against recall for class ${pr.positive_class}, ` +
                         `${pr.recall.length} points` +
                         (pr.average_precision !== null ? `, average precision ${num(pr.average_precision)}.` : ".")}
            frame={{ width: 420, height: 320, x: [-0.02, 1.02], y: [-0.02, 1.02], xLabel: "recall",
                     yLabel: "precision" }}
            series={[{ label: `class ${pr.positive_class}`, kind: "line", color: PALETTE[2],
                       xs: pr.recall, ys: pr.precision }]} />
  );
}

function ResidualPlot({ residuals }: { residuals: Residuals }) {
  const errors = residuals.actual.map((a, i) => a - residuals.predicted[i]!);
  const [xlo, xhi] = padded(extent(residuals.predicted));
  const [ylo, yhi] = padded(extent([...errors, 0]));
  return (
    <XYPlot testId="residual-plot" title="Residuals"
            description={`Actual minus predicted value against the prediction, for ` +
                         `${residuals.predicted.length} of ${residuals.values} values (every ` +
                         `${residuals.stride}th).`}
            frame={{ width: 420, height: 320, x: [xlo, xhi], y: [ylo, yhi],
                     xLabel: "predicted", yLabel: "actual − predicted" }}
            series={[{ label: "residual", kind: "points", xs: residuals.predicted, ys: errors },
                     { label: "zero", kind: "line", color: "#6b7280", dashed: true, xs: [xlo, xhi], ys: [0, 0] }]} />
  );
}

function ResidualHistogram({ histogram }: { histogram: Histogram }) {
  const { edges, counts } = histogram;
  if (edges.length < 2 || counts.length === 0) return null;
  // Drawn as a step outline over the bins' edges.
  const xs: number[] = [];
  const ys: number[] = [];
  counts.forEach((c, i) => {
    xs.push(edges[i]!, edges[i + 1]!);
    ys.push(c, c);
  });
  return (
    <XYPlot testId="residual-histogram" title="Residual histogram"
            description={`How many values have each residual, in ${counts.length} bins from ` +
                         `${num(edges[0]!)} to ${num(edges[edges.length - 1]!)}.`}
            frame={{ width: 420, height: 320, x: [edges[0]!, edges[edges.length - 1]!],
                     y: [0, Math.max(1, ...counts) * 1.05], xLabel: "actual − predicted", yLabel: "values" }}
            series={[{ label: "values", kind: "line", color: PALETTE[3], xs, ys }]} />
  );
}
