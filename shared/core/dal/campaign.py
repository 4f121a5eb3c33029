"""The campaign partition: what a campaign's reports read besides its counters, in one Query.

| item                                  | key                                                                  |
|---------------------------------------|----------------------------------------------------------------------|
| a department's material submission    | pk `CAMPAIGN#<campaign>`, sk `MATERIAL#<dept>#<material>#<upload id>`|
| a survey in the campaign's list       | pk `CAMPAIGN#<campaign>`, sk `SURVEY#<created_at>#<id>`              |

A county has tens of departments and a few surveys a campaign: one partition holds both lists, each store reads its
own by the prefix of the sort key (RecordStore for the materials, SurveyStore for the surveys), and a report reads
both at once. Stages deployed when they were apart (`MATERIALS#<campaign>` / `<dept>#<material>#<upload id>`,
`SURVEYS#<campaign>` / `<created_at>#<id>`) move theirs once: `hotspot move-campaign-items`.
"""

from dataclasses import dataclass, field
from typing import Any

from shared.core.aws import client
from shared.core.dal.items import query, to_item, write_if
from shared.core.settings import Settings

MATERIAL = "MATERIAL#"
SURVEY = "SURVEY#"


def partition(campaign: str) -> str:
    return f"CAMPAIGN#{campaign}"


def values(item: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in item.items() if name not in ("pk", "sk")}


@dataclass
class CampaignItems:
    submissions: list[dict[str, Any]] = field(default_factory=list)
    survey_ids: list[str] = field(default_factory=list)


class CampaignStore:
    def __init__(self, settings: Settings) -> None:
        self._table = settings.cases_table

    def items(self, campaign: str, prefix: str = "") -> list[dict[str, Any]]:
        """The items of the campaign's partition (those whose sort key starts with `prefix`), in order of it."""
        condition, given = "pk = :pk", {":pk": partition(campaign)}
        if prefix:
            condition += " AND begins_with(sk, :prefix)"
            given[":prefix"] = prefix
        return list(query(self._table, KeyConditionExpression=condition, ExpressionAttributeValues=to_item(given)))

    def read(self, campaign: str) -> CampaignItems:
        """The material submissions and the survey ids (in order of creation) of a campaign: one Query."""
        found = CampaignItems()
        for item in self.items(campaign):
            if str(item["sk"]).startswith(MATERIAL):
                found.submissions.append(values(item))
            elif str(item["sk"]).startswith(SURVEY):
                found.survey_ids.append(str(item["id"]))
        return found

    def move_earlier(self, campaign: str) -> int:
        """Once after upgrading: copy the material submissions and the survey list of the earlier partitions into
        the campaign partition (a copy already there is kept), then delete them there; how many moved."""
        moved = 0
        for earlier, prefix in ((f"MATERIALS#{campaign}", MATERIAL), (f"SURVEYS#{campaign}", SURVEY)):
            items = list(
                query(
                    self._table,
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues=to_item({":pk": earlier}),
                )
            )
            for item in items:
                copy = {**item, "pk": partition(campaign), "sk": prefix + str(item["sk"])}
                write_if(
                    "put_item",
                    TableName=self._table,
                    Item=to_item(copy),
                    ConditionExpression="attribute_not_exists(pk)",
                )
                client("dynamodb").delete_item(TableName=self._table, Key=to_item({"pk": earlier, "sk": item["sk"]}))
                moved += 1
        return moved
