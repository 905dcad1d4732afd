// The console's end-to-end suite. Run it through tests/ctest.sh (npm run test:e2e -- BUILD_DIR),
// which starts a real aimass (HTTPS, self-signed) and a path-prefix proxy and sets AIMASS_E2E_*.
// It uses Debian's /usr/bin/chromium, headless, and never downloads a browser. The specs run on
// the server's own /ui/ ("direct") and again, but for the accessibility and scale ones, under the
// proxy's prefix ("prefix").
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
    viewport: { width: 1280, height: 800 },
    launchOptions: { executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] },
    headless: true,
    // The server's certificate is self-signed (tests/ctest.sh makes it).
    ignoreHTTPSErrors: true,
    trace: "off",
  },
  projects: [
    { name: "direct", use: { baseURL: process.env["AIMASS_E2E_DIRECT_URL"] } },
    // The accessibility checks and the timings at 100,000 runs do not depend on the path, so
    // they run once.
    { name: "prefix", use: { baseURL: process.env["AIMASS_E2E_PREFIX_URL"] },
      testIgnore: ["accessibility.spec.ts", "scale.spec.ts"] },
  ],
});
