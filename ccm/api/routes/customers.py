"""``/v1/customers/{id}/communications``: the customer's trace, for auditors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from ccm.api.deps import AnyReader, Auditor, Billing, BillingOrMarketing, Services
from ccm.api.routes.documents import content_url
from ccm.api.schemas import CommunicationOut, TraceOut, problem_responses
from ccm.audit.service import TraceFilter, customer_trace
from ccm.customers.schemas import ConsentIn, CustomerProfile
from ccm.customers.service import (
    consent_history,
    consents_of,
    get_customer,
    profile_of,
    set_consent,
    upsert_customer,
)
from ccm.db.base import as_utc
from ccm.documents.service import check_customer_id
from ccm.journeys.views import customer_path
from ccm.rendering.spec import Channel

router = APIRouter(tags=["customers"])


@router.get("/customers/{customer_id}/communications", response_model=TraceOut,
            summary="Every communication a customer received",
            responses=problem_responses(401, 403, 422))
def customer_communications(
    customer_id: str,
    request: Request,
    services: Services,
    _principal: Auditor,
    since: Annotated[datetime | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    channel: Channel | None = None,
    journey: str | None = None,
    stage: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the page before.")]
    = None,
) -> TraceOut:
    """Newest first, with template and brand versions, journey and stage of each."""
    filters = TraceFilter(since, until, channel.value if channel else None, journey, stage)
    with services.unit_of_work() as session:
        page = customer_trace(session, customer_id, filters, limit=limit, cursor=cursor)
    return TraceOut(
        customer_id=customer_id, next_cursor=page.next_cursor,
        communications=[CommunicationOut.of(row, content_url(request, row.id))
                        for row in page.communications],
    )


# -- profiles and consent ----------------------------------------------------------------

def _profile_reply(session: Session, customer_id: str) -> dict[str, Any]:
    return profile_of(get_customer(session, customer_id), consents_of(session, customer_id))


@router.put("/customers/{customer_id}", summary="Create or replace a customer's profile",
            responses={200: {"description": "The profile (replaced)."},
                       201: {"description": "The profile (created)."},
                       **problem_responses(400, 401, 403, 413, 422)})
def put_customer(customer_id: str, services: Services, principal: Billing,
                 body: CustomerProfile) -> JSONResponse:
    """Name, locale, time zone, email, phone, postal address, preferred channel and free
    attributes; `consents` given here are recorded with their source."""
    check_customer_id(customer_id)
    with services.unit_of_work() as session:
        _, created = upsert_customer(session, customer_id, body, source=principal.name)
        reply = _profile_reply(session, customer_id)
    return JSONResponse(reply, status_code=201 if created else 200)


@router.get("/customers/{customer_id}", summary="A customer's profile and consents",
            responses=problem_responses(401, 403, 404))
def get_customer_profile(customer_id: str, services: Services,
                         _principal: AnyReader) -> dict[str, Any]:
    with services.unit_of_work() as session:
        return _profile_reply(session, customer_id)


@router.post("/customers/{customer_id}/consents", summary="Record a consent answer",
             responses=problem_responses(400, 401, 403, 404, 413, 422))
def post_consent(customer_id: str, services: Services, _principal: BillingOrMarketing,
                 body: ConsentIn) -> dict[str, Any]:
    """Consent per channel and purpose (`transactional`, `marketing`), with its source; a
    change is kept in the customer's consent history."""
    with services.unit_of_work() as session:
        get_customer(session, customer_id)
        set_consent(session, customer_id, body)
        return _consents_reply(session, customer_id)


def _consents_reply(session: Session, customer_id: str) -> dict[str, Any]:
    return {"customer_id": customer_id,
            "consents": profile_of(get_customer(session, customer_id),
                                   consents_of(session, customer_id))["consents"],
            "history": [{"channel": c.channel, "purpose": c.purpose, "granted": c.granted,
                         "source": c.source, "changed_at": as_utc(c.changed_at).isoformat()}
                        for c in consent_history(session, customer_id)]}


@router.get("/customers/{customer_id}/consents",
            summary="A customer's consents and every change to them",
            responses=problem_responses(401, 403, 404))
def get_consents(customer_id: str, services: Services, _principal: AnyReader
                 ) -> dict[str, Any]:
    with services.unit_of_work() as session:
        return _consents_reply(session, customer_id)


@router.get("/customers/{customer_id}/journeys",
            summary="Where a customer is in each journey, and how they got there",
            responses=problem_responses(401, 403, 404))
def get_customer_journeys(customer_id: str, services: Services, _principal: AnyReader
                          ) -> dict[str, Any]:
    """Current stage per journey, the stage history (with superseded late events), the
    sends decided on with their channel decision and status, and pending follow-ups."""
    with services.unit_of_work() as session:
        get_customer(session, customer_id)
        return customer_path(session, customer_id)
