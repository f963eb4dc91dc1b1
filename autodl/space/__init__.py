"""Search spaces: a small declarative API that maps to Optuna distributions.

    from autodl.space import SearchSpace, choice, integer, real, boolean
"""

from autodl.space._dimensions import (
    Choice,
    Dimension,
    Integer,
    Real,
    boolean,
    choice,
    integer,
    real,
)
from autodl.space._loader import LoadedSpace, builtin_space_names, copy_builtin_spaces, load_space
from autodl.space._search_space import SearchSpace, Space

__all__ = [
    "Choice",
    "Dimension",
    "Integer",
    "LoadedSpace",
    "Real",
    "SearchSpace",
    "Space",
    "boolean",
    "builtin_space_names",
    "choice",
    "copy_builtin_spaces",
    "integer",
    "load_space",
    "real",
]
