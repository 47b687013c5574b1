#!/usr/bin/env python3
"""Set up everything and run Ledgerboard or its tests, on a fresh clone or an old one.

    python3 dev.py run [APP ARGS...]     a .venv with the app's packages, then the app
    python3 dev.py test [PYTEST ARGS...] a .venv with the test packages, Chromium for the
                                         browser tests (Debian/Ubuntu), ruff, then pytest
    python3 dev.py build [--no-deb]      the installable app (PyInstaller; a .deb on Linux)

Both are idempotent: the .venv is made once and packages are installed again only when
pyproject.toml changes.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 11)


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def run(*command: str | Path, **kwargs) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def ensure_venv(extras: str) -> Path:
    if not venv_python().exists():
        print(f"Creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=VENV.exists()).create(VENV)
    python = venv_python()
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + extras.encode() + sys.version.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extras or 'app'}"
    if not stamp.exists() or stamp.read_text() != wanted:
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        target = f".[{extras}]" if extras else "."
        run(python, "-m", "pip", "install", "--quiet", "-e", target, cwd=ROOT)
        stamp.write_text(wanted)
    return python


def ensure_chromium() -> None:
    """The browser tests drive Debian's Chromium; install it where apt can."""
    if sys.platform != "linux" or shutil.which("chromium") or Path("/usr/bin/chromium").exists():
        return
    if not shutil.which("apt-get"):
        print(
            "Chromium is missing and apt-get is not available: install Chromium so that "
            "/usr/bin/chromium exists, then run the tests again.",
            file=sys.stderr,
        )
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(*sudo, "apt-get", "update", "-qq", env=env)
    run(*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", env=env)


# Debian's package for a library whose name the usual rule (libfoo-bar.so.4 -> libfoo-bar4,
# a dash before the number when the name ends in a digit) does not give.
DEBIAN_PACKAGE_OF = {
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libOpenGL.so.0": "libopengl0",
}


def debian_package(soname: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    if soname in DEBIAN_PACKAGE_OF:
        return DEBIAN_PACKAGE_OF[soname]
    name, _, version = soname.partition(".so.")
    name = name.lower()
    return f"{name}-{version}" if name[-1:].isdigit() else f"{name}{version}"


def missing_libraries(ldd_output: str) -> list[str]:
    """The system libraries `ldd` could not find ("libxcb-icccm.so.4 => not found"); Qt's own
    come with PySide6."""
    found = re.findall(r"^\s*(\S+) => not found", ldd_output, re.MULTILINE)
    return sorted({name for name in found if not name.startswith("libQt6")})


def qt_xcb_files(python: Path) -> list[str]:
    """Qt's X11 platform plugin and the library it brings, in the .venv's PySide6."""
    site = subprocess.run(
        [str(python), "-c", "import PySide6, os; print(os.path.dirname(PySide6.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    qt = Path(site) / "Qt"
    return sorted(
        glob.glob(str(qt / "plugins" / "platforms" / "libqxcb.so"))
        + glob.glob(str(qt / "lib" / "libQt6XcbQpa.so*"))
    )


def ensure_qt_libraries(
    python: Path, files: list[str] | None = None, *, any_platform: bool = False
) -> bool:
    """Qt's X11 platform needs system libraries that a fresh Debian lacks (libxcb-cursor0,
    libxcb-icccm4, libxcb-keysyms1...): install them where apt can, as for Chromium, or say
    the exact command. False when the app cannot start. any_platform: though QT_QPA_PLATFORM
    names another (the tests run offscreen, and check the X11 plugin's libraries too)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if sys.platform != "linux" or (
        platform and not platform.startswith("xcb") and not any_platform
    ):
        return True
    files = qt_xcb_files(python) if files is None else files
    if not files or not shutil.which("ldd"):
        return True
    report = subprocess.run(["ldd", *files], capture_output=True, text=True).stdout
    packages = sorted({debian_package(name) for name in missing_libraries(report)})
    if not packages:
        return True
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    command = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", *packages]
    if not shutil.which("apt-get") or (sudo and not shutil.which("sudo")):
        print(
            "Qt needs system libraries this machine lacks to open a window: "
            + ", ".join(missing_libraries(report))
            + ".\nOn Debian or Ubuntu install them with:\n\n    "
            + " ".join(command)
            + "\n\nthen run `python3 dev.py run` again.",
            file=sys.stderr,
        )
        return False
    print(f"Qt needs {', '.join(packages)} to open a window: installing them.", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(*sudo, "apt-get", "update", "-qq", env=env)
    run(*command[: -len(packages)], "-qq", *packages, env=env)
    return True


def ensure_postgresql() -> None:
    """The team-mode tests start a PostgreSQL of their own (initdb, pg_ctl): install Debian's
    where apt can; without it those tests are skipped and say why."""
    found = shutil.which("initdb") or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if sys.platform != "linux" or found or not shutil.which("apt-get"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        run(*sudo, "apt-get", "update", "-qq", env=env)
        run(*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql",
            env=env)  # fmt: skip
    except subprocess.CalledProcessError:
        print("PostgreSQL could not be installed; its tests will be skipped.", file=sys.stderr)


def main(argv: list[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        print(
            f"Ledgerboard needs Python {'.'.join(map(str, MIN_PYTHON))} or newer.", file=sys.stderr
        )
        return 2
    command, rest = (argv[0], argv[1:]) if argv else ("run", [])
    if command == "run":
        python = ensure_venv("")
        if not ensure_qt_libraries(python):
            return 1
        return subprocess.call([str(python), "-m", "desktop", *rest], cwd=ROOT)
    if command == "test":
        python = ensure_venv("test")
        ensure_chromium()
        ensure_postgresql()
        ensure_qt_libraries(python, any_platform=True)  # as `run` needs them on this machine
        run(
            python,
            "-m",
            "ruff",
            "check",
            "desktop",
            "exchange",
            "tests",
            "bench",
            "packaging",
            "dev.py",
            cwd=ROOT,
        )
        env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
        return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT, env=env)
    if command == "build":
        python = ensure_venv("test")  # PyInstaller comes with the test tools
        return subprocess.call([str(python), "packaging/build.py", *rest], cwd=ROOT)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        print(
            f"\ndev.py: a setup step failed (exit {exc.returncode}): {' '.join(map(str, exc.cmd))}",
            file=sys.stderr,
        )
        sys.exit(exc.returncode or 1)
