"""`builtin:NAME`: the small datasets bundled with scikit-learn, and three generated here
(a text and a sequence task for the RNN family, and rhymes for text generation).
Nothing is downloaded."""

from __future__ import annotations

import numpy as np

from autodl.data._dataset import RawData
from autodl.exceptions import DataError, one_of

# name -> (sklearn loader, task)
_BUILTINS: dict[str, tuple[str, str]] = {
    "digits": ("load_digits", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "diabetes": ("load_diabetes", "regression"),
    "reviews": ("generated", "classification"),
    "waves": ("generated", "classification"),
    "rhymes": ("generated", "generation"),
}


def builtin_names() -> tuple[str, ...]:
    """Names accepted after ``builtin:``."""
    return tuple(_BUILTINS)


def load_builtin(name: str, source: str) -> RawData:
    if name not in _BUILTINS:
        raise DataError(f"{source}: " + one_of("builtin dataset", name, _BUILTINS))
    if name == "reviews":
        return _reviews()
    if name == "waves":
        return _waves()
    if name == "rhymes":
        return _rhymes()
    from sklearn import datasets

    loader, task = _BUILTINS[name]
    bunch = getattr(datasets, loader)()
    feature_names: tuple[str, ...] = ()
    if name == "digits":
        # Raw 0..16 pixel values as 8x8 one-channel images so image families apply directly.
        x = np.asarray(bunch.images, dtype=np.float32)[..., np.newaxis]
        kind = "image"
    else:
        x = np.asarray(bunch.data, dtype=np.float32)
        kind = "tabular"
        feature_names = tuple(str(f) for f in bunch.feature_names)
    target_names = getattr(bunch, "target_names", None)
    label_names = None
    if task == "classification" and target_names is not None:
        label_names = tuple(str(t) for t in target_names)
    return RawData(
        name=name,
        input_kind=kind,
        x=x,
        y=np.asarray(bunch.target),
        target_label="target",
        default_task=task,
        label_names=label_names,
        feature_names=feature_names,
    )


_POSITIVE = ("good", "great", "excellent", "lovely", "superb", "wonderful", "fine", "pleasant")
_NEGATIVE = ("bad", "awful", "poor", "terrible", "boring", "dull", "weak", "horrible")
_SUBJECTS = ("the film", "the plot", "the acting", "this book", "the ending", "the music", "the cast")
_FILLER = ("really", "quite", "very", "rather", "so", "truly", "a bit", "honestly")


def _reviews(n: int = 1200, seed: int = 7) -> RawData:
    """Short generated reviews; a negation flips the sentiment, so word order matters."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        positive = bool(rng.integers(2))
        negated = rng.random() < 0.3
        words = _POSITIVE if positive != negated else _NEGATIVE
        adjective = words[rng.integers(len(words))]
        subject = _SUBJECTS[rng.integers(len(_SUBJECTS))]
        filler = _FILLER[rng.integers(len(_FILLER))]
        verb = "was not" if negated else "was"
        text = f"{subject} {verb} {filler} {adjective}"
        if rng.random() < 0.5:
            text += f" and {_SUBJECTS[rng.integers(len(_SUBJECTS))]} was {_FILLER[rng.integers(len(_FILLER))]} fine"
        texts.append(text)
        labels.append(int(positive))
    return RawData(
        name="reviews",
        input_kind="text",
        x=np.asarray(texts, dtype=object),
        y=np.asarray(labels),
        target_label="sentiment",
        default_task="classification",
        label_names=("negative", "positive"),
        text_column="text",
    )


def _waves(n: int = 600, steps: int = 40, seed: int = 7) -> RawData:
    """Noisy sine, square and sawtooth waves of random phase: a 3-class sequence task."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, steps)
    y = rng.integers(3, size=n)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    base = np.sin(t + phase)
    shapes = [base, np.sign(base), 2 * (((t + phase) / (2 * np.pi)) % 1.0) - 1]
    x = np.stack([shapes[c][i] for i, c in enumerate(y)]) + rng.normal(0, 0.3, size=(n, steps))
    return RawData(
        name="waves",
        input_kind="sequence",
        x=x[..., np.newaxis].astype(np.float32),
        y=y,
        target_label="shape",
        default_task="classification",
        label_names=("sine", "square", "sawtooth"),
    )


# Rhyme families: words spelled alike at the end, so a character model can learn the rhyme.
_RHYME_WORDS = {
    "at": ("cat", "hat", "mat", "bat", "rat", "flat"),
    "ight": ("night", "light", "bright", "sight", "flight", "height"),
    "ay": ("day", "play", "way", "hay", "bay", "clay"),
    "ing": ("king", "ring", "spring", "wing", "swing", "string"),
    "ee": ("tree", "bee", "sea", "free", "knee", "three"),
    "un": ("sun", "run", "fun", "bun", "spun", "one"),
}
_RHYME_ANIMALS = ("cat", "dog", "mouse", "owl", "fox", "hen", "frog", "duck")
_RHYME_ADJECTIVES = ("little", "old", "happy", "sleepy", "tiny", "clever", "silly")
_RHYME_VERBS = ("sat", "ran", "sang", "danced", "slept", "looked", "jumped")
_RHYME_PLACES = ("on the", "by the", "under the", "over the", "near the", "with the")


def _rhymes(n: int = 600, seed: int = 7) -> RawData:
    """Two-line nursery rhymes whose lines end in the same rhyme; the label is the rhyme."""
    rng = np.random.default_rng(seed)
    families = tuple(_RHYME_WORDS)

    def pick(words: tuple[str, ...]) -> str:
        return words[int(rng.integers(len(words)))]

    texts, labels = [], []
    for _ in range(n):
        family = int(rng.integers(len(families)))
        ends = _RHYME_WORDS[families[family]]
        lines = [
            f"the {pick(_RHYME_ADJECTIVES)} {pick(_RHYME_ANIMALS)} {pick(_RHYME_VERBS)} "
            f"{pick(_RHYME_PLACES)} {pick(ends)}"
            for _ in range(2)
        ]
        texts.append(f"{lines[0]},\n{lines[1]}.")
        labels.append(family)
    return RawData(
        name="rhymes",
        input_kind="text",
        x=np.asarray(texts, dtype=object),
        y=np.asarray(labels),
        target_label="rhyme",
        default_task="generation",
        label_names=tuple(f"-{f}" for f in families),
        text_column="text",
    )
