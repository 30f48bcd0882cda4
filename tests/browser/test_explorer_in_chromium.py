"""Real browser, real server: every page renders, state carries between pages, deep links work.

Two server starts in total: one whose very first request is a deep link, one for the tour.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, screenshot, wait_for_app
from tests.helpers import PAGES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = "random:shakespeare-char"  # the deep link of the issue
TOUR_MODEL = "demo:shakespeare-char"  # the shipped trained model: screenshots show learned patterns
VIEWPORT = {"width": 1400, "height": 2400}
DEEP_LINK = f"/attention?sentence=Hello%20world&layer=1&head=2&step=4&model={quote(MODEL)}"
STEP_4 = "Step 4 of 11 · Values V: what each token hands over (layer 1, head 2)"


def no_exception(page, where: str) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def nav_paths(page, base: str) -> list[str]:
    hrefs = [a.get_attribute("href") or "" for a in page.locator("[data-testid=stSidebarNav] a").all()]
    return [h.removeprefix(base).strip("/") or "overview" for h in hrefs]


def sentence_box(page):
    return page.locator("[data-testid=stSidebar] textarea").first


def set_sentence(page, text: str) -> None:
    box = sentence_box(page)
    box.fill(text)
    box.press("Control+Enter")  # Streamlit applies a text area on Ctrl+Enter (or blur)
    page.wait_for_timeout(300)
    wait_for_app(page)


def go_to(page, base: str, name: str) -> None:
    """Navigate inside the running session (keeps its state), like a user clicking the sidebar."""
    link = page.locator(f"[data-testid=stSidebarNav] a[href$='/{'' if name == 'overview' else name}']").first
    link.click()
    page.wait_for_url(f"**/{'' if name == 'overview' else name}*")
    page.wait_for_timeout(300)
    wait_for_app(page)


def y_tick_texts(page, plot: int = 0) -> list[str]:
    """Row labels of the plot-th chart on the page, as the browser shows them."""
    return page.locator(".js-plotly-plot").nth(plot).locator(".yaxislayer-above .ytick text").all_text_contents()


def test_deep_link_is_the_first_request_of_a_fresh_server(streamlit_server, browser) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(streamlit_server.url + DEEP_LINK)
    wait_for_app(page)
    screenshot(page, "deep-link-attention")
    no_exception(page, "deep link")
    assert nav_paths(page, streamlit_server.url) == PAGES  # the full app, with every section's links
    for section in ("Explore a sentence", "Train", "Labs"):
        assert page.locator("[data-testid=stSidebarNav]").get_by_text(section).count() >= 1
    assert sentence_box(page).input_value() == "Hello world"
    assert page.get_by_role("heading", name=STEP_4).count() == 1  # layer, head and step applied
    assert y_tick_texts(page)[:2] == ["0: H", "1: e"]
    # Streamlit's legacy pages/ mode must not leak through (ui/state.py switches it off)
    assert page.get_by_text("Page not found").count() == 0


def test_every_page_renders_and_state_carries_between_pages(streamlit_server, browser) -> None:
    base = streamlit_server.url
    page = browser.new_page(viewport=VIEWPORT)
    # Offline by design: every request of every page goes to this server (data: URLs are inline).
    elsewhere: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((base, "data:", "blob:")) else elsewhere.append(r.url))
    page.goto(f"{base}/?model={quote(TOUR_MODEL)}")
    wait_for_app(page)
    for name in PAGES:
        go_to(page, base, name)
        no_exception(page, name)
        assert page.locator("[data-testid=stSidebarNav]").count() == 1
        screenshot(page, f"page-{name}")
    assert elsewhere == [], "requests that left the local server"

    # the architecture ladder lab opens from its link with the shipped table and curves
    page.goto(f"{base}/labs?lab=ladder")
    wait_for_app(page)
    screenshot(page, "lab-ladder")
    no_exception(page, "ladder lab")
    # the lab renders below the picker after the page's first run: wait for it, not for the first paint
    expect(page.get_by_text("Train this rung now").first).to_be_visible(timeout=30_000)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)

    # change the sentence on the tokens page, see it on the attention page
    go_to(page, base, "tokens")
    set_sentence(page, "Wherefore art thou")
    no_exception(page, "tokens after a new sentence")
    go_to(page, base, "attention")
    assert sentence_box(page).input_value() == "Wherefore art thou"
    assert y_tick_texts(page)[:3] == ["0: W", "1: h", "2: e"]
    assert "sentence=Wherefore" in page.url

    # the step buttons advance one step at a time
    page.get_by_role("button", name=re.compile(r"^Next")).click()
    wait_for_app(page)
    assert page.get_by_role("heading", name="Step 2 of 11", exact=False).count() == 1

    # HTML in the sentence is shown as text, never rendered as markup
    go_to(page, base, "heads")
    set_sentence(page, "<b>x</b>")
    no_exception(page, "heads with HTML in the sentence")
    ticks = y_tick_texts(page, plot=1)  # the enlarged head (plot 0 is the grid)
    assert ticks[:4] == ["0: <", "1: b", "2: >", "3: x"]
    plots = page.locator(".js-plotly-plot")
    assert plots.locator("b").count() == 0
    assert plots.locator(".xtick tspan[style*='bold'], .ytick tspan[style*='bold']").count() == 0
    go_to(page, base, "attention")
    no_exception(page, "attention with HTML in the sentence")
    assert y_tick_texts(page)[:4] == ["0: <", "1: b", "2: >", "3: x"]
    main = page.locator("[data-testid=stMain]")
    assert main.locator("b").filter(has_text="x").count() == 0
    screenshot(page, "attention-html-sentence")

    # the README picture: the shipped demo model's previous-token head (softmax weights)
    page.set_viewport_size({"width": 1400, "height": 1500})
    page.goto(
        f"{base}/attention?sentence=To%20be%2C%20or%20not%20to%20be&step=8&layer=0&head=1&model={quote(TOUR_MODEL)}"
    )
    wait_for_app(page)
    no_exception(page, "README view")
    page.screenshot(path=str(ARTIFACTS / "readme-attention.png"))  # the visible window only
