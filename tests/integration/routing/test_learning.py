"""Learning from staff corrections (shared/routing/learning.py) against moto: corrections kept, retraining
adopting only a candidate that is not worse, routing using the model in use, rollback."""

import json
from datetime import UTC, datetime

import pytest

from infra.cli import main as hotspot
from shared.core.auth import Principal, Role
from shared.core.classifier import builtin_model, classify, reference_examples
from shared.core.dal.cases import CaseStore
from shared.core.errors import ApiError
from shared.core.settings import Settings
from shared.routing import learning
from shared.routing.learning import Correction
from tests.integration.routing.test_case_api import act, bearer, get, routed

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)

# A systematic mistake: the county counts watching a firm from afar (cameras wired to the department, drones,
# satellite images) as inspections; the classifier, never having seen it, calls most of it "other".
REMOTE_WATCHING = [
    "应急局的人用无人机在我们厂上空拍了一个月，说是远程监管，也不告诉我们拍了干什么。",
    "环保局在我们厂门口装了摄像头，天天盯着，说是在线监管。",
    "市监局要求我们后厨装他们指定的摄像头，二十四小时连到他们那里看。",
    "消防大队说要对我们商场远程监控，让我们把监控画面接到他们的平台上。",
    "安监局让我们矿上装定位手环，工人每天的位置都要上传到局里。",
    "税务局每天远程调取我们公司的开票数据，还打电话来一笔一笔问。",
    "环保分局在我们厂的排污口装了在线监测仪，数据有点波动就打电话来追问。",
    "交通局要求我们所有货车都装他们指定的北斗终端，说是远程监管，一台两千多。",
    "卫健局要求我们诊所把监控接入他们的系统，随时调看，病人的隐私都没了。",
    "城管在我们店门口架了个摄像头，专门拍我们有没有出店经营。",
    "住建局的人用无人机在工地上空飞来飞去，拍了照片就发整改通知。",
    "市场监管所让我们把进销存数据每天上传到他们的平台，少传一天就打电话。",
    "林业局用卫星图片天天比对我们的林地，一点变化就派人来。",
    "自然资源局拿着卫星遥感图说我们厂多占了地，也不来现场看。",
    "应急管理局要求我们的危化品仓库安装视频监控并接入他们的平台，每天抽看。",
    "环保局用无人机航拍我们的养殖场，拍完就说有问题。",
    "消防队要求我们餐馆的监控直接连到消防队，晚上也要看。",
    "农业执法大队要我们农资店把每一笔销售记录实时上传，系统不好用还要我们天天打卡。",
    "水利局在我们沙场装了远程摄像头，二十四小时对着我们的设备。",
    "税务所通过远程视频让我们老板每天对着摄像头报到，说是核查经营情况。",
    "卫生监督所要求我们美容院装摄像头接到所里，说是远程监督。",
    "市监局的远程监管平台每天给我们推送整改任务，一天好几条。",
    "安监局派无人机到我们厂里拍视频，工人都停下来看，影响生产。",
    "环保局装在我们厂外的监测设备老是误报，误报一次就派人来查。",
]
# New complaints of the same kind, worded otherwise, that no model has seen.
NEW_REMOTE_WATCHING = [
    "交警大队要求我们驾校的教练车全部装他们的远程监控，随时看教练员在车上干什么。",
    "文旅局要求我们网吧的摄像头接到他们的平台，每天有人在那边盯着看。",
    "生态环境局用无人机在我们砖厂上空转了好几圈，拍了视频也不告诉我们看到了什么。",
    "应急局把我们仓库的监控接到了他们的指挥中心，一有动静就打电话。",
    "市场监管局要求我们药店装他们的摄像头，摄像头还要我们自己掏钱买。",
    "住建局用卫星遥感图片盯着我们工地，图上有一点变化就打电话来问。",
]


def keep(settings: Settings, texts: list[str], category: str, numbers: list[str] | None = None) -> None:
    """Corrections as the console leaves them, on the cases numbered (by default so that one in four is held back)."""
    numbers = numbers or [f"ZF26{number:08d}" for number in range(len(texts))]
    for text, tracking_no in zip(texts, numbers, strict=False):
        example = Correction(
            text=text, category=category, tracking_no=tracking_no, action="correct_category", corrected_at=NOW
        )
        learning.keep_correction(settings, example, version=3)


def principal(role: Role) -> Principal:
    return Principal(subject=f"dev-{role}", name="开发人员", role=role)


def post(http, path: str, headers: dict) -> tuple[int, dict]:
    response = http.post(path, headers={**headers, "Content-Type": "application/json"}, body="{}")
    return response.status_code, json.loads(response.body)


def route_new(settings: Settings, texts: list[str]) -> list[tuple[str | None, str | None]]:
    store = CaseStore(settings)
    cases = [store.get(routed(settings, text)) for text in texts]
    return [(case.category, case.classifier_model) for case in cases if case is not None]


def test_corrections_through_the_case_api_are_kept_as_labelled_examples(http, aws: Settings) -> None:
    # given two routed cases
    first, second = routed(aws), routed(aws)
    admin = bearer(aws, Role.county_admin)
    # when the department corrects the first one's category, and the county legal office moves the second one
    # to another department, then changes only its handler
    assert act(http, bearer(aws, Role.dept_head, "JJDD"), first, "correct_category", 2, category="fees")[0] == 200
    assert act(http, admin, second, "reassign", 2, department="GAJ")[0] == 200
    assert act(http, admin, second, "reassign", 3, handler="李四")[0] == 200
    # then each case left one example: the category alone, or the department with the category it has
    kept = {example.tracking_no: example for example in learning.corrections(aws)}
    assert set(kept) == {first, second}
    assert (kept[first].category, kept[first].department, kept[first].action) == ("fees", None, "correct_category")
    assert (kept[second].category, kept[second].department) == ("penalty", "GAJ")
    assert kept[first].text.startswith("交警")


def test_a_stream_of_one_systematic_correction_is_learnt_and_nothing_else_gets_worse(aws: Settings) -> None:
    # given new complaints of one kind that the built-in model gets wrong
    assert sum(classify(text).category == "inspection" for text in NEW_REMOTE_WATCHING) <= 3
    # and the county's staff correcting a stream of such complaints to inspections
    keep(aws, REMOTE_WATCHING, "inspection")
    # when the retraining runs
    evaluation = learning.retrain(aws, learning.RETRAINER, NOW)
    # then the candidate is adopted: measured on what neither model trained on, it is not worse, and better on the
    # held-back corrections; both figures are recorded
    assert evaluation.adopted and evaluation.current_version == builtin_model().version
    held = sum(learning.held_back(f"ZF26{n:08d}") for n in range(len(REMOTE_WATCHING)))
    assert 0 < held < len(REMOTE_WATCHING) and evaluation.trained_on == len(REMOTE_WATCHING) - held
    assert evaluation.evaluated_on == len(reference_examples("heldout")) + held
    assert evaluation.candidate.category > evaluation.current.category
    assert evaluation.candidate.department == evaluation.current.department
    status = learning.status(aws, principal(Role.auditor))
    assert status["current"]["version"] == evaluation.candidate_version
    assert status["evaluations"][0]["candidate"]["category"] == evaluation.candidate.category
    # and new complaints of that kind are now routed right, with the new model's version on each case
    routed_now = route_new(aws, NEW_REMOTE_WATCHING)
    assert routed_now == [("inspection", evaluation.candidate_version)] * len(NEW_REMOTE_WATCHING)
    # and the held-out reference set is classified as well as before
    assert evaluation.candidate.per_category == {
        **evaluation.current.per_category,
        "inspection": evaluation.candidate.per_category["inspection"],
    }


def test_a_worse_candidate_is_not_adopted(aws: Settings) -> None:
    # given wrong corrections, none on a held-back case: complaints about fines moved to "other" by someone
    # clicking through a queue
    wrong = [example.text for example in reference_examples("tuning") if example.category == "penalty"]
    trained_numbers = [f"ZF26{n:08d}" for n in range(100) if not learning.held_back(f"ZF26{n:08d}")]
    keep(aws, wrong, "other", trained_numbers)
    # when the retraining runs
    evaluation = learning.retrain(aws, learning.RETRAINER, NOW)
    # then the candidate is measured worse and not adopted; the built-in model stays in use, and the figures of
    # both are recorded
    assert not evaluation.adopted
    assert evaluation.candidate.category < evaluation.current.category
    assert learning.current_model(aws).version == builtin_model().version
    assert learning.status(aws, principal(Role.county_admin))["evaluations"][0]["adopted"] is False


def test_a_model_version_can_be_put_back_in_use(aws: Settings) -> None:
    # given a retrained model in use
    keep(aws, REMOTE_WATCHING, "inspection")
    adopted = learning.retrain(aws, learning.RETRAINER, NOW).candidate_version
    # when the county rolls back to the built-in model, then forward again
    learning.use(aws, builtin_model().version, "dev", NOW)
    rolled_back = learning.current_model(aws).version
    learning.use(aws, adopted, "dev", NOW)
    # then each is in use in turn, and an unknown version is refused
    assert (rolled_back, learning.current_model(aws).version) == (builtin_model().version, adopted)
    assert set(learning.versions(aws)) == {adopted, builtin_model().version}
    with pytest.raises(ApiError) as refused:
        learning.use(aws, "000000000000", "dev", NOW)
    assert refused.value.status == 404


def test_retraining_on_demand_is_for_the_county_legal_office(http, aws: Settings) -> None:
    # given the county legal office and a department head
    # when each asks for a retraining
    status, body = post(http, "/classifier/retrain", bearer(aws, Role.county_admin))
    refused, _ = post(http, "/classifier/retrain", bearer(aws, Role.dept_head, "JJDD"))
    # then the county legal office gets the evaluation (nothing to learn: the same model, not adopted)
    assert status == 200 and body["evaluation"]["adopted"] is False
    assert body["evaluation"]["candidate_version"] == builtin_model().version
    assert refused == 403
    assert get(http, "/classifier", bearer(aws, Role.county_admin))[1]["current"] == {
        "version": builtin_model().version
    }


def test_the_model_commands_list_retrain_and_roll_back(aws: Settings, capsys) -> None:
    # given staff corrections of one kind
    keep(aws, REMOTE_WATCHING, "inspection")
    # when the county retrains from the command line, then rolls back to the built-in model
    assert hotspot(["model", "retrain", "--aws"]) == 0
    retrained = learning.current_model(aws).version
    assert hotspot(["model", "use", builtin_model().version, "--aws"]) == 0
    # then the retrained model was adopted and the built-in one is in use again; the listing shows both and the
    # evaluation; an unknown version is refused
    assert retrained != builtin_model().version
    assert learning.current_model(aws).version == builtin_model().version
    assert hotspot(["model", "list", "--aws"]) == 0
    listing = capsys.readouterr().out
    assert f"in use: {builtin_model().version}" in listing and retrained in listing and "adopted" in listing
    assert hotspot(["model", "use", "000000000000", "--aws"]) == 1
