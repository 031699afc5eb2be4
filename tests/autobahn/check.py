#!/usr/bin/env python3
"""Check Autobahn|Testsuite reports written by tests/autobahn/run.sh.

    python3 tests/autobahn/check.py [--reports DIR] [--agent NAME] MODE...

MODE is "server", "client" and/or "stream" (server mode against
echo_server --stream); each reads DIR/MODE/:
  index.json           the suite's master report ({agent: {case: result}})
  expected-cases.json  the case ids the rendered spec selects (list_cases.py)
  run-info.json        wall time and process problems recorded by run.sh
  spec.json, wstest.log (optional, for the header)

A case passes when both its "behavior" and "behaviorClose" are "OK". The only
exceptions are the cases the suite itself always grades INFORMATIONAL (below).
A case that was selected but is missing from index.json fails ("NOT RUN").

Prints a table per mode (OK / informational / not OK per category), every
non-OK case, the wall time of each mode, writes the same tables as Markdown to
DIR/summary.md, ends with "autobahn: N passed, N failed", and exits 1 on any
failure.
"""

import argparse
import json
import os
import re
import sys

# Cases whose outcome RFC 6455 leaves to the implementation. The suite's case
# classes unconditionally set behavior = behaviorClose = INFORMATIONAL for them
# (see autobahntestsuite/case/case7_1_6.py, case7_13_1.py, case7_13_2.py), so
# they can never be "OK"; they still have to run and produce a result.
INFORMATIONAL_CASES = {
    "7.1.6": "256 KiB text message, close and ping sent back to back: whether "
             "the echo arrives before the close is implementation-defined",
    "7.13.1": "close with code 5000: the spec leaves the reaction to codes in "
              "the 5000+ range undefined",
    "7.13.2": "close with code 65535: likewise outside every defined range",
}

CATEGORIES = [
    ("1", "Framing"),
    ("2", "Pings/Pongs"),
    ("3", "Reserved Bits"),
    ("4", "Opcodes"),
    ("5", "Fragmentation"),
    ("6", "UTF-8 Handling"),
    ("7", "Close Handling"),
    ("9", "Limits/Performance"),
    ("10", "Misc"),
    ("12", "Compression (payloads)"),
    ("13", "Compression (parameters)"),
]
CATEGORY_NAMES = dict(CATEGORIES)

MODE_TITLES = {
    "server": "server mode: wstest fuzzingclient -> echo_server",
    "client": "client mode: autobahn_client -> wstest fuzzingserver",
    "stream": "server mode, streaming: wstest fuzzingclient -> echo_server --stream",
}


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        raise SystemExit("check.py: %s is not valid JSON: %s" % (path, e))


class ModeResult:
    def __init__(self, mode):
        self.mode = mode
        self.problems = []      # process-level problems (no report, crash, ...)
        self.counts = {}        # category -> [total, ok, info, bad]
        self.bad = []           # (case, behavior, behaviorClose, detail)
        self.passed = 0
        self.failed = 0
        self.wall = None
        self.suite_version = None
        self.excluded = []
        self.slowest = []

    @property
    def ok(self):
        return not self.problems and self.failed == 0


def check_mode(reports, mode, agent):
    res = ModeResult(mode)
    d = os.path.join(reports, mode)

    info = load_json(os.path.join(d, "run-info.json")) or {}
    res.wall = info.get("wall_seconds")
    if info.get("problem"):
        res.problems.append(info["problem"])

    spec = load_json(os.path.join(d, "spec.json")) or {}
    res.excluded = spec.get("exclude-cases", [])

    try:
        with open(os.path.join(d, "wstest.log"), errors="replace") as f:
            # fuzzingclient prints "Autobahn Testsuite Version X", the
            # fuzzingserver "Autobahn WebSocket X/Y Fuzzing Server".
            m = re.search(r"Autobahn Testsuite Version ([\w.]+)"
                          r"|Autobahn WebSocket ([\w.]+)/[\w.]+ Fuzzing Server", f.read())
            res.suite_version = (m.group(1) or m.group(2)) if m else None
    except FileNotFoundError:
        pass

    expected = load_json(os.path.join(d, "expected-cases.json"))
    index = load_json(os.path.join(d, "index.json"))
    if index is None:
        res.problems.append("no report: %s is missing" % os.path.join(d, "index.json"))
        index = {}
    results = index.get(agent)
    if results is None:
        if index:
            res.problems.append("agent %r not in index.json (agents found: %s)"
                                % (agent, ", ".join(sorted(index)) or "none"))
        results = {}
    if expected is None:
        res.problems.append("expected-cases.json missing; cannot detect cases that never ran")
        expected = []

    for cid in sorted(set(expected) | set(results), key=case_key):
        cat = cid.split(".")[0]
        row = res.counts.setdefault(cat, [0, 0, 0, 0])
        row[0] += 1
        r = results.get(cid)
        if r is None:
            row[3] += 1
            res.failed += 1
            res.bad.append((cid, "NOT RUN", "-", "no result in index.json"))
            continue
        b, bc = r.get("behavior"), r.get("behaviorClose")
        if cid in INFORMATIONAL_CASES and b in ("INFORMATIONAL", "OK") \
                and bc in ("INFORMATIONAL", "OK"):
            row[2] += 1
            res.passed += 1
        elif b == "OK" and bc == "OK":
            row[1] += 1
            res.passed += 1
        else:
            row[3] += 1
            res.failed += 1
            detail = "remoteCloseCode=%s" % r.get("remoteCloseCode")
            if r.get("reportfile"):
                detail += ", details: reports/%s/%s" % (mode, r["reportfile"])
            res.bad.append((cid, b, bc, detail))
        if isinstance(r.get("duration"), (int, float)):
            res.slowest.append((r["duration"], cid))
    res.slowest = sorted(res.slowest, reverse=True)[:3]
    return res


def table_rows(res):
    rows = []
    total = [0, 0, 0, 0]
    known = [c for c, _ in CATEGORIES]
    for cat in sorted(res.counts, key=lambda c: (c not in known, case_key(c))):
        n = res.counts[cat]
        rows.append((cat, CATEGORY_NAMES.get(cat, "Other"), *n))
        total = [a + b for a, b in zip(total, n)]
    return rows, total


def fmt_wall(res):
    return "%.1f s" % res.wall if isinstance(res.wall, (int, float)) else "n/a"


def print_text(res, agent):
    title = MODE_TITLES.get(res.mode, res.mode)
    print()
    print("== Autobahn %s (agent %s) ==" % (title, agent))
    print("suite %s, wall time %s, excluded: %s"
          % (res.suite_version or "?", fmt_wall(res), ", ".join(res.excluded) or "none"))
    rows, total = table_rows(res)
    print("%-26s %6s %6s %6s %7s" % ("Category", "Cases", "OK", "Info", "Not OK"))
    for cat, name, n, ok, info, bad in rows:
        print("%-26s %6d %6d %6d %7d" % ("%2s %s" % (cat, name), n, ok, info, bad))
    print("%-26s %6d %6d %6d %7d" % ("   Total", *total))
    if res.slowest:
        print("slowest cases: " + ", ".join("%s (%d ms)" % (c, ms) for ms, c in res.slowest))
    for p in res.problems:
        print("PROBLEM: " + p)
    if res.bad:
        print("Not OK (%d):" % len(res.bad))
        for cid, b, bc, detail in res.bad:
            print("  %-8s behavior=%-14s behaviorClose=%-14s %s" % (cid, b, bc, detail))
    print("RESULT %s: %s (%d passed, %d failed)"
          % (res.mode, "PASS" if res.ok else "FAIL", res.passed, res.failed))


def markdown(results, agent):
    out = ["# Autobahn|Testsuite results (agent `%s`)" % agent, ""]
    for res in results:
        rows, total = table_rows(res)
        out.append("## %s" % MODE_TITLES.get(res.mode, res.mode))
        out.append("")
        out.append("Suite %s, wall time %s, excluded: %s. Result: **%s**."
                   % (res.suite_version or "?", fmt_wall(res),
                      ", ".join("`%s`" % e for e in res.excluded) or "none",
                      "PASS" if res.ok else "FAIL"))
        out.append("")
        out.append("| Category | Cases | OK | Informational | Not OK |")
        out.append("|---|---:|---:|---:|---:|")
        for cat, name, n, ok, info, bad in rows:
            out.append("| %s %s | %d | %d | %d | %d |" % (cat, name, n, ok, info, bad))
        out.append("| **Total** | **%d** | **%d** | **%d** | **%d** |" % tuple(total))
        out.append("")
        for p in res.problems:
            out.append("- Problem: %s" % p)
        for cid, b, bc, detail in res.bad:
            out.append("- `%s`: behavior %s, behaviorClose %s" % (cid, b, bc))
        if res.problems or res.bad:
            out.append("")
    out.append("Informational by the suite's definition (never OK, must still run): "
               + ", ".join(sorted(INFORMATIONAL_CASES, key=case_key)) + ".")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modes", nargs="+", choices=["server", "client", "stream"])
    ap.add_argument("--reports", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "reports"))
    ap.add_argument("--agent", default="wsmachine")
    ap.add_argument("--markdown", help="Markdown output file (default REPORTS/summary.md)")
    args = ap.parse_args()

    results = [check_mode(args.reports, m, args.agent) for m in args.modes]
    for res in results:
        print_text(res, args.agent)

    md_path = args.markdown or os.path.join(args.reports, "summary.md")
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write(markdown(results, args.agent))

    print()
    print("Informational cases accepted: " + "; ".join(
        "%s (%s)" % (c, why) for c, why in sorted(INFORMATIONAL_CASES.items(), key=lambda kv: case_key(kv[0]))))
    print("Markdown summary: %s" % md_path)
    for res in results:
        print("wall time %s: %s" % (res.mode, fmt_wall(res)))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    # A process-level problem with no failed case (e.g. the client exited 1
    # after reporting) still has to count as a failure in the closing line.
    failed += sum(1 for r in results if r.problems and r.failed == 0)
    print("autobahn: %d passed, %d failed" % (passed, failed))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
