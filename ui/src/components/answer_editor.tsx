// The editor of one answer to an annotation task, for labelling and for a reviewer's
// correction. Keys (shown on the page, read on the whole window while the editor is open, but
// not while typing in a field):
//   class    1-9 (0: the tenth) choose a class; Enter submits it (nothing chosen: the
//            model's suggestion, recorded as taken unchanged)
//   classes  1-9 (0) toggle a class; Enter submits the chosen ones (none: none apply)
//   value    type the number; Enter submits it (empty: the suggestion)
//   boxes    1-9 (0) pick the label; drag on the image to draw a box with it; Backspace or
//            Delete removes the last box; Enter submits
//   spans    select text with the mouse, then 1-9 (0) marks it with that label; Backspace or
//            Delete removes the last span; Enter submits
// A refused answer stays in the editor with the server's reason above it.
import type { ComponentChildren } from "preact";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Answer, AnswerBox, AnswerSpan, AnnotationProject, AnnotationTask } from "../api";
import { describeError } from "../api";
import { ErrorBox, num } from "./common";
import { ImageCanvas, SpanText, TableContent, characters, describeAnswer,
         selectionOffsets } from "./task_view";

interface Draft {
  label: string | null;
  labels: string[];
  value: string;
  boxes: AnswerBox[];
  spans: AnswerSpan[];
  /** boxes: the label new boxes get */
  current: number;
}

function draftOf(initial: Answer | undefined, choices: string[]): Draft {
  return {
    label: initial?.label ?? null,
    labels: initial?.labels ?? [],
    value: initial?.value !== undefined ? String(initial.value) : "",
    boxes: initial?.boxes ?? [],
    spans: initial?.spans ?? [],
    current: Math.max(0, choices.indexOf(initial?.boxes?.[0]?.label ?? "")),
  };
}

/** The choice a digit key picks: 1-9 the first nine, 0 the tenth; -1 for any other key. */
export function choiceOfKey(key: string, count: number): number {
  if (!/^[0-9]$/.test(key)) return -1;
  const index = key === "0" ? 9 : Number(key) - 1;
  return index < count ? index : -1;
}

function keyOf(index: number): string | null {
  return index < 9 ? String(index + 1) : index === 9 ? "0" : null;
}

/** Whether a key press belongs to a field or control of its own rather than to the editor. */
export function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName);
}

/** Enter on a link or a button of its own (not a choice) does what that control does. */
function controlTakesEnter(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.tagName === "A" || target.tagName === "SUMMARY") return true;
  return target.tagName === "BUTTON" && !target.hasAttribute("data-choice");
}

export interface EditorProps {
  project: AnnotationProject;
  task: AnnotationTask;
  /** The answer the editor starts from (a reviewer's correction starts from an annotation). */
  initial?: Answer;
  /** Whether the model's suggestion is offered (labelling, not reviewing). */
  offerSuggestion: boolean;
  submitLabel: string;
  /** Saves the answer; a rejection's message shows and the answer stays. */
  onSubmit: (answer: Answer, suggested: boolean, seconds: number) => Promise<void>;
  onCancel?: () => void;
}

export function AnswerEditor(props: EditorProps) {
  const { project, task, offerSuggestion } = props;
  const choices = project.choices ?? [];
  const [draft, setDraft] = useState<Draft>(() => draftOf(props.initial, choices));
  const [error, setError] = useState<string | undefined>(undefined);
  const [hint, setHint] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<{ start: number; end: number } | null>(null);
  const started = useRef(performance.now());
  const textRoot = useRef<HTMLParagraphElement>(null);
  const valueInput = useRef<HTMLInputElement>(null);
  const suggestion = offerSuggestion ? task.suggestion : undefined;
  const text = task.content.kind === "text" ? task.content.text : "";

  /** The answer the draft makes, and whether it is the suggestion taken unchanged. */
  const answerOf = (d: Draft): { answer: Answer; suggested: boolean } | string => {
    switch (project.task) {
      case "class":
        if (d.label !== null) return { answer: { label: d.label }, suggested: false };
        if (suggestion?.answer.label !== undefined) {
          return { answer: { label: suggestion.answer.label }, suggested: true };
        }
        return "Choose a class first (keys 1–9, or click one).";
      case "classes":
        return { answer: { labels: choices.filter((c) => d.labels.includes(c)) }, suggested: false };
      case "value": {
        if (d.value.trim() === "") {
          if (suggestion?.answer.value !== undefined) {
            return { answer: { value: suggestion.answer.value }, suggested: true };
          }
          return "Enter a value first.";
        }
        const v = Number(d.value);
        if (!Number.isFinite(v)) return `“${d.value}” is not a number.`;
        return { answer: { value: v }, suggested: false };
      }
      case "boxes":
        return { answer: { boxes: d.boxes }, suggested: false };
      case "spans":
        return { answer: { spans: d.spans }, suggested: false };
    }
  };

  const submit = async (d: Draft) => {
    if (busy) return;
    const made = answerOf(d);
    if (typeof made === "string") {
      setError(made);
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(made.answer, made.suggested, (performance.now() - started.current) / 1000);
    } catch (e) {
      setError(`Not saved: ${describeError(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const pick = (d: Draft, index: number): Draft => {
    const choice = choices[index]!;
    if (project.task === "class") return { ...d, label: choice };
    if (project.task === "classes") {
      return { ...d, labels: d.labels.includes(choice) ? d.labels.filter((c) => c !== choice)
                                                       : [...d.labels, choice] };
    }
    if (project.task === "boxes") return { ...d, current: index };
    return d;
  };

  const markSpan = (d: Draft, index: number): Draft => {
    const range = selectionOffsets(textRoot.current) ?? selected;
    if (!range) {
      setHint("Select some of the text with the mouse first, then press a label's key.");
      return d;
    }
    const overlap = d.spans.find((s) => s.start < range.end && range.start < s.end);
    if (overlap) {
      setHint(`That overlaps the ${overlap.label} span “${
          characters(text).slice(overlap.start, overlap.end).join("")}”: remove it first.`);
      return d;
    }
    setHint(undefined);
    setSelected(null);
    document.getSelection()?.removeAllRanges();
    return { ...d, spans: [...d.spans, { ...range, label: choices[index]! }] };
  };

  const removeLast = (d: Draft): Draft => {
    if (project.task === "boxes") return { ...d, boxes: d.boxes.slice(0, -1) };
    if (project.task === "spans") return { ...d, spans: d.spans.slice(0, -1) };
    return d;
  };

  // The keys, on the whole window: the current draft through a ref, so the listener is added
  // once, as the editor appears (a layout effect: a key pressed as soon as the task shows is not
  // lost to an effect that waits for the next paint).
  const latest = useRef(draft);
  latest.current = draft;
  const handler = useRef<(e: KeyboardEvent) => void>(() => undefined);
  handler.current = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
    const d = latest.current;
    if (e.key === "Enter") {
      if (controlTakesEnter(e.target)) return;
      e.preventDefault();
      void submit(d);
      return;
    }
    if (e.key === "Escape" && props.onCancel) {
      e.preventDefault();
      props.onCancel();
      return;
    }
    if (e.key === "Backspace" || e.key === "Delete") {
      e.preventDefault();
      setDraft(removeLast(d));
      return;
    }
    const index = choiceOfKey(e.key, choices.length);
    if (index < 0 || project.task === "value") return;
    e.preventDefault();
    setDraft(project.task === "spans" ? markSpan(d, index) : pick(d, index));
  };
  useLayoutEffect(() => {
    const listener = (e: KeyboardEvent) => handler.current(e);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);
  // The text selected, kept while a label's button takes the focus.
  useEffect(() => {
    if (project.task !== "spans") return;
    const onChange = () => {
      const range = selectionOffsets(textRoot.current);
      if (range) setSelected(range);
    };
    document.addEventListener("selectionchange", onChange);
    return () => document.removeEventListener("selectionchange", onChange);
  }, [project.task]);
  useEffect(() => { valueInput.current?.focus(); }, []);

  const content = task.content;
  return (
    <div class="editor" data-testid="editor" data-task={task.task}>
      <div class="task-content">
        {content.kind === "image" && (
          <ImageCanvas content={content} boxes={draft.boxes} choices={choices}
                       drawLabel={choices[draft.current]}
                       onBox={project.task === "boxes"
                         ? (box) => setDraft({ ...latest.current,
                                               boxes: [...latest.current.boxes,
                                                       { ...box, label: choices[latest.current.current]! }] })
                         : undefined} />
        )}
        {content.kind === "text" && (
          <SpanText text={content.text} spans={draft.spans} choices={choices} root={textRoot} />
        )}
        {content.kind === "table" && <TableContent columns={content.columns} />}
      </div>
      <div class="task-answer">
        {suggestion && (
          <p class="suggestion" data-testid="suggestion">
            <strong>Suggestion</strong> by model {suggestion.model} v{suggestion.version}:{" "}
            <span data-testid="suggested-answer">{describeAnswer(suggestion.answer)}</span>
            {suggestion.score !== undefined && `, ${(suggestion.score * 100).toFixed(0)}%`}
            <span class="muted"> (Enter with nothing chosen takes it)</span>
          </p>
        )}
        <Controls project={project} draft={draft} setDraft={setDraft} pick={pick}
                  markSpan={markSpan} valueInput={valueInput} selected={selected}
                  text={text} onSubmit={() => void submit(latest.current)} />
        {hint && <p class="hint" role="status">{hint}</p>}
        <ErrorBox error={error} />
        <div class="inline">
          <button type="button" onClick={() => void submit(latest.current)} disabled={busy}>
            {busy ? "Saving…" : props.submitLabel}</button>
          {props.onCancel && <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel</button>}
        </div>
        <Shortcuts task={project.task} cancel={props.onCancel !== undefined} />
      </div>
    </div>
  );
}

function Shortcuts({ task, cancel }: { task: AnnotationProject["task"]; cancel: boolean }) {
  const keys: [string, string][] = [];
  if (task === "class") keys.push(["1–9, 0", "choose a class"], ["Enter", "submit (nothing chosen: the suggestion)"]);
  if (task === "classes") keys.push(["1–9, 0", "toggle a class"], ["Enter", "submit the chosen classes"]);
  if (task === "value") keys.push(["Enter", "submit the value (empty: the suggestion)"]);
  if (task === "boxes") {
    keys.push(["1–9, 0", "pick the label"], ["drag", "draw a box on the image"],
              ["Backspace", "remove the last box"], ["Enter", "submit"]);
  }
  if (task === "spans") {
    keys.push(["select", "select text with the mouse"], ["1–9, 0", "mark it with that label"],
              ["Backspace", "remove the last span"], ["Enter", "submit"]);
  }
  if (cancel) keys.push(["Esc", "cancel"]);
  return (
    <div class="shortcuts">
      <h3>Keys</h3>
      <dl data-testid="shortcuts">
        {keys.map(([k, what]) => <><dt><kbd>{k}</kbd></dt><dd>{what}</dd></>)}
      </dl>
    </div>
  );
}

interface ControlsProps {
  project: AnnotationProject;
  draft: Draft;
  setDraft: (d: Draft) => void;
  pick: (d: Draft, index: number) => Draft;
  markSpan: (d: Draft, index: number) => Draft;
  valueInput: { current: HTMLInputElement | null };
  selected: { start: number; end: number } | null;
  text: string;
  onSubmit: () => void;
}

function Controls(p: ControlsProps) {
  const { project, draft, setDraft } = p;
  const choices = project.choices ?? [];
  if (project.task === "value") {
    return (
      <form class="value-form" noValidate onSubmit={(e) => { e.preventDefault(); p.onSubmit(); }}>
        <label for="answer-value">Value ({num(project.min)} to {num(project.max)})</label>
        <input id="answer-value" type="number" step="any" min={project.min} max={project.max}
               ref={p.valueInput} value={draft.value}
               onInput={(e) => setDraft({ ...draft, value: (e.target as HTMLInputElement).value })} />
      </form>
    );
  }
  const pressed = (c: string, i: number) =>
      project.task === "class" ? draft.label === c
          : project.task === "classes" ? draft.labels.includes(c)
              : project.task === "boxes" ? draft.current === i : false;
  const title = project.task === "boxes" ? "Label of new boxes"
      : project.task === "spans" ? "Mark the selection as" : project.task === "classes"
          ? "Classes (any number)" : "Class";
  return (
    <>
      <ChoiceGroup title={title}>
        {choices.map((c, i) => (
          <button type="button" class="choice" data-choice={c}
                  aria-pressed={project.task === "spans" ? undefined : pressed(c, i)}
                  onMouseDown={project.task === "spans" ? (e) => e.preventDefault() : undefined}
                  onClick={() => setDraft(project.task === "spans" ? p.markSpan(draft, i)
                                                                   : p.pick(draft, i))}>
            {keyOf(i) !== null && <kbd>{keyOf(i)}</kbd>} {c}
          </button>
        ))}
      </ChoiceGroup>
      {project.task === "spans" && (
        <>
          <p class="muted" data-testid="selection">{p.selected
              ? <>Selected: “{characters(p.text).slice(p.selected.start, p.selected.end).join("")}”
                  (characters {p.selected.start} to {p.selected.end})</>
              : "Select some of the text with the mouse."}</p>
          <Regions items={draft.spans.map((s) => `${s.label}: “${
                       characters(p.text).slice(s.start, s.end).join("")}” (${s.start}–${s.end})`)}
                   what="span" onRemove={(i) => setDraft({ ...draft,
                       spans: draft.spans.filter((_, k) => k !== i) })} />
          <SpanByNumbers choices={choices} length={characters(p.text).length}
                         onAdd={(s) => setDraft({ ...draft, spans: [...draft.spans, s] })} />
        </>
      )}
      {project.task === "boxes" && (
        <>
          <Regions items={draft.boxes.map((b) => describeAnswer({ boxes: [b] }))} what="box"
                   onRemove={(i) => setDraft({ ...draft, boxes: draft.boxes.filter((_, k) => k !== i) })} />
          <BoxByNumbers choices={choices} current={choices[draft.current] ?? ""}
                        onAdd={(b) => setDraft({ ...draft, boxes: [...draft.boxes, b] })} />
        </>
      )}
    </>
  );
}

function ChoiceGroup({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <div class="choices" role="group" aria-labelledby="choices-title">
      <h3 id="choices-title">{title}</h3>
      <div class="inline">{children}</div>
    </div>
  );
}

function Regions({ items, what, onRemove }:
    { items: string[]; what: string; onRemove: (i: number) => void }) {
  if (items.length === 0) return <p class="muted" data-testid="regions">No {what} yet.</p>;
  return (
    <ol class="regions" data-testid="regions">
      {items.map((item, i) => (
        <li>{item}{" "}
          <button type="button" class="small secondary" onClick={() => onRemove(i)}
                  aria-label={`Remove ${what} ${i + 1}`}>Remove</button></li>
      ))}
    </ol>
  );
}

/** A box typed in, for those who do not draw with a mouse. */
function BoxByNumbers({ choices, current, onAdd }:
    { choices: string[]; current: string; onAdd: (b: AnswerBox) => void }) {
  const [fields, setFields] = useState({ x: "", y: "", w: "", h: "" });
  const [label, setLabel] = useState(current);
  return (
    <details class="by-numbers">
      <summary>Add a box by its numbers</summary>
      <form class="inline" onSubmit={(e) => {
        e.preventDefault();
        const [x, y, w, h] = (["x", "y", "w", "h"] as const).map((k) => Number(fields[k]));
        if ([x, y, w, h].every((v) => Number.isFinite(v))) onAdd({ x: x!, y: y!, w: w!, h: h!, label });
      }}>
        {(["x", "y", "w", "h"] as const).map((k) => (
          <label>{k} <input type="number" step="any" class="short" value={fields[k]}
                            onInput={(e) => setFields({ ...fields, [k]: (e.target as HTMLInputElement).value })} /></label>
        ))}
        <label>label <select value={label} onChange={(e) => setLabel((e.target as HTMLSelectElement).value)}>
          {choices.map((c) => <option value={c}>{c}</option>)}</select></label>
        <button type="submit" class="small">Add box</button>
      </form>
    </details>
  );
}

/** A span typed in as character offsets, for those who do not select with a mouse. */
function SpanByNumbers({ choices, length, onAdd }:
    { choices: string[]; length: number; onAdd: (s: AnswerSpan) => void }) {
  const [start, setStart] = useState("");
  const [end, setEnd] = useState("");
  const [label, setLabel] = useState(choices[0] ?? "");
  return (
    <details class="by-numbers">
      <summary>Add a span by its characters</summary>
      <form class="inline" onSubmit={(e) => {
        e.preventDefault();
        const s = Number(start);
        const t = Number(end);
        if (Number.isInteger(s) && Number.isInteger(t) && s >= 0 && t > s && t <= length) {
          onAdd({ start: s, end: t, label });
        }
      }}>
        <label>from <input type="number" class="short" min={0} max={length} value={start}
                           onInput={(e) => setStart((e.target as HTMLInputElement).value)} /></label>
        <label>to <input type="number" class="short" min={0} max={length} value={end}
                         onInput={(e) => setEnd((e.target as HTMLInputElement).value)} /></label>
        <label>label <select value={label} onChange={(e) => setLabel((e.target as HTMLSelectElement).value)}>
          {choices.map((c) => <option value={c}>{c}</option>)}</select></label>
        <button type="submit" class="small">Add span</button>
      </form>
    </details>
  );
}
