"""Opinion forms for enterprises (征求意见表): a survey, its one-time links and their anonymous answers.

| item                                     | key                                                    |
|------------------------------------------|--------------------------------------------------------|
| a survey                                 | pk `SURVEY#<id>`, sk `SURVEY`                          |
| one link of it, its answer once given    | pk `SURVEY#<id>`, sk `LINK#<sha256 of the token, 32>`  |
| the surveys of a campaign, in order      | pk `CAMPAIGN#<campaign>`, sk `SURVEY#<created_at>#<id>` |

A link's token is known only to whoever holds the printed sheet: the item keeps its hash, so that the table does
not hand out answerable links. An answer is written once, on condition that the link has none yet; it names no
one (no address, no time finer than the day is asked). A survey is read whole: one Query of its partition.
"""

import hashlib
from typing import Any

from shared.core.aws import client
from shared.core.dal.campaign import SURVEY, CampaignStore, partition
from shared.core.dal.items import from_item, query, to_item, transact, write_if
from shared.core.settings import Settings

TRANSACTION_ITEMS = 100


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class SurveyStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._table = settings.cases_table

    def create(self, survey: dict[str, Any], links: list[dict[str, Any]]) -> None:
        """The survey (`id`, `campaign`, `created_at` among its values), its place in the campaign's list and its
        links (`digest`, `number`), in transactions of at most 100 items, the survey's first."""
        puts = [
            {**survey, "pk": f"SURVEY#{survey['id']}", "sk": "SURVEY"},
            {
                "pk": partition(survey["campaign"]),
                "sk": f"{SURVEY}{survey['created_at']}#{survey['id']}",
                "id": survey["id"],
            },
            *({**link, "pk": f"SURVEY#{survey['id']}", "sk": f"LINK#{link['digest']}"} for link in links),
        ]
        writes = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for item in puts
        ]
        for start in range(0, len(writes), TRANSACTION_ITEMS):
            transact(writes[start : start + TRANSACTION_ITEMS])

    def ids(self, campaign: str) -> list[str]:
        """The campaign's surveys in order of creation (its partition, shared/core/dal/campaign.py)."""
        return [str(item["id"]) for item in CampaignStore(self._settings).items(campaign, SURVEY)]

    def survey(self, survey_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """The survey and its links (answers included), in one Query; (None, []) when there is none."""
        items = list(
            query(
                self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=to_item({":pk": f"SURVEY#{survey_id}"}),
            )
        )
        head = next((item for item in items if item["sk"] == "SURVEY"), None)
        links = sorted((item for item in items if item["sk"].startswith("LINK#")), key=lambda item: item["number"])
        return head, links

    def get(self, survey_id: str) -> dict[str, Any] | None:
        key = to_item({"pk": f"SURVEY#{survey_id}", "sk": "SURVEY"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def link(self, survey_id: str, digest: str) -> dict[str, Any] | None:
        key = to_item({"pk": f"SURVEY#{survey_id}", "sk": f"LINK#{digest}"})
        item = client("dynamodb").get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def answer(self, survey_id: str, digest: str, answer: dict[str, Any], answered_on: str) -> bool:
        """Store a link's answer; False when the link has one already (or does not exist)."""
        return write_if(
            "update_item",
            TableName=self._table,
            Key=to_item({"pk": f"SURVEY#{survey_id}", "sk": f"LINK#{digest}"}),
            UpdateExpression="SET answer = :answer, answered_on = :on",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(answer)",
            ExpressionAttributeValues=to_item({":answer": answer, ":on": answered_on}),
        )

    def link_complaint(self, survey_id: str, digest: str, tracking_no: str) -> None:
        """Note the complaint an answer was filed as (the same one on a retry: set once)."""
        write_if(
            "update_item",
            TableName=self._table,
            Key=to_item({"pk": f"SURVEY#{survey_id}", "sk": f"LINK#{digest}"}),
            UpdateExpression="SET tracking_no = :no",
            ConditionExpression="attribute_exists(answer) AND attribute_not_exists(tracking_no)",
            ExpressionAttributeValues=to_item({":no": tracking_no}),
        )
