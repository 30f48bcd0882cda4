"""Project rules that must hold for every file: gpt/ is UI-free, page files follow the URL rule."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_gpt_package_never_imports_streamlit_or_ui() -> None:
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "gpt").rglob("*.py") if _imports(p) & {"streamlit", "ui", "plotly"}
    ]
    assert offenders == []


def test_importing_all_of_gpt_loads_no_streamlit() -> None:
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "gpt").rglob("*.py")
        if p.name not in ("__main__.py",)
    ]
    code = "import importlib, sys\n"
    code += "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "print('streamlit' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_page_is_named_after_its_url_and_calls_state_init_first() -> None:
    # On a fresh server Streamlit's legacy pages/ mode looks deep links up by file name and
    # runs that file alone; state.init() then reruns it through app.py (see ui/state.py).
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    pages = re.findall(r'st\.Page\(\s*"(pages/[^"]+)".*?url_path="([^"]+)"', source, flags=re.S)
    assert len(pages) >= 10
    for file, url in pages:
        assert (ROOT / file).is_file(), file
        assert Path(file).stem == url, f"{file} must be named after its URL {url!r}"
        body = ast.parse((ROOT / file).read_text(encoding="utf-8")).body
        first = next(n for n in body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.Expr)) or _is_call(n))
        assert _is_call(first) and ast.unparse(first.value) == "state.init()", f"{file} must call state.init() first"
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*.py")}
    assert on_disk == {f for f, _ in pages}, "every page file is reachable from the navigation"


def _is_call(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)


def test_no_emoji_in_the_app_offline_machines_may_lack_an_emoji_font() -> None:
    # An emoji renders as an empty box where no emoji font is installed; Material icons are a
    # font bundled with Streamlit, so every icon is ":material/…:".
    emoji = re.compile("[\U0001f000-\U0001faff]")
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in files if emoji.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_run_messages_name_no_command_line_option_beside_the_resume_button(tmp_path) -> None:
    from gpt.runs.writer import RunFiles
    from gpt.train.cli import finish
    from gpt.train.trainer import TrainResult

    class Recorder:
        saved_iter = 3

    class Model:
        def num_params(self) -> int:
            return 1

    class Trainer:
        iter = 3
        model = Model()

    files = RunFiles(tmp_path / "run")
    for state in ("stopped", "interrupted"):
        result = TrainResult(state, 3, None, None, 1.0, 10.0)
        finish(files, Recorder(), Trainer(), result, 1.0)
        message = json.loads((tmp_path / "run" / "status.json").read_text())["message"]
        assert "--" not in message and "resumed" in message, message
