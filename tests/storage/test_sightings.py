"""The durable queue: insert-or-ignore, one-query known keys, leases with fencing, bounded retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import leases, sightings, sources
from storage.db import Database
from storage.sightings import NewSighting
from storage.sources import SourceSpec

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def _entry(key: str) -> NewSighting:
    return NewSighting(
        key, f"guid-{key}", f"https://x.example/{key}", f"lk-{key}", key, None, None, None, None
    )


def _source_id(db: Database) -> int:
    with db.read() as session:
        source_id = sources.all_sources(session)[0].id
    assert source_id is not None
    return source_id


def test_queue_is_idempotent_and_known_checks_both_identities(db: Database) -> None:
    source_id = _source_id(db)
    with db.write() as session:
        assert sightings.queue(session, source_id, [_entry("a"), _entry("b")], NOW) == 2
        assert sightings.queue(session, source_id, [_entry("b"), _entry("c")], NOW) == 1
        keys, links = sightings.known(session, source_id, ["a", "c", "z"], ["lk-b", "lk-z"])
        assert set(keys) == {"a", "c"} and links == {"lk-b"}


def test_claims_are_exclusive_until_the_lease_expires(db: Database) -> None:
    source_id = _source_id(db)
    with db.write() as session:
        sightings.queue(session, source_id, [_entry("a"), _entry("b")], NOW)
    until = NOW + timedelta(minutes=5)
    with db.write() as session:
        mine = sightings.claim_pending(session, [source_id], "me", NOW, until, NOW, 3, 10)
    with db.write() as session:
        theirs = sightings.claim_pending(session, [source_id], "them", NOW, until, NOW, 3, 10)
    assert len(mine) == 2 and theirs == []
    later = until + timedelta(seconds=1)
    with db.write() as session:
        taken = sightings.claim_pending(
            session, [source_id], "them", later, later + timedelta(minutes=5), NOW, 3, 10
        )
    assert len(taken) == 2
    with db.write() as session:  # fencing: the first owner lost its lease and cannot finish
        assert not sightings.finish(session, mine[0].id or 0, "me", 1, later)
        assert not sightings.fail(session, mine[0].id or 0, "me", "x.y", "z", later)


def test_failed_entries_are_retried_later_and_boundedly(db: Database) -> None:
    source_id = _source_id(db)
    with db.write() as session:
        sightings.queue(session, source_id, [_entry("a")], NOW)
    for attempt in range(1, 4):
        moment = NOW + timedelta(hours=attempt)
        with db.write() as session:
            (claimed,) = sightings.claim_pending(
                session, [source_id], "w", moment, moment + timedelta(minutes=5), moment, 3, 10
            )
            assert sightings.fail(session, claimed.id or 0, "w", "http.404", "gone", moment)
        with db.write() as session:  # not again in the same run (last attempt is after the run started)
            assert sightings.claim_pending(session, [source_id], "w", moment, moment, moment, 3, 10) == []
    final = NOW + timedelta(hours=10)
    with db.write() as session:
        assert sightings.claim_pending(session, [source_id], "w", final, final, final, 3, 10) == []


def test_a_dead_owners_leases_can_be_released(db: Database) -> None:
    source_id = _source_id(db)
    with db.write() as session:
        sightings.queue(session, source_id, [_entry("a")], NOW)
        sightings.claim_pending(session, [source_id], "dead", NOW, NOW + timedelta(hours=1), NOW, 3, 10)
        assert sources.try_lease(session, source_id, "dead", NOW, NOW + timedelta(hours=1))
    with db.read() as session:
        assert leases.live_owners(session, NOW) == {"dead"}
    with db.write() as session:
        assert leases.release_owner(session, "dead") == 2
        assert sources.try_lease(session, source_id, "alive", NOW, NOW + timedelta(hours=1))


def test_config_sync_updates_and_disables_but_never_deletes(db: Database) -> None:
    with db.write() as session:
        sources.sync_declared(session, [SourceSpec("other", "directory", None, "/data", 600.0, False, True)])
    with db.read() as session:
        state = {s.name: s for s in sources.all_sources(session)}
    assert not state["feed"].enabled and state["other"].enabled and state["other"].interval_s == 600.0
