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
    #: (P, C): one row per known (case, finding) pair, cases in order and each case's
    #: findings in knowledge-base order; case n owns rows offsets[n]:offsets[n + 1]
    likelihood_ratio: FloatArray
    offsets: IntArray  # (N + 1,)

    def ratios_of(self, n: int) -> FloatArray:
        """Likelihood ratios of case n: (known findings, C)."""
        ratios: FloatArray = self.likelihood_ratio[self.offsets[n] : self.offsets[n + 1]]
        return ratios


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
    """Posterior over the conditions, (N, C): the central model only, no explanations."""
    if rows.shape[0] < _GATHER_BELOW:
        return _softmax(log_joint(model, rows, settings))
    probs: FloatArray = _softmax(_onehot(model, rows, settings) @ model.central_log_table)
    return probs


def _onehot(model: CompiledModel, rows: IntArray, settings: IntArray) -> FloatArray:
    """(N, rows + settings): 1 at each case's known rows and its setting's prior row."""
    n_cases = rows.shape[0]
    onehot = np.zeros((n_cases, model.n_rows + model.prior.shape[0]))
    np.put_along_axis(onehot, rows, 1.0, axis=1)
    onehot[:, 0] = 0.0
    onehot[np.arange(n_cases), model.n_rows + settings] = 1.0
    return onehot


def score(
    model: CompiledModel, rows: IntArray, settings: IntArray, intervals: bool = True
) -> Scores:
    """Posterior, leave-one-out likelihood ratios and (optionally) intervals."""
    n_cases, n_conditions = rows.shape[0], len(model.condition_ids)
    post = np.empty((n_cases, n_conditions))
    bounds = np.empty((n_cases, n_conditions, 2))
    joint = np.empty((n_cases, n_conditions))
    for start in range(0, n_cases, _STEP):
        stop = min(start + _STEP, n_cases)
        joint[start:stop], post[start:stop], step_bounds = _step(
            model, rows[start:stop], settings[start:stop], intervals
        )
        bounds[start:stop] = step_bounds
    lr, offsets = _likelihood_ratios(model, rows, joint, post)
    bounds[..., 0] = np.minimum(bounds[..., 0], post)
    bounds[..., 1] = np.maximum(bounds[..., 1], post)
    return Scores(posterior=post, interval=bounds, likelihood_ratio=lr, offsets=offsets)


def _log_space_ratios(
    model: CompiledModel, joint: FloatArray, known: IntArray, n_conditions: int
) -> FloatArray:
    """The same ratios in log space, for rows where a posterior underflowed to zero:
    log LR_c = log P(f|c) + logsumexp_{c'!=c}(joint - log P(f|.)) - logsumexp_{c'!=c}(joint)."""
    log_lik = model.log_likelihood[known]
    mask = np.where(np.eye(n_conditions, dtype=bool), -np.inf, 0.0)  # drops c itself

    def logsumexp_others(values: FloatArray) -> FloatArray:
        stacked = values[:, None, :] + mask[None, :, :]  # (P, C, C'), c' = c masked
        top = stacked.max(axis=2, keepdims=True)
        summed: FloatArray = np.log(np.exp(stacked - top).sum(axis=2)) + top[..., 0]
        return summed

    log_ratio = log_lik + logsumexp_others(joint - log_lik) - logsumexp_others(joint)
    ratios: FloatArray = np.exp(log_ratio)
    return ratios


#: Cases per step: small enough that the temporaries (1 + samples) x conditions per
#: case stay in the processor's cache.
_STEP = 128
#: Below this many cases, summing the known rows beats the one-hot product.
_GATHER_BELOW = 8


def _step(
    model: CompiledModel, rows: IntArray, settings: IntArray, intervals: bool
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Joint, posterior and interval bounds of up to _STEP cases, from one product."""
    n_cases = rows.shape[0]
    n_conditions = len(model.condition_ids)
    table = model.stacked_log_table if intervals else model.stacked_log_table[:, :n_conditions]
    if n_cases < _GATHER_BELOW:
        # a few cases: add up their known rows and their setting's prior row
        summed = np.stack(
            [
                table[np.append(r[r != 0], model.n_rows + s)].sum(axis=0)
                for r, s in zip(rows, settings, strict=True)
            ]
        )
    else:
        # many cases: one product with a one-hot matrix of known rows and settings
        summed = _onehot(model, rows, settings) @ table
    logits = summed.reshape(n_cases, -1, n_conditions)
    joint = logits[:, 0, :].copy()
    # One shift per case is enough: every logit is a log probability (<= 0) and the
    # samples of one case differ by a few units, far from exp's underflow at -745.
    logits -= logits.max(axis=(1, 2), keepdims=True)
    np.exp(logits, out=logits)
    logits /= (logits @ model.ones)[..., None]
    post = logits[:, 0, :].copy()
    if not intervals:
        return joint, post, np.stack([post, post], axis=-1)
    samples = np.ascontiguousarray(logits[:, 1:, :].transpose(0, 2, 1))
    return joint, post, _percentiles_5_95(samples)


def _likelihood_ratios(
    model: CompiledModel, rows: IntArray, joint: FloatArray, post: FloatArray
) -> tuple[FloatArray, IntArray]:
    """P(f | c) / P(f | not c), "not c" weighted by the posterior without f.

    Without f the posterior is proportional to post / P(f | .), so

        LR_c = P(f | c) * sum_{c' != c} post_c' / P(f | c')  /  sum_{c' != c} post_c'

    which needs no exponentials. The sums over the other conditions are a product
    with (ones - identity), so no "1 - w" cancellation occurs. Where every other
    condition's posterior has underflowed to zero, the ratio is recomputed in log space.
    """
    cases, findings = np.nonzero(rows)  # only known findings have a ratio
    offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(rows, axis=1), out=offsets[1:])
    known = rows[cases, findings]
    lik = model.likelihood[known]
    others = model.others
    p = post[cases]
    pairs = len(known)
    sums = np.concatenate([p, p / lik]) @ others
    numerator, denominator = sums[:pairs], sums[pairs:]
    underflow = (numerator == 0.0).any(axis=1) | (denominator == 0.0).any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio: FloatArray = lik * denominator / numerator
    if underflow.any():
        ratio[underflow] = _log_space_ratios(
            model, joint[cases[underflow]], known[underflow], joint.shape[1]
        )
    return ratio, offsets


def _percentiles_5_95(probs: FloatArray) -> FloatArray:
    """5th and 95th percentiles over the last axis of (N, C, K), exactly as numpy's
    default 'linear' method computes them (a plain sort is faster than np.percentile)."""
    k = probs.shape[-1]
    ordered = np.sort(probs, axis=-1)
    out = np.empty((*probs.shape[:-1], 2))
    for j, q in enumerate((0.05, 0.95)):
        position = q * (k - 1)
        below = int(np.floor(position))
        above = min(below + 1, k - 1)
        fraction = position - below
        out[..., j] = ordered[..., below] * (1.0 - fraction) + ordered[..., above] * fraction
    return out
