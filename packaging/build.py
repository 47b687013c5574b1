#!/usr/bin/env python3
"""Build the installable app: `python packaging/build.py` (from the README's environment).

1. PyInstaller with build.spec: dist/Ledgerboard/, one folder, the app and what it needs.
2. Its size, printed; the target is under 150 MB unpacked.
3. On Linux, a .deb (dist/ledgerboard_VERSION_ARCH.deb): the folder in /opt/ledgerboard, a
   `ledgerboard` command, a desktop entry and the icon. `--no-deb` skips it.

Windows (Inno Setup, packaging/windows/ledgerboard.iss) and macOS (packaging/macos/make_dmg.sh)
take the same dist/ folder; .github/workflows/build.yml runs all three on a hosting service.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUILD = ROOT / "build" / "pyinstaller"
APP = DIST / "Ledgerboard"
SIZE_TARGET_MB = 150


def version() -> str:
    text = (ROOT / "desktop" / "__init__.py").read_text()
    return re.search(r'__version__ = "([^"]+)"', text).group(1)


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def build_app() -> Path:
    shutil.rmtree(APP, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(BUILD),
            str(ROOT / "build.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return APP


DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=Ledgerboard
GenericName=Stripe KPI dashboards
Comment=Your Stripe data on your own machine, as live KPIs
Exec=ledgerboard
Icon=ledgerboard
Terminal=false
Categories=Office;Finance;
Keywords=Stripe;KPI;dashboard;revenue;
StartupWMClass=Ledgerboard
"""


def build_deb(app: Path) -> Path:
    """A Debian package of the folder; `dpkg -i` installs it, `apt remove ledgerboard` not."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    name = f"ledgerboard_{version()}_{arch}"
    stage = BUILD / name
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "DEBIAN").mkdir(parents=True)
    shutil.copytree(app, stage / "opt" / "ledgerboard", symlinks=True)
    (stage / "usr" / "bin").mkdir(parents=True)
    (stage / "usr" / "bin" / "ledgerboard").symlink_to("/opt/ledgerboard/Ledgerboard")
    applications = stage / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / "ledgerboard.desktop").write_text(DESKTOP_ENTRY)
    icons = stage / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "icons" / "ledgerboard.png", icons / "ledgerboard.png")
    installed_kb = folder_size(stage) // 1024
    (stage / "DEBIAN" / "control").write_text(
        f"""Package: ledgerboard
Version: {version()}
Section: misc
Priority: optional
Architecture: {arch}
Installed-Size: {installed_kb}
Depends: libc6, libglib2.0-0, libfontconfig1, libdbus-1-3, libxkbcommon0, libegl1, libgl1
Recommends: libxkbcommon-x11-0, libxcb-cursor0, gnome-keyring | kwalletmanager
Maintainer: Ledgerboard <hello@ledgerboard.invalid>
Homepage: https://ledgerboard.invalid
Description: Stripe data on your own machine, as live KPIs
 Ledgerboard imports a company's Stripe data (charges, customers, invoices, refunds and
 more) into a local store and turns it into KPIs and dashboards. Keys stay in the
 system keychain.
"""
    )
    for script, text in {
        "postinst": "#!/bin/sh\nset -e\n"
        "command -v update-desktop-database >/dev/null && update-desktop-database -q || true\n",
        "postrm": "#!/bin/sh\nset -e\n"
        "command -v update-desktop-database >/dev/null && update-desktop-database -q || true\n",
    }.items():
        path = stage / "DEBIAN" / script
        path.write_text(text)
        path.chmod(0o755)
    target = DIST / f"{name}.deb"
    target.unlink(missing_ok=True)
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", "-Zxz", str(stage), str(target)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-deb", action="store_true", help="only the app folder")
    parser.add_argument(
        "--max-size", type=float, metavar="MB", help="fail when the app folder is larger"
    )
    args = parser.parse_args(argv)
    app = build_app()
    size_mb = folder_size(app) / 1e6
    verdict = "within" if size_mb < SIZE_TARGET_MB else "over"
    print(f"app: {app} — {size_mb:.1f} MB unpacked ({verdict} the {SIZE_TARGET_MB} MB target)")
    for part, mb in largest_parts(app):
        print(f"  {mb:6.1f} MB  {part}")
    if sys.platform.startswith("linux") and not args.no_deb:
        if shutil.which("dpkg-deb") is None:
            print("dpkg-deb is missing: no .deb made (apt install dpkg-dev)", file=sys.stderr)
            return 1
        deb = build_deb(app)
        print(f"deb: {deb} — {deb.stat().st_size / 1e6:.1f} MB; install with: sudo dpkg -i {deb}")
    if args.max_size is not None and size_mb > args.max_size:
        print(f"the app folder is larger than --max-size {args.max_size} MB", file=sys.stderr)
        return 1
    return 0


def largest_parts(app: Path, count: int = 6) -> list[tuple[str, float]]:
    """What the size is made of: the biggest entries of the folder's _internal/."""
    inside = app / "_internal"
    parts = [
        (p.name, (folder_size(p) if p.is_dir() else p.stat().st_size) / 1e6)
        for p in (inside.iterdir() if inside.is_dir() else [])
    ]
    return sorted(parts, key=lambda item: -item[1])[:count]


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
