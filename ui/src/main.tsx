import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AimassError } from "@aimass/client";
import { Api, type Credential, describeError } from "./api";
import { SignedIn, type Signed } from "./context";
import { href, useRoute } from "./router";
import { AnnotationOverviewPage, AnnotationProjectsPage } from "./pages/annotation";
import { LabelPage, ReviewPage } from "./pages/annotation_label";
import { JobPage, JobsPage } from "./pages/jobs";
import { ModelPage, ModelsPage } from "./pages/models";
import { MonitorPage, MonitoringPage } from "./pages/monitoring";
import { PluginsPage } from "./pages/plugins";
import { ComparePage, RunPage, RunsPage } from "./pages/runs";
import { StudiesPage, StudyPage } from "./pages/studies";

const STORED = "aimass.credential";

function stored(): Credential | null {
  try {
    const text = sessionStorage.getItem(STORED);
    return text ? (JSON.parse(text) as Credential) : null;
  } catch {
    return null;
  }
}

/** Signs in with a credential (or none): its session, or an error a person can act on. */
async function signIn(credential: Credential | null): Promise<Signed> {
  const api = new Api(credential);
  try {
    return { api, session: await api.session() };
  } catch (error) {
    if (error instanceof AimassError && error.status === 401) {
      throw new Error(credential === null ? "sign in" : `Sign-in refused: ${error.message}`);
    }
    throw new Error(`Cannot sign in: ${describeError(error)}`);
  }
}

function SignIn({ onSigned, message }: { onSigned: (s: Signed) => void; message?: string }) {
  const [kind, setKind] = useState<"key" | "jwt">("key");
  const [secret, setSecret] = useState("");
  const [error, setError] = useState<string | undefined>(message);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (!secret.trim()) {
      setError(kind === "key" ? "Enter an API key." : "Enter a JWT.");
      return;
    }
    setBusy(true);
    setError(undefined);
    const credential: Credential = { kind, secret: secret.trim() };
    try {
      const signed = await signIn(credential);
      sessionStorage.setItem(STORED, JSON.stringify(credential));
      onSigned(signed);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>aimass console</h1>
      <form onSubmit={submit} aria-labelledby="signin-title">
        <h2 id="signin-title">Sign in</h2>
        <fieldset>
          <legend>Credential</legend>
          <label><input type="radio" name="kind" value="key" checked={kind === "key"}
                        onChange={() => setKind("key")} /> API key</label>
          <label><input type="radio" name="kind" value="jwt" checked={kind === "jwt"}
                        onChange={() => setKind("jwt")} /> JWT</label>
        </fieldset>
        <label for="secret">{kind === "key" ? "API key" : "JWT"}</label>
        <input id="secret" type="password" autocomplete="current-password" value={secret}
               onInput={(e) => setSecret((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
      <p class="muted">It is kept in this tab only (session storage) and sent to this server
        as <code>Authorization: Bearer</code>.</p>
    </main>
  );
}

function Shell({ signed, onSignOut }: { signed: Signed; onSignOut: () => void }) {
  const route = useRoute();
  const { session } = signed;
  // An annotator may only label and review: the annotation projects are all it sees.
  const annotator = session.role === "annotator";
  const [section = annotator ? "annotate" : "models", ...rest] = route.parts;
  let page;
  if (section === "annotate" && rest.length === 0) page = <AnnotationProjectsPage />;
  else if (section === "annotate" && rest[1] === "review") {
    page = <ReviewPage key={rest[0]} project={rest[0]!} />;
  } else if (section === "annotate" && rest[1] === "overview") {
    page = <AnnotationOverviewPage key={rest[0]} project={rest[0]!} />;
  } else if (section === "annotate") page = <LabelPage key={rest[0]} project={rest[0]!} />;
  else if (section === "models" && rest.length === 0) page = <ModelsPage />;
  else if (section === "models") page = <ModelPage model={rest[0]!} />;
  else if (section === "runs" && rest.length === 0) page = <RunsPage query={route.query} />;
  else if (section === "runs") page = <RunPage id={Number(rest[0])} />;
  else if (section === "compare") page = <ComparePage query={route.query} />;
  else if (section === "jobs" && rest.length === 0) page = <JobsPage />;
  else if (section === "jobs") page = <JobPage id={Number(rest[0])} />;
  else if (section === "studies" && rest.length === 0) page = <StudiesPage />;
  else if (section === "studies") page = <StudyPage name={rest[0]!} />;
  else if (section === "monitoring" && rest.length === 0) page = <MonitoringPage />;
  else if (section === "monitoring") page = <MonitorPage model={rest[0]!} />;
  else if (section === "plugins") page = <PluginsPage selected={rest[0]} />;
  else page = <p role="alert">No page at #{route.parts.join("/")}.</p>;
  const nav: [string, string][] = annotator ? [["annotate", "Annotate"]]
      : [["models", "Models"], ["runs", "Runs"], ["studies", "Studies"], ["jobs", "Jobs"],
         ["monitoring", "Monitoring"], ["annotate", "Annotate"], ["plugins", "Plugins"]];
  return (
    <SignedIn.Provider value={signed}>
      <a class="skip" href="#main" onClick={(e) => {
        e.preventDefault();
        document.getElementById("main")?.focus();
      }}>Skip to content</a>
      <header class="top">
        <span class="brand">aimass</span>
        <nav aria-label="Sections">
          {nav.map(([key, label]) => (
            <a href={href(key)} aria-current={section === key || (key === "runs" &&
                section === "compare") ? "page" : undefined}>{label}</a>
          ))}
        </nav>
        <span class="who" data-testid="who">
          {session.authentication ? `${session.principal} (${session.role})`
                                  : `no authentication (${session.role})`}
        </span>
        {session.authentication && <button type="button" onClick={onSignOut}>Sign out</button>}
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </SignedIn.Provider>
  );
}

function App() {
  const [signed, setSigned] = useState<Signed | null>(null);
  const [state, setState] = useState<"starting" | "signin">("starting");
  const [message, setMessage] = useState<string | undefined>(undefined);
  useEffect(() => {
    const credential = stored();
    signIn(credential).then(setSigned, (error: Error) => {
      if (credential !== null) sessionStorage.removeItem(STORED);
      if (error.message !== "sign in") setMessage(error.message);
      setState("signin");
    });
  }, []);
  if (signed !== null) {
    return <Shell signed={signed} onSignOut={() => {
      sessionStorage.removeItem(STORED);
      setSigned(null);
      setMessage(undefined);
      setState("signin");
    }} />;
  }
  if (state === "starting") return <p class="muted">Connecting…</p>;
  return <SignIn onSigned={setSigned} message={message} />;
}

render(<App />, document.getElementById("app")!);
