"""Datasets used by the pipeline (the offline demo corpus lives in :mod:`pscale.data.demo`)."""
