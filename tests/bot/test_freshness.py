"""The fresh-project rules on their own: facts in, refusals and audit records out."""

from __future__ import annotations

from collections.abc import Sequence

from bot.workflow.freshness import CheckOutcome, Finding, FoundApp, ProjectFacts, SubprojectCheck, Verdict, evaluate
from sinch import Region
from store.models import Onboarding, PageType
from store.states import OnboardingState as S

PROJECT = "p-1"


def case(case_id: int, state: S = S.CREATING_PROJECT, *, project_id: str | None = None, app_id: str | None = None,
         existing_of: int | None = None) -> Onboarding:
    return Onboarding(id=case_id, customer_name="Acme", customer_key="acme", contact_email="a@acme.test",
                      region=Region.EU, page="Acme", page_type=PageType.BUSINESS, state=state, requester_id="U1",
                      project_id=project_id, app_id=app_id, existing_of=existing_of,
                      app_name=f"Acme #{case_id} - Messenger")


def facts(*, others: Sequence[Onboarding] = (), apps: Sequence[FoundApp] = (), account: str = "",
          subprojects: frozenset[str] | None = None, base: Onboarding | None = None) -> ProjectFacts:
    return ProjectFacts(project_id=PROJECT, other_cases=list(others), apps=list(apps), account_project_id=account,
                        subproject_ids=subprojects, base=base)


def findings(verdict: Verdict) -> list[Finding]:
    return [refusal.finding for refusal in verdict.refusals]


def test_a_fresh_project_passes_every_check() -> None:
    verdict = evaluate(case(2), facts(account="ours", subprojects=frozenset({"sub-1"})))
    assert verdict.fresh and verdict.subproject_check == SubprojectCheck.PASSED
    assert [(r.check, r.outcome) for r in verdict.records] == [
        ("other_onboardings", CheckOutcome.PASSED), ("apps", CheckOutcome.PASSED),
        ("asp_project", CheckOutcome.PASSED), ("subproject", CheckOutcome.PASSED)]


def test_several_findings_are_all_reported() -> None:
    stray = FoundApp(Region.US, "01APP", "Someone's bot")
    verdict = evaluate(case(2), facts(others=[case(1, S.CANCELLED, project_id=PROJECT)], apps=[stray],
                                      account=PROJECT, subprojects=frozenset()))
    assert findings(verdict) == [Finding.REGISTERED_ELSEWHERE, Finding.HAS_APPS, Finding.ASP_PROJECT]
    assert verdict.refusals[0].other is not None and verdict.refusals[0].other.id == 1


def test_only_this_onboardings_own_app_in_its_region_is_allowed() -> None:
    mine = case(2)
    same_name_other_region = FoundApp(Region.BR, "01B", mine.app_name or "")
    assert evaluate(mine, facts(apps=[FoundApp(Region.EU, "01A", mine.app_name or "")])).fresh
    assert findings(evaluate(mine, facts(apps=[same_name_other_region]))) == [Finding.HAS_APPS]


def test_a_second_page_accepts_its_customers_closed_onboardings_and_their_apps_only() -> None:
    base = case(1, S.COMPLETED, project_id=PROJECT, app_id="01BASE")
    earlier_second = case(3, S.COMPLETED, project_id=PROJECT, app_id="01THIRD", existing_of=1)
    third = case(4, existing_of=1)
    ours = [FoundApp(Region.EU, "01BASE", "x"), FoundApp(Region.EU, "01THIRD", "y")]
    assert evaluate(third, facts(others=[base, earlier_second], apps=ours, base=base)).fresh

    still_open = case(3, S.AWAITING_CUSTOMER, project_id=PROJECT, app_id="01THIRD", existing_of=1)
    assert findings(evaluate(third, facts(others=[base, still_open], apps=ours, base=base))) == [
        Finding.REGISTERED_ELSEWHERE]
    stranger = case(5, S.COMPLETED, project_id=PROJECT)
    assert findings(evaluate(third, facts(others=[base, stranger], base=base))) == [Finding.REGISTERED_ELSEWHERE]
    foreign = FoundApp(Region.US, "01FOREIGN", "Not ours")
    assert findings(evaluate(third, facts(others=[base], apps=[*ours[:1], foreign], base=base))) == [
        Finding.FOREIGN_APPS]


def test_a_second_page_in_another_project_is_refused() -> None:
    base = case(1, S.COMPLETED, project_id="p-other")
    assert findings(evaluate(case(2, existing_of=1), facts(base=base))) == [Finding.NOT_BASE_PROJECT]


def test_without_the_subprojects_api_the_check_is_unavailable_not_failed() -> None:
    verdict = evaluate(case(2), facts(account="ours", subprojects=None))
    assert verdict.fresh and verdict.subproject_check == SubprojectCheck.UNAVAILABLE
    assert verdict.records[-1].outcome == CheckOutcome.UNAVAILABLE
