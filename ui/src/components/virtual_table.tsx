// A fixed-row-height virtualised table: only the rows in view (plus a margin) are in the DOM, so
// a listing of 100,000 runs costs as much as one of 30. Rows come from `rowAt`, which may answer
// undefined for a row whose page is still loading (drawn as a placeholder) and is asked to load
// the pages in view through `onRange`.
import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export interface Column<T> {
  key: string;
  header: ComponentChildren;
  width: number;
  cell: (row: T) => ComponentChildren;
  /** aria-sort of the header, when the listing is sorted by this column. */
  sort?: "ascending" | "descending";
}

export function VirtualTable<T>({ columns, count, rowAt, onRange, rowHeight = 32, height = 480,
                                  label, rowKey }:
    { columns: Column<T>[]; count: number; rowAt: (index: number) => T | undefined;
      onRange: (first: number, last: number) => void; rowHeight?: number; height?: number;
      label: string; rowKey: (row: T, index: number) => string | number }) {
  const scroller = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const margin = 10;
  const first = Math.max(0, Math.floor(top / rowHeight) - margin);
  const last = Math.min(count, Math.ceil((top + height) / rowHeight) + margin);
  useEffect(() => { onRange(first, last); }, [first, last, count]);
  useEffect(() => {
    if (scroller.current && top > count * rowHeight) {
      scroller.current.scrollTop = 0;
      setTop(0);
    }
  }, [count]);
  // Never taller than the rows need (a header of 34 px, and room for a horizontal scroll bar).
  const shown = Math.min(height, 34 + count * rowHeight + 16);
  useEffect(() => {
    if (scroller.current) scroller.current.style.height = `${shown}px`;
  }, [shown]);
  const width = columns.reduce((sum, c) => sum + c.width, 0);
  const rows = [];
  for (let i = first; i < last; ++i) {
    const row = rowAt(i);
    rows.push(
      <div role="row" class="vrow" aria-rowindex={i + 2} key={row ? rowKey(row, i) : `pending-${i}`}
           ref={(el) => { if (el) { el.style.top = `${i * rowHeight}px`; el.style.height = `${rowHeight}px`; } }}>
        {columns.map((c) => (
          <div role="cell" class="vcell" key={c.key}
               ref={(el) => { if (el) el.style.width = `${c.width}px`; }}>
            {row ? c.cell(row) : i === first ? "Loading…" : ""}
          </div>
        ))}
      </div>,
    );
  }
  return (
    <div class="vtable">
      <div role="table" aria-label={label} aria-rowcount={count + 1} class="vscroll"
           ref={scroller} tabIndex={0}
           onScroll={(e) => setTop((e.target as HTMLDivElement).scrollTop)}>
        <div role="rowgroup" class="vhead"
             ref={(el) => { if (el) el.style.width = `${width}px`; }}>
          <div role="row" aria-rowindex={1} class="vrow head">
            {columns.map((c) => (
              <div role="columnheader" class="vcell" key={c.key} aria-sort={c.sort}
                   ref={(el) => { if (el) el.style.width = `${c.width}px`; }}>{c.header}</div>
            ))}
          </div>
        </div>
        <div role="rowgroup" class="vbody" ref={(el) => {
          if (el) { el.style.height = `${count * rowHeight}px`; el.style.width = `${width}px`; }
        }}>
          {rows}
        </div>
      </div>
    </div>
  );
}
