// What the specs share: the server and keys that tests/ctest.sh set up, signing in, the API as
// a test sees it (Node's fetch with a key), screenshots, axe-core's WCAG checks, and a check
// that the page broke no CSP.
import { createHmac } from "node:crypto";
import AxeBuilder from "@axe-core/playwright";
import { type Page, expect, test } from "@playwright/test";

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite through tests/ctest.sh`);
  return value;
}

export const server = () => env("AIMASS_E2E_SERVER");
export const keys = {
  reader: () => env("AIMASS_E2E_READER_KEY"),
  operator: () => env("AIMASS_E2E_OPERATOR_KEY"),
  admin: () => env("AIMASS_E2E_ADMIN_KEY"),
  // Annotators: alice and bob label, carol reviews (tests/ctest.sh's annotation projects).
  alice: () => env("AIMASS_E2E_ALICE_KEY"),
  bob: () => env("AIMASS_E2E_BOB_KEY"),
  carol: () => env("AIMASS_E2E_CAROL_KEY"),
};

/** GET (or POST) on the aimass server itself, as the given key. */
export async function api<T>(path: string, key: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(server() + path, {
    ...init, headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json", ...(init.headers ?? {}) },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** axe-core's WCAG 2.1 A and AA violations on the page as it is now, one line each. */
export async function axeViolations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
      .analyze();
  return result.violations.map((v) =>
      `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

/** Fails the test on any CSP violation or page error. */
export function watchPage(page: Page): string[] {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy|Refused to/.test(message.text())) {
      problems.push(message.text());
    }
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return problems;
}

export async function signIn(page: Page, key: string): Promise<void> {
  await page.goto("./");
  await page.getByRole("textbox", { name: "API key" }).fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("who")).toBeVisible();
}

/** A full-page screenshot, BUILD_DIR/ui-screenshots/NAME.png, from the "direct" project only.
 *  Chromium sometimes refuses a capture while it is still laying out a resized page on a loaded
 *  machine ("Unable to capture screenshot", seen once in a full test run); the picture is a
 *  document, not what the test checks, so that one error gets a second try after a pause. */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (test.info().project.name !== "direct") return;
  const options = { path: `${env("AIMASS_E2E_SCREENSHOTS")}/${name}.png`, fullPage: true };
  try {
    await page.screenshot(options);
  } catch (error) {
    if (!String(error).includes("Unable to capture screenshot")) throw error;
    await page.waitForTimeout(1000);
    await page.screenshot(options);
  }
}

/** An HS256 JWT for the server's AIMASS_E2E_JWT_SECRET (docs/security.md), valid for an hour. */
export function jwt(sub: string, role: string, secret = env("AIMASS_E2E_JWT_SECRET")): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const body = `${part({ alg: "HS256", typ: "JWT" })}.${
      part({ sub, role, exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}
