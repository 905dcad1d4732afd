// Accessibility: axe-core's WCAG 2 A and AA rules (labels, names, contrast, landmarks, ARIA) on
// each page as an operator sees it, and the console used with the keyboard alone.
import { type Page, expect, test } from "@playwright/test";
import { api, axeViolations as violations, keys, signIn, watchPage } from "./helpers";

let problems: string[] = [];
test.beforeEach(({ page }) => { problems = watchPage(page); });
test.afterEach(() => { expect(problems, "CSP violations or page errors").toEqual([]); });

/** The run of job.evaluate's report of pump_state (tests/ctest.sh). */
async function evaluationRunId(): Promise<number> {
  const runs = await api<{ runs: { id: number; params: Record<string, string> }[] }>(
      "/api/v1/runs?experiment=evaluation&limit=100", keys.reader());
  return runs.runs.find((r) => Object.values(r.params).some((v) => v.startsWith("pump_state")))?.id ?? 0;
}

test("the pages pass axe's WCAG 2.1 A and AA rules", async ({ page }) => {
  await page.goto("./");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  expect(await violations(page), "sign-in").toEqual([]);
  await signIn(page, keys.operator());
  const pages: [string, (p: Page) => Promise<void>][] = [
    ["#/models", (p) => expect(p.getByRole("link", { name: "pump_state" })).toBeVisible()],
    ["#/models/pump_state", (p) => expect(p.locator("tr[data-version='1']")).toBeVisible()],
    ["#/runs", (p) => expect(p.getByTestId("run-count")).toContainText("matched")],
    ["#/runs/1", (p) => expect(p.locator("figure.chart canvas").first()).toBeVisible()],
    ["#/compare?ids=1,2", (p) => expect(p.locator("figure.chart canvas")).toBeVisible()],
    ["#/jobs", (p) => expect(p.getByLabel("Graph YAML")).toBeVisible()],
    ["#/studies", (p) => expect(p.getByRole("link", { name: "pumps_tune" })).toBeVisible()],
    ["#/studies/pumps_tune", (p) => expect(p.getByTestId("parallel-coordinates")).toBeVisible()],
    ["#/monitoring", (p) => expect(p.getByRole("link", { name: "pump_state" })).toBeVisible()],
    ["#/monitoring/pump_state", (p) => expect(p.getByTestId("drift-heatmap")).toBeVisible()],
    ["#/plugins/model.mlp", (p) => expect(p.getByTestId("type-reference")).toBeVisible()],
    [`#/runs/${await evaluationRunId()}`, (p) => expect(p.getByTestId("confusion-matrix")).toBeVisible()],
    // The annotation pages (tests/ctest.sh's projects), as an operator, who may label, review
    // and export each; a review with a task and a text with spans are checked in
    // annotation.spec.ts.
    ["#/annotate", (p) => expect(p.locator("tr[data-project='garments']")).toBeVisible()],
    ["#/annotate/garments", (p) => expect(p.locator("canvas[data-loaded='true']")).toBeVisible()],
    ["#/annotate/notes", (p) => expect(p.getByTestId("task-text")).toBeVisible()],
    ["#/annotate/outlines", (p) => expect(p.locator("canvas[data-loaded='true']")).toBeVisible()],
    ["#/annotate/ratings", (p) => expect(p.getByTestId("task-table")).toBeVisible()],
    ["#/annotate/garments/review",
     (p) => expect(p.getByTestId("review-task").or(p.getByTestId("no-task"))).toBeVisible()],
    ["#/annotate/garments/overview", (p) => expect(p.getByTestId("agreement-project")).toBeVisible()],
  ];
  for (const [hash, ready] of pages) {
    await page.goto(`./${hash}`);
    await ready(page);
    expect(await violations(page), hash).toEqual([]);
  }
  // A refused graph's error listing too.
  await page.goto("./#/jobs");
  await page.getByLabel("Graph YAML").fill("nodes:\n  t: {type: job.train, epochs: x}\n");
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.locator("#job-errors")).toBeVisible();
  expect(await violations(page), "refused graph").toEqual([]);
});

test("the console works with the keyboard alone", async ({ page }) => {
  await page.goto("./");
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  // Tab to the key field (past the two radio buttons' group), type, Enter submits.
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("textbox", { name: "API key" })).toBeFocused();
  await page.keyboard.type(keys.reader());
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("who")).toHaveText("rita (reader)");
  // The skip link comes first and moves focus to the page's content.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  // Then to the Runs section, a run, its smoothing control.
  await page.getByRole("link", { name: "Runs" }).focus();
  await page.keyboard.press("Enter");
  const newest = await api<{ matched: number; runs: { id: number }[] }>("/api/v1/runs?limit=1",
                                                                        keys.reader());
  await expect(page.getByTestId("run-count")).toHaveText(`${newest.matched} runs matched`);
  await page.locator(".vbody [role='row']").first().getByRole("link").focus();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: `Run ${newest.runs[0]!.id}`, exact: false }))
      .toBeVisible();
  await page.getByLabel("Smoothing").focus();
  await page.keyboard.press("ArrowRight");
  await expect(page.locator(".controls output")).toHaveText("0.01");
});
