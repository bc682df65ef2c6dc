"""WebSub subscriptions in the database: what is due, claimed once, and how hubs' answers land.

On SQLite and PostgreSQL: two daemons asking at the same moment get different work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from ingest.models import Entry, Validators
from ingest.refresh import refresh
from ingest.schedule import Bounds
from ingest.sources import Poll
from ingest.store import Store
from storage import migrate, sources, subscriptions
from storage.db import Database
from storage.sources import SourceSpec
from storage.tables import Source, Subscription

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
HUB = "https://hub.example/"
TOPIC = "https://news.example/feed.xml"


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    database = Database(any_db_url)
    migrate.upgrade(database)
    with database.write() as session:
        spec = SourceSpec("news", "feed", "https://news.example/rss", None, None, True, True)
        sources.sync_declared(session, [spec])
        session.execute(update(Source).values(hub_url=HUB, topic_url=TOPIC))
    yield database
    database.close()


def _claim(db: Database, now: datetime = NOW) -> list[subscriptions.Work]:
    with db.write() as session:
        return subscriptions.claim_work(session, now, now + timedelta(hours=1))


def _row(db: Database) -> Subscription:
    with db.read() as session:
        return session.exec(select(Subscription)).one()


def test_a_source_with_a_hub_is_subscribed_once_with_a_secret_and_a_token_of_its_own(db: Database) -> None:
    (work,) = _claim(db)
    assert (work.action, work.hub_url, work.topic_url, work.renewal) == ("subscribe", HUB, TOPIC, False)
    assert len(work.token) >= 32 and len(work.secret) == 64
    assert _claim(db) == []  # claimed: not due again until the retry moment
    row = _row(db)
    assert row.state == "requested" and row.next_action_at == LATER


def test_verified_then_renewed_before_the_lease_lapses(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        subscriptions.verified(session, work.token, NOW, lease_s=86400, renew_s=3600)
        assert subscriptions.is_active(session, _row(db).source_id, NOW)
    row = _row(db)
    assert row.state == "active" and row.expires_at == NOW + timedelta(days=1)
    assert _claim(db, NOW + timedelta(hours=22)) == []
    (renewal,) = _claim(db, NOW + timedelta(hours=23))
    assert renewal.action == "subscribe" and renewal.renewal and renewal.token == work.token
    assert _row(db).state == "active"  # pushes still accepted while the renewal is verified
    with db.read() as session:
        assert not subscriptions.is_active(session, row.source_id, NOW + timedelta(days=2))


def test_a_failed_request_is_asked_again_after_the_retry_delay(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        subscriptions.request_failed(session, work.subscription_id, "hub.example answered HTTP 500")
    assert (_row(db).state, _row(db).last_error) == ("failed", "hub.example answered HTTP 500")
    (again,) = _claim(db, LATER)
    assert again.action == "subscribe" and _row(db).state == "requested"


def test_a_disabled_source_is_unsubscribed_and_forgotten_if_the_hub_never_confirms(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        subscriptions.verified(session, work.token, NOW, lease_s=86400, renew_s=3600)
        sources.set_enabled(session, "news", False)
    (ending,) = _claim(db)
    assert (ending.action, ending.token) == ("unsubscribe", work.token)
    assert _row(db).state == "unsubscribing"
    (forgotten,) = _claim(db, LATER)
    assert forgotten.action == "forget"
    with db.read() as session:
        assert session.exec(select(Subscription)).all() == []


def test_a_feed_that_moves_to_another_hub_gets_a_new_subscription(db: Database) -> None:
    (first,) = _claim(db)
    with db.write() as session:
        session.execute(update(Source).values(hub_url="https://other-hub.example/"))
    (second,) = _claim(db)
    assert second.hub_url == "https://other-hub.example/" and second.token != first.token
    assert second.subscription_id == first.subscription_id  # one subscription a source


def test_a_denial_is_kept_with_its_reason_and_asked_again_later(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        subscriptions.denied(session, work.token, "topic not allowed", LATER)
    assert (_row(db).state, _row(db).last_error) == ("denied", "topic not allowed")
    assert _claim(db) == [] and _claim(db, LATER)[0].action == "subscribe"


def test_pushes_are_counted_accepted_and_refused(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        subscriptions.count_push(session, work.subscription_id, NOW, accepted=True)
        subscriptions.count_push(session, work.subscription_id, LATER, accepted=False)
        found = subscriptions.by_token(session, work.token)
        assert subscriptions.by_token(session, "not-a-token") is None
    assert found is not None and found[1].name == "news"
    row = _row(db)
    assert (row.pushes, row.pushes_refused, row.last_push_at) == (1, 1, NOW)


class _OneEntry:
    async def poll(self, known: Validators) -> Poll:
        entry = Entry("k1", "g1", "https://news.example/1", "lk1", "T", None, "<p>b</p>", None, None, None)
        return Poll(True, Validators(body_hash="h"), (entry,), 200, hub=HUB, topic=TOPIC)

    async def load_page(self, link: str) -> object:
        raise AssertionError("not used")


@pytest.mark.parametrize("subscribed", [False, True])
def test_a_subscribed_source_is_polled_only_as_a_safety_net(db: Database, subscribed: bool) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        if subscribed:
            subscriptions.verified(session, work.token, NOW, lease_s=86400, renew_s=3600)
        source = session.exec(select(Source)).one()
        assert sources.try_lease(session, source.id or 0, "me", NOW, LATER)

    async def go() -> object:
        store = Store(db)
        try:
            bounds = Bounds(1800, 300, 86400, subscribed_interval=21600)
            return await refresh(source, _OneEntry(), store, "me", NOW, bounds)  # type: ignore[arg-type]
        finally:
            store.close()

    done = asyncio.run(go())
    plan = done.plan  # type: ignore[attr-defined]
    assert (plan.reason == "websub") is subscribed
    assert (plan.interval_s == 21600) is subscribed  # unsubscribed: the default, with its jitter
    with db.read() as session:
        polled = session.exec(select(Source).where(col(Source.name) == "news")).one()
    assert (polled.hub_url, polled.topic_url) == (HUB, TOPIC)


def test_a_hub_at_an_http_address_is_subscribed_to_only_when_allowed(db: Database) -> None:
    with db.write() as session:
        session.execute(update(Source).values(hub_url="http://hub.example/"))
    assert _claim(db) == []
    with db.write() as session:
        allowed = subscriptions.claim_work(session, NOW, LATER, hub_schemes=("https://", "http://"))
    assert [w.hub_url for w in allowed] == ["http://hub.example/"]


def test_a_verification_after_the_subscription_ended_or_moved_confirms_nothing(db: Database) -> None:
    (work,) = _claim(db)
    with db.write() as session:
        sources.set_enabled(session, "news", False)
    (ending,) = _claim(db)
    assert ending.action == "unsubscribe"
    with db.write() as session:  # the hub's late verification of the subscription
        assert not subscriptions.verified(session, work.token, NOW, lease_s=86400, renew_s=3600)
        sources.set_enabled(session, "news", True)
        subscriptions.forget(session, work.token)
    (again,) = _claim(db)
    with db.write() as session:
        session.execute(update(Source).values(topic_url="https://news.example/other.xml"))
    (moved,) = _claim(db)
    with db.write() as session:  # the old topic's verification, arriving after the move
        assert not subscriptions.verified(session, again.token, NOW, lease_s=86400, renew_s=3600)
        assert subscriptions.verified(session, moved.token, NOW, lease_s=86400, renew_s=3600)


def test_secrets_never_show_in_a_printed_subscription(db: Database) -> None:
    (work,) = _claim(db)
    for shown in (repr(work), repr(_row(db))):
        assert work.secret not in shown and work.token not in shown
