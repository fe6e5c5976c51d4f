"""Survival statistics for Transfer Tracker: pure functions on numpy arrays.

Nothing here imports Flask, the database or the rest of ``tracker``; results are frozen
dataclasses (numpy arrays inside are read-only), never lifelines or pandas objects. Time is in
years since the transfer date (days / 365.25). See docs/design.md, "Survival definitions".
"""

from .analysis import (
    DEFAULT_HORIZONS,
    MAX_HORIZON,
    AnalysisOptions,
    BaselineInput,
    GroupSurvival,
    SurvivalReport,
    analyse,
    analyse_competing,
    baseline_to_dict,
    competing_to_dict,
    parse_horizons,
    report_to_dict,
    steps_to_dict,
)
from .competing import CompetingHorizon, CompetingResult, CompetingSteps, cumulative_incidence
from .errors import InvalidSurvivalOptions
from .followup import (
    CLOSURE_REASONS,
    ENDPOINTS,
    EXCLUSION_REASONS,
    LOSS_REASONS,
    CaseArrays,
    FollowUp,
    prepare_followup,
)
from .groups import (
    GROUP_FIELDS,
    category_labels,
    cohort_labels,
    label_mask,
    nace_section,
    nace_section_labels,
    size_class_labels,
)
from .km import HorizonEstimate, KMResult, KMSteps, kaplan_meier
from .logrank import LogRankResult, logrank_test
from .relative import (
    BaselineCurve,
    BaselineMatch,
    RelativeHorizon,
    RelativeResult,
    RelativeSteps,
    ederer2_expected,
    relative_survival,
)

__all__ = [
    "CLOSURE_REASONS",
    "DEFAULT_HORIZONS",
    "ENDPOINTS",
    "EXCLUSION_REASONS",
    "GROUP_FIELDS",
    "LOSS_REASONS",
    "MAX_HORIZON",
    "AnalysisOptions",
    "BaselineCurve",
    "BaselineInput",
    "BaselineMatch",
    "CaseArrays",
    "CompetingHorizon",
    "CompetingResult",
    "CompetingSteps",
    "FollowUp",
    "GroupSurvival",
    "HorizonEstimate",
    "InvalidSurvivalOptions",
    "KMResult",
    "KMSteps",
    "LogRankResult",
    "RelativeHorizon",
    "RelativeResult",
    "RelativeSteps",
    "SurvivalReport",
    "analyse",
    "analyse_competing",
    "baseline_to_dict",
    "category_labels",
    "cohort_labels",
    "competing_to_dict",
    "cumulative_incidence",
    "ederer2_expected",
    "kaplan_meier",
    "label_mask",
    "logrank_test",
    "nace_section",
    "nace_section_labels",
    "parse_horizons",
    "prepare_followup",
    "relative_survival",
    "report_to_dict",
    "size_class_labels",
    "steps_to_dict",
]
