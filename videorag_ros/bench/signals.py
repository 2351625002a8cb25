"""``videorag bench signals``: Ctrl-C at random moments of the edge node's life, counted by outcome.

Starts ``videorag edge`` (the shipped parameters, its memory snapshot in a temporary directory)
``--runs`` times, sends one SIGINT (or ``--signal TERM``) at a moment drawn uniformly from
``--window`` seconds after the start (start-up takes ~0.7 s on the 2-core machine, so the default
window covers imports, construction and running), and sorts each exit: ``clean`` (exit 0, or 130 or
death by that signal when it came before the node's ``main`` took the signals over; no traceback), ``traceback``,
``abort`` (a C++ terminate), ``crash`` (killed by SIGSEGV / SIGABRT), ``hung`` (not gone within
20 s), or ``exit N``. Also reports signal-to-exit time (p50/p95/p99) of the clean runs.

``--checkout DIR`` (repeatable) runs other checkouts' code at the same moments, alternating in a
random order per moment, for a before/after comparison in one session; ``--load K`` adds K busy
processes, because the races it looks for open wider on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from videorag_ros.bench.common import checkout_command, percentiles
from videorag_ros.bench.hostile import REPO, write_params

EXIT_TIMEOUT_S = 20.0
MAX_LOAD = 64  # busy processes: enough to load any machine this runs on, not a fork bomb
MAX_DOMAIN_ID = 232  # the largest ROS_DOMAIN_ID ROS 2 allows on Linux


def edge_params_with_memory(work: Path) -> Path:
    """The shipped parameters with the memory snapshot in ``work`` (saved on the way out)."""
    return write_params(work, "edge.yaml", **{"index.snapshot_path": str(work / "memory.vrag"), "security.allowed_dirs": []})


def classify(code: int | None, stderr: str, sig: signal.Signals = signal.SIGINT) -> str:
    """One word for how a run ended after ``sig`` (see the module docstring)."""
    if code is None:
        return "hung"
    if "Traceback" in stderr:
        return "traceback"
    if "terminate called" in stderr:
        return "abort"
    if code in (-signal.SIGSEGV, -signal.SIGABRT):
        return "crash"
    # 130 (Ctrl-C caught by `videorag`) or killed by the signal itself: it came during the imports,
    # before the node's main took the signals over, when there is nothing to save yet.
    if code in (0, 130, -sig):
        return "clean"
    return f"exit {code}"


def run_once(checkout: Path, delay_s: float, sig: signal.Signals, work: Path, env: dict[str, str]) -> tuple[str, float]:
    """Start the node from ``checkout``, signal it after ``delay_s``; (outcome, signal-to-exit seconds)."""
    cmd, child_env = checkout_command(checkout, env, "edge", "--params", str(edge_params_with_memory(work)))
    proc = subprocess.Popen(cmd, cwd=checkout, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay_s)
    proc.send_signal(sig)
    t0 = time.perf_counter()
    try:
        _, err = proc.communicate(timeout=EXIT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "hung", float("nan")
    return classify(proc.returncode, err.decode(errors="replace"), sig), time.perf_counter() - t0


def _busy() -> None:
    while True:
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the trials and print one row per checkout (``--json``: one JSON line too)."""
    p = argparse.ArgumentParser(prog="videorag bench signals", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=40, help="signal moments (each checkout runs at every one)")
    p.add_argument("--window", type=float, nargs=2, default=(0.3, 2.2), metavar=("LO", "HI"), help="seconds after start to signal within")
    p.add_argument("--signal", choices=("INT", "TERM"), default="INT")
    p.add_argument("--checkout", type=Path, action="append", default=[], help="a source checkout to compare (repeatable; default: this one)")
    p.add_argument("--load", type=int, default=0, help=f"busy processes running meanwhile (at most {MAX_LOAD})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--domain", type=int, help="ROS_DOMAIN_ID (default: derived from the pid)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    lo, hi = args.window
    if args.runs < 1 or not (0 <= lo <= hi < EXIT_TIMEOUT_S) or not 0 <= args.load <= MAX_LOAD:
        print(f"error: --runs must be >= 1, --window 0 <= LO <= HI < {EXIT_TIMEOUT_S:g}, --load 0..{MAX_LOAD}", file=sys.stderr)
        return 2
    if args.domain is not None and not 0 <= args.domain <= MAX_DOMAIN_ID:
        print(f"error: --domain {args.domain} is not a ROS domain id (0..{MAX_DOMAIN_ID})", file=sys.stderr)
        return 2
    checkouts = [c.resolve() for c in args.checkout] or [REPO]
    missing = [str(c) for c in checkouts if not (c / "videorag_ros" / "cli" / "main.py").is_file()]
    if missing:
        print(f"error: not a videorag checkout: {', '.join(missing)}", file=sys.stderr)
        return 2
    from videorag_ros.ros.graph import local_ros_env

    env = local_ros_env(args.domain if args.domain is not None else 150 + os.getpid() % 80)
    sig = signal.SIGINT if args.signal == "INT" else signal.SIGTERM
    rng = random.Random(args.seed)
    outcomes: dict[Path, Counter[str]] = {c: Counter() for c in checkouts}
    stop_s: dict[Path, list[float]] = {c: [] for c in checkouts}
    load = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for proc in load:
        proc.start()
    try:
        with tempfile.TemporaryDirectory(prefix="videorag-signals-") as tmp:
            for i in range(args.runs):
                delay = rng.uniform(lo, hi)
                for checkout in rng.sample(checkouts, len(checkouts)):
                    work = Path(tmp) / f"{i}-{checkouts.index(checkout)}"
                    work.mkdir()
                    outcome, took = run_once(checkout, delay, sig, work, env)
                    outcomes[checkout][outcome] += 1
                    if outcome == "clean":
                        stop_s[checkout].append(took)
                print(f"{i + 1}/{args.runs}: " + "; ".join(f"{c.name}: {dict(outcomes[c])}" for c in checkouts), file=sys.stderr, flush=True)
    finally:
        for proc in load:
            proc.terminate()
    print(f"SIG{args.signal} at a uniform moment in [{lo}, {hi}] s after start, {args.runs} runs, load {args.load}")
    print(f"{'checkout':<28} {'clean':>6} {'unclean':>8}  {'exit after the signal p50/p95/p99 (s)':<40} outcomes")
    for c in checkouts:
        pc = percentiles(stop_s[c])
        exit_s = f"{pc['p50']:.2f} / {pc['p95']:.2f} / {pc['p99']:.2f}" if pc else "-"
        unclean = args.runs - outcomes[c]["clean"]
        print(f"{str(c)[-28:]:<28} {outcomes[c]['clean']:>6} {unclean:>8}  {exit_s:<40} {dict(outcomes[c])}")
    if args.json:
        print(json.dumps({"signal": args.signal, "window": [lo, hi], "runs": args.runs, "load": args.load, "checkouts": {str(c): {"outcomes": dict(outcomes[c]), "exit_s": percentiles(stop_s[c])} for c in checkouts}}))
    return 0
