"""Real browser, fresh server: /why opened by a deep link as the server's first request; clicking a head's
tile knocks it out, the URL keeps it, and the next-token probabilities change."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot, wait_for_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = "demo:shakespeare-char"
SENTENCE = "To be, or not to be, that is the question"
VIEWPORT = {"width": 1400, "height": 2400}


def no_exception(page, where: str) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()[:500]}"


def bar_values(page, title: str) -> list[float]:
    """The bar lengths of the chart whose title contains ``title``, as Plotly holds them in the page."""
    return page.evaluate(
        """(title) => {
            const plot = [...document.querySelectorAll('.js-plotly-plot')]
                .find(p => (p.layout?.title?.text || '').includes(title));
            return plot ? Array.from(plot.data[0].x) : null;
        }""",
        title,
    )


def test_deep_link_to_why_then_knock_out_a_head_by_clicking_its_tile(streamlit_server, browser) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(f"{streamlit_server.url}/why?model={quote(MODEL)}&sentence={quote(SENTENCE)}&why_view=knockout")
    wait_for_app(page)
    page.wait_for_timeout(500)  # Plotly draws after the script has finished
    no_exception(page, "deep link")
    assert page.get_by_role("heading", name="6 · Why this token?").count() == 1
    assert page.locator("[data-testid=stSidebarNav] a[href$='/why']").count() == 1  # the full app's navigation
    assert page.get_by_text("Page not found").count() == 0
    assert page.get_by_text("No head is knocked out yet").count() == 1
    grid = page.locator("[data-testid=stMain] .js-plotly-plot").first
    heads = [t.bounding_box() for t in grid.locator(".xaxislayer-above .xtick text").all()]
    layers = [t.bounding_box() for t in grid.locator(".yaxislayer-above .ytick text").all()]
    assert len(heads) == len(layers) == 4
    tile = heads[1]["x"] - heads[0]["x"]
    page.mouse.click(heads[1]["x"] + heads[1]["width"] / 2 + 0.2 * tile, layers[0]["y"] + layers[0]["height"] / 2)
    page.wait_for_url(re.compile(r"[?&]why_knockout=0\.1"), timeout=60_000)
    wait_for_app(page)
    expect(page.get_by_text("Next token after the knockout")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    before, after = bar_values(page, "before the knockout"), bar_values(page, "after the knockout")
    assert before and after and len(before) == len(after) == 10
    assert max(abs(a - b) for a, b in zip(before, after)) > 0.05, (before, after)  # the prediction moved
    screenshot(page, "why-knockout")
    no_exception(page, "after the click")
    page.reload()  # the knockout is in the link
    wait_for_app(page)
    expect(page.get_by_text("Next token after the knockout")).to_be_visible(timeout=30_000)
    no_exception(page, "reload")
