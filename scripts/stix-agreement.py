#!/usr/bin/env python3
"""Compares Airlock's STIX 2.1 verdicts with the OASIS reference validator.

Test tooling, outside CI's default path (it needs stix2-validator from PyPI):

    python3 -m venv /tmp/stixvenv && /tmp/stixvenv/bin/pip install stix2-validator
    cargo build -p airlock-host
    /tmp/stixvenv/bin/python scripts/stix-agreement.py [--bench]

It runs `airlock validate --standard stix-2.1 --json` and stix2-validator (non-strict,
its default) on every file of tests/fixtures/stix and ../shared/standards/stix2.1/
examples, prints each disagreement with both sides' reasons, and the agreement rate.
With --bench it also times both over the same files: each tool's whole process (its
command line over every file; the median of AIRLOCK_BENCH_RUNS runs of the reference,
default 3, and ten times as many of Airlock's), and the reference's in-process rate.
AIRLOCK_BIN picks the binary (the release build is what users run:
`AIRLOCK_BIN=target/release/airlock`).
"""

import glob
import json
import os
import subprocess
import sys
import time

from stix2validator import ValidationOptions, validate_file, validate_string

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
AIRLOCK = os.path.join(ROOT, "target", "debug", "airlock")


def corpus():
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "stix", "*", "*.json")))
    shared = os.path.join(ROOT, "..", "shared", "standards", "stix2.1", "examples")
    files += sorted(glob.glob(os.path.join(shared, "*.json")))
    files += sorted(glob.glob(os.path.join(shared, "threat-reports", "*.json")))
    return files


def airlock_verdicts(files, binary):
    out = subprocess.run(
        [binary, "validate", "--standard", "stix-2.1", "--json", *files],
        capture_output=True, text=True, check=False,
    )
    verdicts = {}
    for line in out.stdout.splitlines():
        d = json.loads(line)
        verdicts[d["file"]] = (d["valid"], [f"{e['rule']}: {e['message']}" for e in d["errors"]])
    return verdicts


def reference_verdict(path, options):
    try:
        result = validate_file(path, options)
    except Exception as e:  # noqa: BLE001 - the reference crashing is a verdict too
        return False, [f"stix2-validator raised {type(e).__name__}: {e}"]
    errors = []
    for r in getattr(result, "object_results", []) or []:
        errors += [str(e) for e in r.errors]
    if getattr(result, "fatal", None):
        errors.append(str(result.fatal))
    return result.is_valid, errors


def main():
    bench = "--bench" in sys.argv
    binary = os.environ.get("AIRLOCK_BIN", AIRLOCK)
    files = corpus()
    options = ValidationOptions(version="2.1")
    ours = airlock_verdicts(files, binary)
    agree = 0
    rows = []
    for f in files:
        a_valid, a_errors = ours[f]
        r_valid, r_errors = reference_verdict(f, options)
        if a_valid == r_valid:
            agree += 1
        else:
            rows.append((os.path.relpath(f, ROOT), a_valid, a_errors[:2], r_valid, r_errors[:2]))
    for name, a_valid, a_errors, r_valid, r_errors in rows:
        print(f"DISAGREE {name}")
        print(f"  airlock: {'valid' if a_valid else 'invalid'} {a_errors}")
        print(f"  stix2-validator: {'valid' if r_valid else 'invalid'} {r_errors}")
    print(f"agreement: {agree}/{len(files)} = {100.0 * agree / len(files):.1f} %")

    if bench:
        # Whole process against whole process, the same files: the reference's own
        # command line (its interpreter start and imports counted, as Airlock's
        # process start and schema compilation are). Each side's figure is the median
        # of several runs (one run of either varies by ±30 % on a shared 2-core VM).
        reference_cli = os.path.join(os.path.dirname(sys.executable), "stix2_validator")
        runs = max(1, int(os.environ.get("AIRLOCK_BENCH_RUNS", "3")))

        def median_seconds(command, times):
            samples = []
            for _ in range(times):
                started = time.perf_counter()
                subprocess.run(command, capture_output=True, check=False)
                samples.append(time.perf_counter() - started)
            return sorted(samples)[len(samples) // 2]

        reference_whole = median_seconds([reference_cli, "-q", "--version", "2.1", *files], runs)
        ours_whole = median_seconds(
            [binary, "validate", "--standard", "stix-2.1", "--json", *files], 10 * runs + 1)
        # In process: the reference's validate_string per document (its start and
        # imports not counted).
        texts = [open(f, encoding="utf-8-sig").read() for f in files]
        started = time.perf_counter()
        for t in texts:
            try:
                validate_string(t, options)
            except Exception:  # noqa: BLE001
                pass
        reference_inproc = time.perf_counter() - started
        print(f"| files | stix2-validator, whole process (median of {runs}) "
              f"| airlock validate, whole process (median of {10 * runs + 1}) | ratio |")
        print("| --- | --- | --- | --- |")
        print(f"| {len(files)} | {reference_whole * 1000:.0f} ms | {ours_whole * 1000:.1f} ms "
              f"| {reference_whole / ours_whole:.0f}x |")
        print(f"(stix2-validator in process, startup not counted: {reference_inproc * 1000:.0f} ms, "
              f"{reference_inproc * 1000 / len(files):.1f} ms/file; ratio {reference_inproc / ours_whole:.0f}x)")


if __name__ == "__main__":
    main()
