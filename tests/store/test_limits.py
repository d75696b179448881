"""Column sizes come from the models, and every limit put on what people type fits the column that keeps it."""

from __future__ import annotations

import pytest

from bot.flows.project import credential_errors as _credential_errors
from bot.workflow import MAX_REASON
from bot.workflow.intake import MAX_NAME, MAX_NOTES, MAX_PAGE
from store.limits import clip, column_length, is_storable, slack_id_length
from store.models import AuditEvent, Onboarding, OutboxMessage
from store.secrets import SecretBox, generate_key


def test_column_length_reads_the_model_including_enum_columns() -> None:
    assert column_length(Onboarding, "requester_id") == 32
    assert column_length(Onboarding, "state") == 32  # a StrEnum stored as VARCHAR
    assert column_length(OutboxMessage, "last_error") == 2000
    with pytest.raises(ValueError, match="no length limit"):
        column_length(Onboarding, "app_attempts")


def test_the_slack_id_limit_is_the_smallest_column_that_holds_one() -> None:
    assert slack_id_length() == min(column_length(Onboarding, "requester_id"), column_length(AuditEvent, "actor"),
                                    column_length(Onboarding, "thread_ts"))


def test_clip_keeps_what_fits_and_marks_what_it_cut() -> None:
    limit = column_length(Onboarding, "page_name")
    assert clip("short", Onboarding, "page_name") == "short"
    assert clip("x" * limit, Onboarding, "page_name") == "x" * limit
    cut = clip("y" * (limit + 50), Onboarding, "page_name")
    assert len(cut) == limit and cut.endswith("…")


def test_every_limit_on_typed_input_fits_its_column() -> None:
    assert MAX_NAME <= min(column_length(Onboarding, "customer_name"), column_length(Onboarding, "customer_key"))
    assert MAX_PAGE <= column_length(Onboarding, "page")
    assert MAX_NOTES <= column_length(Onboarding, "notes")
    assert 254 <= column_length(Onboarding, "contact_email")  # the longest address intake accepts
    assert MAX_REASON <= min(column_length(Onboarding, "rejection_reason"), column_length(Onboarding, "cancel_reason"),
                             column_length(AuditEvent, "detail"))


def test_the_longest_project_and_key_the_register_form_accepts_fit_their_columns() -> None:
    project = "p" * column_length(Onboarding, "project_id")
    key = "k" * column_length(Onboarding, "key_id")
    assert _credential_errors(project, key, "s" * 200) == {}
    assert set(_credential_errors(project + "p", key + "k", "s")) == {"project_id", "key_id"}
    assert set(_credential_errors("p", "k", "s" * 201)) == {"key_secret"}
    sealed = SecretBox(f"{generate_key()},{generate_key()}").seal("s" * 200)
    assert len(sealed) <= column_length(Onboarding, "key_secret_sealed")


def test_text_with_a_nul_or_a_lone_surrogate_is_not_storable() -> None:
    assert is_storable("Ünïcode, emoji 🚲, tabs\tand\nlines")
    assert not is_storable("nul\x00inside")
    assert not is_storable("lone \ud800 surrogate")
