"""The names of the demo corpus's datasets, on their own so the workflow can list them without
importing the generator (:mod:`pscale.data.demo`)."""

from __future__ import annotations

DEMO_DATASETS: tuple[str, ...] = ("demo_train", "demo_test", "demo_hard")
