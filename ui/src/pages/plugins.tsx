// Plugins and configs: every node type the server's plugins provide with its parameter
// reference (the same schemas docs/config-reference.md is generated from), and a graph
// validated by the server without running it, its errors shown at their lines.
import { useMemo, useRef, useState } from "preact/hooks";
import { atLeast, describeError, type GraphValidation, type NodeParam, type NodeType } from "../api";
import { ErrorBox, Loading, Section, useLoad } from "../components/common";
import { useSigned } from "../context";
import { href } from "../router";
import { GraphErrors, focusAt } from "./jobs";

export function PluginsPage({ selected }: { selected?: string }) {
  const { api, session } = useSigned();
  const { value: types, error } = useLoad(() => api.nodeTypes(), []);
  const [filter, setFilter] = useState("");
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (types ?? []).filter((t) => needle === "" || t.type.toLowerCase().includes(needle) ||
                                       t.summary.toLowerCase().includes(needle) ||
                                       t.kind.toLowerCase().includes(needle));
  }, [types, filter]);
  const chosen = types?.find((t) => t.type === selected);
  return (
    <>
      <h1>Plugins and configs</h1>
      {atLeast(session.role, "operator") && <Validate />}
      <Section title="Node types">
        <ErrorBox error={error} />
        {types === undefined && !error && <Loading what="node types" />}
        {types !== undefined && (
          <div class="reference">
            <div>
              <label for="type-filter">Filter</label>{" "}
              <input id="type-filter" type="search" value={filter} placeholder="model, storage.sqlite…"
                     onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
              <p class="muted" aria-live="polite">{shown.length} of {types.length} node types</p>
              <ul class="type-list">
                {shown.map((t) => (
                  <li key={t.type}>
                    <a href={href("plugins", t.type)} aria-current={t.type === selected ? "true" : undefined}>
                      {t.type}</a> <span class="muted">{t.kind}</span>
                  </li>
                ))}
              </ul>
            </div>
            <div>
              {chosen ? <TypeReference type={chosen} />
                      : selected ? <p role="alert">No node type '{selected}' on this server.</p>
                                 : <p>Pick a node type for its parameters.</p>}
            </div>
          </div>
        )}
      </Section>
    </>
  );
}

function TypeReference({ type }: { type: NodeType }) {
  return (
    <article data-testid="type-reference" aria-labelledby="type-title">
      <h3 id="type-title">{type.type}</h3>
      <p>{type.summary}</p>
      <p class="muted">{type.kind} · plugin {type.plugin} {type.plugin_version}</p>
      {type.params.length === 0 ? <p>No parameters.</p> : (
        <div class="scroll-x">
          <table class="grid compact">
            <caption class="sr-only">Parameters of {type.type}</caption>
            <thead><tr><th scope="col">Parameter</th><th scope="col">Type</th>
              <th scope="col">Default</th><th scope="col">Description</th></tr></thead>
            <tbody>
              {type.params.map((p) => (
                <tr key={p.name} data-param={p.name}>
                  <th scope="row"><code>{p.name}</code>{p.required && <span class="required"> required</span>}</th>
                  <td>{p.type}</td>
                  <td>{p.default === null || p.default === undefined ? "–" : <code>{JSON.stringify(p.default)}</code>}</td>
                  <td>{p.description}{constraints(p)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}

/** The schema's limits on a parameter: range, choices, the kind of node it names, an example,
 * and the fields of a nested one. */
function constraints(p: NodeParam): string {
  const facts: string[] = [];
  if (p.min !== null && p.max !== null) facts.push(`from ${p.min} to ${p.max}`);
  else if (p.min !== null) facts.push(`at least ${p.min}`);
  else if (p.max !== null) facts.push(`at most ${p.max}`);
  if (p.choices.length > 0) facts.push(`one of ${p.choices.join(", ")}`);
  if (p.ref_kind) facts.push(`names a ${p.ref_kind} node`);
  if (p.example) facts.push(`e.g. ${p.example}`);
  if (p.fields && p.fields.length > 0) facts.push(`fields ${p.fields.map((f) => f.name).join(", ")}`);
  return facts.length === 0 ? "" : ` (${facts.join("; ")})`;
}

const EXAMPLE = `nodes:
  store: {type: storage.sqlite, path: store.db}
  data: {type: dataset.csv, path: data.csv, label: label}
  net: {type: model.mlp, hidden: [64]}
  sgd: {type: optimizer.sgd, learning_rate: 0.05}
  train: {type: job.train, model: net, dataset: data, optimizer: sgd, epochs: 5, storage: store}
`;

function Validate() {
  const { api } = useSigned();
  const [text, setText] = useState(EXAMPLE);
  const [result, setResult] = useState<GraphValidation | undefined>(undefined);
  const [checked, setChecked] = useState("");
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [asJob, setAsJob] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const validate = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.validateGraph(text, asJob));
      setChecked(text);
    } catch (e) {
      setResult(undefined);
      setError(`Validation failed: ${describeError(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const errors = (result?.errors ?? []).map((e) => ({
    line: e.line > 0 ? e.line : null, column: e.column > 0 ? e.column : null,
    message: e.hint ? `${e.message} (hint: ${e.hint})` : e.message,
  }));
  return (
    <Section title="Validate a graph">
      <form class="submit" onSubmit={validate}>
        <label for="validate-text">Graph (YAML); nothing is run or opened</label>
        <textarea id="validate-text" ref={area} rows={10} spellcheck={false} value={text}
                  onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        <div class="inline">
          <label>Or a file <input type="file" accept=".yaml,.yml,text/yaml" onChange={async (e) => {
            const file = (e.target as HTMLInputElement).files?.[0];
            if (file) setText(await file.text());
          }} /></label>
          <label><input type="checkbox" checked={asJob}
                        onChange={(e) => setAsJob((e.target as HTMLInputElement).checked)} /> as a
            job (it must end: no frontend or service)</label>
          <button type="submit" disabled={busy}>{busy ? "Validating…" : "Validate"}</button>
        </div>
      </form>
      <ErrorBox error={error} />
      {result?.valid === true && (
        <p class="status" role="status" data-testid="graph-valid">Valid: {result.nodes?.length ?? 0} nodes
          {result.nodes && result.nodes.length > 0 &&
           ` (${result.nodes.map((n) => `${n.name}: ${n.type}`).join(", ")})`}.</p>
      )}
      {result?.valid === false && (
        <GraphErrors id="validate-errors" text={checked} errors={errors}
                     title={`${errors.length} ${errors.length === 1 ? "error" : "errors"}`}
                     goTo={(line, column) => focusAt(area.current, checked, line, column)} />
      )}
    </Section>
  );
}
