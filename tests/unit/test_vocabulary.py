"""Every stored value has one label, in one place (tracker.vocabulary), and people never read a code."""

from __future__ import annotations

from tracker import vocabulary
from tracker.models import ExitReason, Role, TransferType
from tracker.services.analytics.survival_query import SIZE_CLASS_VALUES
from tracker.survival import EXCLUSION_REASONS, GROUP_FIELDS


def test_every_enum_value_has_a_label_and_no_label_is_a_code() -> None:
    for enum, labels in ((TransferType, vocabulary.TRANSFER_TYPES), (ExitReason, vocabulary.EXIT_REASONS),
                         (Role, vocabulary.ROLES)):
        assert set(labels) == {member.value for member in enum}, enum
        assert all(label != code and label[0].isupper() for code, label in labels.items())


def test_every_grouping_field_size_class_and_exclusion_reason_has_a_label() -> None:
    assert set(GROUP_FIELDS) <= set(vocabulary.GROUP_FIELDS)
    assert set(SIZE_CLASS_VALUES) == set(vocabulary.SIZE_CLASSES)
    assert set(EXCLUSION_REASONS) == set(vocabulary.EXCLUSION_REASONS)
    assert set(vocabulary.ENDPOINTS) == set(vocabulary.ENDPOINTS_SHORT) == {"enterprise", "cooperative"}


def test_enum_members_find_their_label_and_missing_values_read_not_recorded() -> None:
    assert vocabulary.TRANSFER_TYPES[TransferType.RESCUE] == vocabulary.TRANSFER_TYPES["rescue"]
    assert vocabulary.label(vocabulary.TRANSFER_TYPES, None) == vocabulary.NOT_RECORDED
    assert vocabulary.label(vocabulary.SIZE_CLASSES, "unknown") == vocabulary.NOT_RECORDED
    assert vocabulary.label(vocabulary.EXIT_REASONS, "sold") == "Sold to non-members"


def test_every_duplicate_reason_has_a_label() -> None:
    from tracker.services.casework import duplicates

    assert set(vocabulary.DUPLICATE_REASONS) == {duplicates.REASON_NATIONAL_ID, duplicates.REASON_NAME}


def test_every_published_figure_reads_in_words_with_its_period_and_comparator_worded() -> None:
    from tracker.services.reference import published_comparisons

    rows = published_comparisons()
    assert {r["population"] for r in rows} <= set(vocabulary.PUBLISHED_POPULATIONS)
    assert {r["period"] for r in rows} | ({r["comparator_label"] for r in rows} - {""}) <= \
        set(vocabulary.PUBLISHED_WORDING)
    assert vocabulary.published_population("new_kind_of_firm") == "new kind of firm"
    assert vocabulary.published_wording("a period nobody worded") == "a period nobody worded"


def test_published_figures_are_worded_in_the_readers_language(app) -> None:  # noqa: ANN001
    from flask_babel import force_locale

    with app.test_request_context(), force_locale("fr"):
        assert vocabulary.published_population("employee_transfers") == "Reprises par les salariés"
        assert vocabulary.published_wording("c. 2009") == "vers 2009"


def test_a_census_source_names_its_date_written_out_in_the_readers_language(app) -> None:  # noqa: ANN001
    from flask_babel import force_locale

    stored = "census of 2025-12-31 (census-FR-A-2025-12-31.xlsx)"
    expected = {"en": "census of 31 December 2025 (census-FR-A-2025-12-31.xlsx)",
                "fr": "recensement du 31 décembre 2025 (census-FR-A-2025-12-31.xlsx)",
                "it": "censimento del 31 dicembre 2025 (census-FR-A-2025-12-31.xlsx)",
                "es": "censo del 31 de diciembre de 2025 (census-FR-A-2025-12-31.xlsx)"}
    for language, wording in expected.items():
        with app.test_request_context(), force_locale(language):
            assert vocabulary.app_text(stored) == wording
            assert vocabulary.app_text("census of 2025-12-31") == wording.split(" (")[0]
            # what a person typed stays as typed, even when it looks like the application's text
            assert vocabulary.app_text("census of 2025-02-30 (x.csv)") == "census of 2025-02-30 (x.csv)"
            assert vocabulary.app_text("census of last year") == "census of last year"
