// Hash routing (#/runs/3): the server only ever serves index.html's folder, whatever the view,
// and the page's path (with its proxy prefix) is never touched.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** The path's segments, decoded: #/models/fashion → ["models", "fashion"]. */
  parts: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const text = hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = text.split("?", 2);
  const parts = path.split("/").filter((p) => p !== "").map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onChange);
    // Effects run after the first paint: a hash changed before then (a link followed, or a
    // script's navigation, as the console appears) fired no event this listener heard.
    onChange();
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** A hash link: href("runs", 3) → "#/runs/3"; query entries with empty values are dropped. */
export function href(...parts: (string | number)[]): string {
  return `#/${parts.map((p) => encodeURIComponent(String(p))).join("/")}`;
}

export function withQuery(link: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") params.set(key, value);
  }
  const text = params.toString();
  return text ? `${link}?${text}` : link;
}

export function navigate(link: string, replace = false): void {
  if (replace) history.replaceState(null, "", link);
  else location.hash = link.slice(1);
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}
