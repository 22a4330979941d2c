"""Evaluation figures for MLflow (matplotlib, Agg: no display needed). Each function returns a Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from models.evaluation import calibration_table, gains_table


def new_figure(title: str, size: tuple[float, float] = (6, 4.5)) -> tuple[Figure, Axes]:
    """Return an Agg figure (no display needed) with one titled, gridded axes."""
    fig = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig, ax


def roc_figure(y: np.ndarray, p: np.ndarray, oracle: np.ndarray | None = None) -> Figure:
    """Return the ROC curve (and the oracle's, from the generator's true probabilities, when given)."""
    fig, ax = new_figure("ROC curve")
    for label, scores in (("model", p), ("oracle (true probability)", oracle)):
        if scores is not None:
            fpr, tpr, _ = roc_curve(y, scores)
            ax.plot(fpr, tpr, label=label)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(loc="lower right")
    return fig


def pr_figure(y: np.ndarray, p: np.ndarray) -> Figure:
    """Return the precision-recall curve with the base rate."""
    fig, ax = new_figure("Precision-recall curve")
    precision, recall, _ = precision_recall_curve(y, p)
    ax.plot(recall, precision)
    ax.axhline(float(np.mean(y)), ls="--", c="grey", lw=0.8, label="base rate")
    ax.set(xlabel="recall", ylabel="precision")
    ax.legend()
    return fig


def calibration_figure(y: np.ndarray, p: np.ndarray, bins: int, binning: str) -> Figure:
    """Return observed churn rate against mean score per bin."""
    fig, ax = new_figure(f"Calibration ({binning} bins)")
    table = calibration_table(y, p, bins, binning)
    top = float(max(table["mean_score"].max(), table["observed"].max()))
    ax.plot([0, top], [0, top], ls="--", c="grey", lw=0.8)
    ax.plot(table["mean_score"], table["observed"], marker="o")
    ax.set(xlabel="mean predicted probability", ylabel="observed churn rate")
    return fig


def gains_figure(y: np.ndarray, p: np.ndarray) -> Figure:
    """Return the cumulative gains curve (share of churners captured vs share of base targeted)."""
    fig, ax = new_figure("Cumulative gains")
    table = gains_table(y, p, points=200)
    ax.plot(table["share"], table["capture"], label="model")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8, label="random")
    ax.set(xlabel="share of base targeted", ylabel="share of churners captured")
    ax.legend(loc="lower right")
    return fig


def importance_figure(importance: pd.Series, top: int = 25) -> Figure:
    """Return a horizontal bar chart of the largest feature importances (gain)."""
    fig, ax = new_figure("Feature importance (gain)")
    data = importance.head(top)[::-1]
    ax.barh(list(data.index), data.to_numpy())
    fig.set_size_inches(6, max(3.0, 0.25 * len(data) + 1))
    fig.tight_layout()
    return fig


def score_by_group_figure(scores: pd.Series, groups: pd.Series, title: str) -> Figure:
    """Return box plots of the churn score per group (e.g. tier)."""
    fig, ax = new_figure(title)
    names = sorted(groups.dropna().astype(str).unique())
    data = [scores[groups.astype(str) == name].to_numpy() for name in names]
    ax.boxplot(data, tick_labels=names, showfliers=False)
    ax.set(ylabel="churn score")
    return fig


def confusion_figure(y: np.ndarray, p: np.ndarray, share: float) -> Figure:
    """Return the confusion matrix when the top `share` of the base by score is targeted."""
    k = round(share * len(y))
    flagged = np.zeros(len(y), dtype=bool)
    flagged[np.argsort(-p, kind="stable")[:k]] = True
    y_bool = np.asarray(y).astype(bool)
    matrix = np.array(
        [[np.sum(~y_bool & ~flagged), np.sum(~y_bool & flagged)], [np.sum(y_bool & ~flagged), np.sum(y_bool & flagged)]]
    )
    fig, ax = new_figure(f"Confusion at the cost-optimal cut-off (top {share:.1%})")
    ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:,}", ha="center", va="center", color="white" if value > matrix.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["not targeted", "targeted"], yticklabels=["stayed", "churned"])
    ax.grid(False)
    return fig
