"""No text from a link or a run folder renders as Markdown or HTML on any page (issue 12, attack 6).

A shared link such as ``?model=**Session expired.** re-enter the key [here](http://…)`` must not
show bold text, a clickable link or a fetched image; neither may a run folder's status message,
settings, samples or probe tokens. Every page is opened with such payloads in every query parameter
the app reads, and with a run folder full of them; every element Streamlit renders as Markdown
(messages, captions, headers, labels, help texts) is checked for payload that would still format.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import PAGES, open_page
from run_fixtures import make_run
from streamlit.testing.v1 import AppTest

from ui.text import WORD_JOINER, md_code, md_escape

QUERY_PARAMS = ["model", "sentence", "run", "lab", "step", "layer", "head"]  # every one ui/ and pages/ read

PAYLOAD = (
    "**PWNBOLD** Teacher: re-enter the key [PWNLINK](http://evil.example/key) ![PWNIMG](http://evil.example/i.png) "
    "<img src=x onerror=alert(1)> <a href=http://evil.example>PWNA</a> :material/key: :red[PWNRED] $PWNMATH$ "
    "www.evil.example pwn@evil.example\n# PWNHEAD"
)
RUN_ID = "pwn-__PWNRUN__-x"  # a valid folder name whose underscores would still make it bold

# In the Markdown source (outside code spans): syntax that formats, links or embeds.
SOURCE_PATTERNS = {
    "bold": r"(?<!\\)\*\*PWN|(?<!\\)__PWN",
    "link": r"\]\(http",
    "image": r"!\[PWN",
    "html": r"(?<!\\)<(img|a )",
    "latex": r"(?<!\\)\$PWN",
    "directive": r"(?<!\\):red\[",
    "heading": r"(?m)^#+ PWN",
}
# In the text Markdown leaves after removing the escapes: what Streamlit and GFM still turn into
# icons and links there.
TEXT_PATTERNS = {
    "icon": r":material[/_]key:",
    "bare link": r"http://evil|www\.evil|pwn@evil",
}
MARKDOWN_KINDS = {"markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader", "toast"}


def markdown_sources(at: AppTest) -> list[str]:
    """Every string of the run that Streamlit renders as Markdown: bodies, labels, help texts."""
    found: list[str] = []

    def walk(node) -> None:
        if getattr(node, "type", None) in MARKDOWN_KINDS:
            found.append(str(node.value))
        for attribute in ("label", "help"):  # widgets, buttons, metrics, expanders, tabs
            value = getattr(node, attribute, None)
            if isinstance(value, str):
                found.append(value)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return found


def outside_code(source: str) -> str:
    """The source without its inline code spans (they show their text literally)."""
    return re.sub(r"(?<!\\)(`+).+?(?<!`)\1(?!`)", " ", source)


def unescaped(source: str) -> str:
    """The text Markdown shows: backslash escapes removed (the word joiner stays, as in the browser)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", source)


def injections(at: AppTest) -> list[tuple[str, str]]:
    problems = []
    for source in markdown_sources(at):
        plain = outside_code(source)
        problems += [(name, source[:160]) for name, p in SOURCE_PATTERNS.items() if re.search(p, plain)]
        problems += [(name, source[:160]) for name, p in TEXT_PATTERNS.items() if re.search(p, unescaped(plain))]
    return problems


def open_with(page: str, params: dict[str, str]) -> AppTest:
    """The page opened from a link carrying ``params`` (``run`` too, which open_page takes for itself)."""
    at = open_page(page, run=False)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at


def assert_nothing_injected(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    found = injections(at)
    assert not found, "\n".join(f"{name}: {source!r}" for name, source in found)


def hostile_run(runs_dir: Path, run_id: str = RUN_ID, state: str = "failed") -> Path:
    """A run whose every text field carries the payload (id, status, settings, samples, probe tokens)."""
    path = make_run(runs_dir, run_id, state=state)
    status = json.loads((path / "status.json").read_text())
    status.update(message=PAYLOAD, device=PAYLOAD)
    (path / "status.json").write_text(json.dumps(status))
    run = json.loads((path / "run.json").read_text())
    run.update(device=PAYLOAD, argv=[PAYLOAD])
    run["options"].update(tokenizer=PAYLOAD, corpus=PAYLOAD, name=PAYLOAD)
    (path / "run.json").write_text(json.dumps(run))
    samples = [json.loads(line) for line in (path / "samples.jsonl").read_text().splitlines()]
    (path / "samples.jsonl").write_text(
        "".join(json.dumps({**s, "prompt": PAYLOAD, "text": PAYLOAD}) + "\n" for s in samples)
    )
    probes = [json.loads(line) for line in (path / "probe.jsonl").read_text().splitlines()]
    tokens = [PAYLOAD[:12], "**b**", "[l](x)", "<img>", ":material/key:", "$m$", "t"]
    (path / "probe.jsonl").write_text("".join(json.dumps({**p, "tokens": tokens}) + "\n" for p in probes))
    return path


# ------------------------------------------------------------------------------ the helper itself


def test_escaped_text_keeps_its_characters_and_loses_its_syntax() -> None:
    escaped = md_escape(PAYLOAD)
    assert unescaped(escaped).replace(WORD_JOINER, "") == PAYLOAD  # the reader sees exactly what was sent
    assert not [name for name, p in SOURCE_PATTERNS.items() if re.search(p, escaped)]
    assert not [name for name, p in TEXT_PATTERNS.items() if re.search(p, unescaped(escaped))]
    assert md_escape("12 tokens and 3 heads") == "12 tokens and 3 heads"  # plain words stay plain


def test_code_spans_survive_backticks_inside() -> None:
    assert md_code("a `b` c") == "`` a `b` c ``"
    assert md_code("/srv/runs") == "`/srv/runs`"
    assert outside_code(md_code("x ``y`` **z**")).strip() == ""


# ------------------------------------------------------------------------------------- the pages


@pytest.mark.parametrize("page", PAGES)
def test_payloads_in_every_query_parameter_render_as_plain_text(page: str) -> None:
    at = open_with(page, {name: PAYLOAD for name in QUERY_PARAMS})
    assert_nothing_injected(at)
    if page == "overview":  # the attack of the issue: the sidebar's "not available" warning
        assert any("is not available" in w.value for w in at.sidebar.warning)


@pytest.mark.parametrize("page", PAGES)
def test_a_run_folder_full_of_payloads_renders_as_plain_text(page: str, isolated_runs_dir: Path) -> None:
    hostile_run(isolated_runs_dir)
    hostile_run(isolated_runs_dir, "pwn-state", state=PAYLOAD)  # a status state no version writes
    at = open_with(page, {"model": f"run:{RUN_ID}", "run": RUN_ID, "sentence": PAYLOAD})
    assert_nothing_injected(at)
    if page in ("train", "runs"):  # the message is shown, as text
        assert any("PWNBOLD" in e.value for e in at.error)
