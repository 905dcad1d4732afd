// Annotation projects (service.annotation nodes; docs/annotation.md): the projects the caller
// takes part in, and a project's overview: progress, who labelled and reviewed how much, the
// inter-annotator agreement, the model's ranking and the retraining loop, and for operators the
// exports (a registered dataset version, the CSV, COCO JSON for boxes). Labelling and reviewing
// are in annotation_label.tsx.
import { useState } from "preact/hooks";
import { type AgreementFigure, type AnnotationProject, type DatasetExport, atLeast,
         describeError } from "../api";
import { ErrorBox, Loading, Section, num, time, useLoad } from "../components/common";
import { useSigned } from "../context";
import { href } from "../router";

/** "accepted / annotated / awaiting review of tasks" in words. */
function progress(p: AnnotationProject): string {
  const c = p.counts;
  return `${c.accepted} accepted, ${c.annotated} annotated, ${c.awaiting_review} awaiting review ` +
         `of ${c.tasks}`;
}

function labels(p: AnnotationProject): string {
  return p.task === "value" ? `a value from ${num(p.min)} to ${num(p.max)}`
                            : (p.choices ?? []).join(", ");
}

function rankedBy(p: AnnotationProject): string {
  if (!p.model) return `${p.sampling} (no model)`;
  const version = p.ranking.version ? ` v${p.ranking.version}` : "";
  return `${p.sampling} by ${p.model}${version}`;
}

export function AnnotationProjectsPage() {
  const { api } = useSigned();
  const { value: projects, error } = useLoad(() => api.annotationProjects(), []);
  return (
    <>
      <h1>Annotation projects</h1>
      <ErrorBox error={error} />
      {projects === undefined && !error && <Loading what="the projects" />}
      {projects !== undefined && projects.length === 0 &&
       <p>No annotation project has you as an annotator or a reviewer.</p>}
      {projects !== undefined && projects.length > 0 && (
        <div class="scroll-x">
          <table class="grid" data-testid="projects">
            <caption class="sr-only">Annotation projects</caption>
            <thead><tr><th scope="col">Project</th><th scope="col">Task</th>
              <th scope="col">Progress</th><th scope="col">Next task by</th>
              <th scope="col">Work</th></tr></thead>
            <tbody>
              {projects.map((p) => (
                <tr key={p.name} data-project={p.name}>
                  <th scope="row">{p.name}</th>
                  <td>{p.task} <span class="muted">({p.show}): {labels(p)}</span></td>
                  <td><meter min={0} max={Math.max(1, p.counts.tasks)} value={p.counts.accepted}
                             aria-label={`${p.name}: tasks accepted`} />{" "}
                    <span data-testid="progress">{progress(p)}</span></td>
                  <td>{rankedBy(p)}</td>
                  <td class="links">
                    {p.may_annotate && <a href={href("annotate", p.name)}
                                          aria-label={`Label ${p.name}`}>Label</a>}
                    {p.may_review && <a href={href("annotate", p.name, "review")}
                                        aria-label={`Review ${p.name}`}>Review</a>}
                    <a href={href("annotate", p.name, "overview")}
                       aria-label={`Overview of ${p.name}`}>Overview</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function AnnotationOverviewPage({ project }: { project: string }) {
  const { api, session } = useSigned();
  const [tick, setTick] = useState(0);
  const { value: p, error } = useLoad(() => api.annotationProject(project), [project, tick]);
  return (
    <>
      <nav aria-label="Breadcrumb" class="trail">
        <a href={href("annotate")}>Annotate</a> / <span>{project}</span>
      </nav>
      <h1>{project}</h1>
      <ErrorBox error={error} />
      {p === undefined && !error && <Loading what="the project" />}
      {p !== undefined && (
        <>
          <p class="inline">
            {p.may_annotate && <a class="button" href={href("annotate", project)}>Label</a>}
            {p.may_review && <a class="button" href={href("annotate", project, "review")}>Review</a>}
          </p>
          <dl class="facts" data-testid="project-facts">
            <dt>Task</dt><dd>{p.task}, shown as {p.show}: {labels(p)}</dd>
            <dt>Per task</dt><dd>{p.annotations_per_task} annotation
              {p.annotations_per_task === 1 ? "" : "s"}{p.review ? ", then a reviewer's decision"
                                                               : ", accepted when they agree"}</dd>
            <dt>Exports to</dt><dd>dataset {p.dataset_name}</dd>
          </dl>
          <Section title="Progress">
            <Counts p={p} />
          </Section>
          {(p.may_review || atLeast(session.role, "reader"))
            ? <Agreement project={project} tick={tick} />
            : <Section title="Agreement"><p>Reviewers and readers see the agreement.</p></Section>}
          <Section title="Model">
            <dl class="facts" data-testid="ranking">
              <dt>Next task by</dt><dd>{rankedBy(p)}</dd>
              <dt>Ranking</dt><dd>{p.ranking.strategy}
                {p.ranking.model && ` by ${p.ranking.model} v${p.ranking.version || "?"}`} over{" "}
                {p.ranking.rows} rows, {time(p.ranking.unix_ms)}</dd>
              {p.ranking.note && <><dt>Note</dt><dd>{p.ranking.note}</dd></>}
              <dt>Retraining</dt><dd data-testid="loop">{p.loop.every > 0
                ? `after every ${p.loop.every} accepted labels (${p.loop.since} since the last); ` +
                  `${p.loop.retrains} so far${p.loop.job ? `, the last as job ${p.loop.job}` : ""}`
                : "off"}</dd>
              {p.loop.last_error && <><dt>Last error</dt><dd class="error">{p.loop.last_error}</dd></>}
            </dl>
            {p.loop.job > 0 && atLeast(session.role, "reader") &&
             <p><a href={href("jobs", p.loop.job)}>Job {p.loop.job}</a></p>}
          </Section>
          {p.may_export && <Exports p={p} onExported={() => setTick((t) => t + 1)} />}
        </>
      )}
    </>
  );
}

function Counts({ p }: { p: AnnotationProject }) {
  const c = p.counts;
  const people = [...new Set([...Object.keys(c.by_annotator), ...Object.keys(c.by_reviewer)])].sort();
  return (
    <>
      <dl class="facts" data-testid="counts">
        <dt>Tasks</dt><dd>{c.tasks}</dd>
        <dt>Accepted</dt><dd data-testid="count-accepted">{c.accepted}</dd>
        <dt>Annotated</dt><dd data-testid="count-annotated">{c.annotated}</dd>
        <dt>Awaiting review</dt><dd data-testid="count-awaiting">{c.awaiting_review}</dd>
        <dt>Rejected rounds</dt><dd data-testid="count-rejected">{c.rejected_rounds}</dd>
        <dt>Annotations</dt><dd>{c.annotations}</dd>
      </dl>
      {people.length > 0 && (
        <table class="grid compact narrow" data-testid="by-person">
          <caption class="sr-only">Annotations and decisions by person</caption>
          <thead><tr><th scope="col">Person</th><th scope="col">Annotations</th>
            <th scope="col">Decisions</th></tr></thead>
          <tbody>
            {people.map((who) => (
              <tr data-person={who}><th scope="row">{who}</th>
                <td>{c.by_annotator[who] ?? 0}</td><td>{c.by_reviewer[who] ?? 0}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** A figure, or "–" with the reason it is undefined. */
function Figure({ f }: { f: AgreementFigure }) {
  if (f.value === null) {
    return <span data-value="none">–{" "}
      <span class="muted">({f.measure}{f.note ? `: ${f.note}` : ""})</span></span>;
  }
  return <span data-value={f.value}>{num(f.value)} <span class="muted">{f.measure}, {f.tasks} tasks</span></span>;
}

function Agreement({ project, tick }: { project: string; tick: number }) {
  const { api } = useSigned();
  const { value: report, error } = useLoad(() => api.agreement(project), [project, tick]);
  return (
    <Section title="Agreement">
      <ErrorBox error={error} />
      {report === undefined && !error && <Loading what="the agreement" />}
      {report !== undefined && (
        <>
          <p data-testid="agreement-project">The project: <Figure f={report.project} /></p>
          {report.annotators.length === 0 ? <p>Nobody has annotated yet.</p> : (
            <div class="scroll-x">
              <table class="grid compact" data-testid="agreement">
                <caption class="sr-only">Each annotator's agreement</caption>
                <thead><tr><th scope="col">Annotator</th><th scope="col">Annotations</th>
                  <th scope="col">With the others</th><th scope="col">With the accepted answers</th>
                </tr></thead>
                <tbody>
                  {report.annotators.map((a) => (
                    <tr data-annotator={a.annotator}>
                      <th scope="row">{a.annotator}</th><td>{a.annotations}</td>
                      <td data-testid="with-others"><Figure f={a.with_others} /></td>
                      <td data-testid="with-accepted"><Figure f={a.with_accepted} /></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </Section>
  );
}

/** Saves `blob` as a file: an object URL behind a link with `download`, clicked. */
function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Exports({ p, onExported }: { p: AnnotationProject; onExported: () => void }) {
  const { api } = useSigned();
  const [result, setResult] = useState<DatasetExport | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async (what: string, action: () => Promise<void>) => {
    setBusy(true);
    setFailure(undefined);
    setMessage(undefined);
    try {
      await action();
    } catch (e) {
      setFailure(`${what} failed: ${describeError(e)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Export">
      <p>The accepted labels ({p.counts.accepted} tasks): a new version of dataset{" "}
        {p.dataset_name} (an unchanged export is the same version), or the file itself.</p>
      <div class="inline">
        <button type="button" disabled={busy} onClick={() => void run("Registering", async () => {
          setResult(await api.exportDataset(p.name));
          onExported();
        })}>Register dataset version</button>
        <button type="button" class="secondary" disabled={busy}
                onClick={() => void run("The CSV download", async () => {
                  download(await api.exportFile(p.name, "csv"), `${p.name}.csv`);
                  setMessage(`Downloaded ${p.name}.csv.`);
                })}>Download CSV</button>
        {p.task === "boxes" && (
          <button type="button" class="secondary" disabled={busy}
                  onClick={() => void run("The COCO download", async () => {
                    download(await api.exportFile(p.name, "coco"), `${p.name}.coco.json`);
                    setMessage(`Downloaded ${p.name}.coco.json.`);
                  })}>Download COCO</button>
        )}
      </div>
      <p class="status" role="status">{message}</p>
      <ErrorBox error={failure} />
      {result && (
        <dl class="facts" data-testid="export-result">
          <dt>Dataset</dt><dd data-testid="export-dataset">{result.dataset}</dd>
          <dt>Rows</dt><dd>{result.rows}</dd>
          <dt>File</dt><dd><code data-testid="export-path">{result.path}</code></dd>
          <dt>SHA-256</dt><dd><code>{result.sha256}</code></dd>
        </dl>
      )}
    </Section>
  );
}
