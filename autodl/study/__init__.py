"""Studies: creation (sampler, pruner, storage), the objective, running and resuming."""

from autodl.study._run import SearchContext, SearchResult, prepare_search, run_search, search
from autodl.study._settings import SearchSettings
from autodl.study._storage import make_storage, mask_url

__all__ = [
    "SearchContext",
    "SearchResult",
    "SearchSettings",
    "make_storage",
    "mask_url",
    "prepare_search",
    "run_search",
    "search",
]
