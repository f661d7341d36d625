"""Time the book's build: clean (parallel page execution), cached rebuild, a rebuild after a
text edit, and a clean build executing pages one after another (myst-nb's own way); list the
slowest pages; check that two clean builds give the same outputs (figures included).

Each build runs on a fresh copy of the repository's tracked files in a temporary folder, so
your own ``_build`` is left alone.

    .venv/bin/python benchmarks/book_build.py            # everything (about 6-8 minutes)
    .venv/bin/python benchmarks/book_build.py --quick    # skip the serial baseline
    .venv/bin/python benchmarks/book_build.py --against 0215ea0   # and that commit's book,
                                                  # clean, serial and parallel (+15 minutes)

Every build imports its own tree's ``solutions``/``labkit``/``autograde`` (``PYTHONPATH``),
not the editable install, so an older commit's pages run with that commit's code.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOALS = {"clean": 180.0, "cached": 20.0, "page": 30.0}


def copy_repo(target: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def export_commit(commit: str, target: Path) -> Path:
    """The commit's tracked files, as a clean clone would have them."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=REPO,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def build(root: Path, *, serial: bool = False) -> float:
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1", "PYTHONPATH": str(root)}
    if serial:
        env["OPTBOOK_PARALLEL_EXECUTION"] = "0"
    start = time.perf_counter()
    run = subprocess.run([str(Path(sys.executable).with_name("jupyter-book")), "build", str(root),
                          "--builder", "html", "-W", "-n", "--keep-going"],
                         capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if run.returncode:
        sys.exit(f"build failed:\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    return seconds


def page_times(root: Path) -> dict[str, float]:
    from jupyter_cache import get_cache

    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    times = {}
    for record in sorted(cache.list_cache_records(), key=lambda r: r.created):
        times[Path(record.uri).stem] = float(record.data.get("execution_seconds", 0.0))
    return times


def outputs_digest(root: Path) -> dict[str, str]:
    """One hash per page over every output of every code cell (images included)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import myst_nb_reader_plugin

    cache = get_cache(str(root / "_build" / ".jupyter_cache"))
    digests = {}
    for page in sorted((root / "book").glob("*.md")):
        notebook = myst_nb_reader_plugin(str(page))
        try:
            merged = cache.merge_match_into_notebook(notebook)[1]
        except KeyError:
            continue
        h = hashlib.sha256()
        for cell in merged.cells:
            for output in cell.get("outputs", []):
                for mime, data in sorted(output.get("data", {}).items()):
                    h.update(mime.encode() + str(data).encode())
                h.update(str(output.get("text", "")).encode())
        digests[page.stem] = h.hexdigest()[:12]
    return digests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the serial baseline")
    parser.add_argument("--against", metavar="COMMIT",
                        help="also build COMMIT's book clean, serially and in parallel, and "
                             "print this tree's times as ratios to it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = copy_repo(Path(tmp) / "a")
        clean = build(first)
        cached = build(first)
        page = first / "book" / "intro.md"
        page.write_text(page.read_text() + "\nA sentence added by the build benchmark.\n")
        edited = build(first)
        times = page_times(first)
        digests_first = outputs_digest(first)

        second = copy_repo(Path(tmp) / "b")
        serial = None if args.quick else build(second, serial=True)
        if args.quick:
            build(second)
        digests_second = outputs_digest(second)
        serial_times = page_times(second) if serial is not None else {}

        baseline = None
        if args.against:
            base = export_commit(args.against, Path(tmp) / "base")
            base_serial = build(base, serial=True)
            base_serial_times = page_times(base)
            shutil.rmtree(base / "_build")
            baseline = (base_serial, build(base), base_serial_times, page_times(base))

    print(f"{'build':34s} {'seconds':>8s}  goal")
    print(f"{'clean, pages in parallel':34s} {clean:8.1f}  <= {GOALS['clean']:.0f} s")
    if serial is not None:
        print(f"{'clean, pages one after another':34s} {serial:8.1f}  "
              f"(parallel/serial = {clean / serial:.2f})")
    print(f"{'cached rebuild, nothing changed':34s} {cached:8.1f}  <= {GOALS['cached']:.0f} s")
    print(f"{'rebuild after a text edit':34s} {edited:8.1f}")
    print("\nslowest pages (execution seconds, inside the parallel build):")
    for name, seconds in sorted(times.items(), key=lambda kv: -kv[1])[:6]:
        flag = "" if seconds <= GOALS["page"] else "  over the 30 s goal"
        print(f"  {name:28s} {seconds:6.1f}{flag}")
    if baseline is not None:
        report_against(args.against, clean, serial, serial_times, times, *baseline)
    same = digests_first == digests_second
    differing = sorted(k for k in digests_first if digests_first[k] != digests_second.get(k))
    print(f"\ntwo clean builds give identical outputs on {len(digests_first)} pages: {same}"
          + ("" if same else f" (differ: {', '.join(differing)})"))


def report_against(commit: str, clean: float, serial: float | None,
                   serial_times: dict[str, float], parallel_times: dict[str, float],
                   base_serial: float, base_clean: float, base_serial_times: dict[str, float],
                   base_parallel_times: dict[str, float]) -> None:
    """This tree's clean builds beside COMMIT's, as ratios (this / COMMIT), and every page's
    execution seconds in both: the numbers that say whether the book got faster."""
    print(f"\nagainst {commit} (clean builds, same machine, same run):")
    print(f"  {'':30s} {'this':>8s} {commit[:10]:>10s}  this/that")
    print(f"  {'pages in parallel':30s} {clean:8.1f} {base_clean:10.1f}  "
          f"{clean / base_clean:8.2f}")
    if serial is not None:
        print(f"  {'pages one after another':30s} {serial:8.1f} {base_serial:10.1f}  "
              f"{serial / base_serial:8.2f}")
        print(f"  {'parallel / serial':30s} {clean / serial:8.2f} "
              f"{base_clean / base_serial:10.2f}")
    print("\n  page execution seconds (serial build; parallel build in brackets):")
    for name in sorted(set(base_serial_times) | set(serial_times)):
        ours, theirs = serial_times.get(name), base_serial_times.get(name)
        line = f"  {name:28s} {_seconds(ours)} ({_seconds(parallel_times.get(name))})  "
        line += f"{_seconds(theirs)} ({_seconds(base_parallel_times.get(name))})"
        if ours is not None and ours > GOALS["page"]:
            line += "  over the 30 s goal"
        print(line)
    if serial_times:
        total, base_total = sum(serial_times.values()), sum(base_serial_times.values())
        print(f"  {'all pages, executing':28s} {total:6.1f}         {base_total:6.1f}  "
              f"this/that {total / base_total:.2f}")


def _seconds(value: float | None) -> str:
    return f"{value:6.1f}" if value is not None else "     -"


if __name__ == "__main__":
    main()
