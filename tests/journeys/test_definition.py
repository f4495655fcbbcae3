"""Journey definitions are checked in full when they are loaded: every problem is named
in one error, before any customer meets the journey."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from ccm.errors import JourneyInvalidError, RegistryError
from ccm.journeys.definition import compile_journey, parse_duration
from ccm.journeys.service import add_journey_version, check_journey, get_journey_version
from ccm.registry import load_registry
from ccm.stock import STOCK_DIR


def stock() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (STOCK_DIR / "journeys" / "utility-customer.yaml").read_text(encoding="utf-8"))
    return loaded


def problems_of(session: Session, definition: dict[str, Any]) -> list[str]:
    with pytest.raises(JourneyInvalidError) as caught:
        check_journey(session, definition)
    return caught.value.problems


def test_the_stock_journey_is_valid_and_live(session: Session) -> None:
    compiled = check_journey(session, stock())
    assert compiled.stage_keys == ["welcome", "first-bill", "payment-reminder", "overdue",
                                   "loyalty-offer"]
    assert get_journey_version(session, "utility-customer").status.value == "published"


def test_every_problem_is_named_at_once(session: Session) -> None:
    broken = copy.deepcopy(stock())
    stages = broken["stages"]
    stages[0]["communications"][0]["template"] = "no-such-letter"
    stages[1]["communications"][0]["template"] = "welcome-letter"  # tagged for 'welcome'
    stages[1]["follow_ups"][0]["to_stage"] = "limbo"
    stages[4]["entry"][0]["condition"] = "customr.attributes.tenure_months >= 12"
    stages.append({"key": "island", "description": "nothing leads here"})
    broken["goal"]["condition"] = "payload.__class__"
    problems = problems_of(session, broken)
    joined = "\n".join(problems)
    assert "unknown template 'no-such-letter'" in joined
    assert ("template 'welcome-letter' is tagged for utility-customer/welcome, not "
            "utility-customer/first-bill") in joined
    assert "'to_stage' names unknown stage 'limbo'" in joined
    assert "unknown name 'customr'" in joined
    assert "goal: condition 'payload.__class__'" in joined
    assert "stage 'island' is unreachable" in joined
    # The payment reminder and overdue stages are now reachable from nowhere either.
    assert "stage 'payment-reminder' is unreachable" in joined


def test_structure_errors_name_their_place() -> None:
    with pytest.raises(JourneyInvalidError) as caught:
        compile_journey({"key": "Bad Key", "name": "x", "goal": {},
                         "stages": [{"key": "a", "follow_ups": [{"name": "f", "after": "soon"}],
                                     "communications": [{"template": "t",
                                                         "channels": ["fax"]}]}]})
    joined = "\n".join(caught.value.problems)
    assert "key: 'Bad Key' is not a key" in joined
    assert "goal.event: Field required" in joined
    assert "stages.0.follow_ups.0.after: 'soon' is not a duration" in joined
    assert "stages.0.communications.0.channels: unknown channel 'fax'" in joined


def test_durations() -> None:
    assert parse_duration("1d12h").total_seconds() == 36 * 3600
    assert parse_duration("2w").days == 14
    for bad in ("", "0d", "14", "d", "1y"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_loading_the_same_definition_again_makes_no_new_version(session: Session) -> None:
    row, created = add_journey_version(session, stock())
    assert not created and row.version == 1
    changed = stock() | {"description": "A new description"}
    row, created = add_journey_version(session, changed, publish_now=False)
    assert created and row.version == 2 and row.status.value == "draft"
    assert get_journey_version(session, "utility-customer").version == 1  # live: v1


def test_a_registry_folder_with_a_broken_journey_is_refused(session: Session,
                                                            tmp_path: Path) -> None:
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    broken = stock() | {"key": "other"}
    (journeys / "elsewhere.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(RegistryError, match="must match the file name"):
        load_registry(session, tmp_path)
    (journeys / "elsewhere.yaml").unlink()
    (journeys / "other.yaml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    with pytest.raises(JourneyInvalidError, match="tagged for utility-customer"):
        load_registry(session, tmp_path)
