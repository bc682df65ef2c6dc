"""Entry keys: GUID, else canonical link, else title + date; broken GUIDs handled."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.dedupe import assign_keys, content_hash
from ingest.html import text_key
from ingest.models import RawEntry


def test_guid_wins_over_link() -> None:
    first = assign_keys([RawEntry(guid="g-1", link="https://x.example/a")])[0]
    moved = assign_keys([RawEntry(guid="g-1", link="https://x.example/moved")])[0]
    assert first.key == moved.key


def test_link_is_the_identity_without_guid_and_tracking_does_not_matter() -> None:
    plain = assign_keys([RawEntry(guid=None, link="https://x.example/a")])[0]
    tracked = assign_keys([RawEntry(guid=None, link="https://X.example/a?utm_source=feed")])[0]
    anchored = assign_keys([RawEntry(guid=None, link="https://x.example/a#top")])[0]
    assert plain.key == tracked.key
    assert tracked.link == anchored.link == "https://x.example/a"
    assert plain.link_key == anchored.link_key  # known by its link, whatever the anchor


def test_keys_do_not_depend_on_the_other_entries_of_a_poll() -> None:
    """A replay must recognise an entry whatever else the feed holds at that moment."""
    both = assign_keys(
        [RawEntry(None, "https://x.example/live#u1"), RawEntry(None, "https://x.example/live#u2")]
    )
    alone = assign_keys([RawEntry(None, "https://x.example/live#u2")])
    assert both[1].key == alone[0].key
    shared = assign_keys([RawEntry("g", "https://x.example/1"), RawEntry("g", "https://x.example/2")])
    left = assign_keys([RawEntry("g", "https://x.example/2")])
    assert shared[1].key != left[0].key  # keyed by link while shared, by GUID once alone...
    assert shared[1].link_key == left[0].link_key  # ...and still known through its link


def test_title_and_date_without_guid_or_link() -> None:
    day1 = datetime(2024, 3, 6, tzinfo=UTC)
    day2 = datetime(2024, 3, 7, tzinfo=UTC)
    keys = assign_keys([RawEntry(None, None, title="Same", published_at=day1),
                        RawEntry(None, None, title="Same", published_at=day2)])  # fmt: skip
    assert len({entry.key for entry in keys}) == 2


def test_entry_with_nothing_to_identify_it_is_dropped() -> None:
    assert assign_keys([RawEntry(None, None)]) == []
    assert len(assign_keys([RawEntry(None, None, summary="only a body")])) == 1


def test_shared_guid_falls_back_to_links_and_exact_repeats_collapse() -> None:
    entries = assign_keys(
        [
            RawEntry("same", "https://x.example/1", title="One"),
            RawEntry("same", "https://x.example/2", title="Two"),
            RawEntry("u3", "https://x.example/3", title="Three"),
            RawEntry("u3", "https://x.example/3", title="Three"),
        ]
    )
    assert [e.title for e in entries] == ["One", "Two", "Three"]
    assert len({e.key for e in entries}) == 3


def test_fragment_kept_only_where_it_tells_entries_apart() -> None:
    entries = assign_keys(
        [RawEntry(None, "https://x.example/live#u1"), RawEntry(None, "https://x.example/live#u2"),
         RawEntry(None, "https://x.example/story#comments")]
    )  # fmt: skip
    assert [e.link for e in entries] == [
        "https://x.example/live#u1", "https://x.example/live#u2", "https://x.example/story"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "Hello,  World!\n\nSecond.",
        "Ça coûte 12 € — «vraiment»",
        "ﬁnal ｆｕｌｌ ｗｉｄｔｈ ①",
        "Straße İstanbul",
        "",
    ],
)
def test_content_hash_is_the_same_with_the_key_given(text: str) -> None:
    """The key saves a reading of the text; it must never change the hash (the ligature and the
    full-width letters are not NFKC: their key is not used)."""
    assert content_hash(text, text_key(text)) == content_hash(text)


def test_content_hash_ignores_case_spacing_and_punctuation() -> None:
    assert content_hash("Hello,  World!\n\nSecond.") == content_hash("hello world second")
    assert content_hash("Hello world") != content_hash("Hello there world")
