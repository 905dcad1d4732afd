// The console on a server without authentication (a loopback address, no credentials): there
// is no sign-in, every control shows (the session says admin), and a change made from the
// console's own page passes the server's same-origin checks for requests without credentials.
import { expect, test } from "@playwright/test";
import { api, keys, watchPage } from "./helpers";

test("without authentication the console opens directly and may promote", async ({ page }) => {
  test.skip(test.info().project.name !== "direct", "one server without authentication, no proxy");
  const problems = watchPage(page);
  await page.goto(process.env["AIMASS_E2E_OPEN_URL"]! + "#/models/pump_state");
  await expect(page.getByTestId("who")).toHaveText("no authentication (admin)");
  await expect(page.getByRole("button", { name: "Sign out" })).toHaveCount(0);
  await page.getByRole("textbox", { name: "Alias" }).fill("staging");
  await page.getByLabel("Version", { exact: true }).selectOption("1");
  await page.getByRole("button", { name: "Promote" }).click();
  await expect(page.getByTestId("alias-staging")).toHaveText("1");
  const model = await api<{ aliases: Record<string, number> }>("/api/v1/models/pump_state",
                                                              keys.reader());
  expect(model.aliases["staging"]).toBe(1);
  expect(problems).toEqual([]);
});
