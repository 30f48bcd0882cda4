"""Labs: the famous worked examples, live. Edit an input cell and every number below recomputes.

The arithmetic lives in ``gpt.labs`` (one module per lab, unit-tested against the sources'
printed numbers); each lab's view is ``ui/labs/<module>.py`` with a ``render(lab)`` function.
This page only picks the lab and hands over. The chosen lab is in the URL (``?lab=fox``) so a
teacher can link straight to it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import streamlit as st

from gpt.labs import LABS, Lab, lab_by_id
from ui import state
from ui.labs import widgets

state.init()  # first thing on every page: shared state, and app.py's navigation (ui/state.py)

LAB_KEY = "labs_lab"


def choose_lab() -> Lab:
    ids = [lab.lab_id for lab in LABS]
    if LAB_KEY not in st.session_state:
        st.session_state[LAB_KEY] = lab_by_id(st.query_params.get("lab")).lab_id
    lab_id = st.selectbox("Choose a lab", ids, format_func=lambda i: lab_by_id(i).title, key=LAB_KEY)
    if st.query_params.get("lab") != lab_id:
        st.query_params["lab"] = lab_id  # a shareable link to this lab
    return lab_by_id(lab_id)


def lab_view(lab: Lab) -> ModuleType:
    """The view module ``ui.labs.<module>`` of a lab; its ``render(lab)`` draws the lab."""
    return importlib.import_module(f"ui.labs.{lab.module}")


def main() -> None:
    st.title(":material/science: Labs: the worked examples, live")  # an icon font, never an emoji font
    st.markdown(
        "Each lab recomputes a famous textbook example from its inputs, so you can check every printed number "
        "and then change the inputs to see what happens. Tables show 4 decimals; the CSV buttons export full precision."
    )
    current = choose_lab()
    widgets.predict_mode_toggle()
    widgets.cite(current)
    st.header(current.title)
    lab_view(current).render(current)


main()
