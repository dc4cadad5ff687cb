"""Posterior, likelihood ratios and intervals for many encoded cases at once.

A case is encoded as one table row per finding (0 = not known) plus a setting
index. Everything here is vectorised over cases; scoring one case is scoring a
batch of one, so the single-case and batch paths share every number.

The likelihood ratio reported for finding *f* and condition *c* is

    P(f | c) / P(f | not c, the other known findings)

where "not c" weighs the other conditions by their posterior given every known
finding except *f*. With it, adding *f* multiplies the odds of *c* by exactly this
ratio: the explanation and the posterior cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backmice.engine.compiled import CompiledModel

__all__ = ["Scores", "score"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Scores:
    """Numbers for a batch of N cases over C conditions and F findings."""

    posterior: FloatArray  # (N, C), rows sum to 1
    interval: FloatArray  # (N, C, 2): 5th and 95th percentile, widened to hold the posterior
    likelihood_ratio: FloatArray  # (N, F, C); 1.0 where the finding is not known


def _softmax(logits: FloatArray) -> FloatArray:
    shifted: FloatArray = logits - logits.max(axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=-1, keepdims=True)
    return shifted


def log_joint(model: CompiledModel, rows: IntArray, settings: IntArray) -> FloatArray:
    """Unnormalised log posterior, (N, C)."""
    joint: FloatArray = model.log_prior[settings] + model.log_likelihood[rows].sum(axis=1)
    return joint


def posterior(model: CompiledModel, rows: IntArray, settings: IntArray) -> FloatArray:
    """Posterior over the conditions, (N, C)."""
    probs: FloatArray = _softmax(log_joint(model, rows, settings))
    return probs


def score(
    model: CompiledModel, rows: IntArray, settings: IntArray, intervals: bool = True
) -> Scores:
    """Posterior, leave-one-out likelihood ratios and (optionally) intervals."""
    joint = log_joint(model, rows, settings)
    post = _softmax(joint.copy())
    lr = _likelihood_ratios(model, rows, joint)
    if intervals:
        bounds = _intervals(model, rows, settings)
        bounds[..., 0] = np.minimum(bounds[..., 0], post)
        bounds[..., 1] = np.maximum(bounds[..., 1], post)
    else:
        bounds = np.stack([post, post], axis=-1)
    return Scores(posterior=post, interval=bounds, likelihood_ratio=lr)


def _likelihood_ratios(model: CompiledModel, rows: IntArray, joint: FloatArray) -> FloatArray:
    n_conditions = joint.shape[1]
    log_lik = model.log_likelihood[rows]  # (N, F, C)
    weights = _softmax(joint[:, None, :] - log_lik)  # posterior without finding f
    lik = model.likelihood[rows]
    others = np.ones((n_conditions, n_conditions)) - np.eye(n_conditions)
    # sums over the other conditions, done as a product so no 1 - w cancellation occurs
    numerator = (lik * weights) @ others
    denominator = weights @ others
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = lik * denominator / numerator
    ratio[rows == 0] = 1.0
    return ratio


def _intervals(model: CompiledModel, rows: IntArray, settings: IntArray) -> FloatArray:
    n_cases = rows.shape[0]
    k, n_conditions = model.samples, len(model.condition_ids)
    onehot = np.zeros((n_cases, model.n_rows))
    np.put_along_axis(onehot, rows, 1.0, axis=1)
    onehot[:, 0] = 0.0
    logits = (onehot @ model.sample_log_likelihood).reshape(n_cases, k, n_conditions)
    logits += model.sample_log_prior.transpose(1, 0, 2)[settings]
    probs = _softmax(logits)
    pct = np.percentile(probs, [5.0, 95.0], axis=1)  # (2, N, C)
    return np.ascontiguousarray(np.moveaxis(pct, 0, -1))
