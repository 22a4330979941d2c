"""How `tiercast generate` simulates a subscriber base: sizes, seeds, and the behaviour mix."""

from __future__ import annotations

from typing import Literal, Self, get_args

from pydantic import Field, NonNegativeFloat, model_validator

from tiercast.settings.base import Section
from tiercast.settings.campaigns import CampaignSettings

Shares = dict[str, float]
Triple = tuple[float, float, float]


def _normalised(shares: Shares, what: str) -> Shares:
    total = sum(shares.values())
    if total <= 0 or any(value < 0 for value in shares.values()):
        raise ValueError(f"{what}: shares must be >= 0 and not all 0")
    return shares


class AgeGroup(Section):
    """An age group of individual lines: its share of the base and its age range (years)."""

    share: float = Field(ge=0)
    min_age: int = Field(ge=0)
    max_age: int = Field(ge=0)


class PlanSpec(Section):
    """A tariff plan: fee, popularity, who takes it, how it is sold and what its users consume."""

    fee: float = Field(gt=0, description="Monthly fee in CNY (the base_fee of a full month)")
    share: float = Field(ge=0, description="Relative popularity before the age tilt")
    segment: Literal["individual", "business"]
    young_weight: float = Field(ge=0, description="Popularity multiplier for the young age group")
    senior_weight: float = Field(ge=0, description="Popularity multiplier for the senior age group")
    contracts: Shares
    brands: Shares
    data_allowance_mb: float | None = Field(description="Data included in the fee; null = unlimited")
    voice_minutes: float = Field(gt=0, description="Mean voice minutes a month of a typical user")
    data_mb: float = Field(gt=0, description="Mean data MB a month of a typical user")
    sms: float = Field(ge=0, description="Mean SMS a month")
    long_distance_rate: float = Field(ge=0, description="CNY per long-distance minute")

    @model_validator(mode="after")
    def _mixes(self) -> Self:
        _normalised(self.contracts, "contracts")
        _normalised(self.brands, "brands")
        return self


class RoamingSettings(Section):
    """Roaming: per line a monthly roaming probability (beta by segment) and a lognormal amount."""

    individual_beta: tuple[float, float]
    fee_elasticity: float = Field(ge=0)
    reference_fee: float = Field(gt=0)
    business_beta: tuple[float, float]
    amount_median: float = Field(gt=0)
    amount_sigma: float = Field(ge=0)
    business_multiplier: float = Field(gt=0)


class UsageSettings(Section):
    """Month-to-month usage noise and the prices that turn usage into bill parts."""

    propensity_sigma: float = Field(ge=0, description="Spread of a line's usage level around its plan's mean")
    month_noise_sigma: float = Field(ge=0, description="Month-to-month noise of usage")
    young_data_multiplier: float = Field(gt=0)
    senior_data_multiplier: float = Field(gt=0)
    senior_voice_multiplier: float = Field(gt=0)
    data_price_per_mb: float = Field(ge=0)
    data_charge_cap: float = Field(ge=0, description="Most a month's out-of-allowance data can cost")
    long_distance_share_beta: tuple[float, float]
    sms_allowance: int = Field(ge=0)
    sms_price: float = Field(ge=0)
    value_added_take_up: float = Field(ge=0, le=1)
    value_added_fees: tuple[float, ...] = Field(min_length=1)
    roaming: RoamingSettings


class TypeSpec(Section):
    """A latent customer trajectory: spend drift a month, persistence, noise and proneness to dissatisfaction."""

    drift: float
    persistence: float = Field(ge=0, le=1)
    noise: float = Field(ge=0)
    dissatisfaction: float = Field(ge=0, description="Multiplier of the monthly dissatisfaction onset")


class TypeRules(Section):
    """How the latent type of a non-flea, non-business line is drawn."""

    high_value_min_fee: float
    growing_share_young_or_new: float = Field(ge=0, le=1)
    growing_share: float = Field(ge=0, le=1)
    declining_share: float = Field(ge=0, le=1)
    low_max_fee: float = Field(description="Plans up to this fee are low-ARPU plans")
    loyal_min_age: int
    loyal_min_tenure_months: float


class PayerSpec(Section):
    """A postpaid payment habit: share, chance a bill is paid late or skipped, and settling under pressure."""

    share: float = Field(ge=0)
    late_probability: float = Field(ge=0, le=1)
    skip_probability: float = Field(ge=0, le=1)
    settle_when_spared: float = Field(ge=0, le=1)
    young_weight: float = Field(ge=0)


class PaymentSettings(Section):
    """Payment habits and the days-late distribution."""

    payers: dict[Literal["punctual", "late", "arrears"], PayerSpec]
    on_time_latest_share: float = Field(ge=0, le=1, description="Share of on-time payers who pay in the last week")
    late_days_mean: float = Field(gt=0)
    late_days_max: int = Field(ge=1)


class FleaSettings(Section):
    """Flea users (跳蚤用户): join, run up unpaid bills, leave for non-payment."""

    share_of_joiners: float = Field(ge=0, le=1)
    plans: Shares
    contracts: Shares
    sales_channels: Shares
    usage_multiplier: float = Field(gt=0)
    long_distance_share_beta: tuple[float, float]
    roaming_probability: float = Field(ge=0, le=1)
    roaming_multiplier: float = Field(gt=0)
    black_list_probability: float = Field(ge=0, le=1)
    settle_when_spared: float = Field(ge=0, le=1)


class DissatisfactionSettings(Section):
    """Latent state per line: content -> dissatisfied -> intends to leave, and its effect on spend."""

    initial: Triple
    onset: float = Field(ge=0, le=1)
    trigger_multiplier: float = Field(ge=1)
    recover: float = Field(ge=0, le=1)
    escalate: float = Field(ge=0, le=1)
    calm: float = Field(ge=0, le=1)
    settle: float = Field(ge=0, le=1)
    engagement_drift: Triple
    retention_success: float = Field(ge=0, le=1)


CallerClass = Literal["red", "high", "mid", "low", "black"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CallerRoute(Section):
    """Where the generator's operator queues a class of caller: priority (1 first ... 9 last) and agent group."""

    priority: int = Field(ge=1, le=9)
    group: str


class AgentGroupSpec(Section):
    """An agent group of the generator's centre: the queues its idle agents also serve, and its staffing target."""

    overflow: tuple[str, ...] = ()
    target: float = Field(gt=0, lt=1, description="Share answered within answer_within_seconds it is staffed for")


class VoiceQueueSettings(Section):
    """The generator's own ACD: caller classes and routes, agent groups, staffing per interval, caller patience."""

    interval_minutes: int = Field(gt=0, le=60, description="Staffing interval; must divide an hour")
    answer_within_seconds: float = Field(gt=0)
    high_share: float = Field(ge=0, le=1, description="Top share of active lines by arpu_3m: high tier")
    mid_share: float = Field(ge=0, le=1, description="Next share: mid tier; the rest low")
    routes: dict[CallerClass, CallerRoute]
    cancel_intent_group: str = Field(description="Group a cancel-intent call goes to (not a black-listed caller's)")
    groups: dict[str, AgentGroupSpec] = Field(min_length=1)
    peak_load_share: float = Field(gt=0, le=1, description="Intervals with this share of the peak load are peaks")
    peak_service_level: float = Field(gt=0, lt=1, description="Service level peaks are staffed for")
    fold_to_daily_calls: int = Field(ge=1, description="Calls a simulated day should hold (small bases fold days)")
    patience_mean_seconds: float = Field(gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if 60 % self.interval_minutes:
            raise ValueError(f"interval_minutes {self.interval_minutes} must divide 60")
        if self.high_share + self.mid_share > 1:
            raise ValueError("high_share + mid_share must be at most 1")
        missing = set(get_args(CallerClass)) - set(self.routes)
        if missing:
            raise ValueError(f"routes: no route for {sorted(missing)}")
        named = {route.group for route in self.routes.values()} | {self.cancel_intent_group}
        named |= {other for group in self.groups.values() for other in group.overflow}
        unknown = named - set(self.groups)
        if unknown:
            raise ValueError(f"unknown agent groups {sorted(unknown)}; groups: {sorted(self.groups)}")
        return self


class RetentionCallSettings(Section):
    """The operator's present outbound retention practice (it shows in the contacts table)."""

    after_cancel_intent: float = Field(ge=0, le=1)
    proactive: float = Field(ge=0, le=1)
    proactive_min_arpu: float = Field(ge=0)
    proactive_max_trend: float


class AfterLeavingSettings(Section):
    """Billing contacts of former subscribers (final bill, arrears) in the weeks after they left."""

    voluntary: float = Field(ge=0, le=1)
    non_payment: float = Field(ge=0, le=1)
    max_days: int = Field(ge=1, le=90, description="Latest day after deactivation (contracts allow 90)")


class ContactSettings(Section):
    """Contact rates per full month by reason and dissatisfaction state, channels, handling."""

    rates: dict[str, Triple]
    billing_in_arrears: float = Field(ge=0)
    black_list_complaint_multiplier: float = Field(ge=1)
    channels: dict[Literal["young", "adult", "senior"], Shares]
    cancel_intent_channels: Shares
    resolved: dict[str, float]
    repeat_probability: float = Field(ge=0, le=1)
    repeat_days_mean: float = Field(gt=0)
    handle_seconds_median: dict[str, float]
    channel_handle_multiplier: dict[str, float]
    handle_sigma: float = Field(ge=0)
    hour_weights: tuple[NonNegativeFloat, ...] = Field(
        min_length=24, max_length=24, description="Inbound contacts by hour"
    )
    weekday_weights: dict[Weekday, NonNegativeFloat] = Field(
        min_length=7, description="Inbound contacts by day of the week"
    )
    voice_queue: VoiceQueueSettings
    retention: RetentionCallSettings
    after_leaving: AfterLeavingSettings

    @model_validator(mode="after")
    def _profile(self) -> Self:
        if sum(self.hour_weights) <= 0 or sum(self.weekday_weights.values()) <= 0:
            raise ValueError("hour_weights and weekday_weights must not be all 0")
        return self


class VoluntaryHazard(Section):
    """Logit of leaving voluntarily next month from what the tables show at the end of this month."""

    intercept: float
    log_arpu: float = Field(description="Per log(arpu_3m / reference_arpu)")
    reference_arpu: float = Field(gt=0)
    log_arpu_above: float = Field(description="Per log(arpu_3m / high_arpu) above high_arpu: rivals court big spenders")
    high_arpu: float = Field(gt=0)
    arpu_decline: float = Field(description="Per unit of -arpu_trend (clipped to [0, 1])")
    usage_decline: float = Field(description="Per unit of -usage_trend (clipped to [0, 1])")
    volatility: float
    complaints_1m: float
    complaints_3m: float
    cancel_intent_1m: float
    cancel_intent_3m: float
    retention_call_2m: float
    overdue_bill: float
    late_share: float
    tenure_log_years: float
    new_line: float = Field(description="Tenure under new_line_months")
    new_line_months: float
    in_contract: float = Field(description="Contract line with more than a month to run")
    contract_ending: float = Field(
        description="Contract ended within the last contract_ended_months or ends next month"
    )
    contract_ended_months: float
    prepaid: float
    young: float
    senior: float
    business: float
    red_list: float
    noise_sd: float = Field(ge=0, description="Unobservable part: sd of a per-month logit noise")


class NonPaymentHazard(Section):
    """Logit of suspension for non-payment next month, for lines about to have too many unpaid bills."""

    intercept: float
    log_arrears: float = Field(description="Per log(arrears / reference_arpu)")
    never_paid: float = Field(description="No bill paid so far in the export")
    on_time_share: float
    tenure_log_years: float


class HazardSettings(Section):
    """The true churn hazard (the oracle the churn model is compared with)."""

    voluntary: VoluntaryHazard
    non_payment: NonPaymentHazard


class ListSettings(Section):
    """Red list (VIP), black list (abusive) and outbound opt-out."""

    red_base: float = Field(ge=0, le=1)
    red_high_fee: float = Field(ge=0, le=1)
    red_min_fee: float
    black: float = Field(ge=0, le=1)
    do_not_contact: float = Field(ge=0, le=1)
    do_not_contact_senior: float = Field(ge=0, le=1)


ChargeColumn = Literal["data_amount", "long_distance_amount", "roaming_amount", "value_added_amount"]


class PriceRiseScenario(Section):
    """`--scenario price_rise` (concept drift): plan fees rise and from then on paying more drives churn more."""

    start_months_before_end: int = Field(ge=0, description="Default start: this many months before end_month")
    plans: tuple[str, ...] = Field(min_length=1, description="Plans whose fee rises")
    fee_increase: float = Field(gt=0, description="Relative fee rise, 0.15 = +15%")
    price_sensitivity: float = Field(
        description="Voluntary logit per log(arpu_3m / hazard reference_arpu), clipped to [0, 2.5], from the start"
    )


class CompetitorPromoScenario(Section):
    """`--scenario competitor_promo` (covariate and concept drift): a rival's promotion in one region."""

    start_months_before_end: int = Field(ge=0, description="Default start: this many months before end_month")
    months: int = Field(ge=1, description="How long the promotion runs")
    region: str = Field(description="The region it runs in")
    hazard: float = Field(description="Voluntary logit added for the region's lines while it runs")
    cancel_intent_rate: float = Field(ge=0, description="Extra cancel-intent contacts a line and full month")
    usage_multiplier: float = Field(gt=0, description="Voice and data use of the region's lines while it runs")


class BrokenExportScenario(Section):
    """`--scenario broken_export` (export fault): one charge column of the bills is exported as 0."""

    start_months_before_end: int = Field(ge=0, description="Default start: first day of the month this many before")
    column: ChargeColumn


class ScenarioSettings(Section):
    """Magnitudes of the test scenarios of `tiercast generate --scenario` (not domain data)."""

    price_rise: PriceRiseScenario
    competitor_promo: CompetitorPromoScenario
    broken_export: BrokenExportScenario


class GeneratorSettings(Section):
    """How `tiercast generate` simulates a subscriber base: sizes, seeds, and the behaviour mix."""

    subscribers: int = Field(ge=1, description="Active base on the first day of the window")
    months: int = Field(ge=1, le=120)
    seed: int = Field(ge=0)
    end_month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Last simulated month, YYYY-MM")
    max_tenure_years: float = Field(gt=0)
    recent_share: float = Field(ge=0, le=1, description="Share of the initial base activated in the last 2 years")
    tenure_mean_years: float = Field(gt=0)
    in_contract_share: float = Field(ge=0, le=1)
    joiners_per_leaver: float = Field(ge=0)
    due_day: int = Field(ge=1, le=28)
    suspend_after_unpaid_bills: int = Field(ge=2, le=5)
    monthly_churn_range: tuple[float, float]
    ages: dict[Literal["young", "adult", "senior"], AgeGroup]
    business_age_missing_share: float = Field(ge=0, le=1)
    personal_data_missing_share: float = Field(ge=0, le=1)
    plans: dict[str, PlanSpec]
    regions: Shares
    sales_channels: dict[Literal["young", "adult", "senior"], Shares]
    usage: UsageSettings
    types: dict[str, TypeSpec]
    type_rules: TypeRules
    payments: PaymentSettings
    flea: FleaSettings
    dissatisfaction: DissatisfactionSettings
    contacts: ContactSettings
    hazard: HazardSettings
    lists: ListSettings
    scenarios: ScenarioSettings
    campaigns: CampaignSettings

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        low, high = self.monthly_churn_range
        if not 0 <= low <= high <= 1:
            raise ValueError("monthly_churn_range must be 0 <= low <= high <= 1")
        unknown = set(self.flea.plans) - set(self.plans)
        if unknown:
            raise ValueError(f"flea.plans names unknown plans {sorted(unknown)}")
        _normalised(self.regions, "regions")
        unknown = set(self.scenarios.price_rise.plans) - set(self.plans)
        if unknown:
            raise ValueError(f"scenarios.price_rise.plans names unknown plans {sorted(unknown)}")
        if self.scenarios.competitor_promo.region not in self.regions:
            raise ValueError(f"scenarios.competitor_promo.region {self.scenarios.competitor_promo.region!r} is unknown")
        return self
