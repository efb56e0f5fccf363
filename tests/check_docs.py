#!/usr/bin/env python3
"""The docs' commands give the output the docs show.

Every fenced block of the given Markdown files is read as a terminal session: a line starting with "$ " is a
command (continued by a trailing backslash), and the lines after it, up to the next command or the end of the block,
are its output (stdout and stderr together). Each command runs in a scratch folder, one per file, so a file's
commands see what the earlier ones wrote. In the expected output, a line "..." (indented or not) stands for any
number of lines, and
durations and rates ("0.23 s", "706452 examples/s") are compared as placeholders, since they are measured; so are
all the numbers of the commands in CPU_DEPENDENT.

`symgrad` and `./build/release/` name the build under test; `python3 examples/...` runs with a Python that has torch
(those commands are skipped, and said so, without it); a `g++` command is not run (test_export compiles the headers).

  python3 tests/check_docs.py BUILD_DIR REPO_DIR docs/a.md docs/b.md ...
Exit status 0 when every command gives its output, 1 otherwise.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# Commands the docs show but this check cannot run, and who runs them instead.
NOT_RUN = {
    "chromium ": "a screenshot of a lesson; tests/check_doc_images.py checks that it is current, and the build's "
                 "doc_images target takes it again",
    "examples/07_check_asinh": "built only once examples/07_add_a_primitive/add_asinh.patch is applied; "
                               "tests/add_primitive_check.cmake applies it and runs the program",
}

# Commands whose numbers depend on the processor: for these, every number is compared as a placeholder (the words,
# the layout and the number of lines must still match, and the program checks its own results).
CPU_DEPENDENT = {
    "09_export_to_pytorch/train_swish.py": "PyTorch trains in float32 with kernels it chooses by CPU (AVX2, AVX-512), "
                                           "and they round differently",
}
NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")

VOLATILE = re.compile(r"\d+(\.\d+)?( ?(ms|s|examples/s))\b")


def blocks(text):
    """For each fenced block, [(line number, command, expected output lines)] of its commands."""
    found = []
    current = None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            if current is not None:
                found.append(current)
            current = [] if current is None else None
            i += 1
            continue
        if current is not None and line.startswith("$ "):
            start = i + 1
            command = line[2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            expected = []
            i += 1
            while i < len(lines) and not lines[i].startswith("$ ") and not lines[i].startswith("```"):
                expected.append(lines[i])
                i += 1
            while expected and expected[-1] == "":
                expected.pop()
            current.append((start, command, expected))
            continue
        i += 1
    return found


def sessions(text):
    """(line number, command, expected output lines) for each command of each fenced block."""
    return [session for block in blocks(text) for session in block]


def normalize(line):
    return VOLATILE.sub(r"<t>\2", line.rstrip())


def matches(expected, actual):
    """Line by line; "..." matches any run of lines (the first way that lets the rest match)."""
    expected = [normalize(e) for e in expected]
    actual = [normalize(a) for a in actual]
    # dynamic programming over (expected index, actual index)
    reachable = {(0, 0)}
    frontier = [(0, 0)]
    while frontier:
        e, a = frontier.pop()
        if e == len(expected):
            if a == len(actual):
                return True
            continue
        nexts = []
        if expected[e].strip() == "...":
            nexts.append((e + 1, a))
            if a < len(actual):
                nexts.append((e, a + 1))
        elif a < len(actual) and expected[e] == actual[a]:
            nexts.append((e + 1, a + 1))
        for n in nexts:
            if n not in reachable:
                reachable.add(n)
                frontier.append(n)
    return False


def localize(command, build, repo):
    """The command as typed in the docs, made to run the build under test and the repository's examples."""
    command = re.sub(r"(^|[|&;(] *|\bdo +)symgrad ", lambda m: m.group(1) + os.path.join(build, "symgrad") + " ", command)
    command = command.replace("./build/release/", build.rstrip("/") + "/")
    return re.sub(r"(^| )examples/", lambda m: m.group(1) + os.path.join(repo, "examples") + "/", command)


def torch_python():
    for candidate in ["/usr/bin/python3", shutil.which("python3")]:
        if candidate and subprocess.run([candidate, "-c", "import torch"], capture_output=True).returncode == 0:
            return candidate
    return None


def main():
    build, repo, files = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3:]
    python = torch_python()
    # A kernel cache of this run's own (symgrad's native backend, the --native exports): nothing from earlier runs.
    os.environ["SYMGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="symgrad_docs_cache_")
    failures = 0
    checked = 0
    for path in files:
        text = open(path).read()
        workdir = tempfile.mkdtemp(prefix="symgrad_docs_")
        for line_number, command, expected in sessions(text):
            where = f"{os.path.relpath(path, repo)}:{line_number}"
            if command.startswith("g++ "):
                print(f"not run  {where}: {command} (test_export compiles the exported headers)")
                continue
            reason = next((why for key, why in NOT_RUN.items() if key in command), None)
            if reason:
                print(f"not run  {where}: {command} ({reason})")
                continue
            if command.startswith("python3 "):
                if python is None:
                    print(f"skipped  {where}: {command} (no Python with torch)")
                    continue
                command = python + " " + command[len("python3 "):]
            command = localize(command, build, repo)
            result = subprocess.run(["bash", "-c", command], cwd=workdir, capture_output=True, text=True)
            actual = (result.stdout + result.stderr).rstrip("\n").split("\n") if (result.stdout + result.stderr).strip() else []
            checked += 1
            if any(key in command for key in CPU_DEPENDENT):
                expected = [NUMBER.sub("<n>", line) for line in expected]
                actual = [NUMBER.sub("<n>", line) for line in actual]
            if matches(expected, actual):
                print(f"ok       {where}")
                continue
            failures += 1
            print(f"FAIL     {where}: {command}")
            print("  expected:\n    " + "\n    ".join(expected))
            print("  got:\n    " + "\n    ".join(actual))
        shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(os.environ["SYMGRAD_CACHE_DIR"], ignore_errors=True)
    print(f"{checked} commands checked, {failures} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
