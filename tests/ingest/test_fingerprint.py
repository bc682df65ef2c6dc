"""Near-duplicate fingerprints and the same-story decision."""

from __future__ import annotations

import random

from ingest.dedupe import same_story, similarity
from ingest.fingerprint import BANDS, bands, signature

WORDS = [f"word{i}" for i in range(5000)]


def text(rng: random.Random, count: int = 300) -> list[str]:
    return rng.sample(WORDS, count)


def test_minhash_estimates_jaccard() -> None:
    rng = random.Random(1)
    errors = []
    for _ in range(30):
        base = text(rng)
        keep = rng.randint(60, 300)
        other = base[:keep] + text(rng, 300 - keep)
        first, second = " ".join(base), " ".join(other)
        a, b = signature(first), signature(second)
        assert a is not None and b is not None
        errors.append(abs(float((a == b).mean()) - similarity(first, second, 2)))
    assert sum(errors) / len(errors) < 0.06


def test_bands_are_stable_and_shared_by_near_copies() -> None:
    rng = random.Random(2)
    base = " ".join(text(rng))
    assert bands(base) == bands(base) and len(bands(base)) == BANDS
    edited = base.replace(base.split()[150], "changed")
    assert set(bands(base)) & set(bands(edited))
    unrelated = " ".join(text(random.Random(3)))
    assert not set(bands(base)) & set(bands(unrelated))


def test_short_texts_get_no_fingerprint() -> None:
    assert bands("too short to say anything") == ()


def test_same_story_thresholds_depend_on_length() -> None:
    rng = random.Random(4)
    long_text = text(rng, 300)
    rewritten = long_text[:140] + text(rng, 160)  # about half rewritten, long: still the same story
    assert same_story(" ".join(long_text), " ".join(rewritten))[0]
    brief = text(rng, 60)
    shared_boilerplate = brief[:25] + text(rng, 35)  # short texts sharing a third: not the same story
    alike, score = same_story(" ".join(brief), " ".join(shared_boilerplate))
    assert not alike and 0.1 < score < 0.55
