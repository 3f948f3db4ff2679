#!/usr/bin/env python3
"""Agreement of Airlock's CAP 1.2 schema verdicts with xmllint's, over the same files.

Test tooling, not part of the product. Usage:

    scripts/cap-agreement.py            # needs xmllint (scripts/system-deps) and a built airlock

Files: tests/fixtures/cap/{valid,invalid} and every alert of
../shared/standards/cap1.2/examples. For each, xmllint's verdict is
`xmllint --noout --nonet --schema host/standards/cap1.2/CAP-v1.2.xsd FILE` (exit 0 =
valid). Airlock's *schema* verdict counts only the findings the XSD step can make —
rules `schema`, `xml`, `encoding` and `cap-version` — and ignores the semantic rules
xmllint cannot check. Documents Airlock refuses for carrying a DTD (`xml-dtd`) are a
policy, not a schema rule: they are listed apart and left out of the ratio.

The airlock binary is $AIRLOCK_BIN, else the newer of target/{release,debug}/airlock.
Exit status 1 when agreement is below 99 %.
"""

import glob
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
XSD = os.path.join(ROOT, "host", "standards", "cap1.2", "CAP-v1.2.xsd")
SCHEMA_RULES = {"schema", "xml", "encoding", "cap-version"}


def airlock_bin():
    if os.environ.get("AIRLOCK_BIN"):
        return os.environ["AIRLOCK_BIN"]
    built = [os.path.join(ROOT, "target", p, "airlock") for p in ("release", "debug")]
    built = [b for b in built if os.path.exists(b)]
    if not built:
        sys.exit("no airlock binary: run `cargo build -p airlock-host` or set AIRLOCK_BIN")
    return max(built, key=os.path.getmtime)


def corpus():
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "cap", "*", "*.xml")))
    shared = os.path.join(ROOT, "..", "shared", "standards", "cap1.2", "examples")
    files += sorted(f for f in glob.glob(os.path.join(shared, "*", "*")) if os.path.isfile(f))
    return files


def xmllint_valid(path):
    done = subprocess.run(
        ["xmllint", "--noout", "--nonet", "--schema", XSD, path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return done.returncode == 0


def main():
    files = corpus()
    out = subprocess.run(
        [airlock_bin(), "validate", "--standard", "cap-1.2", "--json", *files],
        capture_output=True,
        text=True,
    )
    reports = {os.path.abspath(r["file"]): r for r in map(json.loads, out.stdout.splitlines())}
    agree, differ, policy = 0, [], []
    for f in files:
        report = reports[os.path.abspath(f)]
        rules = {e["rule"] for e in report["errors"]}
        name = os.path.relpath(f, ROOT)
        theirs = xmllint_valid(f)
        if "xml-dtd" in rules:
            policy.append((name, theirs))
            continue
        ours = not (rules & SCHEMA_RULES)
        if ours == theirs:
            agree += 1
        else:
            differ.append((name, ours, theirs, sorted(rules)))
    total = agree + len(differ)
    ratio = 100.0 * agree / total
    print(f"CAP 1.2 schema verdicts: Airlock and xmllint agree on {agree}/{total} files ({ratio:.1f} %)")
    for name, ours, theirs, rules in differ:
        print(f"  differ: {name}: Airlock {'valid' if ours else 'invalid'} {rules}, "
              f"xmllint {'valid' if theirs else 'invalid'}")
    print(f"left out, refused by Airlock for their DTD ({len(policy)}):")
    for name, theirs in policy:
        print(f"  {name}: xmllint says {'valid' if theirs else 'invalid'}")
    return 0 if ratio >= 99.0 else 1


if __name__ == "__main__":
    sys.exit(main())
