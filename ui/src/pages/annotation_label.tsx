// Labelling and reviewing an annotation project's tasks (docs/annotation.md). The label page
// asks the server for the caller's next task (the project's model picks it and holds it for
// the caller a while), shows it with the model's suggestion and takes the answer from the keys
// or the mouse (components/answer_editor.tsx), timing it; then the next. The review page shows
// the next task awaiting the caller's review with every annotation of it, and takes a
// decision: accept (a), reject (r) or correct (c: the same editor, from the first annotation).
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { type AnnotationProject, type AnnotationTask, type NextTask, describeError } from "../api";
import { AnswerEditor, typingIn } from "../components/answer_editor";
import { ErrorBox, Loading, num, time, useLoad } from "../components/common";
import { TaskContentView, describeAnswer } from "../components/task_view";
import { useSigned } from "../context";
import { href } from "../router";

/** The task a "next" route hands out, fetched again on each change of `tick`; undefined while
 * it loads (so a task answered is never shown, nor answered, twice). */
function useNext(load: () => Promise<NextTask>, deps: unknown[]):
    { next: NextTask | undefined; error: string | undefined } {
  const [next, setNext] = useState<NextTask | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    let live = true;
    setNext(undefined);
    setError(undefined);
    load().then((n) => { if (live) setNext(n); }, (e) => { if (live) setError(describeError(e)); });
    return () => { live = false; };
  }, deps);
  return { next, error };
}

function TaskFacts({ task }: { task: AnnotationTask }) {
  return (
    <p class="muted task-facts">
      Task {task.task} · {task.state.replace("_", " ")}
      {task.score !== null && <> · model uncertainty {num(task.score)}</>}
      {task.rejections > 0 && <> · rejected {task.rejections}× before</>}
    </p>
  );
}

/// The top of the label and review pages: the trail, the heading, the last save, an error, and
/// until a task is shown, that it is coming or that none is left.
function TaskPageHead({ project, here, saved, error, ready, next, waiting, none }: {
  project: string; here: string; saved: string | undefined; error: string | undefined;
  ready: boolean; next: NextTask | undefined; waiting: string; none: string;
}) {
  return (
    <>
      <nav aria-label="Breadcrumb" class="trail">
        <a href={href("annotate")}>Annotate</a> / <a href={href("annotate", project, "overview")}>
          {project}</a> / <span>{here}</span>
      </nav>
      <h1>{here} {project}</h1>
      <p class="status" role="status" data-testid="saved">{saved}</p>
      <ErrorBox error={error} />
      {(!ready || next === undefined) && !error && <Loading what={waiting} />}
      {ready && next !== undefined && next.task === null &&
       <div data-testid="no-task">
         <h2>{none}</h2>
         <p>{next.note.charAt(0).toUpperCase() + next.note.slice(1)}.</p>
       </div>}
    </>
  );
}

export function LabelPage({ project }: { project: string }) {
  const { api } = useSigned();
  const { value: summary, error } = useLoad(() => api.annotationProject(project), [project]);
  const [tick, setTick] = useState(0);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [done, setDone] = useState(0);
  const { next, error: nextError } = useNext(() => api.nextTask(project), [project, tick]);
  return (
    <>
      <TaskPageHead project={project} here="Label" saved={saved} error={error ?? nextError}
        ready={summary !== undefined} next={next} waiting="the next task" none="No task left" />
      {summary !== undefined && next !== undefined && next.task !== null && (
        <section aria-labelledby="task-heading" data-testid="label-task" data-task={next.task}>
          <h2 id="task-heading">{headingOf(summary)}</h2>
          <TaskFacts task={next} />
          <AnswerEditor key={next.task} project={summary} task={next} offerSuggestion
                        submitLabel="Submit"
                        onSubmit={async (answer, suggested, seconds) => {
                          const result = await api.annotate(project, next.task, answer,
                                                            Math.round(seconds * 1000) / 1000, suggested);
                          setDone((d) => d + 1);
                          setSaved(`Saved task ${result.task}: ${describeAnswer(answer, next.content)}` +
                                   `${suggested ? " (the suggestion)" : ""} — ${result.state.replace("_", " ")}.`);
                          setTick((t) => t + 1);
                        }} />
        </section>
      )}
      {done > 0 && <p class="muted" data-testid="done">{done} answered on this page.</p>}
    </>
  );
}

function headingOf(project: AnnotationProject): string {
  switch (project.task) {
    case "class": return "Which class is it?";
    case "classes": return "Which classes apply?";
    case "value": return "What is its value?";
    case "boxes": return "Draw a box around each object";
    case "spans": return "Mark the spans of the text";
  }
}

export function ReviewPage({ project }: { project: string }) {
  const { api } = useSigned();
  const { value: summary, error } = useLoad(() => api.annotationProject(project), [project]);
  const [tick, setTick] = useState(0);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const [correcting, setCorrecting] = useState(false);
  const [shown, setShown] = useState(0);
  const [busy, setBusy] = useState(false);
  const { next, error: nextError } = useNext(() => api.nextReview(project), [project, tick]);
  const task = next !== undefined && next.task !== null ? next : undefined;

  const decide = async (decision: "accept" | "reject" | "correct",
                        answer?: Parameters<typeof api.reviewTask>[3]) => {
    if (!task || busy) return;
    setBusy(true);
    setFailure(undefined);
    try {
      const result = await api.reviewTask(project, task.task, decision, answer);
      const done = decision === "accept" ? "Accepted" : decision === "reject" ? "Rejected" : "Corrected";
      setSaved(`${done} task ${result.task}${answer ? `: ${describeAnswer(answer, task.content)}` : ""}` +
               ` — ${result.state.replace("_", " ")}.`);
      setCorrecting(false);
      setShown(0);
      setTick((t) => t + 1);
    } catch (e) {
      if (decision === "correct") throw e;  // the editor shows it and keeps the correction
      setFailure(`${decision} failed: ${describeError(e)}`);
    } finally {
      setBusy(false);
    }
  };
  // a, r, c on the whole window while no correction is open.
  const keys = useRef<(e: KeyboardEvent) => void>(() => undefined);
  keys.current = (e: KeyboardEvent) => {
    if (!task || correcting || e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey ||
        typingIn(e.target)) return;
    const action = { a: "accept", r: "reject", c: "correct" }[e.key];
    if (!action) return;
    e.preventDefault();
    if (action === "correct") setCorrecting(true);
    else void decide(action as "accept" | "reject");
  };
  useLayoutEffect(() => {
    const listener = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);

  const choices = summary?.choices ?? [];
  const first = task?.annotations[0]?.answer;
  return (
    <>
      <TaskPageHead project={project} here="Review" saved={saved} error={error ?? nextError}
        ready={summary !== undefined} next={next} waiting="the next task to review"
        none="Nothing to review" />
      {summary !== undefined && task !== undefined && (
        <section aria-labelledby="task-heading" data-testid="review-task" data-task={task.task}>
          <h2 id="task-heading">Task {task.task}: {task.annotations.length} annotation
            {task.annotations.length === 1 ? "" : "s"}</h2>
          <TaskFacts task={task} />
          {correcting ? (
            <AnswerEditor key={`correct-${task.task}`} project={summary} task={task}
                          initial={first} offerSuggestion={false} submitLabel="Save correction"
                          onSubmit={(answer) => decide("correct", answer)}
                          onCancel={() => setCorrecting(false)} />
          ) : (
            <div class="editor">
              <div class="task-content">
                <TaskContentView task={task} answer={task.annotations[shown]?.answer}
                                 choices={choices} />
              </div>
              <div class="task-answer">
                <Annotations task={task} shown={shown} setShown={setShown}
                             regions={summary.task === "boxes" || summary.task === "spans"} />
                {task.suggestion && (
                  <p class="suggestion">Model {task.suggestion.model} v{task.suggestion.version}
                    {" "}suggests {describeAnswer(task.suggestion.answer)}.</p>
                )}
                <ErrorBox error={failure} />
                <div class="inline decisions">
                  <button type="button" disabled={busy} onClick={() => void decide("accept")}>
                    <kbd>a</kbd> Accept</button>
                  <button type="button" class="danger" disabled={busy}
                          onClick={() => void decide("reject")}><kbd>r</kbd> Reject</button>
                  <button type="button" class="secondary" disabled={busy}
                          onClick={() => setCorrecting(true)}><kbd>c</kbd> Correct</button>
                </div>
                <p class="muted">Accept takes the annotations as they are; reject sends the task
                  back to be labelled again; correct opens the editor with the first annotation
                  (Enter saves it as the answer).</p>
              </div>
            </div>
          )}
        </section>
      )}
    </>
  );
}

function Annotations({ task, shown, setShown, regions }:
    { task: AnnotationTask; shown: number; setShown: (i: number) => void; regions: boolean }) {
  return (
    <div class="scroll-x">
      <table class="grid compact" data-testid="annotations">
        <caption class="sr-only">Annotations of task {task.task}</caption>
        <thead><tr><th scope="col">Annotator</th><th scope="col">Answer</th>
          <th scope="col">Time</th><th scope="col">Suggestion taken</th><th scope="col">When</th>
          {regions && task.annotations.length > 1 && <th scope="col">Shown</th>}</tr></thead>
        <tbody>
          {task.annotations.map((a, i) => (
            <tr data-annotator={a.annotator}>
              <th scope="row">{a.annotator}</th>
              <td>{describeAnswer(a.answer, task.content)}</td>
              <td>{a.seconds > 0 ? `${num(a.seconds)} s` : "–"}</td>
              <td>{a.suggested ? "yes" : "no"}</td>
              <td>{time(a.unix_ms)}</td>
              {regions && task.annotations.length > 1 && (
                <td><button type="button" class="small secondary" aria-pressed={shown === i}
                            onClick={() => setShown(i)}>Show {a.annotator}'s</button></td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
