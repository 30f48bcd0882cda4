"""The Labs page's views: one module per lab, ``ui/labs/<module>.py`` next to ``gpt/labs/<module>.py``.

Each lab view exposes ``render(lab)`` and only reads widgets and draws: the arithmetic, the
sources' printed numbers and the "is this the source's example?" checks live in ``gpt.labs``.
``widgets`` holds the helpers the views share (editable matrices, 4-decimal tables, predict-then-reveal).
"""
