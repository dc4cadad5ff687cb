"""Posterior, likelihood ratios and intervals for many encoded cases at once.

A case is encoded as one table row per finding (0 = not known) plus a setting
index. Everything here is vectorised over cases. A batch sums its cases' rows with
one-hot matrix products; fewer than `_GATHER_BELOW` cases add up their known rows
instead (`score_few`). Both give the same posterior to rounding (about 1e-16), and
the same sums of the sampled tables bit for bit, since those sums are exact.

The likelihood ratio reported for finding *f* and condition *c* is

    P(f | c) / P(f | not c, the other known findings)

where "not c" weighs the other conditions by their posterior given every known
finding except *f*. With it, adding *f* multiplies the odds of *c* by exactly this
ratio: the explanation and the posterior cannot disagree.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from backmice.engine.compiled import CompiledModel

__all__ = ["Scores", "Workspace", "score", "score_few"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
#: Table rows of known findings, or settings' indices: any integer type
Codes = npt.NDArray[np.integer[Any]]


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
    shifted: FloatArray = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= np.add.reduce(shifted, axis=-1, keepdims=True)
    return shifted


def _softmax_in_place(logits: FloatArray) -> None:
    """`_softmax` into its own argument: the same operations, no temporary."""
    logits -= np.maximum.reduce(logits, axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= np.add.reduce(logits, axis=-1, keepdims=True)


def log_joint(model: CompiledModel, rows: Codes, settings: Codes) -> FloatArray:
    """Unnormalised log posterior, (N, C)."""
    joint: FloatArray = model.log_prior[settings] + model.log_likelihood[rows].sum(axis=1)
    return joint


def posterior(model: CompiledModel, rows: Codes, settings: Codes) -> FloatArray:
    """Posterior over the conditions, (N, C): the central model only, no explanations."""
    if rows.shape[0] < _GATHER_BELOW:
        return _softmax(log_joint(model, rows, settings))
    probs: FloatArray = _softmax(_onehot(model, rows, settings) @ model.central_log_table)
    return probs


def _onehot(model: CompiledModel, rows: Codes, settings: Codes) -> FloatArray:
    """(N, rows + settings): 1 at each case's known rows and its setting's prior row."""
    n_cases = rows.shape[0]
    onehot = np.zeros((n_cases, model.n_rows + model.prior.shape[0]))
    np.put_along_axis(onehot, rows, 1.0, axis=1)
    onehot[:, 0] = 0.0
    onehot[np.arange(n_cases), model.n_rows + settings] = 1.0
    return onehot


def score(
    model: CompiledModel,
    rows: Codes,
    settings: Codes,
    intervals: bool = True,
    work: Workspace | None = None,
) -> Scores:
    """Posterior, leave-one-out likelihood ratios and (optionally) intervals; in `work`
    when given (see `Workspace`)."""
    n_cases, n_conditions = rows.shape[0], len(model.condition_ids)
    if n_cases < _GATHER_BELOW:
        return score_few(model, rows.tolist(), settings.tolist(), intervals)
    joint = np.empty((n_cases, n_conditions))
    post = np.empty((n_cases, n_conditions))
    bounds = np.empty((n_cases, n_conditions, 2))
    # only known findings have a ratio: (case, finding) pairs in row-major order
    is_known = rows != 0
    flat = np.flatnonzero(is_known)  # far faster on booleans than on the codes
    known = rows.ravel()[flat]
    cases = flat // rows.shape[1]
    offsets = np.zeros(n_cases + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(is_known, axis=1), out=offsets[1:])
    lr = np.empty((len(known), n_conditions))
    if work is None or work.model is not model:
        work = Workspace(model)
    for start in range(0, n_cases, _STEP):
        stop = min(start + _STEP, n_cases)
        n = stop - start
        onehot = work.onehot_of(rows[start:stop], settings[start:stop])
        np.matmul(onehot, model.central_log_table, out=joint[start:stop])
        post[start:stop] = joint[start:stop]
        _softmax_in_place(post[start:stop])
        if intervals:
            deltas = work.deltas_of(model, n)
            _intervals_into(model, deltas, post[start:stop], work, bounds[start:stop])
        else:
            bounds[start:stop] = post[start:stop, :, None]
        pairs = slice(offsets[start], offsets[stop])  # this step's known findings
        _likelihood_ratios(
            model,
            known[pairs],
            cases[pairs] - start,
            joint[start:stop],
            post[start:stop],
            out=lr[pairs],
            work=work,
        )
    return Scores(
        posterior=post, interval=_widened(bounds, post), likelihood_ratio=lr, offsets=offsets
    )


def score_few(
    model: CompiledModel,
    rows: Sequence[Sequence[int]],
    settings: Sequence[int],
    intervals: bool = True,
) -> Scores:
    """`score` for a few cases given as lists (one case: `Engine.assess`): their known
    rows are added up, with no one-hot matrix. The posterior agrees with `score`'s to
    rounding (about 1e-16) and the intervals bit for bit (see `_gathered`)."""
    known_rows = [[r for r in case_rows if r] for case_rows in rows]
    joint, deltas = _gathered(model, known_rows, settings, intervals)
    post = _softmax(joint)
    if deltas is not None:
        bounds = _intervals(model, deltas, post)
    else:
        bounds = np.repeat(post[:, :, None], 2, axis=2)
    counts = [len(k) for k in known_rows]
    known = [r for k in known_rows for r in k]
    cases = None if len(rows) == 1 else np.repeat(np.arange(len(rows)), counts)
    offsets = np.array([0, *accumulate(counts)], dtype=np.int64)
    lr = _likelihood_ratios(model, known, cases, joint, post)
    return Scores(
        posterior=post, interval=_widened(bounds, post), likelihood_ratio=lr, offsets=offsets
    )


def _widened(bounds: FloatArray, post: FloatArray) -> FloatArray:
    """The percentiles widened where needed to hold the posterior, and kept <= 1:
    single-precision rounding can put one of a near-certain condition a few 1e-8 above."""
    np.minimum(bounds[..., 0], post, out=bounds[..., 0])
    np.maximum(bounds[..., 1], post, out=bounds[..., 1])
    np.minimum(bounds[..., 1], 1.0, out=bounds[..., 1])
    return bounds


def _log_space_ratios(
    model: CompiledModel, joint: FloatArray, known: Codes, n_conditions: int
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


#: Cases per step: small enough that the temporaries, samples x conditions per case,
#: stay in the processor's cache.
_STEP = 256
#: Below this many cases, summing the known rows beats the one-hot product.
_GATHER_BELOW = 8

SampleArray = npt.NDArray[np.floating[Any]]


def _product_deltas(model: CompiledModel, onehot: FloatArray) -> SampleArray:
    """Each case's sum of its rows of `model.sample_deltas`: one product per group of
    findings, the groups added in a fixed order."""
    table = model.sample_deltas
    ones = onehot.astype(table.dtype, copy=False)
    (a, b), *rest = model.sample_groups
    deltas: SampleArray = ones[:, a:b] @ table[a:b]
    for a, b in rest:
        deltas += ones[:, a:b] @ table[a:b]
    return deltas


class Workspace:
    """The arrays `score` works in, one step of cases at a time. Keep one per thread and
    pass it to every call: fresh temporaries of a megabyte or more cost more than the
    arithmetic on them, as the allocator hands such blocks back to the system and
    each call page-faults them in again (measured here: up to a third of a batch's scoring time).
    About 7 MB for knowledge base 2026.11.0."""

    def __init__(self, model: CompiledModel) -> None:
        step = _STEP
        width = model.n_rows + model.prior.shape[0]
        n_conditions = len(model.condition_ids)
        pairs = step * len(model.finding_ids)  # every finding of every case known
        dtype = model.sample_deltas.dtype
        self.model = model
        self.onehot: FloatArray = np.zeros((step, width))
        self.ones: SampleArray = np.zeros((step, width), dtype=dtype)
        self.row_starts: IntArray = np.arange(step, dtype=np.int64) * width
        self.prior_rows = model.n_rows
        self.deltas: SampleArray = np.empty((step, n_conditions * model.samples), dtype=dtype)
        self.partial: SampleArray = np.empty_like(self.deltas)
        self.weights: SampleArray = np.empty((step, 1, n_conditions), dtype=dtype)
        self.sums: SampleArray = np.empty((step, 1, model.samples), dtype=dtype)
        ranks = len(model.interval_ranks)
        self.ranked: SampleArray = np.empty((step, n_conditions, ranks), dtype=dtype)
        self.scaled: FloatArray = np.empty((step, n_conditions, ranks))
        #: the weight of each of `model.interval_ranks`, below and above by turns
        self.rank_weights: FloatArray = model.interval_weights.T.reshape(-1).copy()
        self.likelihood: FloatArray = np.empty((pairs, n_conditions))
        self.pair_post: FloatArray = np.empty((pairs, n_conditions))
        self.numerator: FloatArray = np.empty((pairs, n_conditions))
        self.others_sum: FloatArray = np.empty((step, n_conditions))

    def onehot_of(self, rows: Codes, settings: Codes) -> FloatArray:
        """`_onehot` of up to a step's cases, in place; `ones` gets the same in the
        sampled tables' precision."""
        n = rows.shape[0]
        onehot = self.onehot[:n]
        onehot.fill(0.0)
        flat = onehot.reshape(-1)
        starts = self.row_starts[:n]
        flat[rows + starts[:, None]] = 1.0
        onehot[:, 0] = 0.0
        flat[starts + self.prior_rows + settings] = 1.0
        np.copyto(self.ones[:n], onehot)
        return onehot

    def deltas_of(self, model: CompiledModel, n: int) -> SampleArray:
        """`_product_deltas` of the last `onehot_of`, in place."""
        table = model.sample_deltas
        ones, deltas, partial = self.ones[:n], self.deltas[:n], self.partial[:n]
        (a, b), *rest = model.sample_groups
        np.matmul(ones[:, a:b], table[a:b], out=deltas)
        for a, b in rest:
            np.matmul(ones[:, a:b], table[a:b], out=partial)
            deltas += partial
        return deltas


def _gathered(
    model: CompiledModel, known_rows: list[list[int]], settings: Sequence[int], intervals: bool
) -> tuple[FloatArray, SampleArray | None]:
    """Log joint and (with `intervals`) the sums of `model.sample_deltas` of a few
    cases, from their known rows alone. The sample sums go group by group in the same
    order as `_product_deltas`; within a group a sum is exact in any order
    (`compiled._exact_deltas`), so they are the same bits."""
    table = model.sample_deltas
    starts = [a for a, _ in model.sample_groups]
    joints: list[FloatArray] = []
    deltas: list[SampleArray] = []
    for case_known, setting in zip(known_rows, settings, strict=True):
        known = [*case_known, model.n_rows + setting]  # ascending, as the table's rows
        central = model.central_log_table.take(known, axis=0)
        joints.append(np.add.reduce(central, axis=0, keepdims=True))
        if not intervals:
            continue
        cuts = pairwise([*(bisect_left(known, a) for a in starts), len(known)])
        gathered = table.take(known, axis=0)
        start, stop = next(cuts)
        total = np.add.reduce(gathered[start:stop], axis=0, keepdims=True)
        for start, stop in cuts:
            total += np.add.reduce(gathered[start:stop], axis=0, keepdims=True)
        deltas.append(total)
    if len(joints) == 1:
        return joints[0], deltas[0] if deltas else None
    if not joints:  # no cases at all
        empty = np.empty((0, table.shape[1]), dtype=table.dtype)
        return np.empty((0, len(model.condition_ids))), empty if intervals else None
    return np.concatenate(joints), np.concatenate(deltas) if deltas else None


def _intervals(model: CompiledModel, deltas: SampleArray, post: FloatArray) -> FloatArray:
    """5th and 95th percentiles of each condition's probability over the sampled
    knowledge bases, (N, C, 2), as numpy's default 'linear' method computes them.

    Sample s differs from the central model by `deltas` (each case's sum of its rows of
    `model.sample_deltas`), so its probability of condition c is

        post_c * exp(d_sc) / sum_c' post_c' exp(d_sc')  =  post_c * r_sc

    The sums are exact and the rest is done in single precision: exp, the normalising
    sum and the ranking of r, which is positive, so that its bit patterns sort as its
    values do. Each percentile of post_c * r_sc over s is post_c times the percentile
    of r_sc, taken back to double precision.
    """
    n_cases, n_conditions = post.shape
    dtype = model.sample_deltas.dtype
    ratio = np.exp(deltas, out=deltas).reshape(n_cases, n_conditions, model.samples)
    weights = post.astype(dtype)[:, None, :]  # (N, 1, C)
    ratio /= np.matmul(weights, ratio)  # (N, 1, samples): each sample's normalising sum
    ratio.view(np.int32 if dtype == np.float32 else np.int64).sort(axis=-1)
    # the two ranks on either side of each percentile, times the posterior
    ranked = ratio[..., model.interval_ranks] * post[..., None]  # (N, C, 4)
    out: FloatArray = (
        ranked[..., 0::2] * model.interval_weights[0]
        + ranked[..., 1::2] * model.interval_weights[1]
    )
    return out


def _intervals_into(
    model: CompiledModel,
    deltas: SampleArray,
    post: FloatArray,
    work: Workspace,
    out: FloatArray,
) -> None:
    """`_intervals` into `out`, (N, C, 2), in the arrays of `work` (and in `deltas`,
    which it overwrites): the same operations in the same order, so the same bits.
    (`_intervals` makes its own arrays, which for one case is the quicker.)"""
    n_cases, n_conditions = post.shape
    dtype = model.sample_deltas.dtype
    ratio = np.exp(deltas, out=deltas).reshape(n_cases, n_conditions, model.samples)
    weights, sums = work.weights[:n_cases], work.sums[:n_cases]
    np.copyto(weights[:, 0, :], post)
    np.matmul(weights, ratio, out=sums)
    ratio /= sums
    ratio.view(np.int32 if dtype == np.float32 else np.int64).sort(axis=-1)
    ranked, scaled = work.ranked[:n_cases], work.scaled[:n_cases]
    np.take(ratio, model.interval_ranks, axis=2, out=ranked, mode="clip")
    np.multiply(ranked, post[..., None], out=scaled)
    scaled *= work.rank_weights  # each rank's weight: the products of `_intervals`
    np.add(scaled[..., 0::2], scaled[..., 1::2], out=out)


def _likelihood_ratios(
    model: CompiledModel,
    known: Codes | list[int],
    cases: IntArray | None,
    joint: FloatArray,
    post: FloatArray,
    out: FloatArray | None = None,
    work: Workspace | None = None,
) -> FloatArray:
    """P(f | c) / P(f | not c), "not c" weighted by the posterior without f, for each
    known finding (its table row in `known`, its case in `cases`; None: all case 0),
    into `out` when given (and working in `work`, with `cases`).

    Without f the posterior is proportional to post / P(f | .), so

        LR_c = P(f | c) * sum_{c' != c} post_c' / P(f | c')  /  sum_{c' != c} post_c'

    which needs no exponentials. The sums over the other conditions are a product
    with (ones - identity), so no "1 - w" cancellation occurs. Where every other
    condition's posterior has underflowed to zero, the ratio is recomputed in log space.
    """
    if cases is None:  # one case: the same numbers, broadcast instead of gathered
        likelihood = model.likelihood.take(known, axis=0)
        scaled = post / likelihood
        numerator = sums = post @ model.others
    elif work is None:
        likelihood = model.likelihood.take(known, axis=0)
        scaled = post.take(cases, axis=0)
        scaled /= likelihood
        numerator = sums = (post @ model.others).take(cases, axis=0)  # a case's, per finding
    else:  # the same, in the step's workspace
        pairs = len(known)
        likelihood = model.likelihood.take(known, axis=0, out=work.likelihood[:pairs], mode="clip")
        scaled = post.take(cases, axis=0, out=work.pair_post[:pairs], mode="clip")
        scaled /= likelihood
        sums = np.matmul(post, model.others, out=work.others_sum[: len(post)])
        numerator = sums.take(cases, axis=0, out=work.numerator[:pairs], mode="clip")
    ratio: FloatArray = np.matmul(scaled, model.others, out=out)  # becomes the ratio in place
    # every numerator is a row of `sums`, which may be the fewer numbers to check
    if np.count_nonzero(ratio) == ratio.size and np.count_nonzero(sums) == sums.size:
        # no zero: nothing underflowed
        ratio *= likelihood
        ratio /= numerator
        return ratio
    numerator = np.broadcast_to(numerator, ratio.shape)
    underflow = (numerator == 0.0).any(axis=1) | (ratio == 0.0).any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio *= likelihood
        ratio /= numerator
    case_of = np.zeros(len(ratio), dtype=np.intp) if cases is None else cases
    ratio[underflow] = _log_space_ratios(
        model, joint[case_of[underflow]], np.asarray(known)[underflow], joint.shape[1]
    )
    return ratio
