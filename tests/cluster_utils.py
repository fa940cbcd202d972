"""Real clusters on this machine, for tests/test_cluster.py: a one-node Slurm (munged + slurmctld +
slurmd from Debian's packages, as root) and a two-node Ray (a head and a second ``ray start`` with
its own raylet). Each is a context manager that starts the daemons in a folder of the test's and
stops them after; ``None`` of ``slurm_missing()`` / ``ray_missing()`` means it can run here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SLURM_BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, every: float = 0.25):
    """Poll ``check()`` until it returns something truthy (returned); AssertionError after ``timeout`` s."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


# --- Slurm --------------------------------------------------------------------------------------------
def slurm_missing() -> str | None:
    """Why a local Slurm cannot run here, or None."""
    missing = [b for b in SLURM_BINARIES if shutil.which(b) is None]
    if missing:
        return f"Slurm / munge not installed ({', '.join(missing)}; Debian: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a local slurmd must run as root"
    return None


class Slurm:
    """A running one-node cluster; ``env`` holds SLURM_CONF for the client commands."""

    def __init__(self, root: Path, env: dict):
        self.root, self.env = root, env

    def run(self, *cmd, check=True) -> str:
        r = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True, timeout=60)
        if check and r.returncode:
            raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def sbatch(self, *args, cwd=None) -> str:
        """Submit; returns the job id."""
        r = subprocess.run(["sbatch", "--parsable", *args], env=self.env, capture_output=True, text=True, cwd=cwd, timeout=60)
        if r.returncode:
            raise AssertionError(f"sbatch {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout.strip().split(";")[0]

    def jobs(self) -> dict[str, str]:
        """Job (``<id>`` or ``<id>_<task>``) -> state, of the jobs still queued or running."""
        out = self.run("squeue", "--noheader", "--array", "--format=%i %T")
        return dict(line.split()[:2] for line in out.splitlines() if line.strip())

    def wait_idle(self, timeout: float) -> None:
        wait_for("the Slurm queue to empty", lambda: not self.jobs(), timeout, every=0.5)


def _slurm_conf(root: Path, ports: tuple[int, int]) -> str:
    mem = int(int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]) / 1024 * 0.8)
    host = socket.gethostname().split(".")[0]
    cpus = os.cpu_count() or 1
    return "\n".join([
        "ClusterName=datagentest", f"SlurmctldHost={host}(127.0.0.1)", f"SlurmctldPort={ports[0]}", f"SlurmdPort={ports[1]}",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={root}/munge/sock", "SlurmUser=root", "SlurmdUser=root",
        f"StateSaveLocation={root}/state", f"SlurmdSpoolDir={root}/spool", f"SlurmctldPidFile={root}/slurmctld.pid",
        f"SlurmdPidFile={root}/slurmd.pid", f"SlurmctldLogFile={root}/log/slurmctld.log", f"SlurmdLogFile={root}/log/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SwitchType=switch/none", "MpiDefault=none",
        "SchedulerType=sched/backfill", "SelectType=select/cons_tres", "SelectTypeParameters=CR_CPU", "ReturnToService=2",
        "JobCompType=jobcomp/none", "AccountingStorageType=accounting_storage/none", "JobAcctGatherType=jobacct_gather/none",
        "KillWait=5", "MinJobAge=2",
        f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN",
        f"PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP", ""])


@contextlib.contextmanager
def local_slurm(root: Path):
    """Start munged, slurmctld and slurmd in ``root``; yield a ``Slurm``; cancel every job and stop them."""
    root = Path(root)
    for d in ("munge", "state", "spool", "log"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "munge").chmod(0o711)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, (free_port(), free_port())))
    env = dict(os.environ, SLURM_CONF=str(conf))
    procs = []

    def daemon(*cmd):
        log = open(root / "log" / f"{Path(cmd[0]).name}.out", "ab")
        procs.append(subprocess.Popen(list(cmd), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        log.close()

    m = root / "munge"
    try:
        daemon("munged", "-F", "-f", f"--socket={m}/sock", f"--key-file={key}", f"--pid-file={m}/pid", f"--seed-file={m}/seed",
               f"--log-file={m}/log")
        wait_for("munged's socket", lambda: (m / "sock").exists(), 20)
        daemon("slurmctld", "-D", "-f", str(conf))
        time.sleep(1)
        daemon("slurmd", "-D", "-f", str(conf))
        cluster = Slurm(root, env)

        def idle():
            r = subprocess.run(["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True)
            return r.returncode == 0 and r.stdout.strip() == "idle"

        wait_for("the Slurm node to be idle", idle, 60)
        yield cluster
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], env=env, capture_output=True)
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


# --- Ray ----------------------------------------------------------------------------------------------
def ray_missing() -> str | None:
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray not installed (pip install 'ray[default]')"
    if shutil.which("ray") is None and not (Path(sys.executable).parent / "ray").exists():
        return "the ray command is not on PATH"
    return None


def ray_cmd() -> str:
    local = Path(sys.executable).parent / "ray"
    return str(local) if local.exists() else "ray"


class RayCluster:
    """A running two-node cluster: ``address`` of the head; ``kill_node2()`` SIGKILLs the second node's raylet."""

    def __init__(self, address: str, node2_port: int, env: dict):
        self.address, self.node2_port, self.env = address, node2_port, env

    def raylet_pid(self) -> int | None:
        """The pid of the second node's raylet (its command line names its node manager port)."""
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"/raylet") and f"--node_manager_port={self.node2_port}".encode() in cmd:
                return int(d.name)
        return None

    def kill_node2(self) -> int:
        pid = self.raylet_pid()
        assert pid is not None, "the second node's raylet is not running"
        os.kill(pid, signal.SIGKILL)
        return pid


@contextlib.contextmanager
def local_ray_cluster(cpus_per_node: int = 1):
    """``ray start --head`` and a second ``ray start`` on this machine (``cpus_per_node`` each, token
    auth off); yield a ``RayCluster``; ``ray stop --force`` after."""
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    port, node2 = free_port(), free_port()
    ray = ray_cmd()

    def start(*args):
        r = subprocess.run([ray, "start", f"--num-cpus={cpus_per_node}", "--disable-usage-stats", *args], env=env,
                           capture_output=True, text=True, timeout=180)
        if r.returncode:
            raise AssertionError(f"ray start {' '.join(args)}: {r.stdout[-2000:]} {r.stderr[-2000:]}")

    try:
        start("--head", f"--port={port}", "--include-dashboard=false")
        start(f"--address=127.0.0.1:{port}", f"--node-manager-port={node2}")
        yield RayCluster(f"127.0.0.1:{port}", node2, env)
    finally:
        subprocess.run([ray, "stop", "--force"], env=env, capture_output=True, timeout=120)
