"""Print, as a JSON list, the case ids a rendered wstest spec will run.

Runs under the suite's own Python 2.7 venv, so it resolves "cases" and
"exclude-cases" patterns exactly as wstest does (CaseSet.parseSpecCases).
check.py uses the list to notice cases that never ran.

Usage: .venv/bin/python list_cases.py SPEC.json > expected-cases.json
"""
import json
import sys

from autobahntestsuite.case import (Cases, CaseSetname, CaseBasename,
                                    CaseCategories, CaseSubCategories)
from autobahntestsuite.caseset import CaseSet


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    cs = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    json.dump(cs.parseSpecCases(spec), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
