// The console's end-to-end suite. Run it through tests/ctest.sh (npm run test:e2e -- BUILD_DIR),
// which starts a real aimass and sets AIMASS_E2E_*; it uses Debian's /usr/bin/chromium, headless,
// and never downloads a browser.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  testMatch: "*.spec.ts",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    baseURL: process.env["AIMASS_E2E_CONSOLE_URL"],
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] },
    headless: true,
    trace: "off",
  },
});
