#!/usr/bin/env python3
"""Checks a kosoku/Autobahn report (index.json) strictly.

Every case of 1.*-10.* must be OK, except the cases Autobahn itself calls
informational (then INFORMATIONAL is accepted). 12.* and 13.* (deflate) must
be OK with --deflate, else UNIMPLEMENTED; never FAILED or NON-STRICT.
Prints the counts, names every case that breaks the rule, exits 1 if any.
"""
import argparse
import collections
import json
import sys

# Autobahn marks these informational by design: 7.1.6 (close after a large
# message: timing), 7.13.1/7.13.2 (close codes 5000 and 65535).
INFORMATIONAL = {"7.1.6", "7.13.1", "7.13.2"}
EXPECTED_TOTAL = 517


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("index")
    ap.add_argument("--role", required=True)
    ap.add_argument("--deflate", action="store_true")
    ap.add_argument("--expect", type=int, default=EXPECTED_TOTAL,
                    help="cases the report must hold (fewer when some were excluded)")
    args = ap.parse_args()
    with open(args.index) as f:
        report = json.load(f)
    if len(report) != 1:
        sys.exit(f"{args.role}: expected one agent in {args.index}, found {list(report)}")
    cases = next(iter(report.values()))
    counts = collections.Counter(c["behavior"] for c in cases.values())
    bad = []
    for case_id, case in sorted(cases.items(), key=lambda kv: [int(p) for p in kv[0].split(".")]):
        behavior, close = case["behavior"], case.get("behaviorClose")
        deflate_case = case_id.split(".")[0] in ("12", "13")
        if deflate_case and not args.deflate:
            ok = behavior == "UNIMPLEMENTED" and close in ("OK", "INFORMATIONAL", None)
        elif case_id in INFORMATIONAL:
            ok = behavior in ("OK", "INFORMATIONAL") and close in ("OK", "INFORMATIONAL")
        else:
            ok = behavior == "OK" and close == "OK"
        if not ok:
            bad.append(f"  {case_id}: behavior={behavior} behaviorClose={close}")
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"autobahn {args.role}: {len(cases)} cases: {summary}")
    if len(cases) != args.expect:
        bad.append(f"  expected {args.expect} cases, report has {len(cases)}")
    if bad:
        print(f"autobahn {args.role}: {len(bad)} case(s) break the strict rule:")
        print("\n".join(bad))
        sys.exit(1)
    print(f"autobahn {args.role}: strict-clean")


if __name__ == "__main__":
    main()
