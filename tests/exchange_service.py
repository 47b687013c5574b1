"""Starting the token-exchange service (`python -m exchange`) as its own process for a test,
with its log captured in a file that the test reads and greps."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "ca_ledgerboard_demo"
FORBIDDEN_IN_LOGS = ("sk_", "rt_", "ac_")


@dataclass
class ExchangeService:
    url: str
    process: subprocess.Popen
    log_path: Path
    never_logged: list[str] = field(default_factory=list)  # codes and tokens a test saw

    stdout_after_start: str = ""

    def log(self) -> str:
        """Everything it wrote: its log (standard error) and any later standard output."""
        return self.log_path.read_text(encoding="utf-8") + self.stdout_after_start

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 15)
        return requests.post(f"{self.url}{path}", data=data, **kwargs)

    def token(self, live: bool = True, **form) -> requests.Response:
        """A token call as the desktop app makes it; codes and tokens it sees are remembered
        so that the log grep looks for them too."""
        form = {"client_id": CLIENT_ID, "livemode": str(live).lower(), **form}
        self.never_logged += [v for k, v in form.items() if k in ("code", "refresh_token")]
        answer = self.post("/oauth/token", form)
        if answer.headers.get("content-type", "").startswith("application/json"):
            body = answer.json()
            self.never_logged += [
                str(body[k]) for k in ("access_token", "refresh_token") if body.get(k)
            ]
        return answer

    def stop(self) -> str:
        """Stop it and return its whole log."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)
        if self.process.stdout and not self.process.stdout.closed:
            self.stdout_after_start = self.process.stdout.read().decode("utf-8", "replace")
            self.process.stdout.close()
        return self.log()

    def assert_log_keeps_no_secret(self, *secrets: str) -> str:
        log = self.stop()
        for needle in (*FORBIDDEN_IN_LOGS, *secrets, *self.never_logged):
            assert needle not in log, f"the exchange's log holds {needle[:6]}…:\n{log}"
        return log


def start_exchange(tmp_path: Path, cwd: Path = ROOT, **env: str) -> ExchangeService:
    """`python -m exchange` on a free loopback port; waits for its "listening on" line."""
    log_path = tmp_path / f"exchange-{len(list(tmp_path.glob('exchange-*.log')))}.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EXCHANGE_")}
    environ.update({"EXCHANGE_PORT": "0", "PYTHONUNBUFFERED": "1", **env})
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "exchange"],
            cwd=cwd,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=log_file,
        )
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().decode().strip() if ready else ""
    if not line.startswith("listening on "):
        process.kill()
        process.wait()
        raise AssertionError(f"the exchange did not start: {line!r}\n{log_path.read_text()}")
    return ExchangeService(line.removeprefix("listening on "), process, log_path)
