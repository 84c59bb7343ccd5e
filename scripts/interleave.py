#!/usr/bin/env python3
"""Time shell commands side by side, interleaved: round after round, each
command once per round (the order rotating), so a load that changes during
the run weighs on every command alike. Prints one line per command (median,
min, max in ms, ratio of medians to the first command) and writes
{"results": [{"command", "median", "times"}]} (seconds) to OUT.

    interleave.py ROUNDS OUT SPEC   SPEC: lines NAME<TAB>PREPARE<TAB>COMMAND

A COMMAND written `argv: PROG ARGS...` runs without a shell (split as a
shell would, nothing else done): for commands of a few milliseconds, where
a shell's own start would blur the ratios.
"""
import json
import shlex
import statistics
import subprocess
import sys
import time

rounds, out, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cmds = [line.rstrip("\n").split("\t") for line in open(spec) if line.strip()]
times = {name: [] for name, _, _ in cmds}
for r in range(rounds):
    k = r % len(cmds)
    for name, prepare, command in cmds[k:] + cmds[:k]:
        if prepare:
            subprocess.run(prepare, shell=True, check=True)
        if command.startswith("argv:"):
            argv, shell = shlex.split(command[len("argv:"):]), False
        else:
            argv, shell = command, True
        t = time.perf_counter()
        subprocess.run(argv, shell=shell, check=True, stdout=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - t)
results = [{"command": n, "median": statistics.median(times[n]), "times": times[n]} for n, _, _ in cmds]
json.dump({"results": results}, open(out, "w"))
base = results[0]["median"]
for r in results:
    # a tenth of a millisecond for short commands
    nd = 1 if r["median"] < 0.1 else None
    ms = [round(x * 1000, nd) for x in r["times"]]
    print(f'{r["command"]}\t{round(r["median"] * 1000, nd)} ms\t(min {min(ms)}, max {max(ms)})\t{r["median"] / base:.2f}')
