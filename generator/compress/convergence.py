"""Convergent learning (Li et al. 2016): do two networks that differ only in their random seed
learn the same units? For a layer of each: the correlation of every unit of one with every unit
of the other over the same inputs; each unit's best partner (semi-matching) and a one-to-one
pairing that maximises the summed correlation (bipartite matching, scipy's
linear_sum_assignment); and how well each unit of one network is a linear function of all the
other's units (least squares, and Lasso to see how few it needs)."""
from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment


def correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every column of a (samples × m) with every column of b (samples ×
    n): (m, n). A unit that never varies (dead) correlates 0 with everything."""
    za, zb = standardise(a), standardise(b)
    return za.T @ zb / a.shape[0]


def standardise(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    std = x.std(axis=0)
    return np.where(std > 0, (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0), 0.0)


def semi_matching(corr: np.ndarray) -> np.ndarray:
    """For each unit of the first network, the index of its most correlated unit in the second
    (several may pick the same one)."""
    return corr.argmax(axis=1)


def bipartite_matching(corr: np.ndarray) -> np.ndarray:
    """A one-to-one pairing (square matrices) maximising the total correlation: partner[i] is
    unit i's partner in the second network."""
    rows, cols = linear_sum_assignment(corr, maximize=True)
    partner = np.empty(corr.shape[0], dtype=np.int64)
    partner[rows] = cols
    return partner


def regression(a: np.ndarray, b: np.ndarray, alpha: float) -> dict:
    """Each unit of network a predicted from all units of network b, both standardised (a dead
    unit of a, all zeros, is left out): mean squared error of least squares and of the Lasso,
    and the mean number of b's units the Lasso uses."""
    from sklearn.exceptions import ConvergenceWarning   # here, not at the top: a slow import
    from sklearn.linear_model import Lasso
    za, zb = standardise(a), standardise(b)
    live = za.std(axis=0) > 0
    design = np.hstack([zb, np.ones((zb.shape[0], 1))])
    coef, *_ = np.linalg.lstsq(design, za[:, live], rcond=None)
    least_squares = float(((design @ coef - za[:, live]) ** 2).mean())
    errors, used = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for column in np.flatnonzero(live):
            lasso = Lasso(alpha=alpha, max_iter=5000).fit(zb, za[:, column])
            errors.append(float(((lasso.predict(zb) - za[:, column]) ** 2).mean()))
            used.append(int(np.count_nonzero(lasso.coef_)))
    return {"least_squares_mse": least_squares, "least_squares_units": int(zb.shape[1]),
            "lasso_mse": float(np.mean(errors)), "lasso_units": float(np.mean(used)), "alpha": alpha,
            "units": int(live.sum())}
