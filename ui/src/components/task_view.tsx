// What an annotation task shows: its image on a canvas (with boxes, and drawing them with the
// mouse), its text (with spans marked and named, and the offsets of a mouse selection in
// characters), or its table; and an answer in words. Texts are only ever text nodes: a task's
// "<b>" shows as those three characters.
import type { Ref } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Answer, AnswerBox, AnswerSpan, AnnotationTask, TaskContent } from "../api";
import { describeError } from "../api";
import { useSigned } from "../context";
import { num } from "./common";

/** Colours of the labels' boxes on the canvas (the label's name is drawn beside each box). */
const BOX_COLORS = ["#1d4ed8", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490"];

/** The characters (code points) of a text: what spans count. */
export function characters(text: string): string[] {
  return Array.from(text);
}

/** A number as short as it reads well: 7.5, 5.6, 0.33333. */
function short(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
}

/** An answer in words: "Coat"; "a, b"; "3.5"; "2 boxes: Coat at 3,4 10×8, ..."; spans quoted. */
export function describeAnswer(answer: Answer | undefined, content?: TaskContent): string {
  if (answer === undefined) return "–";
  if (answer.label !== undefined) return answer.label;
  if (answer.labels !== undefined) return answer.labels.length ? answer.labels.join(", ") : "(none)";
  if (answer.value !== undefined) return short(answer.value);
  if (answer.boxes !== undefined) {
    if (answer.boxes.length === 0) return "no box";
    return answer.boxes.map((b) => `${b.label} at ${short(b.x)},${short(b.y)} ${short(b.w)}×${short(b.h)}`)
        .join("; ");
  }
  if (answer.spans !== undefined) {
    if (answer.spans.length === 0) return "no span";
    const chars = content?.kind === "text" ? characters(content.text) : null;
    return answer.spans.map((s) => chars
        ? `${s.label}: “${chars.slice(s.start, s.end).join("")}”`
        : `${s.label}: ${s.start}–${s.end}`).join("; ");
  }
  return "–";
}

export function labelColor(choices: string[], label: string): string {
  const index = Math.max(0, choices.indexOf(label));
  return BOX_COLORS[index % BOX_COLORS.length]!;
}

/** A box being drawn, in image pixels. */
interface Drag { x0: number; y0: number; x1: number; y1: number }

/** A task's image, fetched with the credential, drawn scaled up without smoothing, with
 * `boxes` over it; with `onBox`, dragging the mouse draws a new box (in image pixels). */
export function ImageCanvas({ content, boxes, choices, onBox, drawLabel }:
    { content: Extract<TaskContent, { kind: "image" }>; boxes: AnswerBox[]; choices: string[];
      onBox?: (box: Omit<AnswerBox, "label">) => void; drawLabel?: string }) {
  const { api } = useSigned();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [bitmap, setBitmap] = useState<ImageBitmap | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [drag, setDrag] = useState<Drag | null>(null);
  const { width, height } = content;
  const fit = Math.min(480 / width, 480 / height);
  const zoom = fit >= 1 ? Math.floor(fit) : fit;
  useEffect(() => {
    let live = true;
    setBitmap(null);
    setError(undefined);
    api.blob("GET", content.image).then((blob) => createImageBitmap(blob))
        .then((b) => { if (live) setBitmap(b); },
              (e) => { if (live) setError(`The image did not load: ${describeError(e)}`); });
    return () => { live = false; };
  }, [content.image]);
  useEffect(() => {
    const c = canvas.current;
    const g = c?.getContext("2d");
    if (!c || !g) return;
    g.imageSmoothingEnabled = false;
    g.clearRect(0, 0, c.width, c.height);
    if (bitmap) g.drawImage(bitmap, 0, 0, c.width, c.height);
    const k = c.width / width;
    g.font = "bold 13px system-ui, sans-serif";
    g.lineWidth = 2;
    const drawn: [AnswerBox, boolean][] = boxes.map((b) => [b, false]);
    if (drag) drawn.push([{ ...normalized(drag), label: drawLabel ?? "" }, true]);
    for (const [b, dashed] of drawn) {
      const color = labelColor(choices, b.label);
      g.strokeStyle = color;
      g.setLineDash(dashed ? [6, 4] : []);
      g.strokeRect(b.x * k + 1, b.y * k + 1, Math.max(1, b.w * k - 2), Math.max(1, b.h * k - 2));
      if (b.label) {
        const text = b.label;
        const tw = g.measureText(text).width + 8;
        const ty = b.y * k >= 18 ? b.y * k - 18 : b.y * k;
        g.fillStyle = color;
        g.fillRect(b.x * k, ty, tw, 18);
        g.fillStyle = "#ffffff";
        g.fillText(text, b.x * k + 4, ty + 13);
      }
    }
    g.setLineDash([]);
  }, [bitmap, boxes, drag, width, choices, drawLabel]);

  /** The pointer's position in image pixels, inside the image, to a tenth of a pixel. */
  const at = (event: PointerEvent): [number, number] => {
    const rect = canvas.current!.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * width;
    const y = ((event.clientY - rect.top) / rect.height) * height;
    const clamp = (v: number, hi: number) => Math.round(Math.min(hi, Math.max(0, v)) * 10) / 10;
    return [clamp(x, width), clamp(y, height)];
  };
  const drawing = onBox !== undefined;
  return (
    <figure class="task-image">
      <canvas ref={canvas} width={Math.round(width * zoom)} height={Math.round(height * zoom)}
              data-testid="task-image" data-loaded={bitmap ? "true" : "false"}
              data-boxes={boxes.length} role="img" class={drawing ? "drawable" : undefined}
              aria-label={`The task's image, ${width}×${height} pixels` +
                          (boxes.length ? `, with ${boxes.length} boxes (listed below)` : "")}
              onPointerDown={drawing ? (e) => {
                if (e.button !== 0) return;
                e.preventDefault();
                (e.currentTarget as HTMLCanvasElement).setPointerCapture(e.pointerId);
                const [x, y] = at(e);
                setDrag({ x0: x, y0: y, x1: x, y1: y });
              } : undefined}
              onPointerMove={drawing ? (e) => {
                if (!drag) return;
                const [x, y] = at(e);
                setDrag({ ...drag, x1: x, y1: y });
              } : undefined}
              onPointerUp={drawing ? (e) => {
                if (!drag) return;
                const [x, y] = at(e);
                const box = normalized({ ...drag, x1: x, y1: y });
                setDrag(null);
                if (box.w >= 0.5 && box.h >= 0.5) onBox!(box);
              } : undefined}
              onPointerCancel={() => setDrag(null)} />
      {!bitmap && !error && <figcaption class="muted">Loading the image…</figcaption>}
      {error && <figcaption class="error" role="alert">{error}</figcaption>}
    </figure>
  );
}

function normalized(d: Drag): Omit<AnswerBox, "label"> {
  const x = Math.min(d.x0, d.x1);
  const y = Math.min(d.y0, d.y1);
  const round = (v: number) => Math.round(v * 10) / 10;
  return { x: round(x), y: round(y), w: round(Math.abs(d.x1 - d.x0)), h: round(Math.abs(d.y1 - d.y0)) };
}

/** A text with its spans marked, each followed by its label's name. Spans that overlap one
 * drawn before them are shown from where that one ends. `root` gets the paragraph, for
 * selectionOffsets(). */
export function SpanText({ text, spans, choices, root }:
    { text: string; spans: AnswerSpan[]; choices: string[]; root?: Ref<HTMLParagraphElement> }) {
  const chars = characters(text);
  const sorted = [...spans].sort((a, b) => a.start - b.start || a.end - b.end);
  const pieces = [];
  let at = 0;
  for (const s of sorted) {
    const start = Math.max(at, s.start);
    const end = Math.min(chars.length, s.end);
    if (end <= start) continue;
    if (start > at) pieces.push(<span data-seg="">{chars.slice(at, start).join("")}</span>);
    const kind = Math.max(0, choices.indexOf(s.label)) % BOX_COLORS.length;
    pieces.push(
      <mark class={`span-mark c${kind}`} data-start={s.start} data-end={s.end} data-label={s.label}>
        <span data-seg="">{chars.slice(start, end).join("")}</span>
        <span class="span-label" data-badge="">{s.label}</span>
      </mark>);
    at = end;
  }
  if (at < chars.length) pieces.push(<span data-seg="">{chars.slice(at).join("")}</span>);
  return <p class="span-text" ref={root} data-testid="task-text">{pieces}</p>;
}

/** The characters (code points) before a point of the document inside `root`, not counting
 * the label names that SpanText puts after each span. */
function offsetAt(root: Node, node: Node, offset: number): number {
  const range = document.createRange();
  range.setStart(root, 0);
  range.setEnd(node, offset);
  const part = range.cloneContents();
  part.querySelectorAll("[data-badge]").forEach((badge) => badge.remove());
  return characters(part.textContent ?? "").length;
}

/** The current selection as [start, end) characters of the text in `root` (SpanText's), with
 * white space at its ends left out; null when nothing of it is selected. */
export function selectionOffsets(root: HTMLElement | null): { start: number; end: number } | null {
  const selection = document.getSelection();
  if (!root || !selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
  let start = offsetAt(root, range.startContainer, range.startOffset);
  let end = offsetAt(root, range.endContainer, range.endOffset);
  const chars = characters(Array.from(root.querySelectorAll("[data-seg]"))
      .map((s) => s.textContent ?? "").join(""));
  while (start < end && /\s/.test(chars[start] ?? "")) ++start;
  while (end > start && /\s/.test(chars[end - 1] ?? "")) --end;
  return end > start ? { start, end } : null;
}

export function TableContent({ columns }:
    { columns: Extract<TaskContent, { kind: "table" }>["columns"] }) {
  return (
    <div class="scroll-x task-table">
      <table class="grid compact narrow" data-testid="task-table">
        <caption class="sr-only">The task's row</caption>
        <thead><tr><th scope="col">Column</th><th scope="col">Value</th></tr></thead>
        <tbody>
          {columns.map((c) => (
            <tr><th scope="row">{c.name}</th>
              <td>{c.value === null ? "–" : typeof c.value === "number" ? num(c.value) : c.value}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A task's content as its project shows it, read-only, with an answer's boxes or spans. */
export function TaskContentView({ task, answer, choices }:
    { task: AnnotationTask; answer?: Answer; choices: string[] }) {
  const content = task.content;
  if (content.kind === "image") {
    return <ImageCanvas content={content} boxes={answer?.boxes ?? []} choices={choices} />;
  }
  if (content.kind === "text") {
    return <SpanText text={content.text} spans={answer?.spans ?? []} choices={choices} />;
  }
  return <TableContent columns={content.columns} />;
}
