"""The feature catalogue: every model input, its plain-language text, window, source and rule.

The catalogue is the single description of the feature table. Its order *is* the column
order of `build_features`, its templates feed explanations (`describe_feature`), and its
`kind` tells the modeling step which columns are categorical.

Width is chosen on purpose (TreeSHAP cost grows with the number of features): per product
family the all-event counts in 7/30/90/365 days, one count per event type in the window
where that type carries most signal, days since the last simulation and the last abandoned
procedure and a 30-versus-90-day trend; per theme the visits in 30/90 days and days since
the last visit; global activity; holdings at the as-of moment; identity data. Theme *links*
are deliberately absent (R5: model-free, and declared interest stays apart from inferred).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from interestlab.contract import FAMILIES, LANGUAGES, REGIONS, SEGMENTS, THEMES

WINDOWS = (7, 30, 90, 365)
# Event types counted per family, each in one window (the short-lived signals in a short
# window, the rare ones over the whole retained year).
FAMILY_TYPE_WINDOWS = (
    ("info_consult", 90),
    ("simulation", 90),
    ("procedure_abandoned", 365),
    ("procedure_completed", 365),
)
FAMILY_DAYS_SINCE_TYPES = ("simulation", "procedure_abandoned")
THEME_WINDOWS = (30, 90)
GLOBAL_TYPE_WINDOW = 90
AGE_BANDS = (25, 35, 45, 55, 65, 75)  # lower bounds of bands 1..6; band 0 is "under 25"
AGE_BAND_LABELS = (
    "under 25",
    "25 to 34",
    "35 to 44",
    "45 to 54",
    "55 to 64",
    "65 to 74",
    "75 or older",
)
HISTORY_DAYS_MAX = max(WINDOWS)

CLICKS = "click_events"
HOLDINGS = "holdings"
CUSTOMERS = "customers"

_TYPE_PHRASE = {
    "theme_visit": "visited a theme dossier {times}",
    "info_consult": "consulted product information {times}",
    "simulation": "completed a simulation {times}",
    "procedure_started": "started an application {times}",
    "procedure_abandoned": "abandoned an application {times}",
    "procedure_completed": "completed an application {times}",
}
_FAMILY_TYPE_PHRASE = {
    "info_consult": "consulted {family} information {times}",
    "simulation": "completed a {family} simulation {times}",
    "procedure_abandoned": "abandoned a {family} application {times}",
    "procedure_completed": "completed a {family} application {times}",
}
_FAMILY_DAYS_SINCE_PHRASE = {
    "simulation": "completed a {family} simulation {days} ago",
    "procedure_abandoned": "abandoned a {family} application {days} ago",
}


@dataclass(frozen=True)
class FeatureSpec:
    """One model input.

    Attributes
    ----------
    name : column name in the feature table.
    description : plain-language template; fields `{times}` ("4 times"), `{days}`
        ("6 days"), `{value}`, `{percent}` and `{level}` (categorical label).
    window_days : look-back window in days before the as-of moment (None: at as-of).
    source : contract table the feature is derived from.
    rule : policy rules the feature serves (always R4; R3 where the window is clipped).
    kind : "count", "days_since", "trend", "days", "flag", "categorical" or "numeric".
    dtype : polars dtype of the column.
    missing : text when the value is null (nothing observed in the available history).
    levels : labels of a flag or categorical code, indexed by the code.
    """

    name: str
    description: str
    window_days: int | None
    source: str
    rule: str
    kind: str
    dtype: pl.DataType
    missing: str = "no data available"
    levels: tuple[str, ...] | None = None


def _words(code: str) -> str:
    return code.replace("_", " ")


def _click(name: str, description: str, window: int | None, kind: str, missing: str) -> FeatureSpec:
    return FeatureSpec(name, description, window, CLICKS, "R4, R3", kind, pl.Float32(), missing)


def _family_specs(family: str) -> list[FeatureSpec]:
    words = _words(family)
    specs = [
        _click(
            f"fam_{family}__events_{w}d",
            f"looked at {words} pages {{times}} in the last {w} days",
            w,
            "count",
            "",
        )
        for w in WINDOWS
    ]
    specs += [
        _click(
            f"fam_{family}__{event_type}_{w}d",
            _FAMILY_TYPE_PHRASE[event_type].format(family=words, times="{times}")
            + f" in the last {w} days",
            w,
            "count",
            "",
        )
        for event_type, w in FAMILY_TYPE_WINDOWS
    ]
    specs += [
        _click(
            f"fam_{family}__days_since_{event_type}",
            _FAMILY_DAYS_SINCE_PHRASE[event_type].format(family=words, days="{days}"),
            HISTORY_DAYS_MAX,
            "days_since",
            f"no {words} {_words(event_type).replace('procedure ', '')} event in the available"
            " click history",
        )
        for event_type in FAMILY_DAYS_SINCE_TYPES
    ]
    specs.append(
        _click(
            f"fam_{family}__trend_30_90",
            f"{{percent}} of the {words} activity of the last 90 days fell in the last 30 days",
            90,
            "trend",
            f"no {words} activity in the last 90 days",
        )
    )
    return specs


def _theme_specs(theme: str) -> list[FeatureSpec]:
    title = _words(theme).capitalize()
    specs = [
        _click(
            f"theme_{theme}__visits_{w}d",
            f"visited the {title} theme {{times}} in the last {w} days",
            w,
            "count",
            "",
        )
        for w in THEME_WINDOWS
    ]
    specs.append(
        _click(
            f"theme_{theme}__days_since_visit",
            f"visited the {title} theme {{days}} ago",
            HISTORY_DAYS_MAX,
            "days_since",
            f"no visit to the {title} theme in the available click history",
        )
    )
    return specs


def _global_specs() -> list[FeatureSpec]:
    specs = [
        _click(
            f"all__events_{w}d",
            f"was active on the website or app {{times}} in the last {w} days",
            w,
            "count",
            "",
        )
        for w in WINDOWS
    ]
    specs += [
        _click(
            f"all__sessions_{w}d",
            f"started {{value}} identified sessions in the last {w} days",
            w,
            "count",
            "",
        )
        for w in (30, 90, 365)
    ]
    specs += [
        _click(
            f"all__active_days_{w}d",
            f"was active on {{value}} of the last {w} days",
            w,
            "count",
            "",
        )
        for w in (30, 90)
    ]
    specs += [
        _click(
            f"all__{event_type}_{GLOBAL_TYPE_WINDOW}d",
            _TYPE_PHRASE[event_type] + f" in the last {GLOBAL_TYPE_WINDOW} days",
            GLOBAL_TYPE_WINDOW,
            "count",
            "",
        )
        for event_type in _TYPE_PHRASE
    ]
    specs += [
        _click(
            "all__days_since_event",
            "was last active on the website or app {days} ago",
            HISTORY_DAYS_MAX,
            "days_since",
            "no activity in the available click history",
        ),
        _click(
            "all__trend_30_90",
            "{percent} of the activity of the last 90 days fell in the last 30 days",
            90,
            "trend",
            "no activity in the last 90 days",
        ),
        _click(
            "all__history_days",
            "{days} of click history were available (retention window, R3)",
            HISTORY_DAYS_MAX,
            "days",
            "",
        ),
    ]
    return specs


def _holding_specs() -> list[FeatureSpec]:
    specs = [
        FeatureSpec(
            f"hold_{family}",
            "{level}",
            None,
            HOLDINGS,
            "R4",
            "flag",
            pl.UInt8(),
            levels=(f"holds no {_words(family)} product", f"holds a {_words(family)} product"),
        )
        for family in FAMILIES
    ]

    def numeric(name: str, text: str, window: int | None, kind: str = "count", missing: str = ""):
        return FeatureSpec(
            name, text, window, HOLDINGS, "R4", kind, pl.Float32(), missing or "none"
        )

    specs += [
        numeric("hold__accounts_open", "holds {value} open accounts or contracts", None),
        numeric("hold__families_held", "holds products of {value} product families", None),
        numeric(
            "hold__tenure_days",
            "opened the oldest account still held {days} ago",
            None,
            "days",
            "holds no open account",
        ),
        numeric("hold__openings_90d", "opened {value} accounts in the last 90 days", 90),
        numeric("hold__openings_365d", "opened {value} accounts in the last 365 days", 365),
        numeric("hold__closings_90d", "closed {value} accounts in the last 90 days", 90),
        numeric("hold__closings_365d", "closed {value} accounts in the last 365 days", 365),
    ]
    return specs


def _identity_specs() -> list[FeatureSpec]:
    def categorical(name: str, text: str, levels: tuple[str, ...]) -> FeatureSpec:
        return FeatureSpec(
            name, text, None, CUSTOMERS, "R4", "categorical", pl.UInt8(), levels=levels
        )

    return [
        categorical("id__age_band", "is aged {level}", AGE_BAND_LABELS),
        categorical("id__language", "corresponds in language '{level}'", LANGUAGES),
        categorical(
            "id__region", "lives in the {level} region", tuple(r.replace("_", " ") for r in REGIONS)
        ),
        categorical(
            "id__segment",
            "belongs to the {level} segment",
            tuple(s.replace("_", " ") for s in SEGMENTS),
        ),
        FeatureSpec(
            "id__seniority_years",
            "has been a customer for {value} years",
            None,
            CUSTOMERS,
            "R4",
            "numeric",
            pl.Float32(),
        ),
    ]


def _catalogue() -> dict[str, FeatureSpec]:
    specs: list[FeatureSpec] = []
    for family in FAMILIES:
        specs += _family_specs(family)
    for theme in THEMES:
        specs += _theme_specs(theme)
    specs += _global_specs() + _holding_specs() + _identity_specs()
    return {spec.name: spec for spec in specs}


FEATURE_CATALOGUE: dict[str, FeatureSpec] = _catalogue()
"""Every feature column, in column order."""

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURE_CATALOGUE)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    name for name, spec in FEATURE_CATALOGUE.items() if spec.kind == "categorical"
)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def describe_feature(name: str, value: float | None) -> str:
    """Plain-language rendering of one feature value, for explanations.

    Parameters
    ----------
    name : a column of `FEATURE_CATALOGUE`.
    value : the feature value (None or NaN: nothing observed).

    Examples
    --------
    >>> describe_feature("fam_mortgage__days_since_simulation", 6)
    'completed a mortgage simulation 6 days ago'
    >>> describe_feature("theme_home__visits_30d", 4)
    'visited the Home theme 4 times in the last 30 days'
    """
    if name not in FEATURE_CATALOGUE:
        msg = f"unknown feature `{name}`; expected a column of FEATURE_CATALOGUE"
        raise KeyError(msg)
    spec = FEATURE_CATALOGUE[name]
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return spec.missing
    if spec.levels is not None:
        code = int(value)
        if not 0 <= code < len(spec.levels) or code != value:
            msg = f"feature `{name}`: expected a code in 0..{len(spec.levels) - 1}, found {value!r}"
            raise ValueError(msg)
        return spec.description.format(level=spec.levels[code])
    rounded = round(float(value))
    return spec.description.format(
        times=_times(rounded),
        days=_days(rounded),
        value=_number(float(value)),
        percent=f"{float(value):.0%}",
    )
