"""Every rate, share and shape of the synthetic bank, written in exactly one place.

The numbers are chosen so that the bank looks like a Belgian retail bank's web feed and
gives the models real but imperfect signal: life events raise the rate of visits,
simulations and (abandoned) procedures on related themes and families, and a share of
them leads to an acquisition weeks later; baseline browsing and baseline acquisitions
without any life event are the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_N_MONTHS = 15  # months of history before `end`

# --- customers -----------------------------------------------------------------------------
REGION_SHARES = {"flanders": 0.58, "wallonia": 0.30, "brussels": 0.10, "east_cantons": 0.02}
# Language given region (order of contract.LANGUAGES: nl, fr, de, en).
LANGUAGE_BY_REGION = {
    "flanders": (0.93, 0.03, 0.01, 0.03),
    "wallonia": (0.03, 0.95, 0.00, 0.02),
    "brussels": (0.22, 0.62, 0.02, 0.14),
    "east_cantons": (0.02, 0.20, 0.78, 0.00),
}
MIN_AGE, MAX_AGE = 18, 92
AGE_BETA = (2.0, 2.6)  # age = MIN_AGE + Beta(a, b) * (MAX_AGE - MIN_AGE)
OLDEST_RELATIONSHIP_YEAR = 1985
NO_WEB_SHARE = 0.10  # customers who never use the website or app
ACTIVITY_LOG_SIGMA = 0.9  # per-customer activity: log-normal, mean 1 among web users

# --- web sessions --------------------------------------------------------------------------
BASELINE_SESSIONS_PER_MONTH = 1.9
SURGE_SESSIONS_PER_WEEK = 0.75
# Extra events per session (Poisson), by session kind; every session has at least one event.
EXTRA_EVENTS = {"baseline": 2.1, "surge": 3.0, "conversion": 1.5, "anonymous": 1.8}
MEAN_GAP_SECONDS = 50.0  # between two events of a session (1 s minimum)
ANONYMOUS_EVENT_RATIO = 0.14  # anonymous events per identified event
PRE_LOGIN_SESSION_SHARE = 0.14  # identified sessions with some browsing before login
PRE_LOGIN_EXTRA_EVENTS = 0.4  # pre-login events beyond the first (Poisson)
APP_SHARE = 0.42
ONLINE_ACQUISITION_SHARE = 0.55  # acquisitions completed through a web/app procedure
# Event type probabilities (order of contract.EVENT_TYPES) by session kind.
EVENT_TYPE_PROBABILITIES = {
    "baseline": (0.52, 0.33, 0.09, 0.035, 0.025, 0.0),
    "surge": (0.26, 0.28, 0.26, 0.11, 0.09, 0.0),
    "conversion": (0.25, 0.35, 0.40, 0.0, 0.0, 0.0),
    "anonymous": (0.55, 0.35, 0.10, 0.0, 0.0, 0.0),
}
BASELINE_THEMELESS_SHARE = 0.3  # baseline sessions on product pages outside theme dossiers
THEME_VISIT_WITHOUT_FAMILY = 0.5
SURGE_PRIMARY_FAMILY_SHARE = 0.6

# --- quarantine bait -----------------------------------------------------------------------
UNKNOWN_CUSTOMER_SESSION_SHARE = 1.5e-4  # identified sessions of ids unknown to `customers`
DUPLICATE_EVENT_SHARE = 1e-4  # events delivered twice (same event_id)


# --- life events ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LifeEvent:
    """A latent interest: its theme, the two families it drives and its time shape."""

    name: str
    theme: str
    primary: str
    secondary: str
    probability: float  # over the generated span (history plus look-ahead)
    lead_days: int  # interest surge starts this many days before the event
    lag_days: int  # ... and ends this many days after it (negative: before)
    convert_primary: float
    convert_secondary: float


LIFE_EVENTS = (
    LifeEvent("moving_house", "home", "mortgage", "home_insurance", 0.08, 70, 21, 0.45, 0.35),
    LifeEvent("renovation", "home", "consumer_loan", "home_insurance", 0.05, 45, 14, 0.35, 0.15),
    LifeEvent("new_car", "car", "car_loan", "car_insurance", 0.10, 42, 7, 0.40, 0.45),
    LifeEvent("trip", "vacation", "travel_insurance", "credit_card", 0.22, 63, -7, 0.40, 0.12),
    LifeEvent("child", "family", "savings", "life_insurance", 0.05, 120, 60, 0.35, 0.25),
    LifeEvent(
        "retirement", "retirement", "pension_savings", "life_insurance", 0.06, 120, 30, 0.40, 0.15
    ),
    LifeEvent("investing", "savings_goal", "investment_fund", "savings", 0.08, 35, 28, 0.40, 0.15),
    LifeEvent("studies", "studies", "consumer_loan", "savings", 0.04, 60, 14, 0.30, 0.20),
)
LOOK_BACK_DAYS = 120  # life events are drawn from before the history ...
LOOK_AHEAD_DAYS = 150  # ... to after its end, so surges are in flight at every date
ACQUISITION_DELAY_GAMMA = (2.0, 7.0)  # days after the surge ends (shape, scale)
SURGE_INTENSITY_LOG_SIGMA = 0.6
NO_WEB_SURGE_FACTOR = 0.15
# Trips happen mostly in summer: weight per calendar month (Jan..Dec).
TRIP_MONTH_WEIGHTS = (0.5, 0.6, 0.8, 1.0, 1.1, 1.6, 2.6, 2.6, 1.0, 0.7, 0.5, 0.9)

# --- holdings ------------------------------------------------------------------------------
# Share of customers holding a product of the family when history starts (opened earlier).
PRIOR_HOLDING_SHARE = {
    "mortgage": 0.22,
    "consumer_loan": 0.10,
    "car_loan": 0.10,
    "savings": 0.75,
    "investment_fund": 0.15,
    "pension_savings": 0.28,
    "credit_card": 0.45,
    "home_insurance": 0.35,
    "car_insurance": 0.42,
    "travel_insurance": 0.12,
    "life_insurance": 0.18,
}
PRIOR_CLOSED_SHARE = 0.20  # of earlier holdings, closed before history starts
CLOSED_DURING_HISTORY_SHARE = 0.04  # of holdings open at the start, closed during history
# Acquisitions without any life event, per customer and family, per year.
BASELINE_ACQUISITION_RATE = {
    "mortgage": 0.006,
    "consumer_loan": 0.015,
    "car_loan": 0.008,
    "savings": 0.040,
    "investment_fund": 0.015,
    "pension_savings": 0.015,
    "credit_card": 0.030,
    "home_insurance": 0.015,
    "car_insurance": 0.020,
    "travel_insurance": 0.020,
    "life_insurance": 0.010,
}
# Products: (product_id, family, name, provider role or partner name, weight).
# Roles index the policy's group providers; a name starting with "Partner" is a non-group
# company (R11: held by customers, never proposed).
PRODUCTS = (
    ("P-MORT-FIX", "mortgage", "Home Loan Fixed Rate", "bank", 0.7),
    ("P-MORT-VAR", "mortgage", "Home Loan Variable Rate", "bank", 0.2),
    ("P-MORT-GRN", "mortgage", "Green Home Loan", "bank", 0.1),
    ("P-CONS-PER", "consumer_loan", "Personal Loan", "bank", 0.6),
    ("P-CONS-REN", "consumer_loan", "Renovation Loan", "bank", 0.4),
    ("P-CAR-LOAN", "car_loan", "Car Loan", "bank", 0.6),
    ("P-CAR-LEASE", "car_loan", "Private Lease", "lease", 0.4),
    ("P-SAV-FLEX", "savings", "Flex Savings Account", "bank", 0.6),
    ("P-SAV-TERM", "savings", "Term Deposit", "bank", 0.25),
    ("P-SAV-KIDS", "savings", "Junior Savings Account", "bank", 0.15),
    ("P-FUND-DEF", "investment_fund", "Defensive Fund", "asset", 0.4),
    ("P-FUND-BAL", "investment_fund", "Balanced Fund", "asset", 0.4),
    ("P-FUND-DYN", "investment_fund", "Dynamic Fund", "asset", 0.2),
    ("P-PENS-FUND", "pension_savings", "Pension Savings Fund", "asset", 0.7),
    ("P-PENS-INS", "pension_savings", "Pension Savings Insurance", "insurance", 0.3),
    ("P-CARD-CLA", "credit_card", "Classic Card", "bank", 0.6),
    ("P-CARD-GLD", "credit_card", "Gold Card", "bank", 0.3),
    ("P-CARD-AIR", "credit_card", "Airline Miles Card", "Partner Airline Card Services", 0.1),
    ("P-HOME-INS", "home_insurance", "Home Insurance", "insurance", 0.8),
    ("P-HOME-TEN", "home_insurance", "Tenant Insurance", "insurance", 0.2),
    ("P-AUTO-INS", "car_insurance", "Car Insurance", "insurance", 0.75),
    ("P-AUTO-OMN", "car_insurance", "Car Insurance Omnium", "insurance", 0.15),
    ("P-AUTO-PTN", "car_insurance", "Auto Cover", "Partner Auto Insurance", 0.10),
    ("P-TRAV-YEAR", "travel_insurance", "Annual Travel Insurance", "insurance", 0.55),
    ("P-TRAV-TRIP", "travel_insurance", "Single Trip Insurance", "insurance", 0.30),
    ("P-TRAV-PTN", "travel_insurance", "Trip Cover", "Partner Travel Cover", 0.15),
    ("P-LIFE-TERM", "life_insurance", "Term Life Insurance", "insurance", 0.6),
    ("P-LIFE-DEBT", "life_insurance", "Debt Balance Insurance", "insurance", 0.4),
)
PROVIDER_ROLES = ("bank", "insurance", "lease", "asset")  # index into policy group providers

# --- theme links (R5) ----------------------------------------------------------------------
# Themes a customer may link an account of a family to.
LINKABLE_THEMES = {
    "savings": ("vacation", "home", "car", "studies", "family", "savings_goal"),
    "investment_fund": ("savings_goal", "retirement"),
    "pension_savings": ("retirement",),
    "credit_card": ("vacation",),
    "mortgage": ("home",),
    "home_insurance": ("home",),
    "car_loan": ("car",),
    "car_insurance": ("car",),
    "travel_insurance": ("vacation",),
    "life_insurance": ("family",),
}
THEME_LINK_SHARE = 0.07  # of eligible holdings
LIFE_EVENT_THEME_LINK_SHARE = 0.25  # customers with a life event linking a savings account
THEME_UNLINK_SHARE = 0.15

# --- consent (R9, R13) ---------------------------------------------------------------------
WEB_NEVER_CONSENT_SHARE = 0.12
EMAIL_NEVER_CONSENT_SHARE = 0.30
GRANT_BEFORE_HISTORY_SHARE = 0.7  # of granting customers whose first grant predates history
WITHDRAW_SHARE = 0.10  # of granting customers, withdraw during history
REGRANT_SHARE = 0.35  # of withdrawing customers, grant again later
CONSENT_SOURCE_SHARES = (0.55, 0.25, 0.12, 0.08)  # order of contract.CONSENT_SOURCES

# --- communications (R6-R8) ----------------------------------------------------------------
COMMERCIAL_SHARE = 0.22  # customers with one commercial contact in a month
OVER_CAP_SHARE = 0.005  # customer-months with a second commercial contact (above cap 1)
COMMERCIAL_CHANNEL_SHARES = {
    "letter": 0.30,
    "email": 0.30,
    "ib_message": 0.25,
    "phone": 0.07,
    "branch": 0.05,
    "contact_center": 0.03,
}
BANNERS_PER_MONTH = 0.5
NEWSLETTER_SUBSCRIBER_SHARE = 0.25
OPERATIONAL_PER_MONTH = 0.35
OPERATIONAL_CHANNEL_SHARES = {"ib_message": 0.6, "letter": 0.25, "email": 0.15}
LEGAL_SHARE = 0.08
LEGAL_CHANNEL_SHARES = {"letter": 0.5, "ib_message": 0.5}
