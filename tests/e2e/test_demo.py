"""`python -m bot demo`, exactly as the README tells a newcomer to run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from store.db import make_engine
from store.models import Onboarding
from store.states import OnboardingState

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
@pytest.mark.parametrize("mode", [[], ["--socket-mode"]], ids=["http", "socket-mode"])
def test_the_demo_completes_an_onboarding_and_prints_the_thread(tmp_path: Path, mode: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "demo", *mode], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("presses “Approve”", "presses “Register project”", "Conversation API app created in EU",
                 "presses “Invitation sent”", "connects their Facebook Page", "channel PENDING",
                 "channel ACTIVE", "presses “Access removed”", "onboarding completed", "/onboard existing #1",
                 "second app created in EU", "second-Page onboarding completed",
                 "both channels ACTIVE, one access removal requested", "Messenger and Instagram onboarding completed",
                 "review --post-now", "every removal signed off"):
        assert step in out, step
    transcript = out[out.index("--- the onboarding threads"):]
    for text in ("Approval needed", "not a subproject", "Limited member", "Text to send the customer",
                 "*PENDING*", "*ACTIVE*", "Remove the customer's access now", "Onboarding *completed*",
                 "a further Page, after onboarding #1", "no new project", "Access review of",
                 "Checked: no access — signed by @lena"):
        assert text in transcript, text
    assert "Result: onboarding completed (state: completed)" in out
    assert not list(tmp_path.iterdir()), "the demo leaves no files behind"


@pytest.mark.e2e
def test_the_demo_runs_on_the_database_it_is_given(tmp_path: Path, database_url: str) -> None:
    """`--database-url` (SQLite or PostgreSQL, whichever the suite runs on): the case stays there, completed."""
    result = subprocess.run([sys.executable, "-m", "bot", "demo", "--database-url", database_url], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: onboarding completed (state: completed)" in result.stdout
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            cases = session.exec(select(Onboarding).order_by(col(Onboarding.id))).all()
            # The first Page, then the second Page in the same project (`/onboard existing`).
            assert [(case.customer_name, case.state, case.key_secret_sealed) for case in cases] == [
                ("Acme Bikes", OnboardingState.COMPLETED, None)] * 2 + [
                ("Northwind Cycles", OnboardingState.COMPLETED, None)]  # Messenger and Instagram
            assert cases[2].channels == "messenger,instagram"
            assert cases[1].existing_of == cases[0].id and cases[1].project_id == cases[0].project_id
    finally:
        engine.dispose()
