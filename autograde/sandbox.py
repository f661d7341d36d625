"""The sandbox around a student's kernel: bubblewrap plus resource limits.

Inside, the kernel sees a read-only system (``/usr``, ``/etc``, the Python installation, the
virtual environment and ``labkit/``) and one writable scratch folder holding a copy of its own
submission. The course directory, ``solutions/``, the gradebook, other submissions and the
network do not exist there. Its processes run in their own PID namespace (so everything dies
with the kernel), as an unprivileged user when grading runs as root, under ``prlimit`` limits on
address space, CPU time, process count and file size.

The kernel still talks to the grader: with ``transport="ipc"`` its ZeroMQ sockets are files in
the scratch folder, which both sides can reach.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class SandboxUnavailableError(RuntimeError):
    """Raised when grading asks for a sandbox this machine cannot provide."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for one student kernel (and every process it starts)."""

    memory_bytes: int = 4 << 30  # address space; torch alone maps about 1.5 GiB
    cpu_seconds: int = 300
    processes: int = 64
    file_bytes: int = 64 << 20

    def prlimit(self, processes: int) -> list[str]:
        return ["prlimit", f"--as={self.memory_bytes}", f"--cpu={self.cpu_seconds}",
                f"--nproc={processes}", f"--fsize={self.file_bytes}",
                "--core=0", "--"]


def _readable_roots() -> list[Path]:
    """What the kernel may read: Python, the venv, labkit (never solutions/ or the course)."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix)}
    labkit = REPO / "labkit"
    return sorted(roots) + [labkit]


def _parents(path: Path) -> list[Path]:
    return [p for p in reversed(path.parents) if p != Path("/")]


@dataclass
class Sandbox:
    """Wrap a command so that it runs sandboxed with ``scratch`` as its only writable folder.

    ``uid`` is the unprivileged user the kernel runs as when grading runs as root (one per
    worker, so that process limits are per kernel); ``None`` keeps the current user.
    """

    scratch: Path
    limits: Limits = Limits()
    uid: int | None = None

    def command(self, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
        scratch = str(self.scratch)
        cmd = ["bwrap", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-pid",
               "--die-with-parent", "--new-session", "--clearenv"]
        if os.geteuid() != 0:
            cmd.append("--unshare-user")
        cmd += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        for name in ("bin", "sbin", "lib", "lib64", "lib32"):
            target = Path("/") / name
            if target.is_symlink():
                cmd += ["--symlink", os.readlink(target), str(target)]
            elif target.is_dir():
                cmd += ["--ro-bind", str(target), str(target)]
        # Virtual file systems first: a later --tmpfs would hide binds beneath it (the repo,
        # and with it the venv, may well live under /tmp).
        cmd += ["--dev", "/dev", "--tmpfs", "/dev/shm", "--proc", "/proc", "--tmpfs", "/tmp"]
        made: set[Path] = set()
        for root in _readable_roots():
            for parent in _parents(root):  # world-traversable parents (bwrap makes them 0700)
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            cmd += ["--ro-bind", str(root), str(root)]
        for parent in _parents(self.scratch):
            if parent not in made:
                cmd += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        cmd += ["--bind", scratch, scratch, "--chdir", scratch]
        base_env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8",
            "MPLCONFIGDIR": f"{scratch}/.matplotlib", "IPYTHONDIR": f"{scratch}/.ipython",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # machine quirks, not secrets
            if key in os.environ:
                base_env[key] = os.environ[key]
        for key, value in {**base_env, **(env or {})}.items():
            cmd += ["--setenv", key, value]
        cmd.append("--")
        processes = self.limits.processes
        if os.geteuid() == 0 and self.uid is not None:
            cmd += ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"]
        else:  # RLIMIT_NPROC counts all of this user's processes: leave room for them
            processes += _process_count()
        return cmd + self.limits.prlimit(processes) + list(argv)

    def prepare(self) -> None:
        """Create the scratch folder, owned by the sandbox user."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and self.uid is not None:
            for path in [self.scratch, *self.scratch.rglob("*")]:
                os.chown(path, self.uid, self.uid)


def _process_count() -> int:
    uid = os.getuid()
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                count += entry.stat().st_uid == uid
            except OSError:
                pass
    return count


@functools.cache
def check_available() -> str | None:
    """``None`` when sandboxed kernels work here, otherwise the reason they do not."""
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    for tool in ("prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (util-linux)"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "probe", uid=60999)
        sandbox.prepare()
        probe = sandbox.command([sys.executable, "-c", "print('ok')"])
        try:
            result = subprocess.run(probe, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bubblewrap could not start a sandbox: {error}"
        if result.stdout.strip() != "ok":
            return f"bubblewrap could not start a sandbox: {result.stderr.strip()[:300]}"
    return None
