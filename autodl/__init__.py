"""autodl: find good Keras 3 models for your data with Optuna.

`import autodl` stays cheap: Keras/TensorFlow load only when a search or export runs.

    import autodl
    result = autodl.search("cnn", data="builtin:digits", trials=20)
    result.leaderboard, result.best_params, result.best_value, result.best_model
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["search", "SearchResult", "SearchSettings", "__version__"]

if TYPE_CHECKING:
    from autodl.study import SearchResult, SearchSettings, search


def __getattr__(name: str) -> Any:
    # The search code lives in `autodl.study` (not `autodl.search`) so that the function
    # `autodl.search` is never shadowed by a subpackage of the same name.
    if name in ("search", "SearchResult", "SearchSettings"):
        from autodl import study

        return getattr(study, name)
    raise AttributeError(f"module 'autodl' has no attribute {name!r}")
