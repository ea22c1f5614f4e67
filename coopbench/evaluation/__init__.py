"""Evaluation: merge the agents' patches and run the hidden tests, as upstream does."""

from coopbench.evaluation.evaluate import EvalInput, EvalOutcome, evaluate

__all__ = ["EvalInput", "EvalOutcome", "evaluate"]
