"""The knowledge base compiled into arrays for fast inference.

Every finding state gets one row of a table of log P(state | condition), one column
per condition; row 0 is all zeros and stands for "not known", so an absent finding
contributes nothing. A case becomes one row index per finding, and its
unnormalised log posterior is the log prior plus the sum of its rows.

For the intervals the knowledge base is also sampled: each cell is drawn from a
triangular distribution over its stated range with its central value as the mode
(multi-state cells are drawn per state and renormalised; priors likewise), with a
seed fixed by the knowledge version, so the same case always gets the same interval.
The samples are kept as their differences from the central table, in single
precision and rounded so that a case's sum of them is exact (`_exact_deltas`): it
does not depend on the batch the case is scored in.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from backmice.knowledge.model import SETTINGS, Basis, KnowledgeBase

__all__ = ["DEFAULT_SAMPLES", "CompiledModel"]

#: Number of knowledge-base samples behind each interval.
DEFAULT_SAMPLES = 100

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RowProvenance:
    """Basis and sources of P(state | condition) for one table row and condition."""

    basis: Basis
    sources: tuple[str, ...]


class CompiledModel:
    """Arrays derived from one knowledge base; immutable after construction."""

    def __init__(self, kb: KnowledgeBase, samples: int = DEFAULT_SAMPLES) -> None:
        self.kb = kb
        self.condition_ids: tuple[str, ...] = tuple(c.id for c in kb.conditions)
        self.condition_names: tuple[str, ...] = tuple(c.name for c in kb.conditions)
        self.finding_ids: tuple[str, ...] = tuple(f.id for f in kb.findings)
        self.finding_index = {fid: i for i, fid in enumerate(self.finding_ids)}
        self.setting_index = {s: i for i, s in enumerate(SETTINGS)}
        n_conditions = len(self.condition_ids)

        offsets: list[int] = []
        state_rows: list[dict[str, int]] = []
        row_finding: list[int] = [-1]
        row_state: list[str] = [""]
        row = 1
        for i, finding in enumerate(kb.findings):
            offsets.append(row)
            state_rows.append({s: row + j for j, s in enumerate(finding.states)})
            row_finding.extend([i] * len(finding.states))
            row_state.extend(finding.states)
            row += len(finding.states)
        self.n_rows = row
        self.state_rows = state_rows
        self.row_finding = np.array(row_finding, dtype=np.int64)
        self.row_state = tuple(row_state)

        likelihood = np.ones((row, n_conditions))
        provenance: list[list[RowProvenance]] = [[] for _ in range(row)]
        for i, finding in enumerate(kb.findings):
            for c, dist in enumerate(kb.likelihoods[finding.id]):
                for j in range(len(finding.states)):
                    likelihood[offsets[i] + j, c] = dist.p[j]
                    provenance[offsets[i] + j].append(
                        RowProvenance(dist.state_basis[j], dist.sources)
                    )
        self.likelihood: FloatArray = likelihood
        self.log_likelihood: FloatArray = np.log(likelihood)
        self.provenance = provenance

        prior = np.array([[cell.p for cell in kb.priors[s]] for s in SETTINGS])
        self.prior: FloatArray = prior
        self.log_prior: FloatArray = np.log(prior)

        n = len(self.condition_ids)
        #: (ones - identity): a product with it sums over the *other* conditions
        self.others: FloatArray = np.ones((n, n)) - np.eye(n)
        self.ones: FloatArray = np.ones(n)

        self.samples = samples
        sampled_table, sampled_prior = self._sample(samples)
        self.sample_log_prior = sampled_prior
        #: the central model as one table: (rows + settings, conditions), each setting's
        #: log prior as an extra row, so a case's log joint is a sum of its rows
        self.central_log_table: FloatArray = np.vstack([self.log_likelihood, self.log_prior])
        #: each sampled table minus the central one, exactly summable: see _exact_deltas
        self.sample_deltas, self.sample_groups, self.sample_grid = _exact_deltas(
            sampled_table - self.central_log_table[:, :, None], self._finding_rows()
        )
        #: the sorted samples' ranks on either side of the 5th and of the 95th
        #: percentile, and their weights, as numpy's default 'linear' method takes them
        self.interval_ranks, self.interval_weights = _percentile_ranks(samples, (0.05, 0.95))

    def _finding_rows(self) -> list[tuple[int, int]]:
        """(first, stop) table rows of each finding, then of the settings' prior rows."""
        spans = [(rows[0], rows[-1] + 1) for rows in (list(r.values()) for r in self.state_rows)]
        return [(0, 1), *spans, (self.n_rows, self.n_rows + len(SETTINGS))]

    def _sample(self, k: int) -> tuple[FloatArray, FloatArray]:
        """Draw `k` knowledge bases from the stated ranges (deterministic per version).

        Returns their log tables, (rows + settings, conditions, k) like
        `central_log_table` with one column per sample, and the sampled log priors,
        (k, settings, conditions).
        """
        kb = self.kb
        rng = np.random.default_rng(zlib.crc32(kb.version.encode("utf-8")))
        n_conditions = len(self.condition_ids)
        table = np.zeros((k, self.n_rows, n_conditions))
        for i, finding in enumerate(kb.findings):
            first = self.state_rows[i][finding.states[0]]
            for c, dist in enumerate(kb.likelihoods[finding.id]):
                if finding.type == "boolean":
                    p_true = _triangular(rng, dist.low[0], dist.p[0], dist.high[0], k)
                    table[:, first, c] = np.log(p_true)
                    table[:, first + 1, c] = np.log1p(-p_true)
                else:
                    draws = np.stack(
                        [
                            _triangular(rng, lo, mode, hi, k)
                            for lo, mode, hi in zip(dist.low, dist.p, dist.high, strict=True)
                        ],
                        axis=1,
                    )
                    draws /= draws.sum(axis=1, keepdims=True)
                    table[:, first : first + len(finding.states), c] = np.log(draws)
        priors = np.zeros((k, len(SETTINGS), n_conditions))
        for s, setting in enumerate(SETTINGS):
            draws = np.stack(
                [_triangular(rng, cell.low, cell.p, cell.high, k) for cell in kb.priors[setting]],
                axis=1,
            )
            draws /= draws.sum(axis=1, keepdims=True)
            priors[:, s, :] = np.log(draws)
        stacked = np.concatenate([table, priors], axis=1)  # (k, rows + settings, conditions)
        return np.ascontiguousarray(stacked.transpose(1, 2, 0)), priors


#: Single precision keeps the exponent of any sample's log odds against the central
#: model within float32's range (about e^+-87) while this bound holds for every case;
#: past it the sampled tables stay in double precision.
_SINGLE_PRECISION_BOUND = 40.0
#: Findings are grouped so that no partial sum within a group can exceed this.
_GROUP_BOUND = 16.0


def _exact_deltas(
    deltas: FloatArray, spans: list[tuple[int, int]]
) -> tuple[npt.NDArray[np.floating[Any]], tuple[tuple[int, int], ...], float]:
    """The sampled log tables as differences from the central one, laid out for one
    matrix product per group of findings, and rounded so that the product is exact.

    `deltas` is (rows + settings, conditions, samples). The result is
    (rows + settings, conditions * samples), condition-major, so that a product gives
    each condition's samples side by side, plus the row ranges of the groups.

    Why exact: BLAS adds a case's rows in an order that depends on how many cases are
    multiplied together, and in single precision the order changes the last bits. Each
    group of findings (consecutive rows) is rounded to a grid 2^-24 of the smallest
    power of two above the largest sum its rows can reach for any case, so every
    partial sum is a multiple of the grid that single precision holds exactly: a case
    gets the same sums bit for bit alone or in any batch. The rounding moves a
    sampled log probability by at most half a grid step (`CompiledModel.sample_grid`;
    2^-21 for knowledge base 2026.11.0, in two groups).
    """
    n_rows, n_conditions, k = deltas.shape
    flat = np.ascontiguousarray(deltas.reshape(n_rows, n_conditions * k))
    # the largest |delta| a finding can contribute to each column (any one of its states)
    reach = [np.abs(flat[a:b]).max(axis=0) for a, b in spans]
    total = np.sum(reach, axis=0).max()
    single = total <= _SINGLE_PRECISION_BOUND
    dtype, digits = (np.float32, 24) if single else (np.float64, 53)
    groups: list[tuple[int, int]] = []
    sums: list[FloatArray] = []
    for (a, b), r in zip(spans, reach, strict=True):
        if groups and groups[-1][1] == a and (sums[-1] + r).max() <= _GROUP_BOUND:
            groups[-1] = (groups[-1][0], b)
            sums[-1] = sums[-1] + r
        else:
            groups.append((a, b))
            sums.append(r.copy())
    out = np.empty_like(flat)
    grids: list[float] = []
    for a, b in groups:
        members = [(lo, hi) for lo, hi in spans if a <= lo and hi <= b]
        exponent = math.frexp(float(_reach(flat, members).max()))[1]
        while True:
            grid = 2.0 ** (exponent - digits)
            out[a:b] = np.round(flat[a:b] / grid) * grid
            # every partial sum is a multiple of `grid` below 2^exponent: exact
            if _reach(out, members).max() < 2.0**exponent:
                break
            exponent += 1  # rounding outwards pushed the largest sum over: coarser grid
        grids.append(grid)
    return np.ascontiguousarray(out, dtype=dtype), tuple(groups), max(grids)


def _percentile_ranks(
    k: int, quantiles: tuple[float, ...]
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """Ranks (below, above) of each quantile of k sorted values, then their weights:
    (weights of the rank below, weights of the rank above), one per quantile."""
    ranks: list[int] = []
    below_weights: list[float] = []
    above_weights: list[float] = []
    for q in quantiles:
        position = q * (k - 1)
        below = math.floor(position)
        fraction = position - below
        ranks.extend((below, min(below + 1, k - 1)))
        below_weights.append(1.0 - fraction)
        above_weights.append(fraction)
    return np.array(ranks, dtype=np.intp), np.array([below_weights, above_weights])


def _reach(table: FloatArray, spans: list[tuple[int, int]]) -> FloatArray:
    """Per column, the largest |sum| of one row from each span (each finding's state)."""
    reach: FloatArray = np.sum([np.abs(table[a:b]).max(axis=0) for a, b in spans], axis=0)
    return reach


def _triangular(
    rng: np.random.Generator, low: float, mode: float, high: float, k: int
) -> FloatArray:
    if high <= low:
        return np.full(k, mode)
    return rng.triangular(low, mode, high, size=k)
