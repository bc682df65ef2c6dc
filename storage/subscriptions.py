"""WebSub subscriptions: which sources need one, claiming the work, and what hubs answered.

Every change is one conditional statement, so that daemons on several machines sharing the
database act on a subscription one at a time: the worker whose UPDATE matched does the work.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, update
from sqlmodel import Session, col, select

from storage.tables import Source, Subscription
from storage.upsert import affected, insert_one_ignore

# Claimed work is written down before the hub is asked: a verification may arrive before the
# hub's answer to our request does.
SUBSCRIBE, UNSUBSCRIBE, FORGET = "subscribe", "unsubscribe", "forget"


@dataclass(frozen=True, slots=True)
class Work:
    """One thing to tell a hub (or, for ``forget``, to stop waiting for)."""

    action: str  # subscribe | unsubscribe | forget
    subscription_id: int
    source_name: str
    hub_url: str
    topic_url: str
    token: str = field(repr=False)  # neither is ever to be printed: they let anyone forge pushes
    secret: str = field(repr=False)
    renewal: bool = False  # an active subscription asked again before its lease lapses


def is_active(session: Session, source_id: int, now: datetime) -> bool:
    query = select(Subscription.id).where(
        col(Subscription.source_id) == source_id,
        col(Subscription.state) == "active",
        col(Subscription.expires_at) > now,
    )
    return session.exec(query).first() is not None


def by_token(session: Session, token: str) -> tuple[Subscription, Source] | None:
    query = (
        select(Subscription, Source)
        .join(Source, col(Source.id) == col(Subscription.source_id))
        .where(col(Subscription.token) == token)
    )
    found = session.exec(query).first()
    return None if found is None else (found[0], found[1])


def of_source(session: Session, source_id: int) -> Subscription | None:
    return session.exec(select(Subscription).where(col(Subscription.source_id) == source_id)).first()


def claim_work(
    session: Session,
    now: datetime,
    retry_at: datetime,
    limit: int = 20,
    hub_schemes: tuple[str, ...] = ("https://",),
) -> list[Work]:
    """What is to be done now, claimed: new subscriptions for sources that advertise a hub, the
    subscriptions of sources that no longer want one to end, and the subscriptions whose moment
    came (renew before the lease lapses; ask again after a refusal, a failure or a silence).
    Each is claimed until ``retry_at``: if nothing is heard by then, it is due again."""
    wanted = _wanted(hub_schemes)
    work = _new_subscriptions(session, wanted, now, retry_at, limit)
    work += _ending(session, wanted, retry_at, limit)
    work += _due(session, wanted, now, retry_at, limit)
    return work


def _wanted(hub_schemes: tuple[str, ...]) -> ColumnElement[bool]:
    """Sources that want a subscription: enabled feeds advertising a hub we may subscribe to."""
    schemes = [col(Source.hub_url).startswith(scheme) for scheme in hub_schemes]
    return and_(col(Source.enabled), col(Source.kind) == "feed", or_(*schemes))


def _topic() -> ColumnElement[str | None]:
    """The topic a source's subscription is for: the feed's rel="self", else where it is polled."""
    return func.coalesce(col(Source.topic_url), col(Source.url))


def _new_subscriptions(
    session: Session, wanted: ColumnElement[bool], now: datetime, retry_at: datetime, limit: int
) -> list[Work]:
    """Sources advertising a hub without a subscription to it (none yet, or to another hub or topic)."""
    query = (
        select(Source, Subscription)
        .join(Subscription, col(Subscription.source_id) == col(Source.id), isouter=True)
        .where(
            wanted,
            or_(
                col(Subscription.id).is_(None),
                col(Subscription.hub_url) != col(Source.hub_url),
                col(Subscription.topic_url) != _topic(),
            ),
        )
        .limit(limit)
    )
    work = []
    for source, existing in session.exec(query).all():
        assert source.id is not None and source.hub_url is not None
        topic = source.topic_url or source.url or ""
        fresh = {
            "hub_url": source.hub_url,
            "topic_url": topic,
            "token": secrets.token_urlsafe(24),
            "secret": secrets.token_hex(32),
            "state": "requested",
            "requested_at": now,
            "next_action_at": retry_at,
            "verified_at": None,
            "expires_at": None,
            "lease_s": None,
            "last_error": None,
        }
        if existing is None:
            key = insert_one_ignore(session, Subscription, {"source_id": source.id, **fresh})
        else:  # the feed moved to another hub or topic: the old subscription's pushes are refused
            changed = update(Subscription).where(
                col(Subscription.id) == existing.id, col(Subscription.token) == existing.token
            )
            key = existing.id if affected(session.execute(changed.values(**fresh))) == 1 else None
        if key is not None:
            work.append(_work(SUBSCRIBE, int(key), source.name, fresh))
    return work


def _ending(session: Session, wanted: ColumnElement[bool], retry_at: datetime, limit: int) -> list[Work]:
    """Subscriptions of sources disabled, removed, or whose feed stopped advertising its hub."""
    query = (
        select(Subscription, Source)
        .join(Source, col(Source.id) == col(Subscription.source_id))
        .where(col(Subscription.state) != "unsubscribing", ~wanted)
        .limit(limit)
    )
    work = []
    for subscription, source in session.exec(query).all():
        claim = update(Subscription).where(
            col(Subscription.id) == subscription.id, col(Subscription.state) == subscription.state
        )
        if affected(session.execute(claim.values(state="unsubscribing", next_action_at=retry_at))) == 1:
            work.append(_work(UNSUBSCRIBE, _id(subscription), source.name, _fields(subscription)))
    return work


def _due(
    session: Session, wanted: ColumnElement[bool], now: datetime, retry_at: datetime, limit: int
) -> list[Work]:
    """Subscriptions whose moment came: renewals and retries of wanted ones, and unsubscriptions
    the hub never confirmed (an unwanted one not yet ending is :func:`_ending`'s)."""
    query = (
        select(Subscription, Source)
        .join(Source, col(Source.id) == col(Subscription.source_id))
        .where(
            col(Subscription.next_action_at) <= now,
            or_(wanted, col(Subscription.state) == "unsubscribing"),
        )
        .limit(limit)
    )
    work = []
    for subscription, source in session.exec(query).all():
        claim = update(Subscription).where(
            col(Subscription.id) == subscription.id,
            col(Subscription.next_action_at) == subscription.next_action_at,
        )
        if affected(session.execute(claim.values(next_action_at=retry_at))) != 1:
            continue  # another worker took it
        if subscription.state == "unsubscribing":  # the hub never confirmed: stop waiting
            session.execute(delete(Subscription).where(col(Subscription.id) == subscription.id))
            work.append(_work(FORGET, _id(subscription), source.name, _fields(subscription)))
            continue
        if subscription.state != "active":
            session.execute(
                update(Subscription)
                .where(col(Subscription.id) == subscription.id)
                .values(state="requested", requested_at=now)
            )
        renewal = subscription.state == "active"
        work.append(_work(SUBSCRIBE, _id(subscription), source.name, _fields(subscription), renewal))
    return work


def _id(subscription: Subscription) -> int:
    assert subscription.id is not None
    return subscription.id


def _fields(subscription: Subscription) -> dict[str, object]:
    return {
        "hub_url": subscription.hub_url,
        "topic_url": subscription.topic_url,
        "token": subscription.token,
        "secret": subscription.secret,
    }


def _work(action: str, key: int, name: str, fields: dict[str, object], renewal: bool = False) -> Work:
    return Work(
        action,
        key,
        name,
        str(fields["hub_url"]),
        str(fields["topic_url"]),
        str(fields["token"]),
        str(fields["secret"]),
        renewal,
    )


def request_failed(session: Session, subscription_id: int, error: str) -> None:
    """The hub could not be asked (or said no at once). A subscription it verified meanwhile, or
    an active one being renewed, stays active: only the error is kept."""
    session.execute(
        update(Subscription)
        .where(col(Subscription.id) == subscription_id, col(Subscription.state) == "requested")
        .values(state="failed")
    )
    session.execute(
        update(Subscription).where(col(Subscription.id) == subscription_id).values(last_error=error[:2000])
    )


def verified(session: Session, token: str, now: datetime, lease_s: float, renew_s: float) -> bool:
    """Record the hub's verification; False when the subscription ended or was replaced meanwhile
    (its token is gone, or it is being ended)."""
    expires = now + timedelta(seconds=lease_s)
    statement = (
        update(Subscription)
        .where(col(Subscription.token) == token, col(Subscription.state) != "unsubscribing")
        .values(
            state="active",
            verified_at=now,
            lease_s=lease_s,
            expires_at=expires,
            next_action_at=expires - timedelta(seconds=renew_s),
            last_error=None,
        )
    )
    return affected(session.execute(statement)) == 1


def denied(session: Session, token: str, reason: str, retry_at: datetime) -> None:
    session.execute(
        update(Subscription)
        .where(col(Subscription.token) == token)
        .values(state="denied", last_error=reason[:2000], expires_at=None, next_action_at=retry_at)
    )


def forget(session: Session, token: str) -> None:
    session.execute(delete(Subscription).where(col(Subscription.token) == token))


def count_push(session: Session, subscription_id: int, now: datetime, accepted: bool) -> None:
    counter = col(Subscription.pushes) if accepted else col(Subscription.pushes_refused)
    values: dict[object, object] = {counter: counter + 1}
    if accepted:
        values[col(Subscription.last_push_at)] = now
    session.execute(update(Subscription).where(col(Subscription.id) == subscription_id).values(values))
