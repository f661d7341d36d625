"""Kernels forked from a warm, sandboxed process instead of started cold.

A cold kernel start plus ``import torch`` costs more than most submissions' own work. Each
grading worker therefore starts one *zygote* (:mod:`autograde.zygote`) inside the sandbox,
which imports the libraries once and forks a fresh kernel per submission. After every
submission all processes but the zygote are killed and the submission's folder is deleted, so
nothing carries over from one student to the next.

:class:`ForkServerProvisioner` plugs this into jupyter_client: the kernel "process" it
launches is a :class:`ForkedKernel` handle that polls, signals and kills through the zygote.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from multiprocessing.util import Finalize
from pathlib import Path

from jupyter_client.provisioning import LocalProvisioner

from autograde.sandbox import Limits, Sandbox


class ForkServer:
    """One zygote in one sandbox, owned by one grading worker process."""

    def __init__(self, limits: Limits, uid: int | None, scratch_root: str | None = None) -> None:
        _remove_abandoned(scratch_root)
        # ``root`` (ours alone, 0700) holds the control socket and owner.pid; only ``work``
        # is mounted in the sandbox. Under root, ``work`` itself is not writable by the
        # sandbox user either: a kernel can write its own ``kernel-*`` folder and nothing else.
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX, dir=scratch_root))
        (self.root / OWNER).write_text(str(os.getpid()))
        self.work = self.root / "work"
        self.work.mkdir(mode=0o711)
        self.work.chmod(0o711)  # whatever the umask
        self.sandbox = Sandbox(self.work, limits, uid=uid)
        # We bind and listen; the zygote inherits the listening socket. Its path is outside
        # the sandbox, so no kernel can replace it or talk to the zygote.
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.root / SOCKET))
        self.listener.listen(16)
        # A home for the zygote's imports (matplotlib wants a writable config folder),
        # deleted once they are done so that no kernel finds anything of it.
        home = self.work / "zygote"
        home.mkdir()
        if os.geteuid() == 0 and uid is not None:
            os.chown(home, uid, uid)
        # The program is a file (``ps`` shows its name, not its source); a copy in the
        # zygote's home, since the sandbox shows it nothing of the repository.
        program = home / "zygote.py"
        shutil.copyfile(Path(__file__).with_name("zygote.py"), program)
        fd = self.listener.fileno()
        env = {"HOME": str(home), "TMPDIR": str(home), "MPLCONFIGDIR": f"{home}/.matplotlib",
               "IPYTHONDIR": f"{home}/.ipython"}
        # -P: the program's folder is not put on sys.path (no module there may shadow one).
        cmd = self.sandbox.command([sys.executable, "-P", str(program), str(fd)], env)
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, text=True, pass_fds=(fd,))
        ready = self.process.stdout.readline().strip()
        shutil.rmtree(home, ignore_errors=True)
        if ready != "ready":
            self.close()
            raise RuntimeError("the fork server did not start")
        atexit.register(self.close)  # a normal exit (a Dask worker, the CLI)
        Finalize(self, self.close, exitpriority=10)  # a process-pool worker's exit

    def alive(self) -> bool:
        return self.process.poll() is None

    def request(self, **message) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(30)
            conn.connect(str(self.root / SOCKET))
            conn.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(65536)
                if not chunk:
                    raise ConnectionError("the fork server closed the connection")
                data += chunk
        reply = json.loads(data)
        if "error" in reply:
            raise RuntimeError(f"fork server: {reply['error']}")
        return reply

    def new_workdir(self) -> Path:
        """A fresh folder for the next kernel, owned by the sandbox user."""
        workdir = Path(tempfile.mkdtemp(prefix="kernel-", dir=self.work))
        if os.geteuid() == 0 and self.sandbox.uid is not None:
            os.chown(workdir, self.sandbox.uid, self.sandbox.uid)
        return workdir

    def finish(self, workdir: Path) -> int:
        """Kill everything the last kernel left behind and delete all it could write; returns
        how many processes were still running (the kernel's own included)."""
        reaped = 0
        if self.alive():
            try:
                reaped = int(self.request(op="reap").get("reaped", 0))
            except (OSError, RuntimeError):
                self.close()
        shutil.rmtree(workdir, ignore_errors=True)
        # Without root the kernel runs as the zygote's user and could leave files in
        # ``work`` for the next student: nothing but the current kernel folder belongs there.
        for entry in self.work.iterdir() if self.work.is_dir() else ():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        return reaped

    def close(self) -> None:
        self.listener.close()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


PREFIX = "optbook-forkserver-"
OWNER = "owner.pid"
SOCKET = "zygote.sock"


def _remove_abandoned(scratch_root: str | None) -> None:
    """Delete fork-server folders whose worker died without cleaning up (e.g. kill -9):
    they may still hold a student's notebook."""
    for folder in Path(scratch_root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((folder / OWNER).read_text())
            os.kill(owner, 0)  # the owner is alive: leave its folder alone
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (OSError, ValueError):
            continue


_SERVERS: dict[tuple, ForkServer] = {}


def fork_server(limits: Limits, uid: int | None, scratch_root: str | None = None) -> ForkServer:
    """This process's fork server for these settings (started, or restarted if it died)."""
    key = (limits, uid, scratch_root)
    server = _SERVERS.get(key)
    if server is None or not server.alive():
        if server is not None:
            server.close()
        server = _SERVERS[key] = ForkServer(limits, uid, scratch_root)
    return server


class ForkedKernel:
    """The part of ``subprocess.Popen`` that jupyter_client uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            if not self.server.alive():
                self.returncode = -9
            else:
                try:
                    self.returncode = self.server.request(op="poll", pid=self.pid)["exit"]
                except (OSError, RuntimeError):
                    self.returncode = -9
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.kill()  # only SIGKILL is ever needed: interrupts go over the control channel

    def kill(self) -> None:
        if self.server.alive():
            try:
                self.server.request(op="kill", pid=self.pid)
            except (OSError, RuntimeError):
                pass

    terminate = kill


class ForkServerProvisioner(LocalProvisioner):
    """Launch the kernel by asking the fork server instead of starting a process."""

    server: ForkServer | None = None
    cpu_seconds: int = Limits.cpu_seconds
    figures: bool = True  # draw matplotlib figures (PNG outputs)

    async def wait(self) -> int | None:
        """As LocalProvisioner's, polling every 5 ms instead of 100 ms: a killed forked
        kernel is gone at once, and every submission waits for it."""
        while self.process is not None and await self.poll() is None:
            await asyncio.sleep(0.005)
        if self.process is None:
            return 0
        code, self.process = self.process.wait(), None
        return code

    async def launch_kernel(self, cmd, **kwargs):
        connection_file = self.parent.connection_file
        reply = self.server.request(op="spawn", dir=str(Path(connection_file).parent),
                                    connection_file=connection_file,
                                    cpu_seconds=self.cpu_seconds, figures=self.figures)
        self.process = ForkedKernel(self.server, reply["pid"])
        self.pid, self.pgid = reply["pid"], None
        self.cwd = kwargs.get("cwd")
        return self.connection_info
