"""The command line as a user runs it: a separate process, a real data folder."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from desktop import __version__

ROOT_ENV = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def run_app(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "desktop", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ROOT_ENV,
    )


def test_version():
    result = run_app("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"Ledgerboard {__version__}"


def test_self_test_opens_every_view_and_exits_0(data_dir):
    result = run_app("--self-test", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    for page in ("data_sources", "dashboards", "settings"):
        assert f"self-test: {page} page opened" in result.stdout
    assert (data_dir / "ledgerboard.sqlite").exists()
    assert (data_dir / "logs" / "ledgerboard.log").exists()


def test_self_test_with_a_read_only_database_fails_with_a_clear_message(data_dir):
    assert run_app("--self-test", "--data-dir", str(data_dir)).returncode == 0
    database = data_dir / "ledgerboard.sqlite"
    os.chmod(database, stat.S_IRUSR)
    try:
        result = run_app("--self-test", "--data-dir", str(data_dir))
    finally:
        os.chmod(database, stat.S_IRUSR | stat.S_IWUSR)
    assert result.returncode != 0
    assert "is read-only" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_second_instance_on_the_same_data_folder_is_refused(data_dir):
    from PySide6.QtCore import QLockFile

    lock = QLockFile(str(data_dir / "ledgerboard.lock"))
    assert lock.tryLock(0)
    try:
        result = run_app("--self-test", "--data-dir", str(data_dir))
    finally:
        lock.unlock()
    assert result.returncode != 0
    assert "already running" in result.stderr


def test_the_app_starts_without_the_stripe_sdk_requests_or_the_keyring():
    """They are imported when a sync, a login or a secret first needs them: at start they
    took about 90 ms of the 0.48 s to the window."""
    heavy = ("stripe", "requests", "urllib3", "requests_oauthlib", "keyring", "psycopg")
    code = f"import sys, desktop.app; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=ROOT_ENV,
        check=True,
    )
    assert out.stdout.strip() == ""


def test_the_app_on_sqlite_starts_without_psycopg(data_dir):
    """PostgreSQL's driver took about 90 ms of every start, SQLite users' too: it is imported
    when a PostgreSQL database is opened (peewee's own import would take it at once)."""
    code = (
        "import sys\n"
        "from desktop.__main__ import main\n"
        f"code = main(['--self-test', '--data-dir', {str(data_dir)!r}])\n"
        "drivers = [m for m in ('psycopg', 'psycopg2') if m in sys.modules]\n"
        "print('postgresql drivers imported:', ','.join(drivers) or 'none')\n"
        "sys.exit(code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=ROOT_ENV
    )
    assert out.returncode == 0, out.stderr
    assert "self-test: dashboards page opened" in out.stdout  # the whole start, on SQLite
    assert "postgresql drivers imported: none" in out.stdout


def test_demo_with_a_data_folder_keeps_its_data_in_a_demo_folder_of_its_own(data_dir):
    result = run_app("--self-test", "--demo", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert (data_dir / "Demo" / "ledgerboard.sqlite").exists()
    assert not (data_dir / "ledgerboard.sqlite").exists()  # nothing beside real data


def test_the_terminal_line_fills_by_the_share_done_and_says_the_time_left():
    import io

    from desktop.headless import TerminalProgress
    from desktop.services.sync.engine import SyncProgress

    terminal = TerminalProgress(io.StringIO())
    terminal.rows[(1,)] = SyncProgress([1], "Importing history", 500, 50.0, None, 0.5, 200)
    terminal.rows[(2,)] = SyncProgress([2], "Importing history", 100, 10.0, None, 0.25, 400)
    line = terminal.line(terminal.started + 10)
    assert line.startswith("[" + "=" * 9 + " " * 15 + "]  37 %  about 7 min left")
    assert "600 rows" in line and "60 rows/s" in line
    # A sync of changes knows no share: the share is the imports'.
    terminal.rows[(2,)] = SyncProgress([2], "Applying changes", 100, 10.0)
    assert "]  50 %  about 4 min left" in terminal.line(terminal.started + 10)
    del terminal.rows[(1,)]
    assert "%" not in terminal.line(terminal.started + 10)
