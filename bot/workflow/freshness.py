"""Is the project staff register a fresh one? Pure rules over facts gathered elsewhere (no network, no SQL).

The runbook's worst mistake is registering the wrong project: the ASP's own, a subproject, another customer's,
or one already used. The customer would then be invited into a project holding someone else's apps. Sinch lets
the bot see enough to refuse all of these before anything is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sinch import Region
from store.models import Onboarding
from store.states import TERMINAL_STATES, OnboardingState

__all__ = [
    "CheckOutcome",
    "CheckRecord",
    "Finding",
    "FoundApp",
    "OtherCase",
    "ProjectFacts",
    "Refusal",
    "SubprojectCheck",
    "Verdict",
    "audit_summary",
    "evaluate",
]


class CheckOutcome(StrEnum):
    PASSED = "passed"
    REFUSED = "refused"
    UNAVAILABLE = "unavailable"  # the Subprojects API is a closed beta: not having it is not a failure
    SKIPPED = "skipped"  # not configured


class SubprojectCheck(StrEnum):
    """What the card says about the subproject check (stored on the case)."""

    PASSED = "passed"
    UNAVAILABLE = "unavailable"
    NOT_CONFIGURED = "not_configured"


class Finding(StrEnum):
    REGISTERED_ELSEWHERE = "registered_elsewhere"  # another onboarding has (or had) this project
    HAS_APPS = "has_apps"  # the project already holds Conversation API apps
    ASP_PROJECT = "asp_project"  # the ASP's own project
    SUBPROJECT = "subproject"  # a subproject of the ASP's project
    NOT_BASE_PROJECT = "not_base_project"  # a second Page must use the project of the onboarding it extends
    FOREIGN_APPS = "foreign_apps"  # a second Page's project holds apps this bot did not create


@dataclass(frozen=True)
class FoundApp:
    region: Region
    app_id: str
    display_name: str


@dataclass(frozen=True)
class OtherCase:
    """Another onboarding, as a plain value: a refusal outlives the transaction that found it."""

    id: int
    customer_name: str
    state: OnboardingState
    project_id: str | None
    slack_channel: str | None
    thread_ts: str | None

    @property
    def reference(self) -> str:
        return f"#{self.id}"

    @classmethod
    def of(cls, case: Onboarding) -> OtherCase:
        assert case.id is not None
        return cls(id=case.id, customer_name=case.customer_name, state=case.state, project_id=case.project_id,
                   slack_channel=case.slack_channel, thread_ts=case.thread_ts)


@dataclass(frozen=True)
class ProjectFacts:
    """What the bot saw: other cases with the project, its apps in every region, the ASP's subprojects."""

    project_id: str
    other_cases: Sequence[Onboarding]  # other onboardings that registered this project, oldest first
    apps: Sequence[FoundApp]
    account_project_id: str  # "" when the ASP's own project is not configured
    subproject_ids: frozenset[str] | None  # None: the Subprojects API is unavailable or not configured
    base: Onboarding | None = None  # the completed onboarding a second-Page onboarding extends


@dataclass(frozen=True)
class Refusal:
    finding: Finding
    other: OtherCase | None = None
    apps: tuple[FoundApp, ...] = ()


@dataclass(frozen=True)
class CheckRecord:
    """One check and its outcome, for the audit trail."""

    check: str
    outcome: CheckOutcome
    detail: str = ""

    def audit_detail(self) -> str:
        return f"{self.check}={self.outcome.value}" + (f" ({self.detail})" if self.detail else "")


def audit_summary(records: Sequence[CheckRecord]) -> str:
    """Every check and its outcome, for one audit event's detail."""
    return "checks: " + "; ".join(record.audit_detail() for record in records)


@dataclass(frozen=True)
class Verdict:
    refusals: tuple[Refusal, ...]
    records: tuple[CheckRecord, ...]
    subproject_check: SubprojectCheck

    @property
    def fresh(self) -> bool:
        return not self.refusals


def _apps_detail(apps: Sequence[FoundApp]) -> str:
    return "apps=" + ",".join(f"{app.region.value}:{app.app_id}" for app in apps) if apps else "apps=none"


def _clashes(other: Onboarding, base: Onboarding | None) -> bool:
    """Whether another onboarding with the project rules it out. For a second Page, the base onboarding and
    its other second Pages are expected, once closed: two open invitations into one project would overlap."""
    if base is None:
        return True
    same_customer = other.id == base.id or other.existing_of == base.id
    return not (same_customer and other.state in TERMINAL_STATES)


def evaluate(case: Onboarding, facts: ProjectFacts) -> Verdict:
    """Every check over the facts; a refusal for each that fails, a record for each that ran."""
    refusals: list[Refusal] = []
    records: list[CheckRecord] = []
    base = facts.base

    if base is not None:
        if facts.project_id != base.project_id:
            refusals.append(Refusal(Finding.NOT_BASE_PROJECT, other=OtherCase.of(base)))
            records.append(CheckRecord("same_project", CheckOutcome.REFUSED, f"expected={base.project_id}"))
        else:
            records.append(CheckRecord("same_project", CheckOutcome.PASSED, f"as=#{base.id}"))

    clashing = [other for other in facts.other_cases if _clashes(other, base)]
    if clashing:
        refusals.append(Refusal(Finding.REGISTERED_ELSEWHERE, other=OtherCase.of(clashing[0])))
        records.append(CheckRecord("other_onboardings", CheckOutcome.REFUSED,
                                   "onboardings=" + ",".join(f"#{other.id}" for other in clashing)))
    else:
        records.append(CheckRecord("other_onboardings", CheckOutcome.PASSED))

    # Apps: none at all, except the one this onboarding created itself (a retry finds it by its name).
    ours = {other.app_id for other in facts.other_cases if other.app_id} if base is not None else set()
    unexpected = tuple(app for app in facts.apps
                       if not (app.region.value == case.region and app.display_name == case.app_name)
                       and app.app_id not in ours)
    if unexpected:
        refusals.append(Refusal(Finding.FOREIGN_APPS if base is not None else Finding.HAS_APPS, apps=unexpected))
        records.append(CheckRecord("apps", CheckOutcome.REFUSED, _apps_detail(unexpected)))
    else:
        records.append(CheckRecord("apps", CheckOutcome.PASSED, _apps_detail(facts.apps)))

    if not facts.account_project_id:
        records.append(CheckRecord("asp_project", CheckOutcome.SKIPPED, "SINCH_ACCOUNT_PROJECT_ID not set"))
    elif facts.project_id == facts.account_project_id:
        refusals.append(Refusal(Finding.ASP_PROJECT))
        records.append(CheckRecord("asp_project", CheckOutcome.REFUSED))
    else:
        records.append(CheckRecord("asp_project", CheckOutcome.PASSED))

    if not facts.account_project_id:
        subproject_check = SubprojectCheck.NOT_CONFIGURED
        records.append(CheckRecord("subproject", CheckOutcome.SKIPPED, "SINCH_ACCOUNT_* not set"))
    elif facts.subproject_ids is None:
        subproject_check = SubprojectCheck.UNAVAILABLE
        records.append(CheckRecord("subproject", CheckOutcome.UNAVAILABLE, "Subprojects API unavailable"))
    elif facts.project_id in facts.subproject_ids:
        subproject_check = SubprojectCheck.PASSED
        refusals.append(Refusal(Finding.SUBPROJECT))
        records.append(CheckRecord("subproject", CheckOutcome.REFUSED, f"parent={facts.account_project_id}"))
    else:
        subproject_check = SubprojectCheck.PASSED
        records.append(CheckRecord("subproject", CheckOutcome.PASSED,
                                   f"subprojects_listed={len(facts.subproject_ids)}"))
    return Verdict(refusals=tuple(refusals), records=tuple(records), subproject_check=subproject_check)
