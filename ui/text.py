"""Untrusted text inside Streamlit's Markdown: shown literally, never as formatting, links or icons.

Streamlit renders Markdown in st.markdown, st.caption, st.info/warning/error/success, headers, metric
and widget labels, help texts, expander labels and toasts. Any string that did not come from this
code (a query parameter, a run folder's files, an exception's text, a file name, a typed sentence)
goes through ``md_escape`` (or ``md_code`` for paths and tokens) before it reaches one of them;
``st.text`` and ``st.code`` never render Markdown and need neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

# Every ASCII punctuation character: CommonMark lets a backslash make any of them literal.
_PUNCTUATION = re.compile(r"""([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])""")
# Invisible, and no line break: it splits patterns that are looked for after the escapes are gone.
WORD_JOINER = "\u2060"


def md_escape(text: object) -> str:
    """``text`` as Markdown that shows exactly these characters: no bold, links, images, HTML,
    LaTeX (``$…$``), ``:color[…]`` directives, ``:material/…:`` icons, emoji codes or bare links.

    Backslashes stop Markdown's own syntax. Streamlit finds icons and emoji codes (``:name:``) and
    GitHub-style bare links (``http://…``, ``www.…``, ``a@b.c``) in the text *after* the backslashes
    are removed, so a word joiner after every ``:`` and ``@`` and inside ``www.`` breaks those.
    """
    escaped = _PUNCTUATION.sub(r"\\\1", str(text))
    escaped = escaped.replace("\\:", "\\:" + WORD_JOINER).replace("\\@", "\\@" + WORD_JOINER)
    return re.sub(r"(?i)(w{3})(\\\.)", r"\1" + WORD_JOINER + r"\2", escaped)


def md_code(text: object) -> str:
    """``text`` as inline code: shown literally (Markdown, LaTeX and icons are not parsed in code).

    A code span ends at a run of backticks as long as its fence, so the fence is made longer.
    """
    value = str(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}" if longest else f"{fence}{value}{fence}"


def without_paths(text: str, folders: Mapping[str | Path, str]) -> str:
    """``text`` with each of ``folders`` (a path -> a neutral name) replaced by its name.

    Both the path as given and as resolved are replaced, the longest first, so a folder inside
    another gets its own name.
    """
    names: dict[str, str] = {}
    for folder, name in folders.items():
        for form in (str(folder), _resolved(folder)):
            if len(form) > 1:  # never "/" or "": that would replace every slash
                names.setdefault(form, name)
    for form in sorted(names, key=len, reverse=True):
        text = text.replace(form, names[form])
    return text


def _resolved(folder: str | Path) -> str:
    try:
        return str(Path(folder).expanduser().resolve())
    except (OSError, RuntimeError):  # a loop of links, or no home folder
        return str(folder)
