"""Dispatching sends: claim, render and record, deliver, then mark — crash-safe.

A send is claimed with a lease (a token and a time it runs until). Its document is
rendered and recorded as a communication *before* it is handed to the channel, in a
transaction that checks the lease is still ours; the provider gets the send's id as its
idempotency key (SMS), Message-ID (email) or file name (print). So a worker killed at any
point leaves a send that is either not yet recorded (it is rendered again) or recorded and
maybe delivered (it is delivered again with the same id, which the provider recognises);
it is never lost, and never recorded twice. The render runs between two short
transactions, so no database lock is held while it works.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from ccm.artifacts import ArtifactStore
from ccm.assets.models import Asset
from ccm.audit.models import Communication
from ccm.audit.service import Requester, record_communication
from ccm.brand.service import get_brand_version
from ccm.brand.tokens import BrandTokens
from ccm.config import Settings
from ccm.customers.models import Customer, Purpose
from ccm.customers.service import reachability
from ccm.db.base import as_utc
from ccm.delivery.message import (
    Attachment,
    DeliveryChannel,
    DeliveryFailed,
    DeliveryReceipt,
    InlinePart,
    OutboundMessage,
)
from ccm.delivery.models import Send, SendEventKind, SendStatus
from ccm.delivery.outbox import add_history, finish_send
from ccm.delivery.secrets import tracking_secret
from ccm.delivery.tracking import instrument_email, unsubscribe_url
from ccm.documents.service import DocumentRequest, PreparedDocument, prepare_document
from ccm.errors import CCMError
from ccm.rendering.engine import Renderer, default_renderer
from ccm.rendering.spec import Channel, RenderedDocument

#: The rendering channel of each delivery channel.
RENDER_CHANNEL = {DeliveryChannel.EMAIL: Channel.EMAIL, DeliveryChannel.SMS: Channel.SMS,
                  DeliveryChannel.PRINT: Channel.PDF}
REQUESTER = "journey-worker"


@dataclass(frozen=True)
class ClaimedSend:
    send_id: str
    token: str


def claim_sends(session: Session, limit: int, lease: timedelta, now: datetime
                ) -> list[ClaimedSend]:
    """Lease up to ``limit`` sends: queued ones that are due, or claimed ones whose lease
    ran out (their worker died)."""
    claimable = or_(and_(Send.status == SendStatus.QUEUED, Send.due_at <= now),
                    and_(Send.status == SendStatus.SENDING, Send.lease_until < now))
    query = select(Send.id).where(claimable).order_by(Send.due_at, Send.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for send_id in session.scalars(query).all():
        token = str(uuid.uuid4())
        result = session.execute(
            update(Send).where(Send.id == send_id, claimable)
            .values(status=SendStatus.SENDING, lease_token=token, lease_until=now + lease,
                    attempts=Send.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(ClaimedSend(send_id, token))
    return claimed


def _held(session: Session, claimed: ClaimedSend) -> Send | None:
    """The send, if our lease on it still stands (re-read from the database)."""
    send = session.get(Send, claimed.send_id, populate_existing=True)
    if send is None or send.lease_token != claimed.token or send.status != SendStatus.SENDING:
        return None
    return send


@dataclass(frozen=True)
class SendWork:
    """What a claimed send needs next: a render (``prepared``), or only delivery."""

    claimed: ClaimedSend
    channel: DeliveryChannel
    prepared: PreparedDocument | None = None
    attachment: PreparedDocument | None = None
    communication_id: str | None = None
    done: bool = False  # suppressed or failed while loading: nothing to deliver


def load_send(session: Session, claimed: ClaimedSend, now: datetime) -> SendWork | None:
    """Check a claimed send again (consent may have changed) and prepare its render."""
    send = _held(session, claimed)
    if send is None:
        return None
    channel = DeliveryChannel(send.channel or "email")
    if send.communication_id is not None:  # recorded before a crash: deliver it again
        return SendWork(claimed, channel, communication_id=send.communication_id)
    customer = session.get(Customer, send.customer_id)
    assert customer is not None
    reach = reachability(session, customer)
    allowed, why = reach.allows(channel, Purpose(send.purpose))
    if not allowed or reach.contact_point(channel) is None:
        reason = why if not allowed else f"the customer has no {channel.value} contact point"
        _final(session, send, SendStatus.SUPPRESSED, f"at sending: {reason}", now)
        return SendWork(claimed, channel, done=True)
    try:
        prepared = prepare_document(session, DocumentRequest(
            template=send.template_key, customer_id=send.customer_id,
            channel=RENDER_CHANNEL[channel].value, locale=send.locale, data=send.data))
        attachment = None
        if channel is DeliveryChannel.EMAIL and prepared.template.email_attach_pdf:
            attachment = dataclasses.replace(prepared, channel=Channel.PDF)
    except CCMError as exc:
        _final(session, send, SendStatus.FAILED, f"{exc.code}: {exc.detail}", now)
        return SendWork(claimed, channel, done=True)
    return SendWork(claimed, channel, prepared, attachment)


def render_work(work: SendWork, renderer: Renderer | None = None
                ) -> tuple[RenderedDocument | None, RenderedDocument | None, CCMError | None]:
    """The render alone (no database)."""
    if work.prepared is None:
        return None, None, None
    renderer = renderer or default_renderer()
    try:
        main = renderer.render(work.prepared.template, work.prepared.brand, work.prepared.data,
                               work.prepared.locale, work.prepared.channel, validate=False)
        attached = None
        if work.attachment is not None:
            attached = renderer.render(work.attachment.template, work.attachment.brand,
                                       work.attachment.data, work.attachment.locale,
                                       Channel.PDF, validate=False)
    except CCMError as exc:
        return None, None, exc
    return main, attached, None


def _email_headers(send: Send, settings: Settings, secret: bytes) -> dict[str, str]:
    if send.purpose != Purpose.MARKETING.value:
        return {}
    url = unsubscribe_url(settings.public_url, secret, send.id)
    return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def record_send(
    session: Session, store: ArtifactStore, work: SendWork,
    rendered: tuple[RenderedDocument | None, RenderedDocument | None, CCMError | None],
    settings: Settings, now: datetime,
) -> str | None:
    """Store the rendered bytes and record the communication, if the lease still holds.
    Returns the communication id (None: nothing to deliver)."""
    send = _held(session, work.claimed)
    if send is None:
        return None
    if work.communication_id is not None:
        return work.communication_id
    main, attached, error = rendered
    if error is not None or main is None or work.prepared is None:
        detail = f"{error.code}: {error.detail}" if error else "nothing was rendered"
        _final(session, send, SendStatus.FAILED, detail, now)
        return None
    if work.channel is DeliveryChannel.EMAIL:
        secret = tracking_secret(session, settings)
        instrumented = instrument_email(main.content.decode(), main.text, send_id=send.id,
                                        base_url=settings.public_url, secret=secret)
        content = instrumented.html.encode()
        main = dataclasses.replace(main, content=content, text=instrumented.text,
                                   sha256=hashlib.sha256(content).hexdigest())
        send.links = list(instrumented.links)
    parts: list[dict[str, str]] = []
    for image in main.inline_images:
        asset = session.get(Asset, image.sha256)
        if asset is not None:
            store.put(asset.content)
        parts.append({"role": "inline", "name": image.content_id,
                      "media_type": image.media_type, "sha256": image.sha256})
    if attached is not None:
        parts.append({"role": "attachment", "name": _attachment_name(send, attached),
                      "media_type": attached.media_type, "sha256": store.put(attached.content)})
    store.put(main.content)
    text_sha256 = store.put(main.text.encode()) if main.text is not None else None
    row = record_communication(
        session, customer_id=send.customer_id, template=work.prepared.template,
        document=main, data_sha256=work.prepared.data_sha256,
        requester=Requester(REQUESTER, idempotency_key=send.dedup_key),
        text_sha256=text_sha256, send_id=send.id, trigger_event_id=send.trigger_event_id,
        parts=parts, created_at=now)
    send.communication_id = row.id
    send.updated_at = now
    add_history(session, send, SendEventKind.RENDERED, now, communication_id=row.id,
                sha256=main.sha256)
    session.flush()
    return row.id


def _attachment_name(send: Send, document: RenderedDocument) -> str:
    number = send.data.get("invoice_number")
    stem = f"{send.template_key}-{number}" if isinstance(number, str) else send.template_key
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in stem) + ".pdf"


def outbound_message(session: Session, store: ArtifactStore, send: Send,
                     communication: Communication, settings: Settings,
                     now: datetime) -> OutboundMessage:
    """The message for the adapter, rebuilt from the stored record and bytes (so a
    retry after a crash sends exactly what was recorded)."""
    customer = session.get(Customer, send.customer_id)
    assert customer is not None
    channel = DeliveryChannel(send.channel or "email")
    content = store.get(communication.sha256)
    # Dated when it was recorded, not when it is tried: a retry sends the same bytes.
    message = OutboundMessage(message_id=send.id, channel=channel,
                              customer_id=send.customer_id,
                              date=as_utc(communication.created_at),
                              sha256=communication.sha256)
    tokens = _brand_tokens(session, communication)
    if channel is DeliveryChannel.SMS:
        return dataclasses.replace(message, to_number=customer.phone,
                                   sender_id=tokens.sms_sender_id, sms_text=content.decode())
    if channel is DeliveryChannel.PRINT:
        return dataclasses.replace(message, pdf=content, recipient_name=customer.name,
                                   postal_address=list(customer.postal_address),
                                   page_count=communication.page_count)
    parts = communication.parts or []
    inline = [InlinePart(p["name"], p["media_type"], store.get(p["sha256"]))
              for p in parts if p["role"] == "inline"]
    attachments = [Attachment(p["name"], p["media_type"], store.get(p["sha256"]))
                   for p in parts if p["role"] == "attachment"]
    text = store.get(communication.text_sha256).decode() if communication.text_sha256 else None
    secret = tracking_secret(session, settings)
    return dataclasses.replace(
        message, to_address=customer.email,
        from_address=formataddr((tokens.email_sender.name, tokens.email_sender.address)),
        subject=communication.subject or communication.title or "", html=content.decode(),
        text=text, inline_parts=inline, attachments=attachments,
        headers=_email_headers(send, settings, secret))


#: Published brand versions never change: their tokens are read and validated once.
_tokens: dict[tuple[str, int], BrandTokens] = {}


def _brand_tokens(session: Session, communication: Communication) -> BrandTokens:
    key = (communication.brand_key, communication.brand_version)
    tokens = _tokens.get(key)
    if tokens is None:
        row = get_brand_version(session, *key)
        tokens = BrandTokens.model_validate(row.tokens)
        if row.status.value != "draft":
            _tokens[key] = tokens
    return tokens


def finish_delivery(
    session: Session, claimed: ClaimedSend, answer: DeliveryReceipt | DeliveryFailed,
    settings: Settings, now: datetime,
) -> SendStatus | None:
    """Record what the channel answered, if our lease still holds."""
    send = _held(session, claimed)
    if send is None:
        return None
    if isinstance(answer, DeliveryReceipt):
        send.status = SendStatus.SENT
        send.provider, send.provider_message_id = answer.provider, answer.provider_message_id
        send.sent_at = now
        send.reason = None
        add_history(session, send, SendEventKind.SENT, now, provider=answer.provider,
                    provider_message_id=answer.provider_message_id)
    elif answer.permanent or send.attempts >= settings.delivery_max_attempts:
        tries = f" after {send.attempts} attempt(s)" if not answer.permanent else ""
        _final(session, send, SendStatus.FAILED, f"{answer.reason}{tries}", now)
    else:
        wait = settings.delivery_backoff_seconds * 2 ** (send.attempts - 1)
        send.status = SendStatus.QUEUED
        send.due_at = now + timedelta(seconds=wait)
        send.reason = answer.reason
        add_history(session, send, SendEventKind.ATTEMPT_FAILED, now, reason=answer.reason,
                    attempt=send.attempts, retry_at=send.due_at.isoformat())
    _release(send, now)
    session.flush()
    return send.status


def _release(send: Send, now: datetime) -> None:
    send.lease_token = None
    send.lease_until = None
    send.updated_at = now


def _final(session: Session, send: Send, status: SendStatus, reason: str,
           now: datetime) -> None:
    finish_send(session, send, status, reason, now)
    _release(send, now)
    session.flush()


def release_sends(session: Session, claimed: Sequence[ClaimedSend], now: datetime) -> None:
    """Hand back claimed sends not begun (a clean stop): due again at once."""
    for item in claimed:
        session.execute(update(Send).where(Send.id == item.send_id,
                                           Send.lease_token == item.token,
                                           Send.status == SendStatus.SENDING)
                        .values(status=SendStatus.QUEUED, lease_token=None, lease_until=None,
                                attempts=Send.attempts - 1, updated_at=now)
                        .execution_options(synchronize_session=False))
