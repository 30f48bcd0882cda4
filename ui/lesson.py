"""The lesson a presenter clicker walks through: Tokens → Embeddings & positions → Attention steps
1…11 → All heads → Next token → Why this token?.

Clickers send PageDown / PageUp, which the Next / Back buttons take as shortcuts. On the attention
page they move one step; while presenting, the page's last step goes on to the next page (and the
first back to the previous one). Where the lesson stands is the page's URL plus its ``step``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from gpt.interpret import explain
from ui import presenter, state

NEXT_KEY, BACK_KEY = "PageDown", "PageUp"  # what presenter remotes send
# Some remotes send arrow keys instead: hidden twins of the buttons take those while presenting.
NEXT_ARROW, BACK_ARROW = "Right", "Left"
TITLES = {
    "tokens": "Tokens",
    "embeddings": "Embeddings & positions",
    "attention": "Attention",
    "heads": "All heads",
    "next_token": "Next token",
    "why": "Why this token?",
}
# Hidden: the twins exist only for their keyboard shortcut.
HIDE_ARROW_TWINS = "<style>.st-key-lesson_arrow_next, .st-key-lesson_arrow_back { display: none; }</style>"


@dataclass(frozen=True)
class Stop:
    page: str  # URL path of the page (pages/<page>.py)
    step: int | None = None  # the attention step (0-based), on the attention page only

    @property
    def file(self) -> str:
        return f"pages/{self.page}.py"

    @property
    def title(self) -> str:
        if self.step is None:
            return TITLES[self.page]
        return f"Attention step {self.step + 1}: {explain.STEPS[self.step].title.split(':')[0]}"


LESSON: tuple[Stop, ...] = (
    Stop("tokens"),
    Stop("embeddings"),
    *(Stop("attention", i) for i in range(len(explain.STEPS))),
    Stop("heads"),
    Stop("next_token"),
    Stop("why"),
)


def index_of(page: str, step: int | None = None) -> int | None:
    """Where ``page`` (and, on the attention page, ``step``) stands in the lesson; None if not in it."""
    wanted = Stop(page, step if page == "attention" else None)
    return LESSON.index(wanted) if wanted in LESSON else None


def neighbour(page: str, step: int | None, delta: int) -> Stop | None:
    """The stop ``delta`` places away (+1 next, -1 back), or None past either end."""
    here = index_of(page, step)
    if here is None or not 0 <= here + delta < len(LESSON):
        return None
    return LESSON[here + delta]


PENDING_PAGE = "_lesson_switch"  # a page a lesson button asked for, switched to at the next run


def go_to(target: Stop) -> None:
    """A button callback: show ``target`` (its step at once; another page at the start of the rerun)."""
    if target.step is not None:
        state.put("step", target.step)
    st.session_state[PENDING_PAGE] = target.page


def follow_pending(current_url_path: str) -> None:
    """Switch to the page a lesson button asked for, before anything is drawn: each lesson page calls
    this first, as the button's callback cannot switch pages itself."""
    wanted = st.session_state.pop(PENDING_PAGE, None)
    if wanted in TITLES and wanted != current_url_path:
        st.switch_page(Stop(wanted).file)


def nav_buttons(back: Stop | None, forward: Stop | None, middle: str | None = None) -> DeltaGenerator:
    """Back | middle | Next, on the clicker's keys; returns the middle column for the caller to fill."""
    # Wide enough for the label and its key ("Next  PageDown") beside a 300 px sidebar at 1024 px: at [2, 6, 2]
    # the label was squeezed out and only the key hint showed.
    left, centre, right = st.columns([3.5, 4, 3.5], vertical_alignment="center")
    with left:
        _button("Back", back, BACK_KEY, "lesson_back", ":material/arrow_back:")
    with right:
        _button("Next", forward, NEXT_KEY, "lesson_next", ":material/arrow_forward:", right=True)
    if middle is not None:
        centre.markdown(middle)
    if presenter.is_presenting():
        _arrow_twins(back, forward)
    return centre


def _button(label: str, target: Stop | None, shortcut: str, key: str, icon: str, right: bool = False) -> None:
    st.button(
        label,
        key=key,
        icon=icon,
        icon_position="right" if right else "left",
        disabled=target is None,
        shortcut=shortcut,
        help=f"{target.title} ({shortcut})" if target is not None else None,
        on_click=go_to if target is not None else None,
        args=(target,) if target is not None else None,
        width="stretch",
    )


def _arrow_twins(back: Stop | None, forward: Stop | None) -> None:
    """Hidden buttons that take the arrow keys some remotes send (only while presenting: elsewhere the
    arrow keys move sliders)."""
    st.html(HIDE_ARROW_TWINS)
    for label, target, shortcut, key in (
        ("Next", forward, NEXT_ARROW, "lesson_arrow_next"),
        ("Back", back, BACK_ARROW, "lesson_arrow_back"),
    ):
        st.button(
            label,
            key=key,
            shortcut=shortcut,
            disabled=target is None,
            on_click=go_to if target is not None else None,
            args=(target,) if target is not None else None,
        )


def lesson_bar(page: str) -> None:
    """Back / where the lesson stands / Next on a lesson page without steps; only while presenting."""
    here = index_of(page)
    if not presenter.is_presenting() or here is None:
        return
    nav_buttons(neighbour(page, None, -1), neighbour(page, None, 1), where(here))


def where(here: int) -> str:
    return f"**Lesson {here + 1} of {len(LESSON)}** · {LESSON[here].title}"


def page_header(page: str, title: str, intro: Callable[[], None] | None = None) -> None:
    """The page's title and introduction; while presenting, the lesson bar instead, with the
    introduction folded away so the page's main figure starts inside the first screen."""
    if not presenter.is_presenting():
        st.title(title)
        if intro is not None:
            intro()
        return
    lesson_bar(page)
    if intro is not None:
        with st.expander(f"About this page: {title}", icon=":material/info:"):
            intro()
