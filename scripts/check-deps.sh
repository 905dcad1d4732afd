#!/usr/bin/env bash
# Checks that scripts/install-deps.sh names every Debian package the build and the tests read,
# so a fresh Debian 12 machine gets them all. Configures the project (as the default preset
# does) into a scratch folder with CMake's trace on, and collects what it read: every CMake file
# (package configs, find modules, files they include), every path CMakeCache.txt resolved
# (libraries, include folders, package folders, programs), and the programs and files the tests
# and scripts run or read (TEST_TOOLS below, and absolute /usr paths written in tests/, configs/,
# scripts/ and the web console's tests, ui/tests/). Each path is mapped to its package with dpkg. A package is fine when it is in
# the list, is installed because a listed package Depends or Pre-Depends on it (Recommends do
# not count: install-deps.sh installs with --no-install-recommends), or comes with every Debian
# system (Essential or Priority required). Anything else fails, naming the package and the
# file that pulled it in. Paths no package owns (/usr/local, the source and build trees) are
# not checked; the CUDA toolkit in /usr/local/cuda stays optional.
#
#   check-deps.sh                   check against `install-deps.sh --list`
#   check-deps.sh --packages FILE   check against FILE (one package a line; - is stdin)
#
# Exit status: 0 all covered, 1 something is not, 2 bad usage or the configure failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Programs the tests and scripts run by name (absolute paths in the sources are found on their
# own): bash runs the test scripts, python3 picks free ports (postgres-test-server.sh), nm checks
# the out-of-tree plugin's exports, runuser starts PostgreSQL as its user when run as root.
TEST_TOOLS=(bash python3 nm runuser)

list_file=""
case "${1:-}" in
  "") ;;
  --packages)
    [ $# -eq 2 ] || { echo "usage: $0 [--packages FILE]" >&2; exit 2; }
    list_file=$2
    ;;
  *) echo "usage: $0 [--packages FILE]" >&2; exit 2 ;;
esac

for tool in cmake dpkg-query python3; do
  if ! command -v "$tool" > /dev/null; then
    echo "check-deps: $tool is not installed; run scripts/install-deps.sh first" >&2
    exit 2
  fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "$list_file" ]; then
  bash scripts/install-deps.sh --list > "$tmp/packages"
elif [ "$list_file" = - ]; then
  cat > "$tmp/packages"
else
  cat -- "$list_file" > "$tmp/packages"
fi

if ! cmake --preset default -B "$tmp/build" --trace-expand --trace-format=json-v1 \
    --trace-redirect="$tmp/trace.json" > "$tmp/configure.log" 2>&1; then
  tail -n 30 "$tmp/configure.log" >&2
  echo "check-deps: configuring failed (above); a package it needs may be missing from" \
       "scripts/install-deps.sh" >&2
  exit 2
fi

: > "$tmp/tools"
for tool in "${TEST_TOOLS[@]}"; do
  command -v "$tool" >> "$tmp/tools" || echo "missing-tool:$tool" >> "$tmp/tools"
done
# The sources: a git checkout's tracked files, or every file of an exported copy.
sources() {
  git ls-files -z tests configs scripts ui/tests 2> /dev/null ||
    find tests configs scripts ui/tests -type f -print0 2> /dev/null
}
sources \
  | xargs -0 -r grep -ohE '/usr/(bin|sbin|lib|libexec|share)/[A-Za-z0-9._+/-]*[A-Za-z0-9_+]' \
  | sort -u >> "$tmp/tools" || true

python3 - "$tmp" <<'PY'
import json, os, re, subprocess, sys

tmp = sys.argv[1]

def read_lines(name):
    with open(os.path.join(tmp, name)) as f:
        return [line.strip() for line in f if line.strip()]

listed = []
for line in read_lines("packages"):
    listed.extend(line.split("#", 1)[0].split())

root = os.getcwd()

def show(path):
    return os.path.relpath(path, root) if path.startswith(root + "/") else path

# What the build and the tests read, each with why: for CMake, the chain of find_package,
# find_dependency and include calls that led there (the trace gives each command's file, line
# and stack depth, so the latest command seen at each depth is the caller of the next depth).
needed = {}  # path -> [reason]
def need(path, reason):
    reasons = needed.setdefault(path, [])
    if reason not in reasons:
        reasons.append(reason)

stack, found_by = [], {}  # found_by: cache variable -> chain of the find_* call that set it
def chain(entries):
    steps = [f"{show(e['file'])}:{e['line']} {e['cmd']}({e['args'][0] if e['args'] else ''})"
             for e in entries
             if e["cmd"] in ("find_package", "find_dependency", "include", "find_library",
                             "find_path", "find_program", "find_file")]
    return " > ".join(steps)
with open(os.path.join(tmp, "trace.json")) as f:
    for line in f:
        entry = json.loads(line)
        if "file" not in entry:
            continue
        depth = entry.get("global_frame", entry.get("frame", 1))
        del stack[depth - 1:]
        if entry["file"] not in needed:
            callers = chain(stack)
            need(entry["file"], "read by CMake" + (", from " + callers if callers else ""))
        stack.append(entry)
        if entry["cmd"] in ("find_library", "find_path", "find_program", "find_file") and \
                entry.get("args") and entry["args"][0] not in found_by:
            found_by[entry["args"][0]] = chain(stack)
with open(os.path.join(tmp, "build", "CMakeCache.txt")) as f:
    for line in f:
        m = re.match(r"([^#/][^:=]*):(PATH|FILEPATH|STRING)=(.*)", line.rstrip("\n"))
        if not m:
            continue
        for value in m.group(3).split(";"):
            if value.startswith("/"):
                how = found_by.get(m.group(1))
                need(value, "CMakeCache.txt " + m.group(1) + (", set by " + how if how else ""))
missing_tools = []
for entry in read_lines("tools"):
    if entry.startswith("missing-tool:"):
        missing_tools.append(entry.split(":", 1)[1])
    else:
        need(entry, "run or read by the tests or scripts")

def packaged(path):
    return (path.startswith("/usr/") or path.startswith("/etc/")) and \
        not path.startswith("/usr/local/")

by_tests = {p for p, why in needed.items() if "run or read by the tests or scripts" in why}
unowned_tool_paths = sorted(p for p in by_tests if not os.path.exists(p))
paths = [p for p in needed if packaged(p) and os.path.exists(p)]

# dpkg knows a file by the name its package ships it under. On merged-/usr Debian 12 that may be
# /lib/... or /bin/... for a file found as /usr/lib/... or /usr/bin/...; a symlink (an
# alternative such as /usr/bin/c++, or a library's .so link) may be unowned while its target is
# owned. The path itself is asked first, so the -dev package owning a .so link is the answer
# rather than the runtime package owning its target.
def candidates(path):
    out = []
    for p in (path, os.path.realpath(path)):
        for name in (p, p[len("/usr"):] if p.startswith(("/usr/lib/", "/usr/bin/", "/usr/sbin/"))
                     else None):
            if name and name not in out:
                out.append(name)
    return out

queries = sorted({c for p in paths for c in candidates(p)})
owners = {}
if queries:
    result = subprocess.run(["dpkg-query", "-S", "--"] + queries, capture_output=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith("diversion by "):
            continue
        head, sep, path = line.partition(": /")
        if not sep:
            continue
        owners["/" + path] = {name.strip().split(":")[0] for name in head.split(",")}

# Installed packages: dependencies, what they provide, and whether every system has them.
fields = "${Package}\t${db:Status-Abbrev}\t${Essential}\t${Priority}\t${Pre-Depends}\t" \
         "${Depends}\t${Provides}\n"
status = subprocess.run(["dpkg-query", "-W", "-f", fields], capture_output=True, text=True,
                        check=True).stdout
installed, depends, providers, base = set(), {}, {}, set()
def names(field):
    groups = []
    for group in field.split(","):
        alternatives = [re.sub(r"\(.*?\)", "", a).strip().split(":")[0] for a in group.split("|")]
        alternatives = [a for a in alternatives if a]
        if alternatives:
            groups.append(alternatives)
    return groups
for line in status.splitlines():
    package, state, essential, priority, pre, dep, provides = (line.split("\t") + [""] * 7)[:7]
    if not state.startswith("ii") and not state.startswith("hi"):
        continue
    installed.add(package)
    depends.setdefault(package, []).extend(names(pre) + names(dep))
    for group in names(provides):
        providers.setdefault(group[0], set()).add(package)
    if essential == "yes" or priority == "required":
        base.add(package)

not_installed = [p for p in listed if p not in installed]
closure, todo = set(), list(set(listed) | base)
while todo:
    package = todo.pop()
    if package in closure or package not in installed:
        continue
    closure.add(package)
    for alternatives in depends.get(package, []):
        for name in alternatives:
            todo.extend(n for n in {name} | providers.get(name, set()) if n in installed)

problems = {}  # package -> [(path, reason)]
unowned = []
for path in sorted(paths):
    found = next((owners[c] for c in candidates(path) if c in owners), None)
    if found is None:
        if os.path.isfile(path) and path in by_tests:
            unowned.append(path)
        continue
    # A folder is shared by many packages: any one of them in the closure covers it.
    if found & closure:
        continue
    for package in sorted(found):
        problems.setdefault(package, []).append((path, needed[path]))

failed = False
for package, uses in sorted(problems.items()):
    failed = True
    print(f"check-deps: the build needs Debian package '{package}', which scripts/install-deps.sh"
          " does not install (it is not listed, and no listed package Depends on it):",
          file=sys.stderr)
    for path, reasons in uses[:3]:
        print(f"  {path}", file=sys.stderr)
        for reason in reasons[:3]:
            print(f"    {reason}", file=sys.stderr)
    if len(uses) > 3:
        print(f"  ... and {len(uses) - 3} more files", file=sys.stderr)
for tool in missing_tools:
    failed = True
    print(f"check-deps: the tests run '{tool}', which is not installed", file=sys.stderr)
for path in unowned_tool_paths + unowned:
    failed = True
    print(f"check-deps: the tests or scripts use {path}, which no installed package provides",
          file=sys.stderr)
for package in not_installed:
    failed = True
    print(f"check-deps: '{package}' is listed but not installed; run scripts/install-deps.sh",
          file=sys.stderr)
if failed:
    print("check-deps: add the missing packages to scripts/install-deps.sh", file=sys.stderr)
    sys.exit(1)
print(f"check-deps: {len(paths)} paths the build and tests read come from {len(listed)} listed "
      f"packages and what they depend on")
PY
