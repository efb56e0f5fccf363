#!/usr/bin/env python3
"""Every number of two JSON files (same structure), within a relative tolerance:  json_close.py A B [TOLERANCE]
Prints the largest relative difference; exit status 1 when it is above the tolerance (default 1e-13)."""
import json
import sys


def numbers(value):
    if isinstance(value, dict):
        for key in sorted(value):
            yield from numbers(value[key])
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


first, second = (list(numbers(json.load(open(path)))) for path in sys.argv[1:3])
tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-13
if len(first) != len(second):
    print(f"different counts of numbers: {len(first)} and {len(second)}")
    sys.exit(1)
worst = max((abs(a - b) / max(1.0, abs(a)) for a, b in zip(first, second)), default=0.0)
print(f"largest relative difference: {worst:.3g} (tolerance {tolerance:g})")
sys.exit(0 if worst <= tolerance else 1)
