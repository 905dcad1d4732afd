// Reads the server's /metrics (Prometheus text exposition 0.0.4) for the figures the JSON API
// does not give: latency percentiles from the latency histogram, live accuracy from feedback.
// One pass over the lines; comments and malformed lines are skipped.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample of the text whose metric name is in `names` (all when omitted). */
export function parseMetrics(text: string, names?: Set<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const brace = line.indexOf("{");
    const space = line.lastIndexOf(" ");
    if (space < 0) continue;
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    if (names && !names.has(name)) continue;
    const labels: Record<string, string> = {};
    if (brace >= 0 && brace < space) {
      const close = line.lastIndexOf("}", space);
      const body = line.slice(brace + 1, close);
      // name="value" pairs; values escape \\, \" and \n.
      const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let m = pattern.exec(body); m !== null; m = pattern.exec(body)) {
        labels[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
      }
    }
    const value = Number(line.slice(space + 1));
    samples.push({ name, labels, value });
  }
  return samples;
}

/** A histogram's cumulative buckets: upper bound (Infinity for +Inf) and count at or below it. */
export type Buckets = [number, number][];

/** The buckets of `metric`_bucket per value of the `key` labels (e.g. model and version). */
export function histograms(samples: Sample[], metric: string, key: (labels: Record<string, string>) => string):
    Map<string, Buckets> {
  const out = new Map<string, Buckets>();
  for (const s of samples) {
    if (s.name !== `${metric}_bucket` || s.labels["le"] === undefined) continue;
    const k = key(s.labels);
    const le = s.labels["le"] === "+Inf" ? Infinity : Number(s.labels["le"]);
    out.set(k, [...(out.get(k) ?? []), [le, s.value]]);
  }
  for (const buckets of out.values()) buckets.sort((a, b) => a[0] - b[0]);
  return out;
}

/** The q-quantile (0 < q < 1) as Prometheus' histogram_quantile() estimates it: linear within
 * the bucket it falls in; the last finite bound when it falls in +Inf; null without
 * observations. */
export function quantile(q: number, buckets: Buckets): number | null {
  const total = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket > 0 ? lowerBound + (le - lowerBound) * ((rank - lowerCount) / inBucket) : le;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
