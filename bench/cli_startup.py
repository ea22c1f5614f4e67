"""How fast the CLI starts: ``coopbench --help`` and ``coopbench status`` against the floor.

    .venv/bin/python bench/cli_startup.py --runs 15

The floor is ``python -c pass`` on the same interpreter, measured in the same run and
interleaved with the commands, so that a busy machine slows all of them alike. ``status``
reads a tiny run (the demo dataset's solo jobs, oracle agent) enqueued into a throwaway
SQLite store; its messages go to a queue of its own in a spare Redis database, deleted
afterwards. A last line times the libraries ``status`` cannot start without, for scale.
Prints per command the median wall and CPU seconds (CPU time moves less with the
machine's load than wall time) and the ratios to the floor. Target: <= 0.3 s.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

TARGET_S = 0.3
RUN = "startup-bench"
# What `status` cannot start without (the ORM, the settings, the CLI and its tables): the
# part of its time that is not coopbench's. Imported as the CLI imports a command: with the
# garbage collector paused (coopbench/cli/__init__.py).
STATUS_LIBRARIES = ("import gc; gc.disable(); "
                    "import sqlalchemy.orm, pydantic_settings, typer, rich.progress, rich.table")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11, help="Starts per command (median taken).")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14",
                        help="A Redis database the tiny run's messages may go to.")
    args = parser.parse_args()
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("warning: PYTHONDONTWRITEBYTECODE is set: a module whose .pyc is missing or stale "
              "is compiled again at every start", file=sys.stderr)

    cli = _cli_command()
    workdir = Path(tempfile.mkdtemp(prefix="coopbench-startup-"))
    queue = f"startup-bench-{os.getpid()}"
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "COOPBENCH_DATABASE_URL": f"sqlite:///{workdir / 'store.db'}",
           "COOPBENCH_BROKER_URL": args.broker, "COOPBENCH_QUEUE": queue}
    try:
        _make_run(cli, env)
        commands = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "coopbench --help": [*cli, "--help"],
            f"coopbench status --run {RUN}": [*cli, "status", "--run", RUN],
            "(status's libraries alone)": [sys.executable, "-c", STATUS_LIBRARIES],
        }
        timings = _measure(commands, env, args.runs)
    finally:
        _drop_queue(args.broker, queue)
        shutil.rmtree(workdir, ignore_errors=True)
    _print(timings, args.runs)


def _cli_command() -> list[str]:
    """The installed entry point next to this interpreter, as a user runs it."""
    script = Path(sys.executable).parent / "coopbench"
    return [str(script)] if script.exists() else [sys.executable, "-m", "coopbench"]


def _make_run(cli: list[str], env: dict) -> None:
    demo = subprocess.run([sys.executable, "-c", "from coopbench.dataset.tasks import demo_dataset_path; "
                           "print(demo_dataset_path())"], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()
    for step in (["db", "upgrade"],
                 ["enqueue", "--run", RUN, "--dataset", demo, "--agent", "oracle", "--settings", "solo"]):
        subprocess.run([*cli, *step], env=env, check=True, stdout=subprocess.DEVNULL)


def _measure(commands: dict[str, list[str]], env: dict, runs: int) -> dict[str, tuple[list, list]]:
    """Wall and CPU seconds of each start; the commands take turns, one start each."""
    timings = {name: ([], []) for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            cpu_before = _children_cpu()
            began = time.perf_counter()
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
            timings[name][0].append(time.perf_counter() - began)
            timings[name][1].append(_children_cpu() - cpu_before)
    return timings


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _drop_queue(broker: str, queue: str) -> None:
    client = redis.Redis.from_url(broker)
    keys = list(client.scan_iter(match=f"*{queue}*"))
    if keys:
        client.delete(*keys)


def _print(timings: dict[str, tuple[list, list]], runs: int) -> None:
    floor_wall, floor_cpu = (statistics.median(values) for values in next(iter(timings.values())))
    print(f"median of {runs} starts; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'command':<36} {'wall s':>8} {'x floor':>8} {'cpu s':>8} {'x floor':>8}  target {TARGET_S} s")
    for name, (wall, cpu) in timings.items():
        wall_s, cpu_s = statistics.median(wall), statistics.median(cpu)
        verdict = "" if name.endswith(")") else ("ok" if wall_s <= TARGET_S else "SLOW")
        print(f"{name:<36} {wall_s:>8.3f} {wall_s / floor_wall:>8.1f} {cpu_s:>8.3f} "
              f"{cpu_s / max(floor_cpu, 1e-3):>8.1f}  {verdict}")


if __name__ == "__main__":
    main()
