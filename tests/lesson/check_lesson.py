#!/usr/bin/env python3
"""symgrad lesson in a real browser: Debian's chromium, headless, renders the page at chosen steps (#step=N) and
the values it shows are checked against `symgrad trace` of the same expression at the same point.

For each lesson, every step as the page's #all listing renders it (one browser run), and a few single steps:
  - the page fetches nothing (no http(s) address, no <link>, no <script src>);
  - each forward step's line is a line of the trace's forward pass (the same node, formula and value);
  - each chain-rule step's local derivative and share are lines of the trace's backward pass;
  - a sum over broadcast axes is a step of its own, and says which axes;
  - the last step's gradients are the trace's; #step=1 shows no adjoint yet, #step=N (the last) every one;
  - #step=N&follow=i,j marks the followed element in bold.
Exit 0 when all hold, 1 with a report, 77 (CTest: skipped) without chromium or Graphviz.

  python3 tests/lesson/check_lesson.py build/release/symgrad /tmp/lesson_check
"""
import html
import os
import re
import shutil
import subprocess
import sys

SYMGRAD, WORK = sys.argv[1], sys.argv[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None or shutil.which("dot") is None:
    print("chromium or Graphviz's dot is not installed: skipped (Debian: apt-get install chromium graphviz)")
    sys.exit(77)
os.makedirs(WORK, exist_ok=True)
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)


def run(*args):
    done = subprocess.run([SYMGRAD, *args], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        sys.exit(f"symgrad {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def dom(path, fragment):
    """The page's DOM after its script ran, at this fragment."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                           "--user-data-dir=" + os.path.join(WORK, "profile"), "--dump-dom", f"file://{path}#{fragment}"],
                          capture_output=True, text=True, timeout=120)
    return done.stdout


def squeeze(line):
    return re.sub(r"\s+", " ", line.strip())


def all_steps(dom_text):
    """(title, phase, lines) of every step, from the page's #all listing (which renders each step as the panel does)."""
    listing = dom_text.split('<div id="all-steps">', 1)[1]
    found = []
    for number, title, phase, block in re.findall(
            r'<section data-step="(\d+)"><h3>\d+\. (.*?) <small>\((.*?)\)</small></h3><div>(.*?)</div></section>', listing, re.S):
        lines = [html.unescape(re.sub(r"<[^>]+>", "", line)) for line in re.findall(r"<div>(.*?)</div>", "<div>" + block + "</div>", re.S)]
        found.append((html.unescape(title), phase, lines))
    return found


def check_lesson(name, expression, args, follow=None):
    path = os.path.join(WORK, name + ".html")
    run("lesson", expression, *args, "-o", path)
    page = open(path, encoding="utf-8").read()
    check(re.search(r"(src|href)=\"https?:", page) is None and "<link" not in page and "<script src" not in page,
          f"{name}: the page loads nothing from the network")
    trace = [squeeze(line) for line in run("trace", expression, *args).splitlines()]
    steps = all_steps(dom(path, "all"))
    total = len(steps)
    check(total > 5, f"{name}: #all lists {total} steps")
    saw_sum = False
    for k, (title, phase, lines) in enumerate(steps, start=1):
        where = f"{name} step {k} ({title})"
        if phase == "forward pass" and title.startswith("Evaluate"):
            check(squeeze(lines[0]) in trace, f"{where}: '{lines[0]}' is a line of the trace")
        if title.startswith("The chain rule"):
            local = squeeze(lines[0]).removeprefix("local derivative ")
            check(local in trace, f"{where}: '{local}' is a line of the trace")
            if not lines[1].startswith("adjoint *"):  # else its sum over broadcast axes is the next step
                check(any(t.startswith(squeeze(lines[1])) for t in trace), f"{where}: '{lines[1]}' is a line of the trace")
        if title.startswith("Sum over the broadcast axes"):
            saw_sum = True
            share = squeeze(lines[1])
            check(any(t.startswith(share) and "summed over the axes" in t for t in trace),
                  f"{where}: '{share}' is the trace's summed share")
        if phase == "done":
            for line in lines[:-1]:
                check(squeeze(line) in trace, f"{where}: gradient '{line}' is the trace's")
    if "--shape" in args:
        check(saw_sum, f"{name}: the sum over the broadcast axes is a step of its own")
    # Single steps, as a reader opens them: the counter, the panel, the drawing's data and grad lines.
    first = dom(path, "step=1")
    check(f"step 1 of {total}" in first and 'class="forward"' in first, f"{name}: #step=1 opens the first step")
    check(len(re.findall(r'<text[^>]*class="hidden"[^>]*>grad ', first)) >= 2, f"{name}: at step 1 no adjoint is shown yet")
    last = dom(path, f"step={total}")
    check(f"step {total} of {total}" in last and squeeze(steps[-1][2][0]) in squeeze(html.unescape(re.sub(r"<[^>]+>", "", last))),
          f"{name}: #step={total} shows the last step")
    hidden = re.findall(r'<text[^>]*class="hidden"[^>]*>(grad [^<]*)</text>', last)
    check(not hidden, f"{name}: at the last step every grad line is shown ({hidden})")
    if follow is not None:
        d = dom(path, f"step={total}&follow={follow}")
        panel = d.split('id="lines"')[1].split('id="follow"')[0]
        check("<b>" in panel, f"{name}: #step={total}&follow={follow} marks the followed element in bold")


check_lesson("swish", "x * sigmoid(beta * x)", ["--at", "x=2", "--at", "beta=0.5"])
check_lesson("per_unit", "p1 * sigmoid(p2 * x + b1) + b2",
             ["--shape", "x=2,3", "--shape", "p1=3", "--shape", "p2=3", "--shape", "b1=3", "--shape", "b2=3",
              "--at", "x=1,-1,2,0.5,0,-2", "--at", "p1=1,2,0.5", "--at", "p2=1,0.5,2", "--at", "b1=0,0.1,-0.1",
              "--at", "b2=0,0,1"], follow="1,2")
# A variable behind stop_gradient gets no share: its gradient, 0, is shown at the last step all the same.
check_lesson("stopped", "x * stop_gradient(z)", ["--at", "x=1.5", "--at", "z=2"])
if failures:
    print(f"\n{len(failures)} check(s) failed")
    sys.exit(1)
print("\nthe lessons show what symgrad trace prints")
