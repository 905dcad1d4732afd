import { useState } from "preact/hooks";
import type { ModelVersion } from "@aimass/client";
import { atLeast, describeError, type ModelEvent } from "../api";
import { ErrorBox, Loading, Section, num, time, useLoad } from "../components/common";
import { useSigned } from "../context";
import { href } from "../router";
import { ServedState } from "./served";

export function ModelsPage() {
  const { api } = useSigned();
  const { value: models, error } = useLoad(() => api.client.listModels(), []);
  return (
    <>
      <h1>Models</h1>
      <ErrorBox error={error} />
      {models === undefined && !error && <Loading what="models" />}
      {models !== undefined && models.length === 0 && <p>No model is registered yet.</p>}
      {models !== undefined && models.length > 0 && (
        <table class="grid">
          <caption class="sr-only">Registered models</caption>
          <thead><tr><th scope="col">Model</th><th scope="col">Versions</th>
            <th scope="col">Latest</th><th scope="col">Aliases</th></tr></thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.model}>
                <th scope="row"><a href={href("models", m.model)}>{m.model}</a></th>
                <td>{m.versions}</td>
                <td>{m.latest}</td>
                <td>{Object.entries(m.aliases).map(([a, v]) => `${a} → ${v}`).join(", ") || "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Each alias's earlier targets, oldest first, from the model's events. */
function aliasHistories(events: ModelEvent[]): Map<string, ModelEvent[]> {
  const histories = new Map<string, ModelEvent[]>();
  for (const event of events) {
    if (event.alias === null || event.alias === "") continue;
    const list = histories.get(event.alias) ?? [];
    list.push(event);
    histories.set(event.alias, list);
  }
  return histories;
}

export function ModelPage({ model }: { model: string }) {
  const { api, session } = useSigned();
  const [tick, setTick] = useState(0);
  const { value: registered, error } = useLoad(() => api.client.getModel(model), [model, tick]);
  const { value: events, error: eventsError } = useLoad(() => api.modelEvents(model), [model, tick]);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const operator = atLeast(session.role, "operator");
  const act = async (what: string, action: () => Promise<unknown>) => {
    setFailure(undefined);
    setMessage(undefined);
    try {
      await action();
      setMessage(what);
      setTick((t) => t + 1);
    } catch (e) {
      setFailure(`${what} failed: ${describeError(e)}`);
    }
  };
  const histories = aliasHistories(events ?? []);
  return (
    <>
      <p><a href={href("models")}>Models</a> /</p>
      <h1>{model}</h1>
      <ErrorBox error={error} />
      <p class="status" role="status">{message}</p>
      <ErrorBox error={failure} />
      {registered === undefined && !error && <Loading what="the model" />}
      {registered !== undefined && (
        <>
          <Section title="Aliases">
            {Object.keys(registered.aliases).length === 0 && <p>No alias yet.</p>}
            <ul class="aliases">
              {Object.entries(registered.aliases).map(([alias, version]) => (
                <li key={alias} data-alias={alias}>
                  <strong>{alias}</strong> → version <span data-testid={`alias-${alias}`}>{version}</span>
                  {" "}
                  <span class="muted">history: {(histories.get(alias) ?? [])
                      .map((e) => `${e.version ?? "–"}`).join(" → ") || "–"}</span>
                  {operator && (
                    <button type="button" onClick={() => void act(`Rolled back ${alias}`,
                        () => api.client.rollback(model, alias))}>Roll back {alias}</button>
                  )}
                </li>
              ))}
            </ul>
            {operator && <PromoteForm versions={registered.versions.map((v) => v.version)}
                                      onPromote={(alias, version) => act(
                                          `Promoted version ${version} to ${alias}`,
                                          () => api.client.promote(model, alias, version))} />}
          </Section>
          <ServedState model={model} />
          <Evaluations model={model} versions={registered.versions.map((v) => v.version)} />
          <Section title="Versions">
            <div class="scroll-x">
              <table class="grid">
                <caption class="sr-only">Versions of {model} with their lineage</caption>
                <thead><tr><th scope="col">Version</th><th scope="col">Created</th>
                  <th scope="col">Dataset</th><th scope="col">Run</th><th scope="col">Parent</th>
                  <th scope="col">Metrics</th><th scope="col">Tags</th><th scope="col">Aliases</th>
                  {operator && <th scope="col">Tag</th>}</tr></thead>
                <tbody>
                  {[...registered.versions].reverse().map((v) => {
                    return (
                      <tr key={v.version} data-version={v.version}>
                        <th scope="row">{v.version}</th>
                        <td>{time(v.created_unix_ms)}<br /><span class="muted">{v.created_by}</span></td>
                        <td>{v.dataset_name ? `${v.dataset_name} v${v.dataset_version ?? "?"}` : "–"}</td>
                        <td><VersionRun version={v} /></td>
                        <td>{v.parent ?? "–"}</td>
                        <td>{Object.entries(v.metrics).map(([k, x]) => `${k} ${num(x)}`).join(", ")}</td>
                        <td>{Object.entries(v.tags).map(([k, x]) => `${k}=${x}`).join(", ") || "–"}</td>
                        <td>{v.aliases.join(", ") || "–"}</td>
                        {operator && <td><TagForm version={v.version} onTag={(key, value) => act(
                            `Tagged version ${v.version} ${key}=${value}`,
                            () => api.client.tag(model, v.version, { set: { [key]: value } }))} /></td>}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </Section>
        </>
      )}
      <Section title="Events">
        <ErrorBox error={eventsError} />
        {events !== undefined && events.length === 0 && <p>No event recorded.</p>}
        {events !== undefined && events.length > 0 && (
          <ol class="events" reversed>
            {[...events].reverse().map((e) => (
              <li key={e.sequence} data-kind={e.kind}>
                <span class="muted">#{e.sequence} {time(e.unix_ms)}</span>{" "}
                <strong>{e.kind}</strong> {e.message} <span class="muted">by {e.actor}</span>
                {e.details !== null && e.details !== undefined &&
                 Object.keys(e.details as object).length > 0 && (
                  <details><summary>{e.kind.includes("gate") ? "Gate report" : "Details"}</summary>
                    <pre>{JSON.stringify(e.details, null, 2)}</pre></details>
                )}
              </li>
            ))}
          </ol>
        )}
      </Section>
    </>
  );
}

function PromoteForm({ versions, onPromote }:
    { versions: number[]; onPromote: (alias: string, version: number) => Promise<void> }) {
  const [alias, setAlias] = useState("champion");
  const [version, setVersion] = useState(versions[versions.length - 1] ?? 1);
  return (
    <form class="inline" onSubmit={(e) => { e.preventDefault(); void onPromote(alias.trim(), version); }}>
      <label for="promote-alias">Alias</label>
      <input id="promote-alias" value={alias} required
             onInput={(e) => setAlias((e.target as HTMLInputElement).value)} />
      <label for="promote-version">Version</label>
      <select id="promote-version" value={String(version)}
              onChange={(e) => setVersion(Number((e.target as HTMLSelectElement).value))}>
        {versions.map((v) => <option value={String(v)}>{v}</option>)}
      </select>
      <button type="submit">Promote</button>
    </form>
  );
}

function TagForm({ version, onTag }:
    { version: number; onTag: (key: string, value: string) => Promise<void> }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  return (
    <form class="inline tight" onSubmit={(e) => {
      e.preventDefault();
      if (key.trim()) void onTag(key.trim(), value).then(() => { setKey(""); setValue(""); });
    }}>
      <input aria-label={`Tag key for version ${version}`} placeholder="key" value={key} size={8}
             onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
      <input aria-label={`Tag value for version ${version}`} placeholder="value" value={value} size={8}
             onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit" aria-label={`Set tag on version ${version}`}>Tag</button>
    </form>
  );
}

/** job.evaluate's recorded evaluations of one version (the newest by default), each linking to
 * its run's report. */
function Evaluations({ model, versions }: { model: string; versions: number[] }) {
  const { api } = useSigned();
  const [version, setVersion] = useState(versions[versions.length - 1] ?? 1);
  const { value: evaluations, error } = useLoad(() => api.versionEvaluations(model, version),
                                                [model, version]);
  const names = [...new Set((evaluations ?? []).flatMap((e) => Object.keys(e.metrics)))];
  return (
    <Section title="Evaluations">
      <label for="evaluations-version">Evaluated version</label>{" "}
      <select id="evaluations-version" value={String(version)}
              onChange={(e) => setVersion(Number((e.target as HTMLSelectElement).value))}>
        {[...versions].reverse().map((v) => <option value={String(v)}>{v}</option>)}
      </select>
      <ErrorBox error={error} />
      {evaluations !== undefined && evaluations.length === 0 &&
       <p>No evaluation of version {version} recorded (job.evaluate with a <code>storage</code> records one).</p>}
      {evaluations !== undefined && evaluations.length > 0 && (
        <div class="scroll-x">
          <table class="grid compact" data-testid="evaluations">
            <caption class="sr-only">Evaluations of version {version}</caption>
            <thead><tr><th scope="col">Run</th><th scope="col">When</th><th scope="col">Dataset</th>
              {names.map((n) => <th scope="col">{n}</th>)}</tr></thead>
            <tbody>
              {evaluations.map((e) => (
                <tr data-run={e.run_id}>
                  <th scope="row"><a href={href("runs", e.run_id)}>run {e.run_id}</a></th>
                  <td>{time(e.unix_ms)}</td>
                  <td>{e.dataset}{e.dataset_version !== null && e.dataset_version !== undefined
                                  ? ` v${e.dataset_version}` : ""}</td>
                  {names.map((n) => <td>{num(e.metrics[n])}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

/** The run that trained a version (GET /api/v1/models/{name}/versions/{version}/run), or "–"
 * for a version registered without one. */
function VersionRun({ version }: { version: ModelVersion }) {
  const { api } = useSigned();
  const { value: run, error } = useLoad(() => api.versionRun(version.model, version.version),
                                        [version.model, version.version]);
  if (error) return <span class="error">{error}</span>;
  if (run === undefined) return <span class="muted">…</span>;
  return run === null ? <span class="muted" title="No training run recorded">–</span>
                      : <a href={href("runs", run)}>run {run}</a>;
}
