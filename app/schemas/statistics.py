"""The leaders' indicators as the API shows them: counts and medians, never a record."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class GroupBy(StrEnum):
    month = "month"
    agency_kind = "agency_kind"
    municipality = "municipality"


class StatisticsRow(BaseModel):
    group: str | None = Field(
        description="The month (YYYY-MM), the agency kind or the municipality (null: agencies with none "
        "recorded); `total` for the period's total."
    )
    concerns: int | None = Field(description="Concerns raised in the period, by the raising agency.")
    mandatory_reports: int | None = Field(
        description="Concerns raised as a mandatory report to social services, by the reporting agency."
    )
    decided_within_14_days: int | None = Field(
        description="Mandatory reports received in the period whose decision (feedback to the reporter) was "
        "dated within 14 days of receipt and recorded before the deadline was marked passed, by the reported-to "
        "agency; null (see `unavailable`) while a month of the period is not final."
    )
    median_days_to_decision: float | None = Field(
        description="Median whole days from receipt to decision of the mandatory reports received in the period, "
        "by the reported-to agency; null over fewer than the threshold, or (see `unavailable`) while a report of "
        "the period still awaits its decision."
    )
    children_with_open_team: int | None = Field(
        description="Children with an open team at the end of the period, by the agency of their earliest open team."
    )
    children_with_active_plan: int | None = Field(
        description="Children with an active plan (child's plan or SIP) at the end of the period, by the agency of "
        "their earliest active plan."
    )
    median_days_concern_to_team: float | None = Field(
        description="Median whole days from a child's first concern to the child's first team, over the children "
        "whose first team was created in the period, by the team's agency; null over fewer than the threshold."
    )
    reviews_on_time: int | None = Field(
        description="Plan reviews recorded in the period that were held by the plan's review date at the time, by "
        "the plan's agency."
    )
    suppressed: list[str] = Field(
        max_length=16,
        description="The fields that are null to protect small numbers: counts below the threshold, the cells "
        "hidden so that those cannot be worked out, and medians over too few children.",
    )


class UnavailableField(BaseModel):
    field: str
    reason: str


class StatisticsPublic(BaseModel):
    from_: str = Field(alias="from", description="The first month of the period, YYYY-MM.")
    to: str = Field(description="The last month of the period (included), YYYY-MM.")
    group_by: GroupBy
    threshold: int = Field(description="Counts below it, and medians over fewer values, are suppressed.")
    rows: list[StatisticsRow] = Field(max_length=400)
    total: StatisticsRow = Field(description="The whole period over all agencies, under the same protection.")
    unavailable: list[UnavailableField] = Field(
        max_length=16,
        description="Fields that are null because their figures are not final yet for some month of the period "
        "(the months and the reason are given): never suppressed, published once they cannot change.",
    )

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "from": "2026-01",
                    "to": "2026-03",
                    "group_by": "agency_kind",
                    "threshold": 5,
                    "rows": [
                        {
                            "group": "school",
                            "concerns": 41,
                            "mandatory_reports": 17,
                            "decided_within_14_days": None,
                            "median_days_to_decision": None,
                            "children_with_open_team": None,
                            "children_with_active_plan": 12,
                            "median_days_concern_to_team": 23.0,
                            "reviews_on_time": 9,
                            "suppressed": ["children_with_open_team"],
                        }
                    ],
                    "total": {
                        "group": "total",
                        "concerns": 112,
                        "mandatory_reports": 38,
                        "decided_within_14_days": None,
                        "median_days_to_decision": None,
                        "children_with_open_team": 29,
                        "children_with_active_plan": 31,
                        "median_days_concern_to_team": 19.5,
                        "reviews_on_time": 22,
                        "suppressed": [],
                    },
                    "unavailable": [
                        {
                            "field": "decided_within_14_days",
                            "reason": "2026-03: Not final yet: some mandatory reports received in the month have "
                            "neither a decision nor a deadline marked passed (…)",
                        },
                        {
                            "field": "median_days_to_decision",
                            "reason": "2026-02, 2026-03: Not final yet: some mandatory reports received in the "
                            "month have no decision yet (…)",
                        },
                    ],
                }
            ]
        },
    )
