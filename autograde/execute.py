"""Run a submission: nbgrader's ``Execute`` in a sandboxed kernel that may die without harm.

* The kernel runs inside :class:`autograde.sandbox.Sandbox` (no network, no course files,
  resource limits), talking to us over IPC sockets in its scratch folder.
* A wall-clock limit per notebook kills the kernel (and all its processes) when it runs away,
  even if it ignores interrupts.
* Stock nbgrader abandons a submission whose kernel dies (``os._exit``, a crash, a limit), so
  parts that had already passed would score nothing. Here the cell that killed the kernel and
  every code cell after it get an error output saying so; earlier cells keep their points.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Int, Unicode

from autograde.forkserver import ForkServerProvisioner, fork_server
from autograde.sandbox import Limits, Sandbox, SandboxUnavailableError, check_available


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                  traceback=[f"{ename}: {evalue}"])


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is wrapped by a :class:`Sandbox`."""

    sandbox: Sandbox | None = None  # wraps the kernel command (cold starts)
    owner_uid: int | None = None  # who must be able to read the connection file

    async def start_kernel(self, **kwargs):
        # The kernel's own terminal chatter ("To connect another client…") is not feedback.
        kwargs.setdefault("stdout", subprocess.DEVNULL)
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        return await super().start_kernel(**kwargs)

    async def _async_wait(self, pollinterval: float = 0.005) -> None:
        # After a kill, jupyter_client polls every 100 ms; a killed kernel is gone at once.
        await super()._async_wait(pollinterval=pollinterval)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.command(cmd) if self.sandbox is not None else cmd

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.owner_uid is not None and os.geteuid() == 0:
            os.chown(self.connection_file, self.owner_uid, self.owner_uid)
        return result


class GradingExecute(Execute):
    """nbgrader's ``Execute``: sandboxed, wall-clock limited, surviving a dead kernel."""

    sandbox = Bool(True, help="Run student kernels in a bubblewrap sandbox. Turning this off "
                   "lets student code read the course (solutions, gradebook).").tag(config=True)
    sandbox_uid = Int(60000, help="Unprivileged user the kernel runs as when grading runs as "
                      "root (one per parallel worker).").tag(config=True)
    memory_limit = Int(Limits.memory_bytes, help="Address-space limit of the kernel in "
                       "bytes.").tag(config=True)
    cpu_limit = Int(Limits.cpu_seconds, help="CPU seconds the kernel may use.").tag(config=True)
    process_limit = Int(Limits.processes, help="Processes the kernel may run.").tag(config=True)
    file_size_limit = Int(Limits.file_bytes, help="Largest file the kernel may write, in "
                          "bytes.").tag(config=True)
    notebook_timeout = Int(600, help="Wall-clock seconds for the whole notebook; then the "
                           "kernel is killed.").tag(config=True)
    fork_server = Bool(True, help="Fork sandboxed kernels from a warm process that has "
                       "already imported the libraries (much faster than cold starts)."
                       ).tag(config=True)
    scratch_root = Unicode("", help="Where scratch folders are made (default: the system "
                           "temporary directory).").tag(config=True)
    render_figures = Bool(False, help="Draw the figures a submission makes (PNG outputs in "
                          "its graded notebook and feedback). Off: a figure is shown as its "
                          "text; no check reads a figure, and drawing exercise 01's was a "
                          "quarter of its run. Applies to fork-server kernels.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        kwargs.setdefault("shutdown_kernel", "immediate")  # nothing to save: just stop it
        super().__init__(*args, **kwargs)

    # -- kernel set-up ---------------------------------------------------------------------
    def limits(self) -> Limits:
        """The resource limits of the kernels this step starts."""
        return Limits(self.memory_limit, self.cpu_limit, self.process_limit,
                      self.file_size_limit)

    def _uses_fork_server(self) -> bool:
        return bool(self.sandbox and self.fork_server)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        km.transport = "ipc"
        km.ip = str(self._scratch / "ipc")
        km.connection_file = str(self._scratch / "kernel.json")
        # Signals do not cross into the sandbox's PID namespace; ipykernel then interrupts
        # itself when asked on its control channel.
        km.kernel_spec.interrupt_mode = "message"
        if not self.sandbox:
            return km
        km.owner_uid = self.sandbox_uid
        if self._uses_fork_server():
            km.kernel_id = str(uuid.uuid4())
            km.provisioner = ForkServerProvisioner(kernel_id=km.kernel_id,
                                                   kernel_spec=km.kernel_spec, parent=km)
            km.provisioner.server = self._server
            km.provisioner.cpu_seconds = self.cpu_limit
            km.provisioner.figures = self.render_figures
        else:
            km.sandbox = Sandbox(self._scratch, self.limits(), uid=self.sandbox_uid)
            km.sandbox.prepare()
        return km

    def _make_scratch(self, resources) -> Path:
        """A fresh folder holding a copy of the submission's own files, and nothing else."""
        if self._uses_fork_server():
            self._server = fork_server(self.limits(), self.sandbox_uid,
                                       self.scratch_root or None)
            scratch = self._server.new_workdir()
        else:
            scratch = Path(tempfile.mkdtemp(prefix="optbook-kernel-",
                                            dir=self.scratch_root or None))
        source = (resources or {}).get("metadata", {}).get("path")
        if source and Path(source).is_dir():
            for item in Path(source).iterdir():
                if item.is_file():
                    shutil.copy2(item, scratch / item.name)
                    if self.sandbox and os.geteuid() == 0:
                        os.chown(scratch / item.name, self.sandbox_uid, self.sandbox_uid)
        return scratch

    # -- execution -------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        if self.sandbox:
            reason = check_available()
            if reason is not None:
                raise SandboxUnavailableError(f"cannot sandbox student code: {reason}")
        self._kernel_died_at = None
        self._scratch = self._make_scratch(resources)
        resources = resources or {}
        resources.setdefault("metadata", {})["path"] = str(self._scratch)
        watchdog = threading.Timer(self.notebook_timeout, self._kill_kernel)
        watchdog.daemon = True
        watchdog.start()
        reaped = 0
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            watchdog.cancel()
            if self._uses_fork_server():
                reaped = self._server.finish(self._scratch)
            else:
                shutil.rmtree(self._scratch, ignore_errors=True)
        # Processes the submission left running (children it never waited for, a fork bomb
        # at the process limit): killed now, and counted for the summary.
        nb.metadata.setdefault("optbook", {})["processes_left"] = max(0, reaped - 1)
        return nb, resources

    def _kill_kernel(self) -> None:
        """Past the notebook's wall-clock limit: kill the sandbox and all it holds."""
        self._timed_out = True
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()  # SIGKILL to the sandbox (cold start) or through the fork server

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._kernel_died_at is not None:
            cell.outputs = [_error("KernelDied", "not run: the kernel had died in an earlier "
                                   "cell")]
            return cell, resources
        # The seconds each kind of cell ran, for the grader's cost breakdown (a resource,
        # as nbconvert's preprocessors pass what they learn).
        nbgrader = cell.metadata.get("nbgrader", {})
        kind = ("test cells" if nbgrader.get("grade") and not nbgrader.get("solution")
                else "student's cells")
        seconds = resources.setdefault("optbook_cell_seconds", {})
        began = time.perf_counter()
        try:
            return self._run_cell(cell, resources, index)
        finally:
            seconds[kind] = seconds.get(kind, 0.0) + time.perf_counter() - began

    def _run_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as error:
            self._kernel_died_at = index
            if isinstance(error, CellTimeoutError):  # it ignored the interrupt: stop it
                self._kill_kernel()
                why = "it ran past the time limit and ignored the interrupt"
            elif getattr(self, "_timed_out", False):
                why = "the notebook ran past its time limit"
            else:
                why = "os._exit, a crash, or a resource limit"
            self.log.warning("kernel died in cell %d (%s)", index, why)
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "KernelDied", f"the kernel died while running this cell ({why}); later cells "
                "were not run")]
            return cell, resources
