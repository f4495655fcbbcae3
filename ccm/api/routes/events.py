"""``/v1/events``: what happened to customers, one event or a batch of up to 1,000."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from ccm.api.deps import Billing, Services
from ccm.api.problems import problem_json
from ccm.api.schemas import problem_responses
from ccm.db.base import utcnow
from ccm.journeys.events import EventResult, ingest_events
from ccm.journeys.views import send_json, transition_json

router = APIRouter(tags=["events"])

EVENT_EXAMPLE = {"event_id": "evt-C-101502-signup", "customer_id": "C-101502",
                 "type": "payment_received", "occurred_at": "2026-11-20T09:30:00Z",
                 "payload": {"invoice_number": "INV-2026-101502-1", "amount": 1234.56}}


def result_json(result: EventResult) -> dict[str, Any]:
    value: dict[str, Any] = {"index": result.index, "event_id": result.event_id,
                             "status": result.status}
    if result.error is not None:
        value["error"] = problem_json(result.error)
    else:
        value["transitions"] = [transition_json(t) for t in result.outcome.transitions]
        value["sends"] = [send_json(s) for s in result.outcome.sends]
        value["follow_ups_cancelled"] = [f.id for f in result.outcome.cancelled]
    return value


@router.post("/events", summary="Report one event, or a batch of events",
             responses={200: {"description": "What each event did."},
                        **problem_responses(400, 401, 403, 404, 409, 413, 422)})
def post_events(
    services: Services,
    principal: Billing,
    body: Annotated[dict[str, Any] | list[Any], Body(
        description="One event, or a JSON array of up to 1,000 events. Idempotent by "
                    "`event_id`; events are placed by `occurred_at`, not by arrival.",
        openapi_examples={"one": {"summary": "A payment", "value": EVENT_EXAMPLE},
                          "batch": {"summary": "Two events", "value": [
                              EVENT_EXAMPLE, {**EVENT_EXAMPLE, "event_id": "evt-2",
                                              "type": "link_clicked", "payload": {}}]}})],
) -> JSONResponse:
    """Each event moves its customer through the live journeys: the stage transitions it
    recorded and the sends it decided on are in the reply. A single refused event is a
    problem reply; in a batch, each refused event carries its own error and the others
    go ahead."""
    single = isinstance(body, dict)
    events: list[Any] = [body] if isinstance(body, dict) else list(body)
    with services.unit_of_work() as session:
        results = ingest_events(session, events, source=principal.name, now=utcnow(),
                                settings=services.settings)
        replies = [result_json(r) for r in results]
    if single:
        if results[0].error is not None:
            raise results[0].error
        return JSONResponse(replies[0])
    counts = {status: sum(r.status == status for r in results)
              for status in ("accepted", "duplicate", "refused")}
    return JSONResponse({**counts, "results": replies})
