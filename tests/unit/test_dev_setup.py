"""`python3 dev.py run` on a fresh Debian: Qt's X11 libraries installed, or the exact command."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Qt's xcb platform is Linux's")


def test_debian_names_the_packages_qt_asks_for():
    assert dev.debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert dev.debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert dev.debian_package("libxcb-keysyms.so.1") == "libxcb-keysyms1"
    assert dev.debian_package("libxcb-render-util.so.0") == "libxcb-render-util0"
    assert dev.debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert dev.debian_package("libEGL.so.1") == "libegl1"


def _plugin_missing(tmp_path: Path, library: bytes, instead: bytes) -> str:
    """A copy of Qt's real xcb plugin whose needed `library` is renamed to one that no
    machine has, as a fresh Debian lacks libxcb-icccm4."""
    assert len(library) == len(instead)
    plugin = Path(dev.qt_xcb_files(Path(sys.executable))[0])
    data = plugin.read_bytes()
    assert library + b"\0" in data
    copy = tmp_path / "libqxcb.so"
    copy.write_bytes(data.replace(library + b"\0", instead + b"\0"))
    return str(copy)


def test_the_real_plugin_has_what_it_needs_here():
    report = dev.subprocess.run(
        ["ldd", *dev.qt_xcb_files(Path(sys.executable))], capture_output=True, text=True
    ).stdout
    assert "libxcb" in report  # ldd read the plugin
    assert dev.missing_libraries(report) == []


def test_without_apt_it_stops_with_the_exact_command(tmp_path, monkeypatch, capsys):
    plugin = _plugin_missing(tmp_path, b"libxcb-icccm.so.4", b"libxcb-iczzm.so.4")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    real_which = shutil.which  # a machine without apt (and without sudo, when not root)
    monkeypatch.setattr(
        dev.shutil, "which", lambda name: None if name in ("apt-get", "sudo") else real_which(name)
    )
    assert dev.ensure_qt_libraries(Path(sys.executable), [plugin]) is False
    said = capsys.readouterr().err
    assert "libxcb-iczzm.so.4" in said
    command = re.search(r"^    (apt-get install -y --no-install-recommends .*)$", said, re.M)
    assert command is not None, said
    assert "libxcb-iczzm4" in command.group(1).split()
    assert "python3 dev.py run" in said


def test_offscreen_needs_no_x11_libraries(tmp_path, monkeypatch):
    plugin = _plugin_missing(tmp_path, b"libxcb-icccm.so.4", b"libxcb-iczzm.so.4")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert dev.ensure_qt_libraries(Path(sys.executable), [plugin]) is True


def test_the_test_command_checks_the_x11_libraries_though_the_tests_run_offscreen(
    tmp_path, monkeypatch, capsys
):
    """`dev.py test` runs the tests offscreen, but one of them reads the X11 plugin's
    libraries: on a fresh Debian they were missing and only `run` installed them."""
    plugin = _plugin_missing(tmp_path, b"libxcb-icccm.so.4", b"libxcb-iczzm.so.4")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    real_which = shutil.which
    monkeypatch.setattr(
        dev.shutil, "which", lambda name: None if name in ("apt-get", "sudo") else real_which(name)
    )
    assert dev.ensure_qt_libraries(Path(sys.executable), [plugin], any_platform=True) is False
    assert "libxcb-iczzm.so.4" in capsys.readouterr().err
