"""Language identification from the text itself (py3langid), as an ISO 639-1 code."""

from __future__ import annotations

from functools import cache
from typing import Any

MIN_CHARS = 40
# 300 characters identified all 67 labelled pages correctly (5 languages and Italian) at 0.2 ms,
# against 0.7 ms for 1,500: the cost grows with the sample, the accuracy no longer does.
SAMPLE_CHARS = 300
MIN_PROBABILITY = 0.5


@cache
def _identifier() -> Any:
    # Loaded once per process, ~0.3 s (the pool's fork server loads it for all its workers). The
    # feature table is kept as float32 rather than the model file's float16: scoring a sample
    # converts the rows it uses, and numpy converts float16 in software, which took two thirds of
    # the identification's time; the table is 28 MB larger, shared by the workers.
    import numpy as np
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, output = load_model(MODEL_DIR / MODEL_FILE)
    table = np.asarray(ptc, dtype=np.float32)
    return LanguageIdentifier(table, np.asarray(pc), classes, nextmove, output, norm_probs=True, tk_row=row)


def warm() -> None:
    """Load the model now (the pool's fork server does, so that its workers share one copy)."""
    _identifier()


def detect_language(text: str) -> str | None:
    """The text's language, or None when the text is too short or the guess too unsure."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    language, probability = _identifier().classify(sample)
    return str(language) if probability >= MIN_PROBABILITY else None
