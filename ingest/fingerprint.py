"""Near-duplicate fingerprints: MinHash over word 4-gram shingles, banded for indexed lookup (LSH).

A text's shingles are hashed once (CRC-32); ``PERMUTATIONS`` universal hash functions
``(a·x + b) mod p`` (a, b < 2^32, p = 2^61 - 1: no product overflows 64 bits) give the MinHash
signature, whose rows are grouped into ``BANDS`` bands of
``ROWS`` rows. Two texts share at least one band with probability ``1 - (1 - J^ROWS)^BANDS`` for a
Jaccard similarity J of their shingle sets: with 16 bands of 4 rows, about 0.98 at J = 0.7 and 0.08
at J = 0.2. Each band becomes one signed 64-bit integer stored in an indexed column, so finding the
candidates of a new article is one indexed ``IN`` lookup, not a scan; candidates are then confirmed
with the real similarity of their texts (:func:`ingest.dedupe.similarity`).
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np

from ingest.dedupe import shingles

BANDS = 16
ROWS = 4
PERMUTATIONS = BANDS * ROWS
MIN_SHINGLES = 20  # shorter texts have too few shingles for a fingerprint to mean anything
_PRIME = np.uint64((1 << 61) - 1)
# Fixed seeds: fingerprints are stored, so they must not change between runs or releases.
_RANDOM = np.random.default_rng(20260127)
_A = _RANDOM.integers(1, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)
_B = _RANDOM.integers(0, 1 << 32, size=PERMUTATIONS, dtype=np.uint64)
FINGERPRINT_VERSION = f"minhash-{BANDS}x{ROWS}-4gram-1"


def _shingle_hashes(text: str) -> np.ndarray:
    # CRC-32: stable across processes and releases (unlike hash()), and cheap.
    return np.fromiter((zlib.crc32(" ".join(s).encode()) for s in shingles(text)), dtype=np.uint64)


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature, or None for texts too short to fingerprint."""
    hashes = _shingle_hashes(text)
    if hashes.size < MIN_SHINGLES:
        return None
    values: np.ndarray = (_A[:, None] * hashes[None, :] + _B[:, None]) % _PRIME
    minimum: np.ndarray = values.min(axis=1)
    return minimum


def bands(text: str) -> tuple[int, ...]:
    """The band keys of ``text`` (signed 64-bit, one per band, band index mixed in); empty if short."""
    sig = signature(text)
    if sig is None:
        return ()
    keys = []
    for band in range(BANDS):
        rows = sig[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(struct.pack("<H", band) + rows, digest_size=8).digest()
        keys.append(struct.unpack("<q", digest)[0])
    return tuple(keys)
