"""Real browser, presenter mode: on a 1024×768 projector and at 1920×1080, each lesson page's main
figure starts inside the first screen with text a class can read; a clicker's PageDown / PageUp
walk the lesson across pages; a heads-grid tile selects its head; nothing leaves the local server."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROJECTORS = [{"width": 1024, "height": 768}, {"width": 1920, "height": 1080}]
MODEL = "demo:shakespeare-char"
SENTENCE = "To be, or not to be, that is the question"
# Each lesson page's main figure: a Plotly chart, or the token chips on the Tokens page.
MAIN_FIGURE = {
    "tokens": "[data-testid=stMain] [data-testid=stHtml]",
    "embeddings": "[data-testid=stMain] .js-plotly-plot",
    "attention": "[data-testid=stMain] .js-plotly-plot",
    "heads": "[data-testid=stMain] .js-plotly-plot",
    "next_token": "[data-testid=stMain] .js-plotly-plot",
    "why": "[data-testid=stMain] .js-plotly-plot",
}


def link(base: str, page: str, **extra: object) -> str:
    params = {"present": 1, "model": MODEL, "sentence": SENTENCE, **extra}
    query = "&".join(f"{k}={str(v).replace(' ', '%20').replace(',', '%2C')}" for k, v in params.items())
    return f"{base}/{page}?{query}"


def font_px(locator) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


def no_exception(page, where: str) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def record_requests(page, base: str) -> list[str]:
    """Every request that does not go to the app's own server (inline data: URLs are no request)."""
    here = urlparse(base).netloc
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(("data:", "blob:")) or urlparse(r.url).netloc == here else elsewhere.append(r.url)
        ),
    )
    return elsewhere


@pytest.mark.parametrize("viewport", PROJECTORS, ids=lambda v: f"{v['width']}x{v['height']}")
def test_each_lesson_page_fits_a_projector(streamlit_server, browser, viewport) -> None:
    page = browser.new_page(viewport=viewport)
    elsewhere = record_requests(page, streamlit_server.url)
    for name, selector in MAIN_FIGURE.items():
        page.goto(link(streamlit_server.url, name))
        wait_for_app(page)
        page.wait_for_timeout(500)  # Plotly draws after the script has finished
        no_exception(page, name)
        screenshot_name = f"presenter-{name}-{viewport['width']}x{viewport['height']}"
        page.screenshot(path=str(screenshot(page, screenshot_name)).replace(".png", "-screen.png"))
        figure = page.locator(selector).first
        box = figure.bounding_box()
        assert box is not None and box["y"] < viewport["height"] - 150, f"{name}: main figure starts at {box}"
        sidebar = page.locator("[data-testid=stSidebar]")
        assert sidebar.get_attribute("data-collapsed") == "true", f"{name}: the sidebar is in the way"
        if name == "tokens":
            assert font_px(figure.locator("span").first) >= 20
        else:
            ticks = figure.locator(".xtick text, .ytick text")
            assert ticks.count() > 0, name
            assert min(font_px(ticks.nth(i)) for i in range(min(ticks.count(), 6))) >= 16, name
        body = page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer] p").first
        assert font_px(body) >= 20, f"{name}: body text"
    assert elsewhere == [], f"requests that left the local server: {elsewhere[:5]}"


def url_has(page, text: str) -> None:
    """Wait until the address bar contains ``text`` (Streamlit rewrites the query without a page load)."""
    page.wait_for_function("t => window.location.href.includes(t)", arg=text, timeout=30_000)


def step_heading(page) -> str:
    return page.get_by_role("heading", name=re.compile(r"^Step \d+ of 11")).first.inner_text()


def press(page, key: str, then_step: int | None = None) -> None:
    """Press ``key`` as a clicker would; with ``then_step``, wait until that step's heading shows."""
    page.keyboard.press(key)
    if then_step is not None:
        heading = page.get_by_role("heading", name=re.compile(rf"^Step {then_step} of 11"))
        expect(heading.first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(300)
    wait_for_app(page)


def test_a_clicker_walks_the_lesson_and_the_url_keeps_the_place(streamlit_server, browser) -> None:
    page = browser.new_page(viewport=PROJECTORS[0])
    page.goto(link(streamlit_server.url, "attention", step=3))
    wait_for_app(page)
    press(page, "PageDown", then_step=4)
    url_has(page, "step=4")
    page.reload()  # the URL is the lesson's place
    wait_for_app(page)
    assert step_heading(page).startswith("Step 4 of 11")
    press(page, "PageUp", then_step=3)
    page.goto(link(streamlit_server.url, "attention", step=11))
    wait_for_app(page)
    press(page, "PageDown")  # past the last step: on to the next page of the lesson
    expect(page.get_by_text("Lesson 14 of 16")).to_be_visible(timeout=30_000)
    url_has(page, "/heads?")
    wait_for_app(page)
    assert "present=1" in page.url
    press(page, "PageUp", then_step=11)
    assert "/attention?" in page.url
    press(page, "ArrowLeft", then_step=10)  # remotes that send arrow keys
    no_exception(page, "clicker walk")


def test_clicking_a_heads_grid_tile_selects_that_head(streamlit_server, browser) -> None:
    page = browser.new_page(viewport=PROJECTORS[0])
    page.goto(link(streamlit_server.url, "heads", layer=0, head=0))
    wait_for_app(page)
    grid = page.locator("[data-testid=stMain] .js-plotly-plot").first
    expect(grid.locator(".yaxislayer-above .ytick text")).to_have_count(4, timeout=30_000)  # drawn
    page.wait_for_timeout(500)  # Plotly attaches its click handlers after drawing
    heads = [t.bounding_box() for t in grid.locator(".xaxislayer-above .xtick text").all()]
    layers = [t.bounding_box() for t in grid.locator(".yaxislayer-above .ytick text").all()]
    assert len(heads) == len(layers) == 4
    centre_x = [b["x"] + b["width"] / 2 for b in heads]
    centre_y = [b["y"] + b["height"] / 2 for b in layers]
    tile = centre_x[1] - centre_x[0]  # one tile and its one-cell gap
    assert tile >= 120, f"tiles of {tile:.0f} px at 1024 px wide"
    page.mouse.click(centre_x[1] + 0.3 * tile, centre_y[2] - 0.35 * tile)  # layer 2, head 1, off its centre
    expect(page.get_by_text("Layer 2, head 1: attention weights").first).to_be_visible(timeout=30_000)
    url_has(page, "layer=2")
    assert re.search(r"[?&]head=1", page.url)
    no_exception(page, "tile click")


def test_the_sidebar_switch_turns_presenter_mode_on_and_puts_it_in_the_link(streamlit_server, browser) -> None:
    page = browser.new_page(viewport=PROJECTORS[1])
    page.goto(f"{streamlit_server.url}/attention?model={MODEL}")
    wait_for_app(page)
    assert page.get_by_role("button", name=re.compile(r"^Back")).count() == 1  # Back/Next, without the lesson
    body = page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer] p").first
    assert font_px(body) < 20
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text("Display").click()
    page.wait_for_timeout(500)  # the expander opens
    sidebar.get_by_role("combobox", name="Colours").click()
    page.get_by_role("option").filter(has_text="High contrast").click()
    url_has(page, "palette=contrast")
    wait_for_app(page)
    sidebar.get_by_text("Presenter mode").click()
    url_has(page, "present=1")
    wait_for_app(page)
    expect(page.get_by_text(re.compile(r"Lesson \d+ of 16"))).to_be_visible()
    assert font_px(page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer] p").first) >= 20
    assert sidebar.get_attribute("data-collapsed") == "true"  # out of the way at once
    assert "palette=contrast" in page.url
    no_exception(page, "presenter switch")
