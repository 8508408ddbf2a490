"""parallel-scaling: cross-lingual reasoning transfer after RL post-training (Yang et al., 2025)."""

__version__ = "0.1.0"
