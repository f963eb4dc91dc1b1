"""Trials -> tables: the leaderboard DataFrame, summary.json and the output files.

Everything here is rebuilt from the Optuna study alone, so any storage can be reported
on, including a study still running elsewhere.
"""

from autodl.results._leaderboard import leaderboard, state_counts, tie_loss
from autodl.results._summary import best_trial, library_versions, summarize, write_outputs

__all__ = ["best_trial", "leaderboard", "library_versions", "state_counts", "summarize", "tie_loss", "write_outputs"]
