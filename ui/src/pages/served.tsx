// A model's served state on this server: the versions the serving runtime has loaded, their
// requests, errors, latency percentiles and batch sizes, refreshed every 5 s. The counters come
// from the statistics extension (/v2/models/{model}/stats), the percentiles from the latency
// histogram in /metrics (aimass_inference_request_latency_seconds), both over each version's
// life since it was loaded.
import { useEffect, useState } from "preact/hooks";
import type { ServedStats } from "../api";
import { ErrorBox, Section, num, time, useLoad } from "../components/common";
import { Bars } from "../components/plot";
import { type Buckets, histograms, parseMetrics, quantile } from "../components/prometheus";
import { useSigned } from "../context";

const LATENCY = "aimass_inference_request_latency_seconds";

function ms(seconds: number | null): string {
  return seconds === null ? "–" : `${num(seconds * 1000)} ms`;
}

export function ServedState({ model }: { model: string }) {
  const { api } = useSigned();
  const [tick, setTick] = useState(0);
  const { value: stats, error } = useLoad(() => api.servedStats(model), [model, tick]);
  const { value: latencies } = useLoad(
      () => api.metricsText()
          .then((text) => histograms(parseMetrics(text, new Set([`${LATENCY}_bucket`])), LATENCY,
                                     (l) => (l["model"] === model ? l["version"] ?? "" : "")))
          .catch(() => new Map<string, Buckets>()),
      [model, tick]);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 5000);
    return () => clearInterval(timer);
  }, []);
  return (
    <Section title="Served">
      <ErrorBox error={error} />
      {stats === null && <p>This server does not serve {model}.</p>}
      {stats !== undefined && stats !== null && stats.length === 0 && <p>No version is loaded.</p>}
      {stats !== undefined && stats !== null && stats.length > 0 && (
        <>
          <div class="scroll-x">
            <table class="grid compact" data-testid="served-state">
              <caption class="sr-only">Versions of {model} loaded by the serving runtime</caption>
              <thead><tr><th scope="col">Version</th><th scope="col">Requests</th>
                <th scope="col">Errors</th><th scope="col">Rows</th><th scope="col">Mean batch</th>
                <th scope="col">Mean latency</th><th scope="col">p50</th><th scope="col">p90</th>
                <th scope="col">p99</th><th scope="col">Queued</th><th scope="col">Last request</th>
              </tr></thead>
              <tbody>
                {stats.map((s) => <VersionRow s={s} buckets={latencies?.get(s.version)} />)}
              </tbody>
            </table>
          </div>
          {stats.map((s) => s.batch_stats.length > 0 && (
            <div>
              <h3>Batch sizes of version {s.version}</h3>
              <Bars title={`Executions by batch size, version ${s.version}`}
                    items={s.batch_stats.map((b) => [`${b.batch_size} rows`, b.compute_infer.count])}
                    format={(v) => `${v} executions`} />
            </div>
          ))}
        </>
      )}
    </Section>
  );
}

function VersionRow({ s, buckets }: { s: ServedStats; buckets: Buckets | undefined }) {
  const success = s.inference_stats["success"] ?? { count: 0, ns: 0 };
  const fail = s.inference_stats["fail"] ?? { count: 0, ns: 0 };
  const reasons = Object.entries(s.failure_reasons).filter(([, n]) => n > 0);
  const at = (q: number) => (buckets ? quantile(q, buckets) : null);
  return (
    <tr data-served-version={s.version}>
      <th scope="row">{s.version}</th>
      <td data-testid="served-requests">{success.count + fail.count}</td>
      <td>{fail.count}{reasons.length > 0 &&
           <span class="muted"> ({reasons.map(([r, n]) => `${r} ${n}`).join(", ")})</span>}</td>
      <td>{s.inference_count}</td>
      <td>{s.execution_count > 0 ? num(s.inference_count / s.execution_count) : "–"}</td>
      <td>{success.count > 0 ? ms(success.ns / success.count / 1e9) : "–"}</td>
      <td>{ms(at(0.5))}</td><td>{ms(at(0.9))}</td><td>{ms(at(0.99))}</td>
      <td>{s.pending_requests}</td>
      <td>{time(s.last_inference)}</td>
    </tr>
  );
}
