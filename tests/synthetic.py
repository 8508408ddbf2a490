"""Synthetic score files with a known truth, for the analysis' and figures' tests.

Each problem i has a difficulty u_i ~ U(0, 1), shared by every language and model (the
benchmarks are parallel). A model whose population accuracy in a language is `acc` answers
problem i correctly with probability

    p_i = cluster * 1[u_i < acc] + (1 - cluster) * acc,

so the expected accuracy over problems is exactly `acc`, and `cluster` sets how strongly a
problem's samples agree (1: all samples of a problem agree; 0: samples independent).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl


def score_frame(
    accuracy: Mapping[str, float],
    difficulty: np.ndarray,
    n_samples: int,
    rng: np.random.Generator,
    cluster: float = 0.8,
    on_target: float = 0.9,
) -> pl.DataFrame:
    """A score file (the columns `pscale tables` reads, plus response) for one model on one benchmark."""
    frames = []
    m = len(difficulty)
    for lang, acc in accuracy.items():
        p = cluster * (difficulty < acc) + (1 - cluster) * acc
        correct = rng.random((m, n_samples)) < p[:, None]
        share = np.where(rng.random((m, n_samples)) < on_target, 1.0, 0.0)
        frames.append(
            pl.DataFrame(
                {
                    "id": np.repeat([f"q{i}" for i in range(m)], n_samples),
                    "lang": lang,
                    "sample": np.tile(np.arange(n_samples), m),
                    "response": "",
                    "extracted": None,
                    "correct": correct.ravel(),
                    "detected_lang": np.where(share.ravel() > 0.5, lang, "en"),
                    "lang_share": share.ravel(),
                },
                schema_overrides={"extracted": pl.String},
            )
        )
    return pl.concat(frames)
