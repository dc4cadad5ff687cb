"""The knowledge base compiled into arrays for fast inference.

Every finding state gets one row of a table of log P(state | condition), one column
per condition; row 0 is all zeros and stands for "not known", so an absent finding
contributes nothing. A case becomes one row index per finding, and its
unnormalised log posterior is the log prior plus the sum of its rows.

For the intervals the knowledge base is also sampled: each cell is drawn from a
triangular distribution over its stated range with its central value as the mode
(multi-state cells are drawn per state and renormalised; priors likewise), with a
seed fixed by the knowledge version, so the same case always gets the same interval.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

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
        #: (rows + settings, (1 + k) * conditions): the log table of the central model,
        #: then of each sample, with each setting's log prior as an extra row
        self.stacked_log_table, self.sample_log_prior = self._sample(samples)
        #: the central model's part of it, contiguous: (rows + settings, conditions)
        self.central_log_table: FloatArray = np.ascontiguousarray(self.stacked_log_table[:, :n])

    def _sample(self, k: int) -> tuple[FloatArray, FloatArray]:
        """Draw `k` knowledge bases from the stated ranges (deterministic per version)."""
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
        # (rows + settings, k * conditions): one matrix product per batch gives every
        # sample's log joint; the last rows hold each setting's sampled log prior
        flat = table.transpose(1, 0, 2).reshape(self.n_rows, k * n_conditions)
        prior_rows = priors.transpose(1, 0, 2).reshape(len(SETTINGS), k * n_conditions)
        # the central model goes first, as "sample" 0, so one product also gives the joint
        central = np.vstack([self.log_likelihood, self.log_prior])
        samples = np.vstack([flat, prior_rows])
        return np.ascontiguousarray(np.hstack([central, samples])), priors


def _triangular(
    rng: np.random.Generator, low: float, mode: float, high: float, k: int
) -> FloatArray:
    if high <= low:
        return np.full(k, mode)
    return rng.triangular(low, mode, high, size=k)
