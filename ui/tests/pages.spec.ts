// The console's pages over what the platform builds besides runs and jobs (tests/ctest.sh makes
// the data): a tuning study, evaluation reports, a served and monitored model, and the plugin
// reference with graph validation. Each page is checked against the API it draws from.
import { expect, test } from "@playwright/test";
import { api, keys, screenshot, signIn, watchPage } from "./helpers";

let problems: string[] = [];
test.beforeEach(({ page }) => { problems = watchPage(page); });
test.afterEach(() => { expect(problems, "CSP violations or page errors").toEqual([]); });

interface Trial { number: number; state: string; value: number | null; run_id: number }
interface Study {
  trials: Trial[];
  importances: Record<string, number> | null;
  best: { number: number; value: number } | null;
  space: { key: string }[];
}

test("a study shows every trial, the best so far, its parameters and importances", async ({ page }) => {
  const study = await api<Study>("/api/v1/studies/pumps_tune", keys.reader());
  expect(study.trials.length).toBe(12);
  await signIn(page, keys.reader());
  await page.getByRole("link", { name: "Studies" }).click();
  const row = page.locator("tr[data-study='pumps_tune']");
  await expect(row).toContainText("12");
  await screenshot(page, "studies");
  await row.getByRole("link", { name: "pumps_tune" }).click();
  await expect(page.getByRole("heading", { name: "pumps_tune" })).toBeVisible();

  // Every trial in the leaderboard, in the API's order, with its state.
  const rows = page.locator("[data-testid='leaderboard'] tbody tr");
  await expect(rows).toHaveCount(12);
  expect(await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute("data-trial")))))
      .toEqual(study.trials.map((t) => t.number));
  const pruned = study.trials.filter((t) => t.state === "pruned").length;
  await expect(page.locator("[data-testid='leaderboard'] tr[data-state='pruned']")).toHaveCount(pruned);
  // The history draws a mark per ended trial with a value: crosses (paths) for the pruned ones.
  const ended = study.trials.filter((t) => t.value !== null && (t.state === "complete" || t.state === "pruned"));
  const history = page.getByTestId("study-history");
  await expect(history.locator("circle")).toHaveCount(ended.length - pruned);
  await expect(history.locator("g[fill] path")).toHaveCount(pruned);
  await expect(page.getByTestId("study-best")).toContainText(`trial ${study.best!.number}`);
  // One line per complete trial across the parameter axes.
  const complete = study.trials.filter((t) => t.state === "complete" && t.value !== null).length;
  await expect(page.getByTestId("parallel-coordinates").locator("polyline")).toHaveCount(complete);
  // The importances the tuner computed (from 4 complete trials on), one bar each.
  expect(complete).toBeGreaterThanOrEqual(4);
  const importances = Object.keys(study.importances ?? {});
  expect(importances.sort()).toEqual(study.space.map((d) => d.key).sort());
  await expect(page.locator("[data-testid='importances'] tr[data-bar]")).toHaveCount(importances.length);
  // A trial's run is one click away.
  const withRun = study.trials.find((t) => t.run_id > 0)!;
  await page.locator(`[data-testid='leaderboard'] tr[data-trial='${withRun.number}']`)
      .getByRole("link", { name: `run ${withRun.run_id}` }).click();
  await expect(page.getByRole("heading", { name: new RegExp(`Run ${withRun.run_id} `) })).toBeVisible();
  await page.goBack();
  await screenshot(page, "study");
});

interface Window { unix_ns: number; drifted: boolean; features: { feature: string }[] }

test("monitoring shows drift per feature over time, live accuracy and the drift alert", async ({ page }) => {
  const windows = (await api<{ windows: Window[] }>("/api/v1/monitoring/pump_state/windows", keys.reader()))
      .windows;
  expect(windows.length).toBeGreaterThanOrEqual(4);
  expect(windows.some((w) => w.drifted)).toBe(true);  // the shifted half of the traffic
  await signIn(page, keys.reader());
  await page.getByRole("link", { name: "Monitoring" }).click();
  await expect(page.locator("tr[data-monitored='pump_state']")).toContainText("drifted");
  await screenshot(page, "monitoring-list");
  await page.locator("tr[data-monitored='pump_state']").getByRole("link", { name: "pump_state" }).click();
  await expect(page.getByRole("heading", { name: "pump_state" })).toBeVisible();
  const heatmap = page.getByTestId("drift-heatmap");
  await expect(heatmap).toHaveAttribute("data-windows", String(Math.min(120, windows.length)));
  // A cell per feature of each window drawn.
  await expect(heatmap.locator("rect")).toHaveCount(
      windows.slice(-120).reduce((n, w) => n + w.features.length, 0));
  const last = windows[windows.length - 1]!;
  await expect(page.locator("[data-testid='last-window'] tbody tr")).toHaveCount(last.features.length);
  await expect(page.locator("[data-testid='last-window'] tr[data-feature='vibration']")).toBeVisible();
  // Live accuracy from the ground truth tests/serve_traffic.mjs posted.
  await expect(page.getByTestId("live-metrics")).toContainText("accuracy");
  await expect(page.locator("[data-testid='alerts'] li[data-kind='drift']").first()).toBeVisible();
  await screenshot(page, "monitoring");
});

test("a model's page shows its served state with latency percentiles", async ({ page }) => {
  // Requests of its own: a version's counters start again when the registry reloads it.
  for (let i = 0; i < 3; ++i) {
    await api("/v2/models/pump_state/infer", keys.reader(), {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4] }] }),
    });
  }
  const stats = await api<{ model_stats: { version: string; inference_stats: { success: { count: number } } }[] }>(
      "/v2/models/pump_state/stats", keys.reader());
  const version = stats.model_stats.find((s) => s.inference_stats.success.count >= 3);
  expect(version, JSON.stringify(stats)).toBeDefined();
  await signIn(page, keys.reader());
  await page.goto("./#/models/pump_state");
  const served = page.getByTestId("served-state");
  await expect(served).toBeVisible();
  const row = served.locator(`tr[data-served-version='${version!.version}']`);
  // Requests only grow: at least those counted before the page opened.
  const requests = Number(await row.getByTestId("served-requests").textContent());
  expect(requests).toBeGreaterThanOrEqual(version!.inference_stats.success.count);
  // p50, p90 and p99 come from the latency histogram: numbers of milliseconds.
  const cells = await row.locator("td").allTextContents();
  expect(cells.slice(5, 8).every((c) => /^[0-9.e+-]+ ms$/.test(c)), cells.join(" | ")).toBe(true);
});

interface Node { type: string; params: { name: string }[] }

test("the plugin reference lists every node type; a graph is validated with errors at their lines",
     async ({ page }) => {
  const types = (await api<{ node_types: Node[] }>("/api/v1/plugins", keys.reader())).node_types;
  const mlp = types.find((t) => t.type === "model.mlp")!;
  await signIn(page, keys.reader());
  await page.getByRole("link", { name: "Plugins" }).click();
  await expect(page.getByText(`${types.length} of ${types.length} node types`)).toBeVisible();
  // A reader may read the reference but not validate (an operator's action, as submitting).
  await expect(page.getByLabel(/Graph \(YAML\)/)).toHaveCount(0);
  await page.getByLabel("Filter").fill("model.mlp");
  await page.getByRole("link", { name: "model.mlp" }).click();
  const reference = page.getByTestId("type-reference");
  await expect(reference.locator("tbody tr")).toHaveCount(mlp.params.length);
  await expect(reference.locator("tr[data-param='hidden']")).toBeVisible();

  await page.getByRole("button", { name: "Sign out" }).click();
  await signIn(page, keys.operator());
  await page.goto("./#/plugins");
  const box = page.getByLabel(/Graph \(YAML\)/);
  await box.fill("nodes:\n  data: {type: dataset.csv, path: x.csv}\n  net: {type: model.nope}\n" +
                 "  train: {type: job.train, model: net, dataset: data, epochs: many}\n");
  await page.getByRole("button", { name: "Validate" }).click();
  const errors = page.locator("#validate-errors");
  await expect(errors).toBeVisible();
  await expect(errors.locator(".listing li[data-line='3']")).toHaveClass(/bad/);
  await expect(errors.locator(".listing li[data-line='3'] .line-error")).toContainText("model.nope");
  await expect(errors.locator(".listing li[data-line='2']")).not.toHaveClass(/bad/);
  await screenshot(page, "plugins");
  await box.fill("nodes:\n  net: {type: model.mlp, hidden: [8]}\n");
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByTestId("graph-valid")).toContainText("net: model.mlp");
  // A serving graph is a valid graph, but not a job.
  await box.fill("nodes:\n  store: {type: storage.sqlite, path: s.db}\n" +
                 "  web: {type: frontend.http, port: 0}\n");
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.getByTestId("graph-valid")).toContainText("web: frontend.http");
  await page.getByLabel(/as a job/).check();
  await page.getByRole("button", { name: "Validate" }).click();
  await expect(page.locator("#validate-errors .listing li[data-line='3'] .line-error"))
      .toContainText("never ends");
});

interface Report {
  rows: number;
  metrics: Record<string, number | null>;
  classes?: { name: string }[];
  confusion_matrix?: number[][];
  roc?: { fpr: number[] };
  pr?: { recall: number[] };
  residuals?: { predicted: number[] };
  residual_histogram?: { counts: number[] };
}

async function evaluationRun(model: string): Promise<number> {
  const runs = await api<{ runs: { id: number; params: Record<string, string> }[] }>(
      "/api/v1/runs?experiment=evaluation&limit=100", keys.reader());
  const run = runs.runs.find((r) => Object.values(r.params).some((v) => v.startsWith(model)));
  if (!run) throw new Error(`no evaluation run of ${model} among ${JSON.stringify(runs.runs)}`);
  return run.id;
}

test("an evaluation's run shows its confusion matrix, ROC and PR curves, or residuals", async ({ page }) => {
  await signIn(page, keys.reader());
  // Three classes: per-class figures and the confusion matrix, cell for cell as stored.
  const pumps = await evaluationRun("pump_state");
  const report = await api<Report>(`/api/v1/runs/${pumps}/evaluation`, keys.reader());
  await page.goto(`./#/runs/${pumps}`);
  const matrix = page.getByTestId("confusion-matrix");
  await expect(matrix).toBeVisible();
  const cells = await matrix.locator("tbody td").allTextContents();
  expect(cells.map(Number)).toEqual(report.confusion_matrix!.flat());
  await expect(page.locator("[data-testid='per-class'] tbody tr")).toHaveCount(report.classes!.length);
  await expect(page.locator("[data-testid='evaluation-metrics'] tr[data-metric='accuracy']"))
      .toContainText(String(report.metrics["accuracy"]).slice(0, 4));
  await expect(page.getByTestId("roc-curve")).toHaveCount(0);  // not a binary classifier
  await screenshot(page, "evaluation");

  // Two classes: ROC and PR curves.
  const valves = await evaluationRun("valve_state");
  const binary = await api<Report>(`/api/v1/runs/${valves}/evaluation`, keys.reader());
  expect(binary.roc!.fpr.length).toBeGreaterThan(2);
  await page.goto(`./#/runs/${valves}`);
  await expect(page.getByTestId("roc-curve").locator("path").first()).toBeVisible();
  await expect(page.getByTestId("pr-curve")).toBeVisible();
  await screenshot(page, "evaluation-binary");

  // Regression: the residual sample, a point each, and the histogram.
  const energy = await evaluationRun("kwh");
  const regression = await api<Report>(`/api/v1/runs/${energy}/evaluation`, keys.reader());
  await page.goto(`./#/runs/${energy}`);
  await expect(page.getByTestId("residual-plot").locator("circle"))
      .toHaveCount(regression.residuals!.predicted.length);
  await expect(page.getByTestId("residual-histogram")).toBeVisible();
  await expect(page.getByTestId("confusion-matrix")).toHaveCount(0);
  await screenshot(page, "evaluation-regression");

  // The model's page lists the version's evaluations, linked to their runs.
  await page.goto("./#/models/pump_state");
  await page.getByLabel("Evaluated version").selectOption("2");
  await expect(page.locator(`[data-testid='evaluations'] tr[data-run='${pumps}']`)).toBeVisible();
});
