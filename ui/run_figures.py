"""Figures of training runs: loss curves of one run (the live dashboard) or several (the Runs page).

Plotly only, no Streamlit. Run ids are long (``<name>-<date>-<time>``, 30 characters and more), so
legends name a run by the part its user typed (``short_run_names``) and only where several runs
share a chart; the hover always names the whole run id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from ui.figures import safe_label

# Plotly's default colour cycle, so the train and validation curves of one run share a colour.
RUN_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
SPLIT_NAMES = {"train": "train", "val": "validation"}
# The ids the job manager makes: the typed name as a slug, then the launch date and time, then -2, -3, ...
# for more launches of that name in the same second.
_STAMPED_ID = re.compile(r"^(?P<name>.+)-(?P<date>\d{8})-(?P<time>\d{6})(?:-(?P<n>\d+))?$")
MAX_SHORT_NAME = 24

Curves = Mapping[str, tuple[Sequence[float], Sequence[float]]]  # "train" / "val" -> (steps, losses)


def _clipped(name: str) -> str:
    return name if len(name) <= MAX_SHORT_NAME else name[: MAX_SHORT_NAME - 1] + "…"


def _name_forms(run_id: str) -> list[str]:
    """Ever longer names of one run, the whole id last: the typed name, + the launch time, + the date."""
    stamped = _STAMPED_ID.match(run_id)
    if stamped is None:
        return [_clipped(run_id), run_id]
    name, day, time = _clipped(stamped["name"]), stamped["date"], stamped["time"]
    again = f" #{stamped['n']}" if stamped["n"] else ""
    return [
        name,
        f"{name} {time[:2]}:{time[2:4]}",
        f"{name} {day[4:6]}-{day[6:]} {time[:2]}:{time[2:4]}:{time[4:]}{again}",
        run_id,
    ]


def short_run_names(run_ids: Sequence[str]) -> dict[str, str]:
    """A short, distinct legend name for each run: the name its user typed; with the launch time (then
    the date) where chosen runs share a name; the whole id where nothing shorter tells them apart."""
    forms = {run_id: _name_forms(run_id) for run_id in run_ids}

    def form(run_id: str, level: int) -> str:
        return forms[run_id][min(level, len(forms[run_id]) - 1)]

    names = {}
    for run_id in run_ids:
        group = [other for other in run_ids if form(other, 0) == form(run_id, 0)]
        level = 0
        while len({form(other, level) for other in group}) < len(group):  # ends: whole ids are distinct
            level += 1
        names[run_id] = form(run_id, level)
    return names


def loss_curves(
    runs: Mapping[str, Curves],
    *,
    title: str,
    provenance: Mapping[str, object] | None = None,
) -> go.Figure:
    """Training curves: per run, "train" as a thin line and "val" as a dashed line with markers, both in
    the run's colour. ``runs``: {run id: {"train": (steps, losses), "val": (steps, losses)}}.

    One run: the legend says "train" and "validation". Several: each entry starts with the run's short
    name. The hover names the whole run id, the split, the step and the loss."""
    fig = go.Figure()
    names = short_run_names(list(runs)) if len(runs) > 1 else {}
    for i, (run_id, curves) in enumerate(runs.items()):
        colour = RUN_COLOURS[i % len(RUN_COLOURS)]
        for split, style in (("train", {}), ("val", {"dash": "dash"})):
            if split not in curves:
                continue
            xs, ys = curves[split]
            legend = SPLIT_NAMES[split] if run_id not in names else f"{names[run_id]} · {SPLIT_NAMES[split]}"
            fig.add_trace(
                go.Scatter(
                    x=list(xs),
                    y=list(ys),
                    mode="lines+markers" if split == "val" else "lines",
                    name=safe_label(legend),
                    legendgroup=run_id,
                    line={"color": colour, **style},
                    meta=safe_label(run_id),  # %{meta}: the id as data, never parsed as a template
                    hovertemplate=f"%{{meta}}<br>{SPLIT_NAMES[split]} loss %{{y:.4f}} at step %{{x:,}}<extra></extra>",
                )
            )
    fig.update_xaxes(title="training step")
    fig.update_yaxes(title="cross-entropy loss (nats)")
    subtitle = " · ".join(f"{k}: {safe_label(str(v))}" for k, v in (provenance or {}).items() if v is not None)
    heading = safe_label(title) + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    fig.update_layout(title={"text": heading, "x": 0.0}, height=400, margin={"l": 10, "r": 10, "t": 70, "b": 10})
    return fig
