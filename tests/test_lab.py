"""`make kernel` and `make lab`: the cae-book kernel runs this checkout's cae_lib, and JupyterLab
starts on book/ with that kernel as its default. Loopback only; the venv is not rebuilt
(`make -o .venv/.installed` takes the venv as up to date)."""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
MAKE = ["make", "--no-print-directory", "-o", ".venv/.installed"]

pytestmark = pytest.mark.skipif(not (VENV / "bin" / "python").exists() or
                                Path(sys.prefix).resolve() != VENV.resolve(),
                                reason="needs the checkout's .venv (make venv), and to run in it")


@pytest.fixture
def jupyter_env(tmp_path, monkeypatch):
    """No user-level Jupyter config, kernels or runtime files: only the venv's."""
    for var, sub in [("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("JUPYTERLAB_WORKSPACES_DIR", "ws"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings")]:
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    return dict(os.environ)


def test_kernel_runs_this_checkouts_cae_lib(tmp_path, jupyter_env):
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    subprocess.run(MAKE + ["kernel"], cwd=REPO, check=True, env=jupyter_env, timeout=120)
    spec = KernelSpecManager().get_kernel_spec("cae-book")
    assert Path(spec.resource_dir).resolve().is_relative_to(VENV.resolve())
    assert spec.display_name == "Python (CAE book)"
    assert Path(spec.argv[0]).resolve() == (VENV / "bin" / "python").resolve()

    km = KernelManager(kernel_name="cae-book")
    km.start_kernel(cwd=str(tmp_path))                          # not the checkout: imported
    try:                                                        # through the installed package
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        out = []
        hook = lambda msg: out.append(msg["content"].get("text", ""))   # noqa: E731
        reply = kc.execute_interactive("import cae_lib; print(cae_lib.__file__)",
                                       output_hook=hook, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    path = Path("".join(out).strip())
    assert path.resolve() == (REPO / "cae_lib" / "__init__.py").resolve(), out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.status, json.loads(r.read() or b"null")


def test_make_lab_serves_book_with_the_cae_book_kernel(tmp_path, jupyter_env):
    port, token = _free_port(), secrets.token_hex(16)
    args = (f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
            f"--IdentityProvider.token={token}" + (" --allow-root" if os.geteuid() == 0 else ""))
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(MAKE + ["lab", f"LAB_ARGS={args}"], cwd=REPO, env=jupyter_env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, _ = _get(f"{base}/api/status", token)
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, (tmp_path / "lab.log").read_text()[-3000:]
        _, specs = _get(f"{base}/api/kernelspecs", token)
        assert specs["default"] == "cae-book" and "cae-book" in specs["kernelspecs"]
        _, root = _get(f"{base}/api/contents", token)            # serves book/
        names = {item["name"] for item in root["content"]}
        assert "01_contractive_penalty.ipynb" in names
    finally:
        _stop(proc)
        log.close()


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to make and the server (their own process group), SIGKILL after 20 s."""
    for sig, wait in [(signal.SIGTERM, 20), (signal.SIGKILL, None)]:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:                              # the group has already exited
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
