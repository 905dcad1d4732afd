// Traffic for the console's served-state and monitoring pages (run by tests/ctest.sh once the
// server is up): 8 requests of 20 pump rows each to pump_state, the last 4 with vibration
// shifted by +6 so that the monitor (window: 40 rows) records drifted windows, then the true
// labels of every request as ground truth, so that the monitor has a live accuracy. Waits until
// the server's /metrics shows 4 tested windows and a live metric; exits non-zero otherwise.
//
//   node tests/serve_traffic.mjs SERVER_URL PUMPS_CSV API_KEY
import { readFileSync } from "node:fs";

const [server, csv, key] = process.argv.slice(2);
if (!server || !csv || !key) {
  console.error("usage: node serve_traffic.mjs SERVER_URL PUMPS_CSV API_KEY");
  process.exit(2);
}
const headers = { Authorization: `Bearer ${key}`, "Content-Type": "application/json" };

async function call(method, path, body) {
  const response = await fetch(server + path, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}: ${text}`);
  return text;
}

const rows = readFileSync(csv, "utf8").trim().split("\n").slice(1).map((line) => line.split(","));
const requests = [];
for (let r = 0; r < 8; ++r) {
  const chunk = rows.slice(r * 20, r * 20 + 20);
  const shift = r >= 4 ? 6 : 0;
  const data = chunk.flatMap((cells) => cells.slice(0, 4).map((v, i) => Number(v) + (i === 0 ? shift : 0)));
  const id = `e2e-traffic-${r}`;
  await call("POST", "/v2/models/pump_state/infer", {
    id, inputs: [{ name: "input", datatype: "FP32", shape: [chunk.length, 4], data }],
  });
  requests.push({ id, labels: chunk.map((cells) => cells[4]) });
}

async function metric(name) {
  const text = await call("GET", "/metrics");
  return text.split("\n").filter((line) => line.startsWith(`${name}{`) && line.includes('model="pump_state"'))
      .map((line) => Number(line.slice(line.lastIndexOf(" ") + 1)));
}

async function until(what, check) {
  for (let i = 0; i < 150; ++i) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

await until("4 drift windows", async () => (await metric("aimass_drift_windows_total"))[0] >= 4);
// The monitor remembers the answers it read; the ground truth joins them by request id.
await call("POST", "/v2/models/pump_state/ground_truth",
           { ground_truth: requests.map((r) => ({ id: r.id, labels: r.labels })) });
await until("a live metric", async () => (await metric("aimass_live_metric")).length > 0);
console.log("served 8 requests (160 rows), 4+ drift windows, ground truth joined");
