"""AppTest of the Embeddings & positions page as a class sees it on a projector: one tab per view (a
short page whose first figure is near the top), position vectors labelled by position, and a PCA map
whose written labels do not overlap."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import decode_array, figure_by_title, figure_json, figure_title, open_page
from streamlit.testing.v1 import AppTest

CHAR = "random:shakespeare-char"
BPE = "random:gpt2-bpe-small"
SENTENCE = "to be or not to be"


def tab_titles(at: AppTest) -> dict[str, list[str]]:
    return {
        tab.label: [figure_title(figure_json(c)).split("<br>")[0] for c in tab.get("plotly_chart")] for tab in at.tabs
    }


def test_each_view_is_a_tab_and_nothing_long_comes_before_them() -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    assert not at.exception
    assert tab_titles(at) == {
        "Token embeddings": ["Token embeddings (rows of wte)"],
        "Position vectors": [
            "Position vectors used by this model (learned)",
            "Sinusoidal encoding (original Transformer, not used by GPT-2)",
            "Sinusoidal encoding: one curve per dimension",
        ],
        "Their sum": ["Token + position vectors (input to layer 0)"],
        "PCA map": ["PCA of token embeddings"],
        "Similarity": ["Cosine similarity of token embeddings"],
    }
    # Above the tabs: the title, one paragraph and the dimension slider; the first tab's figure follows.
    above = [node.type for node in at._tree.main.children.values()]
    assert above == ["title", "markdown", "slider", "tab_container"]


def test_position_vectors_are_labelled_by_position_and_embeddings_by_token() -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    positions = figure_by_title(at, "Position vectors used by this model")["layout"]["yaxis"]
    assert positions["ticktext"] == [f"pos {p}" for p in range(len(SENTENCE))]
    assert positions["title"]["text"] == "position"
    tokens = [f"{i}: {c}" for i, c in enumerate(SENTENCE.replace(" ", "·"))]
    for title in ("Token embeddings", "Token + position vectors"):
        rows = figure_by_title(at, title)["layout"]["yaxis"]
        assert rows["ticktext"] == tokens and rows["title"]["text"] == "token"


# The smallest plot area the map gets (a 1024-pixel-wide projector, sidebar open) and a generous size
# for a label's characters (7.5 x 15 px at 12 px): written labels must keep apart at this size or larger.
PLOT_W, PLOT_H, CHAR_EM, LINE_EM, MARKER_R = 420.0, 340.0, 0.625, 1.25, 5.0


def label_boxes(fig: dict) -> list[tuple[float, float, float, float]]:
    """Pixel boxes of the written labels, from the figure's own axis ranges and text positions."""
    data, layout = fig["data"][0], fig["layout"]
    (x0, x1), (y0, y1) = layout["xaxis"]["range"], layout["yaxis"]["range"]
    xs, ys = decode_array(data["x"]), decode_array(data["y"])
    font_px = data["textfont"]["size"]
    char_w, line_h = CHAR_EM * font_px, LINE_EM * font_px
    boxes = []
    for x, y, text, where in zip(xs, ys, data["text"], data["textposition"], strict=True):
        if not text:
            continue
        cx, cy = (x - x0) / (x1 - x0) * PLOT_W, (y - y0) / (y1 - y0) * PLOT_H
        w, gap = len(text) * char_w, MARKER_R + 1
        boxes.append(
            {
                "top center": (cx - w / 2, cy + gap, cx + w / 2, cy + gap + line_h),
                "bottom center": (cx - w / 2, cy - gap - line_h, cx + w / 2, cy - gap),
                "middle right": (cx + gap, cy - line_h / 2, cx + gap + w, cy + line_h / 2),
                "middle left": (cx - gap - w, cy - line_h / 2, cx - gap, cy + line_h / 2),
            }[where]
        )
    return boxes


def overlapping(boxes: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    return [
        (i, j)
        for i, a in enumerate(boxes)
        for j, b in enumerate(boxes[i + 1 :], start=i + 1)
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


@pytest.mark.parametrize(
    ("model", "sentence"),
    [
        (CHAR, "hello world"),
        (CHAR, "The quick brown fox jumps over the lazy dog"),
        (
            BPE,
            "The quick brown fox jumps over the lazy dog and then runs far away into the dark green forest, "
            "where nobody can find it again, not even the hunters with their dogs",
        ),  # fmt: skip
    ],
)
@pytest.mark.parametrize("vectors", ["token embeddings", "token + position (input to layer 0)"])
@pytest.mark.parametrize("present", [None, 1])
def test_the_pca_map_writes_labels_that_do_not_overlap_and_names_every_point(
    model: str, sentence: str, vectors: str, present: int | None
) -> None:
    extra = {"present": present} if present else {}
    at = open_page("embeddings", model=model, sentence=sentence, **extra)
    at.radio(key="emb_pca_vectors").set_value(vectors).run()
    assert not at.exception
    fig = figure_by_title(at, f"PCA of {vectors}")
    data = fig["data"][0]
    assert data["textfont"]["size"] == (16 if present else 12)  # a projector's back row reads 16 px
    n = len(decode_array(data["x"]))
    assert 10 <= n <= 45
    hover = list(data["hovertext"])
    assert all(h.split(": ", 1)[0].split(", ").count(str(i)) == 1 for i, h in enumerate(hover))  # its position
    boxes = label_boxes(fig)
    assert overlapping(boxes) == []
    spots = len(set(hover))  # a repeated token's identical points share a spot (and a label)
    assert len(boxes) >= spots / (3 if present else 2), f"only {len(boxes)} of {spots} points labelled"
    for text, name in zip(data["text"], hover, strict=True):  # a written label is that point's token
        assert not text or name.split(": ", 1)[1].startswith(text.removesuffix("…"))


def test_a_repeated_token_gets_one_label_and_a_hover_listing_its_positions() -> None:
    at = open_page("embeddings", model=CHAR, sentence=SENTENCE)
    data = figure_by_title(at, "PCA of token embeddings")["data"][0]
    t_positions = [i for i, c in enumerate(SENTENCE) if c == "t"]
    assert t_positions == [0, 11, 13]
    hover = list(data["hovertext"])
    assert [hover[i] for i in t_positions] == ["0, 11, 13: t"] * 3
    assert [data["text"][i] for i in t_positions] == ["t", "", ""]  # written once, at its first position
    assert sorted(t for t in data["text"] if t) == sorted(set(SENTENCE.replace(" ", "·")))
    xs = decode_array(data["x"])
    assert np.allclose(xs[t_positions], xs[0])
