"""Near-duplicate fingerprints: MinHash over word-bigram shingles, banded for indexed lookup (LSH).

A text's shingles are hashed once to 64 bits (two CRC-32s); ``PERMUTATIONS`` hash functions
(the value XOR a seed, through the splitmix64 finaliser, a strong 64-bit mixer) give the MinHash
signature, whose rows are grouped into ``BANDS`` bands of ``ROWS`` rows. Two texts share at least
one band with probability ``1 - (1 - J^ROWS)^BANDS`` for a Jaccard similarity J of their bigram
sets: with 32 bands of 3 rows, 0.90 at J = 0.41 (the heaviest rewrites of the labelled pairs), 0.99
at J = 0.55, and 0.0009 at J = 0.03 (different stories). Each band becomes one signed 64-bit
integer in an indexed column, so finding the candidates of a new article is one indexed ``IN``
lookup, not a scan; candidates are then confirmed with the real similarity of the two texts
(:func:`ingest.dedupe.same_story`).
"""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np

from ingest.dedupe import shingles

BANDS = 32
ROWS = 3
SHINGLE = 2  # words; the same shingles the confirming similarity uses (ingest.dedupe.same_story)
PERMUTATIONS = BANDS * ROWS
MIN_SHINGLES = 20  # shorter texts have too few shingles for a fingerprint to mean anything
# Fixed seeds: fingerprints are stored, so they must not change between runs or releases.
_SEEDS = np.random.default_rng(20260127).integers(0, 1 << 63, size=PERMUTATIONS, dtype=np.uint64)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
FINGERPRINT_VERSION = f"minhash-{BANDS}x{ROWS}-{SHINGLE}gram-2"


def _shingle_hashes(text: str) -> np.ndarray:
    # Two CRC-32s make 64 bits: stable across processes and releases (unlike hash()), and cheap.
    def hashed(shingle: tuple[str, ...]) -> int:
        data = " ".join(shingle).encode()
        return zlib.crc32(data) | zlib.crc32(data, 0x9E3779B9) << 32

    return np.fromiter((hashed(s) for s in shingles(text, SHINGLE)), dtype=np.uint64)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every output bit depends on every input bit (wrapping arithmetic)."""
    values = (values ^ (values >> np.uint64(30))) * _MIX1
    values = (values ^ (values >> np.uint64(27))) * _MIX2
    mixed: np.ndarray = values ^ (values >> np.uint64(31))
    return mixed


def signature(text: str) -> np.ndarray | None:
    """The MinHash signature, or None for texts too short to fingerprint."""
    hashes = _shingle_hashes(text)
    if hashes.size < MIN_SHINGLES:
        return None
    with np.errstate(over="ignore"):
        minimum: np.ndarray = _mix(hashes[None, :] ^ _SEEDS[:, None]).min(axis=1)
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
