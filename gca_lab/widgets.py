r"""Interactive explorers for the notebooks: thin widget views over :mod:`gca_lab.explore`.

Every explorer is a **view class** that builds its ipywidgets controls and plotly ``FigureWidget`` s
*once* and, on a control change, calls a pure ``compute_*`` function of :mod:`gca_lab.explore` and
writes the new arrays into the existing traces (``with fig.batch_update(): fig.data[i].z = ...``).
Figures are never re-created. ``.state`` holds the last computed data, ``.controls`` the controls by
name, ``.status`` a message line (errors from the library are shown there, never as a traceback;
non-finite results are refused before they reach a figure). Nothing here computes.

- :class:`PlanExplorer` (notebook 02): kernel, plan and target heatmaps, marginal deviations,
  convergence and every loss, over :func:`gca_lab.explore.compute_plan`.
- :class:`NoisyViewsExplorer` (notebook 03): balanced vs unbalanced plan with corrupted pairs, over
  :func:`gca_lab.explore.compute_corrupted_mass`.
- :class:`SphereExplorer` (notebook 04): a step slider over :class:`gca_lab.explore.SphereTrajectories`.
- :class:`TrainingPlayground` (notebook 13): Train / Stop buttons over
  :func:`gca_lab.explore.playground.compute_training_run`, live loss and probe curves of every run.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np

from . import methods as _methods
from . import viz as _viz
from .explore.noisy_views import CorruptedMass, compute_corrupted_mass
from .explore.plans import LOSS_NAMES, PlanData, PlanParams, compute_plan
from .explore.playground import (
    PLAYGROUND_METHODS,
    PlaygroundRun,
    PlaygroundSettings,
    compute_training_run,
)
from .explore.sphere import SphereTrajectories

__all__ = ["RHO_CHOICES", "PlanExplorer", "NoisyViewsExplorer", "SphereExplorer", "TrainingPlayground"]

#: The values of the ``rho`` sliders (KL marginal penalty; ``inf`` = hard constraint).
RHO_CHOICES: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, math.inf)

#: Control geometry: the description column and the slider track, in CSS px (a track of about 300 px
#: reads to one step of a 50-step slider; the readout takes the rest of the widget's width).
DESCRIPTION_PX = 130
TRACK_PX = 300
CONTROL_PX = DESCRIPTION_PX + TRACK_PX + 40  # two columns fit a JupyterLab cell at 1400 px

#: What a notebook shows for an explorer before its cell runs (a saved notebook keeps no widget state).
PLACEHOLDER = "*Interactive explorer: run the cell to start the explorer (it needs a live kernel).*"


def _widgets():
    import ipywidgets as w

    return w


def _figure_widget(fig: Any) -> Any:
    import plotly.graph_objects as go

    try:
        return go.FigureWidget(fig)
    except ImportError as exc:  # plotly >= 6 needs anywidget for FigureWidget
        raise ImportError(
            "the gca_lab explorers need plotly FigureWidget, which (plotly >= 6) needs the 'anywidget' "
            "package: pip install anywidget"
        ) from exc


def _rho_slider(description: str, value: float) -> Any:
    w = _widgets()
    options = [("inf" if math.isinf(r) else f"{r:g}", r) for r in RHO_CHOICES]
    if value not in RHO_CHOICES:
        raise ValueError(f"{description} must be one of {RHO_CHOICES}, got {value!r}")
    return w.SelectionSlider(options=options, value=value, description=description, continuous_update=False)


def _sized(*controls: Any) -> None:
    """The one control geometry: :data:`DESCRIPTION_PX` of description, a track of about :data:`TRACK_PX`."""
    for c in controls:
        c.style.description_width = f"{DESCRIPTION_PX}px"
        c.layout.width = f"{CONTROL_PX}px"


def _status_line() -> Any:
    """The message line of an explorer (CSS class ``gca-status``, which the browser test reads)."""
    status = _widgets().HTML()
    status.add_class("gca-status")
    return status


def _display_value(mat: np.ndarray, log10: bool) -> np.ndarray:
    if not log10:
        return mat
    with np.errstate(divide="ignore"):
        out = np.log10(np.where(mat > 0, mat, np.nan))
    return out


class _View:
    """Shared plumbing: ``.widget`` (the layout), notebook display, ``.status``, timing."""

    widget: Any
    status: Any
    redraw_ms: list[float]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's view, and :data:`PLACEHOLDER` as Markdown and text for a page without the kernel
        (a saved notebook), in place of the raw ``VBox(children=...)`` repr."""
        bundle = self.widget._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data or {})
        data["text/plain"] = PLACEHOLDER.strip("*")
        data["text/markdown"] = PLACEHOLDER
        return (data, bundle[1]) if isinstance(bundle, tuple) else data

    @property
    def last_redraw_ms(self) -> float:
        """Wall time of the last ``compute + in-place update``, in milliseconds."""
        return self.redraw_ms[-1] if self.redraw_ms else math.nan

    @contextlib.contextmanager
    def hold(self) -> Any:
        """Set several controls at once with a single redraw at the end: ``with ex.hold(): ...``."""
        self._held = True
        try:
            yield self
        finally:
            self._held = False
            self.update()

    def _set_status(self, text: str, error: bool = False) -> None:
        color = "#b00020" if error else "#555"
        self.status.value = f"<span style='color:{color}'>{text}</span>" if text else ""


class PlanExplorer(_View):
    """Sliders over ``eps``, rounds, ``rho_a``, ``rho_b``, layout, view noise, corrupted pairs, ``alpha``, ``beta``.

    Shows at once (plotly ``FigureWidget`` s built once, updated in place):

    - ``fig_maps``: heatmaps of the kernel ``K / max K``, the plan ``P`` and the target (traces 0, 1, 2);
      the ``scale`` toggle shows linear values or ``log10``;
    - ``fig_marginals``: the relative deviations ``|P1 - a| / a`` and ``|P^T 1 - b| / b`` (traces 0, 1;
      log axis floored at :data:`gca_lab.viz.DEVIATION_FLOOR`);
    - ``fig_convergence``: the Sinkhorn marginal error per iteration (log axis);
    - ``fig_losses``: the value of every loss of :data:`LOSS_NAMES`;
    - ``status`` (messages: errors, refused settings) and ``readout`` (plan checksum, diagonal mass, timing).

    ``controls`` maps ``eps, n_iters, rho_a, rho_b, layout, noise, corrupt, alpha, beta, scale`` to widgets;
    ``state`` is the last :class:`PlanData` shown; ``redraw_ms`` the timings of every redraw.
    """

    def __init__(self, params: PlanParams | None = None) -> None:
        w = _widgets()
        p = params or PlanParams()
        self.base = p
        self.controls = {
            "eps": w.FloatLogSlider(value=p.eps, base=10, min=-2, max=math.log10(2.0), step=0.01, description="eps",
                                    readout_format=".3f", continuous_update=False),
            "n_iters": w.IntSlider(value=p.n_iters, min=0, max=50, description="rounds", continuous_update=False),
            "rho_a": _rho_slider("rho_a", p.rho_a),
            "rho_b": _rho_slider("rho_b", p.rho_b),
            "layout": w.ToggleButtons(options=["cross", "joint"], value=p.layout, description="layout"),
            "noise": w.FloatSlider(value=p.noise, min=0.0, max=0.5, step=0.05, description="view noise",
                                   continuous_update=False),
            "corrupt": w.FloatSlider(value=p.corrupt, min=0.0, max=1.0, step=0.05, description="corrupted",
                                     continuous_update=False),
            "alpha": w.FloatSlider(value=p.alpha, min=0.0, max=1.0, step=0.05, description="alpha (same dom.)",
                                   continuous_update=False),
            "beta": w.FloatSlider(value=p.beta, min=0.0, max=1.0, step=0.05, description="beta (other dom.)",
                                  continuous_update=False),
            "scale": w.ToggleButtons(options=["linear", "log10"], value="linear", description="colour"),
        }
        _sized(*self.controls.values())
        self.status = _status_line()
        self.readout = w.HTML()
        self.readout.add_class("gca-readout")
        self.redraw_ms = []
        first = compute_plan(p)
        if not first.ok:
            first = compute_plan(PlanParams())
        self.state = first
        log10 = False
        self.fig_maps = _figure_widget(_viz.plotly_heatmaps(
            {"kernel K / max K": first.kernel, "plan P": first.plan, "target (rows scaled to a)": first.target}))
        self.fig_marginals = _figure_widget(_viz.plotly_marginals(first.row_deviation, first.col_deviation))
        self.fig_convergence = _figure_widget(_viz.plotly_convergence(first.errors if first.errors.size else [np.nan]))
        self.fig_losses = _figure_widget(_viz.plotly_bars({_methods.label(k): v for k, v in first.losses.items()}))
        self._log10 = log10
        self._show(first, 0.0)
        for c in self.controls.values():
            c.observe(self._on_change, names="value")
        left = w.VBox([self.controls[k] for k in ("eps", "n_iters", "rho_a", "rho_b", "layout")])
        right = w.VBox([self.controls[k] for k in ("noise", "corrupt", "alpha", "beta", "scale")])
        self.widget = w.VBox([
            w.HBox([left, right]), self.status, self.readout, self.fig_maps,
            self.fig_marginals, self.fig_convergence, self.fig_losses,
        ])

    def params(self) -> PlanParams:
        """The :class:`PlanParams` of the current control values."""
        c = self.controls
        return replace(self.base, eps=float(c["eps"].value), n_iters=int(c["n_iters"].value),
                       rho_a=float(c["rho_a"].value), rho_b=float(c["rho_b"].value), layout=c["layout"].value,
                       noise=float(c["noise"].value), corrupt=float(c["corrupt"].value),
                       alpha=float(c["alpha"].value), beta=float(c["beta"].value))

    def _on_change(self, change: Any = None) -> None:
        if not getattr(self, "_held", False):
            self.update()

    def update(self) -> PlanData:
        """Recompute from the controls and redraw in place; returns the new :class:`PlanData`."""
        t0 = time.perf_counter()
        try:
            data = compute_plan(self.params())
        except Exception as exc:  # noqa: BLE001 - a widget must never show a traceback
            data = PlanData.failure(self.params(), f"unexpected error: {type(exc).__name__}: {exc}")
        self._show(data, t0)
        return data

    def _show(self, data: PlanData, t0: float) -> None:
        if not data.ok:
            self._set_status(data.message + " (figures keep the last valid result)", error=True)
            return
        log10 = self.controls["scale"].value == "log10" if hasattr(self, "controls") else False
        with self.fig_maps.batch_update():
            self.fig_maps.data[0].z = _display_value(data.kernel, log10)
            self.fig_maps.data[1].z = _display_value(data.plan, log10)
            self.fig_maps.data[2].z = _display_value(data.target, log10)
        with self.fig_marginals.batch_update():
            rows, cols = _viz.floored(data.row_deviation), _viz.floored(data.col_deviation)
            self.fig_marginals.data[0].y = rows
            self.fig_marginals.data[1].y = cols
            self.fig_marginals.layout.yaxis.range = _viz.log_range(np.concatenate([rows, cols]))
        with self.fig_convergence.batch_update():
            e = data.errors
            self.fig_convergence.data[0].x = np.arange(1, e.size + 1)
            self.fig_convergence.data[0].y = np.where(e > 0, e, np.nan) if e.size else e
        with self.fig_losses.batch_update():
            vals = [data.losses[k] for k in LOSS_NAMES]
            self.fig_losses.data[0].x = [_methods.label(k) for k in LOSS_NAMES]
            self.fig_losses.data[0].y = [None if not math.isfinite(v) else v for v in vals]
            self.fig_losses.data[0].text = ["n/a" if not math.isfinite(v) else f"{v:.3g}" for v in vals]
        self.state = data
        ms = (time.perf_counter() - t0) * 1000 if t0 else data.seconds * 1000
        self.redraw_ms.append(ms)
        self._set_status(data.message, error=False)
        self.readout.value = (
            f"plan checksum: {data.checksum:.6e} | mass on positive pairs: {data.diag_mass:.4f} | "
            f"total mass: {data.plan.sum():.4f} | redraw {ms:.0f} ms"
        )


class NoisyViewsExplorer(_View):
    """Sliders ``fraction`` (corrupted pairs) and ``rho``: balanced vs unbalanced plan side by side.

    ``fig_maps`` traces 0, 1: the balanced plan and the plan with penalty ``rho`` (both times ``B`` over
    their total mass); ``fig_bars`` traces 0 (balanced), 1 (unbalanced): mean column mass on corrupted /
    clean pairs (:class:`gca_lab.explore.CorruptedMass`).
    ``state`` is ``(balanced, unbalanced)`` :class:`CorruptedMass`.
    """

    def __init__(self, fraction: float = 0.25, rho: float = 0.1, *, n: int = 96, eps: float = 0.1,
                 n_iters: int = 100, seed: int = 0) -> None:
        import plotly.graph_objects as go

        w = _widgets()
        self._kw = dict(n=n, eps=eps, n_iters=n_iters, seed=seed)
        self.controls = {
            "fraction": w.FloatSlider(value=fraction, min=0.0, max=0.9, step=0.05, description="corrupted",
                                      continuous_update=False),
            "rho": _rho_slider("rho", rho),
        }
        _sized(*self.controls.values())
        self.status = _status_line()
        self.redraw_ms = []
        bal, unb = self._compute()
        self.state = (bal, unb)
        self.fig_maps = _figure_widget(_viz.plotly_heatmaps({"balanced plan (x B)": bal.plan,
                                                             "unbalanced plan (x B / total mass)": unb.plan}))
        cats = ["corrupted columns", "clean columns"]
        bars = go.Figure([
            # conditions, not methods: colours outside the method palette
            go.Bar(x=cats, y=[bal.col_mass_corrupted, bal.col_mass_clean], name="balanced (rho = inf)",
                   marker_color=_viz.OTHER_COLORS[1]),
            go.Bar(x=cats, y=[unb.col_mass_corrupted, unb.col_mass_clean], name="unbalanced",
                   marker_color=_viz.OTHER_COLORS[0]),
        ])
        bars.update_layout(height=300, title=dict(text="mean column mass (x B / total mass)", y=0.97),
                           margin=dict(l=10, r=10, t=60, b=10), font=dict(size=_viz.PLOTLY_FONT_PX),
                           xaxis_title="columns of the plan", yaxis_title="mean column mass (x B / total)",
                           legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
        self.fig_bars = _figure_widget(bars)
        self._show(bal, unb, 0.0)
        for c in self.controls.values():
            c.observe(lambda change: None if getattr(self, "_held", False) else self.update(), names="value")
        self.widget = w.VBox([w.VBox(list(self.controls.values())), self.status, self.fig_maps, self.fig_bars])

    def _compute(self) -> tuple[CorruptedMass, CorruptedMass]:
        f = float(self.controls["fraction"].value)
        rho = float(self.controls["rho"].value)
        return (compute_corrupted_mass(f, math.inf, **self._kw), compute_corrupted_mass(f, rho, **self._kw))

    def update(self) -> None:
        """Recompute from the controls and redraw in place."""
        t0 = time.perf_counter()
        try:
            bal, unb = self._compute()
        except (ValueError, TypeError) as exc:
            self._set_status(f"cannot compute: {exc}", error=True)
            return
        self._show(bal, unb, t0)

    def _show(self, bal: CorruptedMass, unb: CorruptedMass, t0: float) -> None:
        if not (np.isfinite(bal.plan).all() and np.isfinite(unb.plan).all()):
            self._set_status("non-finite plan; figures keep the last valid result", error=True)
            return
        with self.fig_maps.batch_update():
            self.fig_maps.data[0].z = bal.plan
            self.fig_maps.data[1].z = unb.plan
        with self.fig_bars.batch_update():
            self.fig_bars.data[0].y = [bal.col_mass_corrupted, bal.col_mass_clean]
            self.fig_bars.data[1].y = [unb.col_mass_corrupted, unb.col_mass_clean]
        self.state = (bal, unb)
        if t0:
            self.redraw_ms.append((time.perf_counter() - t0) * 1000)
        k = int(bal.corrupted.sum())
        self._set_status(f"{k} corrupted pair(s) of {bal.corrupted.size}" + ("" if k else " (nothing corrupted)"))


class SphereExplorer(_View):
    """A step slider (with a play button) over :class:`SphereTrajectories`: points on the circle/sphere of
    every method side by side (``fig_points``, updated in place) and alignment/uniformity curves with a
    marker at the current step (``fig_curves``; the marker is ``layout.shapes``, moved in place).

    ``controls["step"]`` indexes the snapshots; ``state`` is the shown snapshot index.
    """

    def __init__(self, traj: SphereTrajectories) -> None:
        w = _widgets()
        self.traj = traj
        self.redraw_ms = []
        self.status = _status_line()
        s_last = len(traj.steps) - 1
        # the slider reads the optimization step (as the status line does); its value is the snapshot index
        self.controls = {
            "step": w.SelectionSlider(options=[(str(int(s)), k) for k, s in enumerate(traj.steps)], value=0,
                                      description="step", continuous_update=True),
        }
        _sized(self.controls["step"])
        self.play = w.Play(value=0, min=0, max=s_last, interval=150, description="play")
        w.jslink((self.play, "value"), (self.controls["step"], "index"))
        first = {_methods.label(m): traj.points[m][0] for m in traj.methods}
        fig = _viz.plotly_points(first, colors=traj.colors)
        self._idx = list(fig.layout.meta["point_traces"])
        self.fig_points = _figure_widget(fig)
        self.fig_curves = _figure_widget(_viz.plotly_curves(
            traj.steps, {"alignment (lower = aligned)": self._labelled(traj.alignment),
                         "uniformity (lower = uniform)": self._labelled(traj.uniformity)},
            marker_x=float(traj.steps[0]), xlabel="optimization step",
            ylabels={"alignment (lower = aligned)": "E ||z' - z''||²",
                     "uniformity (lower = uniform)": "log E exp(-2 ||z - w||²)"}))
        self.state = 0
        self._show(0)
        self.controls["step"].observe(lambda change: None if getattr(self, "_held", False) else self.update(),
                                      names="value")
        self.widget = w.VBox([w.HBox([self.play, self.controls["step"]]), self.status, self.fig_points, self.fig_curves])

    @staticmethod
    def _labelled(series: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {_methods.label(m): v for m, v in series.items()}

    def update(self) -> None:
        """Show the snapshot selected by ``controls["step"]`` (in place)."""
        t0 = time.perf_counter()
        self._show(int(self.controls["step"].value))
        self.redraw_ms.append((time.perf_counter() - t0) * 1000)

    def _show(self, k: int) -> None:
        traj = self.traj
        with self.fig_points.batch_update():
            for i, m in zip(self._idx, traj.methods):
                pts = traj.points[m][k]
                self.fig_points.data[i].x = pts[:, 0]
                self.fig_points.data[i].y = pts[:, 1]
                if traj.dim == 3:
                    self.fig_points.data[i].z = pts[:, 2]
        x = float(traj.steps[k])
        with self.fig_curves.batch_update():
            for shape in self.fig_curves.layout.shapes:
                shape.x0 = x
                shape.x1 = x
        self.state = k
        parts = [f"{_methods.label(m)}: alignment {traj.alignment[m][k]:.3f}, uniformity {traj.uniformity[m][k]:.3f}"
                 for m in traj.methods]
        self._set_status(f"step {int(traj.steps[k])}: " + " | ".join(parts))


class TrainingPlayground(_View):
    """Train an MNIST-1D encoder live: method, ``eps``, ``rho``, rounds, false positives and epochs; Train,
    Stop and Clear buttons; the loss and the probe accuracy of every run on the same axes.

    Train reads the controls into a :class:`~gca_lab.explore.playground.PlaygroundSettings` and runs
    :func:`~gca_lab.explore.playground.compute_training_run` in a background thread, so the kernel stays
    free for the Stop click; after every epoch the run's two traces of ``fig`` (loss, left; probe accuracy
    in %, right, with the random-init encoder at epoch 0) get the new points in place. Stop ends the run
    after the current epoch and keeps its partial curves. Earlier runs stay on the axes (legend: run number
    and settings, epochs included: they set the learning-rate schedule) until Clear.

    ``runs`` holds the latest :class:`~gca_lab.explore.playground.PlaygroundRun` of every run (traces
    ``2 i`` and ``2 i + 1`` of ``fig`` are run ``i``); ``thread`` the worker of the current run;
    ``train(blocking=True)`` trains in the caller's thread (tests, a notebook's demo run). The
    ``false_positives`` slider exists when :class:`gca_lab.train.TrainConfig` has that option.
    """

    #: Runs take their method's colour (:func:`gca_lab.methods.color`); repeated runs of one method
    #: differ by dash, in this order.
    DASHES = ("solid", "dash", "dot", "dashdot", "longdash")

    def __init__(self, settings: PlaygroundSettings | None = None) -> None:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        w = _widgets()
        s = settings or PlaygroundSettings()
        s.config()  # bad defaults fail here, with the field named, not at the first click
        self.base = s
        rhos = sorted(set(RHO_CHOICES) | {float(s.rho)})
        self.controls = {
            "method": w.Dropdown(options=[(_methods.label(m), m) for m in PLAYGROUND_METHODS], value=s.method,
                                 description="method"),
            "eps": w.FloatLogSlider(value=s.eps, base=10, min=-1.5, max=math.log10(2.0), step=0.01,
                                    description="eps", readout_format=".3f", continuous_update=False),
            "rho": w.SelectionSlider(options=[("inf" if math.isinf(r) else f"{r:g}", r) for r in rhos],
                                     value=float(s.rho), description="rho", continuous_update=False),
            "n_iters": w.IntSlider(value=s.n_iters, min=1, max=30, description="rounds", continuous_update=False),
            "epochs": w.IntSlider(value=s.epochs, min=1, max=30, description="epochs", continuous_update=False),
        }
        self.controls["false_positives"] = w.FloatSlider(
            value=s.false_positives, min=0.0, max=0.8, step=0.1, description="false positives",
            continuous_update=False)
        _sized(*self.controls.values())
        self.train_button = w.Button(description="Train", button_style="primary", icon="play")
        self.stop_button = w.Button(description="Stop", button_style="warning", icon="stop", disabled=True)
        self.clear_button = w.Button(description="Clear runs", icon="trash")
        for b, css in ((self.train_button, "gca-train"), (self.stop_button, "gca-stop"),
                       (self.clear_button, "gca-clear")):
            b.add_class(css)
        self.status = _status_line()
        self.readout = w.HTML()
        self.readout.add_class("gca-readout")
        self.redraw_ms = []
        self.runs: list[PlaygroundRun] = []
        self.thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

        fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss (mean per epoch)",
                                                            "frozen-probe test accuracy (%)"))
        fig.update_layout(height=440, margin=dict(l=10, r=10, t=40, b=10), template="plotly_white",
                          font=dict(size=_viz.PLOTLY_FONT_PX),
                          legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0))
        fig.update_xaxes(title_text="epoch", rangemode="tozero")
        fig.update_yaxes(title_text="loss (nats per sample)", row=1, col=1)
        fig.update_yaxes(title_text="accuracy (%)", row=1, col=2)
        self.fig = _figure_widget(go.Figure(fig))

        self.controls["method"].observe(lambda change: self.update(), names="value")
        self.train_button.on_click(lambda b: self.train())
        self.stop_button.on_click(lambda b: self.stop())
        self.clear_button.on_click(lambda b: self.clear())
        self.update()
        self._set_status("press Train to start a run")
        names = list(self.controls)
        left = w.VBox([self.controls[k] for k in names[:3]])
        right = w.VBox([self.controls[k] for k in names[3:]])
        buttons = w.HBox([self.train_button, self.stop_button, self.clear_button])
        self.widget = w.VBox([w.HBox([left, right]), buttons, self.status, self.readout, self.fig])

    @property
    def running(self) -> bool:
        """A run is in progress (in the background thread or a blocking ``train``)."""
        return self.train_button.disabled

    def update(self) -> None:
        """Grey out the knobs the selected method ignores (rounds without Sinkhorn iterations, ``rho``
        without relaxed marginals)."""
        params = _methods.get(self.controls["method"].value).params
        self.controls["n_iters"].disabled = "n_iters" not in params
        self.controls["rho"].disabled = "rho" not in params

    def settings(self) -> PlaygroundSettings:
        """The :class:`PlaygroundSettings` of the current control values."""
        c = self.controls
        fp = float(c["false_positives"].value) if "false_positives" in c else 0.0
        return replace(self.base, method=c["method"].value, eps=float(c["eps"].value), rho=float(c["rho"].value),
                       n_iters=int(c["n_iters"].value), epochs=int(c["epochs"].value), false_positives=fp)

    def train(self, *, blocking: bool = False) -> None:
        """Start a run with the current settings (ignored while one runs): new traces, then training in a
        background thread (``blocking=False``) or in this thread."""
        with self._lock:
            if self.running:
                return
            try:
                settings = self.settings()
                settings.config()
            except (ValueError, TypeError) as exc:
                self._set_status(f"cannot train: {exc}", error=True)
                return
            self.train_button.disabled = True
            self.clear_button.disabled = True
            self.stop_button.disabled = False
            self._stop.clear()
        i = len(self.runs)
        self.runs.append(PlaygroundRun(settings=settings, label=settings.label()))
        line = self._line(settings.method)
        name = self._name(i, settings)
        self.fig.add_scatter(x=[], y=[], mode="lines+markers", name=name, legendgroup=str(i), line=line,
                             xaxis="x", yaxis="y")
        self.fig.add_scatter(x=[], y=[], mode="lines+markers", name=name, legendgroup=str(i), line=line,
                             xaxis="x2", yaxis="y2", showlegend=False)
        self._set_status(f"run {i + 1} ({settings.label()}): building data, model and the random-init probe ...")
        if blocking:
            self._work(i, settings)
        else:
            self.thread = threading.Thread(target=self._work, args=(i, settings), name="gca-playground", daemon=True)
            self.thread.start()

    def _line(self, method: str) -> dict[str, str]:
        """The line of a new run: its method's colour, a dash per earlier run of the same method."""
        repeat = sum(r.settings.method == method for r in self.runs[:-1])
        return dict(color=_methods.color(method, "#222222"), dash=self.DASHES[repeat % len(self.DASHES)])

    @staticmethod
    def _name(i: int, settings: PlaygroundSettings, trained: int | None = None) -> str:
        """The legend entry of run ``i``: number, settings and epochs (they set the cosine schedule);
        a stopped run says how many of them it trained."""
        epochs = f"{settings.epochs} ep." if trained is None else f"stopped: {trained} of {settings.epochs} ep."
        return f"#{i + 1} {settings.label()} ({epochs})"

    def stop(self) -> None:
        """Ask the current run to end after its current epoch."""
        if self.running:
            self._stop.set()
            self.stop_button.disabled = True
            self._set_status(f"run {len(self.runs)}: stopping after this epoch ...")

    def clear(self) -> None:
        """Remove every finished run from the axes (not while a run trains)."""
        if self.running:
            return
        self.fig.data = ()
        self.runs = []
        self._set_status("cleared; press Train to start a run")
        self.readout.value = ""

    def _work(self, i: int, settings: PlaygroundSettings) -> None:
        try:
            run = compute_training_run(settings, on_epoch=lambda r: self._show(i, r), should_stop=self._stop.is_set)
            self.runs[i] = run
            if run.stopped:
                name = self._name(i, settings, trained=run.n_epochs)
                with self.fig.batch_update():
                    self.fig.data[2 * i].name = name
                    self.fig.data[2 * i + 1].name = name
            how = (f"stopped after {run.n_epochs} of {settings.epochs} epochs" if run.stopped
                   else f"finished {run.n_epochs} epoch" + ("s" if run.n_epochs != 1 else ""))
            acc = f", probe {100 * run.probe_acc[-1]:.1f} %" if run.probe_acc else ""
            self._set_status(f"run {i + 1} ({run.label}) {how}{acc} (random init "
                             f"{100 * run.init_probe_acc:.1f} %); {len(self.runs)} run(s) on the axes")
        except Exception as exc:  # noqa: BLE001 - a widget must never show a traceback
            self._set_status(f"run {i + 1} failed after {self.runs[i].n_epochs} epoch(s), its curves are kept: "
                             f"{type(exc).__name__}: {exc}", error=True)
        finally:
            self.train_button.disabled = False
            self.clear_button.disabled = False
            self.stop_button.disabled = True

    def _show(self, i: int, run: PlaygroundRun) -> None:
        t0 = time.perf_counter()
        finite = all(math.isfinite(v) for v in run.loss + run.probe_acc) and math.isfinite(run.init_probe_acc)
        if not finite:
            self._set_status(f"run {i + 1}: non-finite value refused; the curves keep the last valid epoch",
                             error=True)
            return
        with self.fig.batch_update():
            # whole epochs only on the x axes, about ten ticks at most
            dtick = max(1, math.ceil(max(run.settings.epochs, *(r.settings.epochs for r in self.runs)) / 10))
            self.fig.layout.xaxis.dtick = self.fig.layout.xaxis2.dtick = dtick
            self.fig.data[2 * i].x = list(run.epochs)
            self.fig.data[2 * i].y = list(run.loss)
            self.fig.data[2 * i + 1].x = [0, *run.epochs]
            self.fig.data[2 * i + 1].y = [100 * a for a in (run.init_probe_acc, *run.probe_acc)]
        self.runs[i] = run
        ms = (time.perf_counter() - t0) * 1000
        self.redraw_ms.append(ms)
        total = run.settings.epochs
        if run.n_epochs:
            stopping = " (stopping after this epoch)" if self._stop.is_set() else ""
            self._set_status(f"run {i + 1} ({run.label}): epoch {run.n_epochs}/{total}, loss "
                             f"{run.loss[-1]:.4f}, probe {100 * run.probe_acc[-1]:.1f} %{stopping}")
            self.readout.value = (f"epoch {run.epoch_seconds[-1]:.2f} s + probe {run.probe_seconds[-1]:.2f} s, "
                                  f"redraw {ms:.1f} ms")
        else:
            self._set_status(f"run {i + 1} ({run.label}): random-init probe {100 * run.init_probe_acc:.1f} %, "
                             f"training epoch 1/{total} ...")
            self.readout.value = f"setup {run.setup_seconds:.2f} s, redraw {ms:.1f} ms"
