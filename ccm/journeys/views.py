"""Journey records as plain JSON-ready values: what the API, the CLI and the simulation
show of transitions, sends and a customer's path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ccm.db.base import as_utc
from ccm.delivery.models import Send, SendEvent
from ccm.journeys.models import CustomerJourney, FollowUp, StageTransition


def transition_json(row: StageTransition) -> dict[str, Any]:
    return {"journey": row.journey_key, "journey_version": row.journey_version,
            "from": row.from_stage, "to": row.to_stage, "outcome": row.outcome.value,
            "trigger": row.trigger, "event_type": row.event_type,
            "occurred_at": as_utc(row.occurred_at).isoformat(), "superseded": row.superseded}


def send_json(row: Send, history: Iterable[SendEvent] = ()) -> dict[str, Any]:
    value: dict[str, Any] = {
        "id": row.id, "journey": row.journey_key, "stage": row.stage_key,
        "template": row.template_key, "purpose": row.purpose, "channel": row.channel,
        "status": row.status.value, "reason": row.reason, "decision": row.decision,
        "trigger": row.trigger, "decided_at": as_utc(row.created_at).isoformat(),
        "due_at": as_utc(row.due_at).isoformat(),
        "attempts": row.attempts, "communication_id": row.communication_id,
        "provider_message_id": row.provider_message_id,
        "sent_at": as_utc(row.sent_at).isoformat() if row.sent_at else None}
    events = [{"kind": e.kind, "at": as_utc(e.occurred_at).isoformat(), **e.detail}
              for e in history]
    if events:
        value["history"] = events
    return value


def follow_up_json(row: FollowUp) -> dict[str, Any]:
    return {"id": row.id, "journey": row.journey_key, "stage": row.stage_key,
            "name": row.name, "due_at": as_utc(row.due_at).isoformat(),
            "unless": row.unless, "status": row.status.value, "resolution": row.resolution,
            "resolved_at": as_utc(row.resolved_at).isoformat() if row.resolved_at else None}


def customer_path(session: Session, customer_id: str) -> dict[str, Any]:
    """Where the customer is in each journey, how they got there, and what was sent."""
    instances = session.scalars(select(CustomerJourney).where(
        CustomerJourney.customer_id == customer_id).order_by(CustomerJourney.journey_key))
    transitions = session.scalars(select(StageTransition).where(
        StageTransition.customer_id == customer_id)
        .order_by(StageTransition.occurred_at, StageTransition.id))
    sends = session.scalars(select(Send).where(Send.customer_id == customer_id)
                            .order_by(Send.created_at, Send.due_at, Send.id))
    follow_ups = session.scalars(select(FollowUp).where(FollowUp.customer_id == customer_id)
                                 .order_by(FollowUp.due_at, FollowUp.id))
    return {
        "customer_id": customer_id,
        "journeys": [{"journey": i.journey_key, "version": i.journey_version,
                      "stage": i.stage_key, "status": i.status.value,
                      "entered_at": as_utc(i.entered_at).isoformat(),
                      "started_at": as_utc(i.started_at).isoformat(),
                      "finished_at": as_utc(i.finished_at).isoformat()
                      if i.finished_at else None} for i in instances],
        "transitions": [transition_json(t) for t in transitions],
        "sends": [send_json(s) for s in sends],
        "follow_ups": [follow_up_json(f) for f in follow_ups],
    }


def send_history(session: Session, send_id: str) -> list[SendEvent]:
    return list(session.scalars(select(SendEvent).where(SendEvent.send_id == send_id)
                                .order_by(SendEvent.id)))


def _when(moment: str | None) -> str:
    return (moment or "")[:16].replace("T", " ")


def format_simulation(result: Mapping[str, Any]) -> list[Any]:
    """Rich tables of a simulation (or of the demo's journeys): per customer, the path
    through the stages and the sends with their channel and why."""
    from rich.table import Table

    blocks: list[Any] = [f"[bold]journey {result['journey']}[/] v{result['version']} "
                         f"({result['status']})"]
    for customer in result["customers"]:
        path = " → ".join(
            [t["to"] or ("goal" if t["outcome"] == "goal_reached" else "exit")
             for t in customer["transitions"] if not t["superseded"]]) or "(not in the journey)"
        table = Table(title=f"{customer['customer_id']}: {path}", title_justify="left",
                      show_lines=False, expand=False)
        table.add_column("when", no_wrap=True)
        table.add_column("what", no_wrap=True)
        table.add_column("detail")
        rows: list[tuple[str, str, str]] = []
        for t in customer["transitions"]:
            what = {"entered": f"→ {t['to']}", "goal_reached": "✓ goal reached",
                    "exited": "✗ left the journey"}[t["outcome"]]
            cause = t["trigger"].split(":", 1)[0]
            detail = f"{t['event_type']}" if cause == "event" else "follow-up"
            if t["superseded"]:
                detail += " (late: history only)"
            rows.append((t["occurred_at"], what, detail))
        for s in customer["sends"]:
            if s["channel"] and s["status"] not in ("suppressed", "failed"):
                what = f"send {s['template']} by {s['channel']}"
                why = "; ".join(f"{d['channel']}: {d['reason']}" for d in s["decision"])
                held = (f"held by quiet hours from {_when(s['decided_at'])[11:]}; "
                        if s["due_at"] != s["decided_at"] else "")
                done = "" if s["status"] == "queued" else f"{s['status']}; "
                detail = done + held + why
            else:
                what = f"{s['status']}: {s['template']}"
                detail = s["reason"] or ""
            rows.append((s["due_at"], what, detail))
        for f in customer["follow_ups"]:
            if f["status"] == "cancelled":
                rows.append((f["resolved_at"] or f["due_at"], f"✗ follow-up {f['name']}",
                             (f["resolution"] or "").split(" (")[0]))
        for when, what, detail in sorted(rows, key=lambda r: r[0]):
            table.add_row(_when(when), what, detail)
        blocks.append(table)
    return blocks
