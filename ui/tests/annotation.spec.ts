// Annotation in the console against the projects of tests/ctest.sh: alice labels images with
// the keys, a click and the model's suggestion, marks spans of a text by selecting it with the
// mouse and draws a box; bob types a value; carol accepts, rejects and corrects; an operator
// reads the agreement, exports the accepted labels as a dataset version and the CSV and COCO
// files, and trains a model on the export through the job service. Every answer is checked
// against the API. The tests run in this order and build on each other's labels; they hold for
// a second run on the same server (the "prefix" project).
import { readFileSync } from "node:fs";
import { type Page, expect, test } from "@playwright/test";
import { api, axeViolations, keys, screenshot, server, signIn, watchPage } from "./helpers";

let problems: string[] = [];
test.beforeEach(({ page }) => { problems = watchPage(page); });
test.afterEach(() => { expect(problems, "CSP violations or page errors").toEqual([]); });

interface Answer {
  label?: string;
  value?: number;
  boxes?: { x: number; y: number; w: number; h: number; label: string }[];
  spans?: { start: number; end: number; label: string }[];
}
interface Task {
  task: number;
  state: string;
  content: { kind: string; text?: string; width?: number; height?: number };
  suggestion?: { model: string; version: string; answer: Answer; score: number };
  rejections: number;
  annotations: { annotator: string; seconds: number; suggested: boolean; answer: Answer }[];
  review?: { reviewer: string; decision: string; answer?: Answer };
  accepted?: Answer;
}
interface Project {
  name: string;
  choices?: string[];
  counts: { tasks: number; accepted: number; annotated: number; awaiting_review: number;
            rejected_rounds: number };
}
interface Figure { measure: string; value: number | null; tasks: number; note?: string }
interface Agreement {
  project: Figure;
  annotators: { annotator: string; with_others: Figure; with_accepted: Figure }[];
}

const projects = "/api/v1/annotation/projects";
const taskOf = (project: string, task: number, key: string) =>
  api<Task>(`${projects}/${project}/tasks/${task}`, key);

/** The console's num(): how the pages print a number. */
function num(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1e5 || Math.abs(value) < 1e-3 ? value.toExponential(4) : value.toPrecision(5);
}

/** Waits for the task shown in `testId` (label-task, review-task) to be another than `before`;
 * its number. */
async function shownTask(page: Page, testId: string, before = -1): Promise<number> {
  const section = page.getByTestId(testId);
  await expect(section).toBeVisible();
  await expect(section).not.toHaveAttribute("data-task", String(before));
  return Number(await section.getAttribute("data-task"));
}

async function signOut(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
}

/** Selects `word` of the task's text with the mouse: pressed just inside its first character,
 * released just inside its last. */
async function selectWithMouse(page: Page, word: string): Promise<void> {
  const box = await page.getByTestId("task-text").evaluate((root, word) => {
    for (const segment of Array.from(root.querySelectorAll("[data-seg]"))) {
      const node = segment.firstChild;
      if (!(node instanceof Text)) continue;
      const at = node.data.indexOf(word);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + word.length);
      const rects = range.getClientRects();
      const first = rects[0]!;
      const last = rects[rects.length - 1]!;
      return { x0: first.left, y0: first.top + first.height / 2, x1: last.right,
               y1: last.top + last.height / 2 };
    }
    return null;
  }, word);
  expect(box, `"${word}" is not shown as plain text`).not.toBeNull();
  await page.mouse.move(box!.x0 + 1, box!.y0);
  await page.mouse.down();
  await page.mouse.move(box!.x1 - 1, box!.y1, { steps: 8 });
  await page.mouse.up();
}

/** Drags on the task's image from one point to another, given as fractions of its size. */
async function dragOnImage(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const canvas = page.locator("canvas[data-loaded='true']");
  const r = (await canvas.boundingBox())!;
  await page.mouse.move(r.x + from[0] * r.width, r.y + from[1] * r.height);
  await page.mouse.down();
  await page.mouse.move(r.x + to[0] * r.width, r.y + to[1] * r.height, { steps: 10 });
  await page.mouse.up();
}

test("an annotator sees only its projects and labels with the keys, a click and the suggestion",
     async ({ page }) => {
  const mine = (await api<{ projects: Project[] }>(projects, keys.alice())).projects;
  expect(mine.map((p) => p.name).sort()).toEqual(["garments", "notes", "outlines"]);
  const choices = mine.find((p) => p.name === "garments")!.choices!;
  await signIn(page, keys.alice());
  await expect(page.getByTestId("who")).toHaveText("alice (annotator)");
  // An annotator's console is its projects: the only section, and the first page.
  await expect(page.getByRole("navigation", { name: "Sections" }).getByRole("link"))
      .toHaveText(["Annotate"]);
  await expect(page.getByRole("heading", { name: "Annotation projects" })).toBeVisible();
  await expect(page.locator("tr[data-project]")).toHaveCount(3);
  await expect(page.locator("tr[data-project='ratings']")).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Review garments" })).toHaveCount(0);
  await screenshot(page, "annotate-projects");
  await page.getByRole("link", { name: "Label garments" }).click();

  // Five images with the digit keys: 1-5 choose the first five classes, Enter submits.
  let task = -1;
  for (const key of ["1", "2", "3", "4", "5"]) {
    task = await shownTask(page, "label-task", task);
    await expect(page.locator("canvas[data-loaded='true']")).toBeVisible();
    // The model's suggestion, marked as one.
    await expect(page.getByTestId("suggestion")).toContainText("Suggestion by model garment_classifier v1");
    if (key === "1") await screenshot(page, "annotate-label");
    const label = choices[Number(key) - 1]!;
    await page.keyboard.press(key);
    await expect(page.locator(`button[data-choice='${label}']`)).toHaveAttribute("aria-pressed", "true");
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}: ${label}`);
    const saved = await taskOf("garments", task, keys.alice());
    expect(saved.state).toBe("awaiting_review");
    expect(saved.annotations.map((a) => [a.annotator, a.answer.label, a.suggested]))
        .toEqual([["alice", label, false]]);
    expect(saved.annotations[0]!.seconds).toBeGreaterThan(0);
  }
  // One by clicking a class and the Submit button.
  task = await shownTask(page, "label-task", task);
  await page.locator(`button[data-choice='${choices[6]}']`).click();
  await page.getByRole("button", { name: "Submit" }).click();
  await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}: ${choices[6]}`);
  expect((await taskOf("garments", task, keys.alice())).annotations[0]!.answer.label).toBe(choices[6]);
  // Enter with nothing chosen takes the suggestion, and says so.
  task = await shownTask(page, "label-task", task);
  const suggestion = (await taskOf("garments", task, keys.alice())).suggestion!;
  await expect(page.getByTestId("suggested-answer")).toHaveText(suggestion.answer.label!);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}: ${suggestion.answer.label} (the suggestion)`);
  const taken = (await taskOf("garments", task, keys.alice())).annotations[0]!;
  expect([taken.answer.label, taken.suggested]).toEqual([suggestion.answer.label, true]);
  await expect(page.getByTestId("done")).toHaveText("7 answered on this page.");
});

test("a reviewer accepts, rejects and corrects, with the keys", async ({ page }) => {
  const choices = (await api<Project>(`${projects}/garments`, keys.carol())).choices!;
  // Three tasks at least await review (bob labels more should alice's test not have run).
  let waiting = (await api<Project>(`${projects}/garments`, keys.carol())).counts.awaiting_review;
  for (; waiting < 3; ++waiting) {
    const next = await api<Task>(`${projects}/garments/next`, keys.bob());
    await api(`${projects}/garments/tasks/${next.task}/annotation`, keys.bob(),
              { method: "PUT", body: JSON.stringify({ label: choices[0] }) });
  }
  await signIn(page, keys.carol());
  await expect(page.locator("tr[data-project]")).toHaveCount(2);  // garments, notes
  await page.getByRole("link", { name: "Review garments" }).click();

  // Accept (a).
  let task = await shownTask(page, "review-task");
  await expect(page.locator("[data-testid='annotations'] tbody tr")).not.toHaveCount(0);
  await expect(page.locator("canvas[data-loaded='true']")).toBeVisible();
  await screenshot(page, "annotate-review");
  if (test.info().project.name === "direct") expect(await axeViolations(page), "review").toEqual([]);
  await page.keyboard.press("a");
  await expect(page.getByTestId("saved")).toContainText(`Accepted task ${task}`);
  let saved = await taskOf("garments", task, keys.carol());
  expect([saved.state, saved.review?.decision, saved.review?.reviewer]).toEqual(["accepted", "accept", "carol"]);
  expect(saved.accepted?.label).toBe(saved.annotations[0]!.answer.label);
  const acceptedLabel = saved.accepted!.label!;

  // Reject (r): the task is open again, its round archived.
  task = await shownTask(page, "review-task", task);
  const before = (await taskOf("garments", task, keys.carol())).rejections;
  await page.keyboard.press("r");
  await expect(page.getByTestId("saved")).toContainText(`Rejected task ${task}`);
  saved = await taskOf("garments", task, keys.carol());
  expect([saved.state, saved.rejections, saved.annotations.length]).toEqual(["open", before + 1, 0]);

  // Correct (c): the editor opens with the first annotation's class; 1-9 picks another, Enter
  // saves it as the answer.
  task = await shownTask(page, "review-task", task);
  const first = (await taskOf("garments", task, keys.carol())).annotations[0]!.answer.label!;
  await page.keyboard.press("c");
  await expect(page.locator(`button[data-choice='${first}']`)).toHaveAttribute("aria-pressed", "true");
  // Another class than the annotation's and the accepted task's: the labels then hold two
  // classes at least (the last test trains a classifier on them).
  let other = choices.indexOf(first);
  do other = (other + 1) % 9; while (choices[other] === first || choices[other] === acceptedLabel);
  await page.keyboard.press(String(other + 1));
  await expect(page.locator(`button[data-choice='${choices[other]}']`)).toHaveAttribute("aria-pressed", "true");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("saved")).toContainText(`Corrected task ${task}: ${choices[other]}`);
  saved = await taskOf("garments", task, keys.carol());
  expect([saved.state, saved.review?.decision, saved.accepted?.label])
      .toEqual(["accepted", "correct", choices[other]]);
});

const PLACES = ["London", "Leeds", "Arlington", "Paris", "Maida Vale", "Cirey", "Calicut", "Alexandria"];

test("spans are marked by selecting text with the mouse; markup in a text shows as text",
     async ({ page }) => {
  await signIn(page, keys.alice());
  await page.getByRole("link", { name: "Label notes" }).click();
  const task = await shownTask(page, "label-task");
  const text = (await taskOf("notes", task, keys.alice())).content.text!;
  const shown = page.getByTestId("task-text");
  // Every note has "<b>...</b>" (some "<script>" or "<img onerror>"): shown as characters, never
  // as elements.
  await expect(shown).toHaveText(text);
  await expect(shown).toContainText("<b>");
  await expect(shown.locator("b, script, img, i")).toHaveCount(0);

  const person = /<b>(.*?)<\/b>/.exec(text)![1]!;
  const place = PLACES.find((p) => text.includes(p))!;
  // Offsets count characters (code points): the note starts with an emoji, two UTF-16 units.
  const at = (word: string) => Array.from(text.slice(0, text.indexOf(word))).length;
  const span = (word: string, label: string) =>
    ({ start: at(word), end: at(word) + Array.from(word).length, label });
  await selectWithMouse(page, person);
  await expect(page.getByTestId("selection")).toContainText(`Selected: “${person}”`);
  await page.keyboard.press("1");
  await expect(shown.locator("mark[data-label='person']")).toHaveText(`${person}person`);
  await expect(shown.locator("mark[data-label='person']")).toHaveAttribute("data-start", String(at(person)));
  // A wrong one, then Backspace takes it back.
  await selectWithMouse(page, place);
  await page.keyboard.press("1");
  await expect(shown.locator("mark")).toHaveCount(2);
  await page.keyboard.press("Backspace");
  await expect(shown.locator("mark")).toHaveCount(1);
  await selectWithMouse(page, place);
  await page.keyboard.press("2");
  await expect(shown.locator("mark[data-label='place']")).toHaveText(`${place}place`);
  await expect(page.getByTestId("regions")).toContainText(`place: “${place}”`);
  await screenshot(page, "annotate-spans");
  if (test.info().project.name === "direct") expect(await axeViolations(page), "spans").toEqual([]);
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}`);
  const saved = await taskOf("notes", task, keys.alice());
  expect(saved.annotations[0]!.answer.spans).toEqual([span(person, "person"), span(place, "place")]);
  // The page still holds no element made from a note's text.
  await expect(page.locator("main b, main script, main img")).toHaveCount(0);
});

test("a box is drawn with the mouse; two annotators' equal boxes are accepted", async ({ page }) => {
  await signIn(page, keys.alice());
  await page.getByRole("link", { name: "Label outlines" }).click();
  const task = await shownTask(page, "label-task");
  await expect(page.locator("canvas[data-loaded='true']")).toBeVisible();
  await page.keyboard.press("2");  // shoe
  await expect(page.locator("button[data-choice='shoe']")).toHaveAttribute("aria-pressed", "true");
  await dragOnImage(page, [0.1, 0.1], [0.3, 0.3]);
  await expect(page.getByTestId("regions").locator("li")).toHaveCount(1);
  await page.keyboard.press("Backspace");
  await expect(page.getByTestId("regions")).toHaveText("No box yet.");
  await dragOnImage(page, [0.2, 0.25], [0.7, 0.8]);
  await expect(page.getByTestId("regions").locator("li")).toHaveCount(1);
  await expect(page.getByTestId("regions")).toContainText("shoe at");
  await expect(page.locator("canvas[data-boxes='1']")).toBeVisible();
  await screenshot(page, "annotate-boxes");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}: shoe at`);
  const saved = await taskOf("outlines", task, keys.alice());
  const box = saved.annotations[0]!.answer.boxes!;
  const { width, height } = saved.content as { width: number; height: number };
  expect(box).toHaveLength(1);
  expect(box[0]!.label).toBe("shoe");
  expect(Math.abs(box[0]!.x - 0.2 * width)).toBeLessThan(0.6);
  expect(Math.abs(box[0]!.y - 0.25 * height)).toBeLessThan(0.6);
  expect(Math.abs(box[0]!.w - 0.5 * width)).toBeLessThan(0.6);
  expect(Math.abs(box[0]!.h - 0.55 * height)).toBeLessThan(0.6);
  expect(saved.state).toBe("open");  // a second annotator is needed
  // bob draws the same box: they agree, so the task is accepted without a review.
  const answered = await api<{ state: string }>(`${projects}/outlines/tasks/${task}/annotation`,
                                                keys.bob(), { method: "PUT", body: JSON.stringify({ boxes: box }) });
  expect(answered.state).toBe("accepted");
});

test("a value is typed for a table's row; a refused value stays with the server's reason",
     async ({ page }) => {
  const mine = (await api<{ projects: Project[] }>(projects, keys.bob())).projects;
  expect(mine.map((p) => p.name).sort()).toEqual(["garments", "outlines", "ratings"]);
  await signIn(page, keys.bob());
  await page.getByRole("link", { name: "Label ratings" }).click();
  const task = await shownTask(page, "label-task");
  await expect(page.getByTestId("task-table").locator("tbody tr")).not.toHaveCount(0);
  const input = page.getByLabel("Value (0 to 10)");
  await expect(input).toBeFocused();
  await input.fill("12");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("alert")).toContainText("outside [0");
  await expect(input).toHaveValue("12");
  await input.fill("7.5");
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("saved")).toContainText(`Saved task ${task}: 7.5`);
  const saved = await taskOf("ratings", task, keys.bob());
  expect([saved.state, saved.annotations[0]!.answer.value]).toEqual(["accepted", 7.5]);
});

/** POST on the server as `key`, the answer as text. */
async function postText(path: string, key: string, body: unknown): Promise<string> {
  const response = await fetch(server() + path, {
    method: "POST", body: JSON.stringify(body),
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
  });
  expect(response.status, path).toBe(200);
  return response.text();
}

interface Job { id: number; state: string; reason?: string }

test("the overview shows progress and agreement; an export is registered and trained on",
     async ({ page }) => {
  test.setTimeout(120_000);
  await signIn(page, keys.operator());
  await page.getByRole("link", { name: "Annotate", exact: true }).click();
  await expect(page.locator("tr[data-project]")).toHaveCount(4);  // an operator sees them all
  await page.getByRole("link", { name: "Overview of garments" }).click();
  const garments = await api<Project>(`${projects}/garments`, keys.operator());
  await expect(page.getByTestId("count-accepted")).toHaveText(String(garments.counts.accepted));
  await expect(page.getByTestId("count-awaiting")).toHaveText(String(garments.counts.awaiting_review));
  await expect(page.getByTestId("count-rejected")).toHaveText(String(garments.counts.rejected_rounds));
  // Agreement: one annotation a task gives no project figure ("–" and why); alice's answers
  // against the accepted ones do.
  const agreement = await api<Agreement>(`${projects}/garments/agreement`, keys.operator());
  expect(agreement.project.value).toBeNull();
  await expect(page.getByTestId("agreement-project")).toContainText(`– (${agreement.project.measure}`);
  if (agreement.project.note) await expect(page.getByTestId("agreement-project")).toContainText(agreement.project.note);
  const alice = agreement.annotators.find((a) => a.annotator === "alice")!;
  expect(alice.with_accepted.value).not.toBeNull();
  await expect(page.locator("[data-testid='agreement'] tr[data-annotator='alice'] [data-testid='with-accepted']"))
      .toContainText(num(alice.with_accepted.value!));
  await screenshot(page, "annotate-overview");

  // A dataset version of the accepted labels, and the same labels as a CSV download.
  await page.getByRole("button", { name: "Register dataset version" }).click();
  await expect(page.getByTestId("export-dataset")).toHaveText(/^garments\.labels\/\d+$/);
  const path = (await page.getByTestId("export-path").textContent())!;
  const [csv] = await Promise.all([page.waitForEvent("download"),
                                   page.getByRole("button", { name: "Download CSV" }).click()]);
  expect(csv.suggestedFilename()).toBe("garments.csv");
  const downloaded = readFileSync((await csv.path())!, "utf8");
  expect(downloaded).toBe(await postText(`${projects}/garments/exports`, keys.operator(), { format: "csv" }));
  expect(downloaded.split("\n")[0]).toMatch(/,label$/);
  expect(downloaded).toBe(readFileSync(path, "utf8"));

  // A job trains a classifier on the export and registers it.
  const config = `nodes:
  store: {type: storage.sqlite, path: ${process.env["AIMASS_E2E_WORK"]}/store.db}
  annotated_garments: {type: dataset.csv, path: ${path}, label: label}
  garments_annotated: {type: model.softmax}
  sgd: {type: optimizer.sgd, learning_rate: 0.1}
  train: {type: job.train, model: garments_annotated, dataset: annotated_garments, optimizer: sgd,
          epochs: 3, storage: store, experiment: annotated}
`;
  const job = await api<Job>("/api/v1/jobs", keys.operator(), {
    method: "POST", body: JSON.stringify({ config, config_name: "annotated.yaml", queue: "research" }),
  });
  await expect.poll(async () => {
    const now = await api<Job>(`/api/v1/jobs/${job.id}`, keys.operator());
    return now.state === "failed" ? `failed: ${now.reason}` : now.state;
  }, { timeout: 90_000 }).toBe("succeeded");
  const model = await api<{ versions: { version: number; dataset_name: string }[] }>(
      "/api/v1/models/garments_annotated", keys.reader());
  expect(model.versions[model.versions.length - 1]?.dataset_name).toBe("annotated_garments");

  // The boxes project: its agreement (matched IoU of equal boxes) and its COCO file.
  await page.goto("./#/annotate/outlines/overview");
  const outlines = await api<Agreement>(`${projects}/outlines/agreement`, keys.operator());
  expect(outlines.project.value).not.toBeNull();
  await expect(page.getByTestId("agreement-project")).toContainText(num(outlines.project.value!));
  const [coco] = await Promise.all([page.waitForEvent("download"),
                                    page.getByRole("button", { name: "Download COCO" }).click()]);
  expect(coco.suggestedFilename()).toBe("outlines.coco.json");
  const doc = JSON.parse(readFileSync((await coco.path())!, "utf8")) as
      { annotations: unknown[]; categories: { name: string }[] };
  expect(doc.categories.map((c) => c.name)).toEqual(["garment", "shoe", "bag"]);
  expect(doc.annotations.length).toBeGreaterThanOrEqual(1);
});
