"""MLP: a stack of Dense layers. Images and sequences are flattened; text is TF-IDF."""

from __future__ import annotations

from typing import Any

from autodl.builders._layers import dense_block, to_rank

TEXT_AS_TOKENS = False


def build_body(features: Any, config: dict[str, Any], *, is_text_tokens: bool) -> Any:
    tensor = to_rank(features, 2)
    for _ in range(int(config["layers"])):
        tensor = dense_block(tensor, config["units"], config)
    return tensor
