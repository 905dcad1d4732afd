// The console against a real aimass (tests/ctest.sh): sign-in, roles, a run's curves against the
// stored metric values, comparing runs, promoting a version, and submitting and cancelling jobs.
import { expect, test } from "@playwright/test";
import { api, jwt, keys, screenshot, signIn, watchPage } from "./helpers";

interface MetricHistory { points: { step: number; value: number | null; unix_ms: number }[] }
interface Series { label: string; steps: number[]; values: (number | null)[] }


let problems: string[] = [];
test.beforeEach(({ page }) => { problems = watchPage(page); });
test.afterEach(async () => {
  for (const note of test.info().annotations.filter((a) => a.type === "job")) {
    await api(`/api/v1/jobs/${note.description}/cancel`, keys.admin(), { method: "POST", body: "{}" })
        .catch(() => undefined);
  }
  expect(problems, "CSP violations or page errors").toEqual([]);
});

test("a wrong API key is refused with a clear error, a good one signs in", async ({ page }) => {
  await page.goto("./");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await page.getByRole("textbox", { name: "API key" }).fill("not-a-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("Sign-in refused");
  await expect(page.getByRole("alert")).toContainText("not a known API key");
  await screenshot(page, "signin-refused");

  await page.getByRole("textbox", { name: "API key" }).fill(keys.reader());
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("who")).toHaveText("rita (reader)");
  await expect(page.getByRole("heading", { name: "Models" })).toBeVisible();
  await expect(page.getByRole("link", { name: "pump_state" })).toBeVisible();
  await screenshot(page, "models");
  // Signed in for the tab: a reload keeps the session, signing out forgets it.
  await page.reload();
  await expect(page.getByTestId("who")).toHaveText("rita (reader)");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("a JWT signs in with the role it carries; one signed with another secret is refused", async ({ page }) => {
  await page.goto("./");
  await page.getByRole("radio", { name: "JWT" }).check();
  await page.getByRole("textbox", { name: "JWT" }).fill(
      jwt("mallory", "admin", "another-secret-of-at-least-32-bytes-0123456789"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("not a JWT signed with this server's secret");
  await page.getByRole("textbox", { name: "JWT" }).fill(jwt("jules", "operator"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("who")).toHaveText("jules (operator)");
  await page.goto("./#/models/pump_state");
  await expect(page.getByRole("button", { name: "Promote" })).toBeVisible();
});

test("a reader sees no promote, tag, rollback, submit or cancel controls", async ({ page }) => {
  await signIn(page, keys.reader());
  await page.getByRole("link", { name: "pump_state" }).click();
  await expect(page.getByRole("heading", { name: "Versions" })).toBeVisible();
  // Lineage: the dataset version and the run that registered each version.
  await expect(page.locator("tr[data-version='2']")).toContainText("pumps v1");
  // The run job.train registered each version from (runs 1 and 2, behind 100,000 newer ones):
  // as the registry's lineage route says, and that run names the version as its artifact.
  for (const version of [1, 2]) {
    const lineage = await api<{ run_id: number }>(`/api/v1/models/pump_state/versions/${version}/run`,
                                                  keys.reader());
    expect(lineage.run_id).toBe(version);
    const run = await api<{ artifacts: Record<string, string> }>(`/api/v1/runs/${lineage.run_id}`,
                                                                 keys.reader());
    expect(run.artifacts["model_version"]).toBe(`pump_state/${version}`);
    await expect(page.locator(`tr[data-version='${version}']`).getByRole("link", { name: `run ${version}` }))
        .toHaveAttribute("href", `#/runs/${version}`);
  }
  await expect(page.locator("li[data-kind='registered']")).toHaveCount(2);
  await expect(page.getByRole("button", { name: "Promote" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /^Tag|Set tag/ })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /Roll back/ })).toHaveCount(0);
  await page.getByRole("link", { name: "Jobs" }).click();
  await expect(page.getByRole("heading", { name: "Queues" })).toBeVisible();
  await expect(page.getByLabel("Graph YAML")).toHaveCount(0);
});

test("a run's curve plots exactly the stored metric values", async ({ page }) => {
  await signIn(page, keys.reader());
  await page.goto("./#/runs/1");
  await expect(page.getByRole("heading", { name: /Run 1/ })).toBeVisible();
  const chart = page.locator("figure.chart[data-title='val_loss']");
  await expect(chart.locator("canvas")).toBeVisible();
  const stored = await api<MetricHistory>("/api/v1/runs/1/metrics/val_loss", keys.reader());
  expect(stored.points.length).toBe(15);
  const series = JSON.parse((await chart.getAttribute("data-series"))!) as Series[];
  expect(series).toHaveLength(1);
  expect(series[0]!.steps).toEqual(stored.points.map((p) => p.step));
  expect(series[0]!.values).toEqual(stored.points.map((p) => p.value));
  // Dragging across the plot zooms into those steps; "Reset zoom" shows them all again.
  await expect(chart).toHaveAttribute("data-x-range", "1,15");
  const over = chart.locator(".u-over");
  await over.scrollIntoViewIfNeeded();
  const box = (await over.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  const [min, max] = (await chart.getAttribute("data-x-range"))!.split(",").map(Number);
  expect(min).toBeGreaterThan(3);
  expect(max).toBeLessThan(10);
  await chart.getByRole("button", { name: "Reset zoom" }).click();
  await expect(chart).toHaveAttribute("data-x-range", "1,15");
  // The accessible table view lists the same points.
  await chart.getByText("Points of val_loss as a table").click();
  await expect(chart.locator("details.points tbody tr")).toHaveCount(15);
  // Smoothing, log scale and the time axis redraw the chart from the same points.
  await page.getByLabel("Log scale").first().check();
  await page.getByLabel("X axis").first().selectOption("time");
  await page.getByLabel("Smoothing").first().fill("0.6");
  await expect(chart.locator("canvas")).toBeVisible();
  const after = JSON.parse((await chart.getAttribute("data-series"))!) as Series[];
  expect(after[0]!.values).toEqual(stored.points.map((p) => p.value));
  // The per-batch loss (120 points) plots in full too.
  await page.getByRole("checkbox", { name: /^loss / }).check();
  const loss = page.locator("figure.chart[data-title='loss']");
  await expect(loss.locator("canvas")).toBeVisible();
  const storedLoss = await api<MetricHistory>("/api/v1/runs/1/metrics/loss", keys.reader());
  const lossSeries = JSON.parse((await loss.getAttribute("data-series"))!) as Series[];
  expect(lossSeries[0]!.values).toEqual(storedLoss.points.map((p) => p.value));
  await expect(page.getByRole("cell", { name: "optimizer.learning_rate" })).toHaveCount(0);
  await expect(page.getByRole("rowheader", { name: "optimizer.learning_rate" })).toBeVisible();
  await expect(page.getByRole("rowheader", { name: "model_version" })).toBeVisible();
  await screenshot(page, "run");
});

test("a curve of 100,000 points plots in full", async ({ page }) => {
  await signIn(page, keys.reader());
  const long = await api<{ runs: { id: number }[] }>("/api/v1/runs?experiment=long", keys.reader());
  const id = long.runs[0]!.id;
  let stored: number[] = [];
  for (let after: number | undefined; ;) {
    const page = await api<MetricHistory & { more: boolean }>(
        `/api/v1/runs/${id}/metrics/loss?limit=100000${after === undefined ? "" : `&after_step=${after}`}`,
        keys.reader());
    stored = stored.concat(page.points.map((p) => p.value!));
    if (!page.more || page.points.length === 0) break;
    after = page.points[page.points.length - 1]!.step;
  }
  expect(stored).toHaveLength(100_000);
  await page.goto(`./#/runs/${id}`);
  await expect(page.locator("figure.chart[data-title='val_loss'] canvas")).toBeVisible();
  const started = Date.now();
  await page.getByRole("checkbox", { name: /^loss / }).check();
  const chart = page.locator("figure.chart[data-title='loss']");
  await expect(chart.locator("canvas")).toBeVisible();
  const shown = Date.now() - started;
  const series = JSON.parse((await chart.getAttribute("data-series"))!) as Series[];
  expect(series[0]!.values).toEqual(stored);
  test.info().annotations.push({ type: "timing", description: `100,000-point curve fetched and drawn in ${shown} ms` });
  console.log(`[${test.info().project.name}] 100,000-point curve fetched and drawn in ${shown} ms`);
  // Smoothing redraws it from the same points.
  await page.getByLabel("Smoothing").fill("0.9");
  await expect(page.locator(".controls output")).toHaveText("0.90");
  await expect(chart.locator("canvas")).toBeVisible();
  await screenshot(page, "run-long");
});

test("the runs table sorts on the server, picks columns and compares two runs", async ({ page }) => {
  await signIn(page, keys.reader());
  await page.getByRole("link", { name: "Runs" }).click();
  // Every run: the fixture's 252 and those of the jobs an earlier test ran.
  const all = await api<{ matched: number }>("/api/v1/runs?limit=1", keys.reader());
  expect(all.matched).toBeGreaterThanOrEqual(252);
  await expect(page.getByTestId("run-count")).toHaveText(`${all.matched} runs matched`);
  await page.getByRole("textbox", { name: "Experiment" }).fill("train");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("run-count")).toHaveText("2 runs matched");
  // The columns chosen for all runs (the newest, of experiment "scale", have no val_ metrics)
  // stay in the link; the picker adds val_accuracy.
  await page.getByText("Columns", { exact: true }).click();
  await page.getByRole("checkbox", { name: "val_accuracy", exact: true }).check();
  await page.getByText("Columns", { exact: true }).click();
  // Sort by val_accuracy, largest first: run 2 (learning rate 0.2) leads.
  await page.getByRole("button", { name: "val_accuracy" }).click();
  await page.getByRole("button", { name: /val_accuracy ↑/ }).click();
  await expect(page.getByRole("button", { name: /val_accuracy ↓/ })).toBeVisible();
  const firstRow = page.locator(".vbody [role='row']").first();
  await expect(firstRow.getByRole("link")).toHaveText("2");
  // A filter narrows the listing on the server.
  await page.getByLabel("Filter", { exact: true }).fill("val_accuracy>0.9");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("run-count")).toHaveText("1 run matched");
  await page.getByLabel("Filter", { exact: true }).fill("");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByTestId("run-count")).toHaveText("2 runs matched");
  // The column picker adds a param column.
  await page.getByText("Columns", { exact: true }).click();
  await page.getByRole("checkbox", { name: "optimizer.learning_rate" }).check();
  await expect(page.getByRole("columnheader", { name: "optimizer.learning_rate" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "0.05", exact: true })).toBeVisible();
  await page.getByText("Columns", { exact: true }).click();

  await page.getByRole("checkbox", { name: "Select run 1" }).check();
  await page.getByRole("checkbox", { name: "Select run 2" }).check();
  await screenshot(page, "runs");
  await page.getByRole("link", { name: "Compare 2 selected" }).click();
  await expect(page.getByRole("heading", { name: /Compare runs/ })).toBeVisible();
  const chart = page.locator("figure.chart[data-title='val_loss']");
  await expect(chart.locator("canvas")).toBeVisible();
  const series = JSON.parse((await chart.getAttribute("data-series"))!) as Series[];
  expect(series.map((s) => s.label).sort()).toEqual(["run 1", "run 2"]);
  for (const s of series) {
    const id = Number(s.label.replace("run ", ""));
    const stored = await api<MetricHistory>(`/api/v1/runs/${id}/metrics/val_loss`, keys.reader());
    expect(s.values).toEqual(stored.points.map((p) => p.value));
  }
  const diff = page.locator("tr[data-param='optimizer.learning_rate']");
  await expect(diff).toContainText("0.05");
  await expect(diff).toContainText("0.2");
  await expect(page.locator("tr[data-param='epochs']")).toHaveCount(0);
  await screenshot(page, "compare");
});

test("an operator promotes a version, and the alias moves in the registry", async ({ page }) => {
  await signIn(page, keys.operator());
  await page.goto("./#/models/pump_state");
  await expect(page.getByTestId("who")).toHaveText("otto (operator)");
  await page.getByRole("textbox", { name: "Alias" }).fill("champion");
  await page.getByLabel("Version", { exact: true }).selectOption("2");
  await page.getByRole("button", { name: "Promote" }).click();
  await expect(page.getByTestId("alias-champion")).toHaveText("2");
  let model = await api<{ aliases: Record<string, number> }>("/api/v1/models/pump_state", keys.reader());
  expect(model.aliases["champion"]).toBe(2);

  await page.getByLabel("Version", { exact: true }).selectOption("1");
  await page.getByRole("button", { name: "Promote" }).click();
  await expect(page.getByTestId("alias-champion")).toHaveText("1");
  await page.getByRole("button", { name: "Roll back champion" }).click();
  await expect(page.getByTestId("alias-champion")).toHaveText("2");
  model = await api<{ aliases: Record<string, number> }>("/api/v1/models/pump_state", keys.reader());
  expect(model.aliases["champion"]).toBe(2);
  await expect(page.locator("li[data-kind='alias_moved']").first()).toBeVisible();
  // The registry's history names who did it: the signed-in principal, not the server's user.
  const rolled = await api<{ events: { actor: string }[] }>(
      "/api/v1/models/pump_state/events?kind=alias_rolled_back", keys.reader());
  expect(rolled.events[rolled.events.length - 1]!.actor).toBe("otto");
  await expect(page.locator("li[data-kind='alias_rolled_back']").first()).toContainText("by otto");

  await page.getByLabel("Tag key for version 2").fill("stage");
  await page.getByLabel("Tag value for version 2").fill("prod");
  await page.getByRole("button", { name: "Set tag on version 2" }).click();
  await expect(page.locator("tr[data-version='2']")).toContainText("stage=prod");
  await screenshot(page, "model");
});

const BAD_GRAPH = `nodes:
  m: {type: model.softmax}
  t:
    type: job.train
    model: m
    epochs: lots
`;

test("the runs table pages through 250 runs, keeping only the rows in view", async ({ page }) => {
  await signIn(page, keys.reader());
  await page.goto("./#/runs?experiment=sweep&sort=val_loss");
  await expect(page.getByTestId("run-count")).toHaveText("250 runs matched");
  const rows = page.locator(".vbody [role='row']");
  await expect(rows.first().getByRole("link")).toBeVisible();
  expect(await rows.count()).toBeLessThan(40);
  // The order is the server's: the first row is the API's first, the last row its last.
  const sorted = await api<{ runs: { id: number }[] }>(
      "/api/v1/runs?experiment=sweep&sort=val_loss&limit=0", keys.reader());
  expect(sorted.runs).toHaveLength(250);
  await expect(rows.first().getByRole("link")).toHaveText(String(sorted.runs[0]!.id));
  const table = page.getByRole("table", { name: "Runs" });
  await table.evaluate((element) => { element.scrollTop = element.scrollHeight; });
  const last = sorted.runs[249]!.id;
  await expect(page.locator(".vbody").getByRole("link", { name: String(last), exact: true }))
      .toBeVisible();
  await expect(page.locator(".vbody [aria-rowindex='251']")).toContainText(String(last));
  expect(await rows.count()).toBeLessThan(40);
  // Halfway down: rows of the second page of 100, in the server's order.
  await table.evaluate((element) => { element.scrollTop = 150 * 32; });
  await expect(page.locator(".vbody [aria-rowindex='152']"))
      .toContainText(String(sorted.runs[150]!.id));
});

test("a bad graph's errors show at their lines; a good job runs and is cancelled", async ({ page }) => {
  await signIn(page, keys.operator());
  await page.getByRole("link", { name: "Jobs" }).click();
  await expect(page.locator("article[data-queue='research']")).toBeVisible();
  // Uploaded from a file: its text goes into the editor, its name into the job's name.
  await page.getByLabel("Or upload").setInputFiles(
      { name: "bad.yaml", mimeType: "text/yaml", buffer: Buffer.from(BAD_GRAPH) });
  await expect(page.getByLabel("Graph YAML")).toHaveValue(BAD_GRAPH);
  await expect(page.getByLabel("Name", { exact: true })).toHaveValue("bad.yaml");
  await page.getByRole("button", { name: "Submit" }).click();
  const errors = page.locator("#job-errors");
  await expect(errors).toBeVisible();
  await expect(errors.locator(".listing li[data-line='6']")).toHaveClass(/bad/);
  await expect(errors.locator(".listing li[data-line='6'] .line-error")).toContainText("must be an integer");
  await expect(errors.getByRole("button", { name: "Line 6, column 13" })).toBeVisible();
  await expect(errors.locator(".listing li[data-line='2']")).not.toHaveClass(/bad/);
  await screenshot(page, "jobs-bad-graph");

  const source = process.env["AIMASS_E2E_SOURCE_DIR"]!;
  const work = process.env["AIMASS_E2E_WORK"]!;
  const good = `nodes:
  store: {type: storage.sqlite, path: ${work}/store.db}
  pumps: {type: dataset.csv, path: ${source}/configs/data/pumps.csv, label: state}
  pump_state: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: pump_state, dataset: pumps, optimizer: sgd, epochs: 1000000,
          storage: store, validation_fraction: 0.2, register: false, experiment: live}
`;
  await page.getByLabel("Graph YAML").fill(good);
  await page.getByLabel("Name", { exact: true }).fill("long_train.yaml");
  await page.getByLabel("Queue", { exact: true }).selectOption("research");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page).toHaveURL(/#\/jobs\/\d+$/);
  const id = Number(/#\/jobs\/(\d+)$/.exec(page.url())![1]);
  // Should the test fail half-way, its job does not run on into the next tests.
  test.info().annotations.push({ type: "job", description: String(id) });
  await expect(page.getByTestId("job-state")).toHaveText(/queued|running/);
  await expect(page.getByTestId("job-state")).toHaveText("running", { timeout: 20_000 });
  await expect(page.getByLabel(`Log of job ${id}`)).not.toHaveText("(empty)", { timeout: 20_000 });
  await screenshot(page, "job-running");
  // The job's run, linked from the job's page while it runs: its curve grows while it is open.
  await expect.poll(async () => (await api<{ runs: number[] }>(`/api/v1/jobs/${id}`, keys.reader()))
                                     .runs.length, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
  const run = (await api<{ runs: number[] }>(`/api/v1/jobs/${id}`, keys.reader())).runs[0]!;
  await page.getByRole("link", { name: String(run), exact: true }).click();
  await expect(page.getByRole("heading", { name: /Run \d+ running/ })).toBeVisible();
  const live = page.locator("figure.chart[data-title='val_loss']");
  await expect(live.locator("canvas")).toBeVisible();
  const length = async () => (JSON.parse((await live.getAttribute("data-series"))!) as Series[])[0]!
      .values.length;
  const before = await length();
  await expect.poll(length, { timeout: 15_000 }).toBeGreaterThan(before);
  await page.goto(`./#/jobs/${id}`);
  await expect(page.getByTestId("job-state")).toHaveText("running");
  await page.getByRole("button", { name: "Cancel job" }).click();
  await expect(page.getByTestId("job-state")).toHaveText("cancelled", { timeout: 30_000 });
  const job = await api<{ state: string; owner: string }>(`/api/v1/jobs/${id}`, keys.reader());
  expect(job.state).toBe("cancelled");
  expect(job.owner).toBe("otto");
  await page.getByRole("link", { name: "Jobs", exact: true }).first().click();
  await expect(page.locator(`tr[data-job='${id}']`)).toContainText("cancelled");
  await screenshot(page, "jobs");
});

test("the pages fit a tablet's width", async ({ page }) => {
  await page.setViewportSize({ width: 768, height: 1024 });
  await signIn(page, keys.reader());
  for (const [hash, heading] of [["#/models", "Models"], ["#/runs", "Runs"], ["#/runs/2", "Run 2"],
                                 ["#/jobs", "Jobs"]] as const) {
    await page.goto(`./${hash}`);
    await expect(page.getByRole("heading", { name: heading, exact: false }).first()).toBeVisible();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${hash} scrolls sideways`).toBeLessThanOrEqual(0);
    await screenshot(page, `tablet-${heading.toLowerCase().replace(" ", "-")}`);
  }
});
