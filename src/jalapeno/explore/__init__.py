"""Design-space search over chip designs: a space file, an optuna study, the Pareto front.

A point in the space becomes a validated ChipSpec (design.py), the engine's planner finds its
layout and operating point at the SLOs (evaluate.py), optuna searches (study.py, resumable on
an RDB storage, parallel in processes or on Ray), results.py reads the front back and exports
a chip file, robust.py re-ranks the front across uncertain assumptions.
"""

from jalapeno.explore.evaluate import Evaluation, Evaluator
from jalapeno.explore.space import Space, load_space, parse_space

__all__ = ["Evaluation", "Evaluator", "Space", "load_space", "parse_space"]
