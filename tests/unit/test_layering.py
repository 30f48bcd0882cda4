"""The architecture, checked: pages -> ui -> gpt, and inside gpt the core below its subpackages.

- the core (``gpt/*.py``) imports none of ``gpt.interpret``, ``gpt.train``, ``gpt.runs``, ``gpt.labs``;
- ``gpt.runs`` never imports the training worker's command line (``gpt.train.cli``);
- pages and ``ui/`` import gpt only through the package roots' public API;
- the server's imports never load the worker's modules;
- no source file outside tests/ grows past 400 lines, no page past 200.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUBPACKAGES = ("gpt.interpret", "gpt.train", "gpt.runs", "gpt.labs")
PUBLIC_ROOTS = {"gpt", *SUBPACKAGES}


def gpt_imports(path: Path) -> set[str]:
    """Every gpt module a file imports (``from gpt.x import y`` counts as ``gpt.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.split(".")[0] == "gpt")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "gpt":
                names.add(node.module)
    return names


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_core_imports_none_of_the_subpackages() -> None:
    core = sorted((ROOT / "gpt").glob("*.py"))
    assert len(core) >= 10
    offenders = {p.name: sorted(m for m in gpt_imports(p) if any(_within(m, s) for s in SUBPACKAGES)) for p in core}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_runs_never_imports_the_training_command_line() -> None:
    offenders = [p.name for p in (ROOT / "gpt" / "runs").glob("*.py") if "gpt.train.cli" in gpt_imports(p)]
    assert offenders == []


def test_pages_and_ui_use_only_the_public_api_of_gpt() -> None:
    files = [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py"), ROOT / "app.py"]
    offenders = {
        str(p.relative_to(ROOT)): sorted(gpt_imports(p) - PUBLIC_ROOTS) for p in files if gpt_imports(p) - PUBLIC_ROOTS
    }
    assert offenders == {}


def test_the_servers_imports_load_no_training_worker_code() -> None:
    code = (
        "import sys\n"
        "import gpt, gpt.interpret, gpt.labs, gpt.runs, gpt.train\n"
        "print(sorted(m for m in ('gpt.train.cli', 'gpt.runs.writer', 'gpt.train.trainer') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_source_files_stay_small() -> None:
    sizes = {
        str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
        for folder in ("gpt", "ui", "pages", "bench", "scripts")
        for p in (ROOT / folder).rglob("*.py")
    }
    sizes["app.py"] = len((ROOT / "app.py").read_text(encoding="utf-8").splitlines())
    assert {f: n for f, n in sizes.items() if n > 400} == {}
    assert {f: n for f, n in sizes.items() if f.startswith("pages/") and n > 200} == {}
