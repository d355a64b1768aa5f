#!/usr/bin/env python3
"""clang-tidy over the given sources, skipping a source whose result is already known clean.

Like ccache for lint: a source is skipped only when clang-tidy already passed on exactly the
same input — the key hashes clang-tidy's version, .clang-tidy, the compile command and the
source preprocessed with its comments and line markers kept (every header it includes, NOLINT
comments and line numbers), with the checkout's path taken out so clones share results. Only
clean results are kept; a source with a finding is checked every time.

    hack/tidy_cached.py <build dir> <source>...
"""
import concurrent.futures
import hashlib
import json
import os
import shlex
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                     "ringkeeper", "tidy")


def preprocess_command(entry):
    """The compile command turned into one that writes the preprocessed source to stdout."""
    args = entry["arguments"] if "arguments" in entry else shlex.split(entry["command"])
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "-o":
            skip = True
            continue
        if arg == "-c":
            continue
        out.append(arg)
    return out + ["-E", "-C"]


def key_of(entry, salt):
    pre = subprocess.run(preprocess_command(entry), cwd=entry["directory"], check=True,
                         capture_output=True).stdout
    digest = hashlib.sha256(salt)
    digest.update(entry["command" if "command" in entry else "file"].replace(ROOT, "@").encode())
    digest.update(pre.replace(ROOT.encode(), b"@"))
    return digest.hexdigest()


def tidy(build, entry, salt):
    try:
        key = key_of(entry, salt)
    except subprocess.CalledProcessError:
        key = None  # clang-tidy will report why it does not compile
    marker = key and os.path.join(CACHE, key)
    if marker and os.path.exists(marker):
        return entry["file"], True, 0, ""
    run = subprocess.run(["clang-tidy", "-p", build, "--quiet", entry["file"]],
                         capture_output=True, text=True)
    output = "\n".join(
        line for line in (run.stdout + run.stderr).splitlines()
        if not (line.endswith("generated.") or line.startswith("Suppressed")
                or line.startswith("Use -header-filter")))
    # A source edited while clang-tidy read it is not recorded: its key is taken again after.
    if run.returncode == 0 and not output.strip() and marker and key_of(entry, salt) == key:
        os.makedirs(CACHE, exist_ok=True)
        with open(marker, "w") as f:
            f.write(os.path.relpath(entry["file"], ROOT) + "\n")
    return entry["file"], False, run.returncode, output


def main():
    build, sources = sys.argv[1], [os.path.abspath(s) for s in sys.argv[2:]]
    entries = {e["file"]: e for e in json.load(open(os.path.join(build, "compile_commands.json")))}
    missing = [s for s in sources if s not in entries]
    if missing:
        print("not in compile_commands.json:", *missing, sep="\n  ")
        return 1
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True).stdout
    with open(os.path.join(ROOT, ".clang-tidy"), "rb") as f:
        salt = version + f.read()
    failed = cached = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        for path, hit, rc, output in pool.map(lambda s: tidy(build, entries[s], salt), sources):
            cached += hit
            if output.strip():
                print(output)
            if rc != 0:
                failed += 1
                print(f"clang-tidy failed: {os.path.relpath(path, ROOT)}")
    print(f"clang-tidy: {len(sources) - cached} checked, {cached} known clean, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
