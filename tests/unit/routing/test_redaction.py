"""The automatic first redaction of typical cases (shared/routing/publication.py, shared/data/redaction.json)."""

from shared.routing.publication import redact


def test_phone_numbers_id_numbers_and_credit_codes_are_removed() -> None:
    # given a text with a mobile, a landline, an ID number and a unified social credit code
    value = "我电话13912345678，座机0571-88123456，身份证号33010219900307123X，公司代码91330102MA2H3K4L5P。"
    # when it is redacted
    redacted = redact(value, [])
    # then none of them is left, each replaced by a marker saying what was there
    for secret in ("13912345678", "0571-88123456", "33010219900307123X", "91330102MA2H3K4L5P"):
        assert secret not in redacted
    assert redacted == "我电话[电话]，座机[电话]，身份证号[身份证号]，公司代码[信用代码]。"


def test_plates_and_addresses_with_house_or_room_numbers_are_removed() -> None:
    # given a text with a plate number, a street address with a house number and a room number
    value = "执法车浙A·12345停在人民路18号3栋502室门口，另一辆浙AD12345在1单元301室楼下。"
    # when it is redacted
    redacted = redact(value, [])
    # then plates and house and room numbers are gone, the street and the rest of the story stay
    assert "12345" not in redacted and "18号" not in redacted and "502室" not in redacted and "301室" not in redacted
    assert redacted == "执法车[车牌号]停在人民路[门牌号]门口，另一辆[车牌号]在[门牌号]楼下。"


def test_names_given_in_the_case_and_titled_persons_are_removed() -> None:
    # given a text naming the complainant, a respondent and an officer by surname and title
    value = "王红反映张三丰在执法时态度恶劣，李警官没有出示证件。"
    # when it is redacted with the names the case gives
    redacted = redact(value, ["王红", "张三丰"])
    # then no name is left
    assert "王红" not in redacted and "张三丰" not in redacted and "李警官" not in redacted
    assert redacted == "某某反映某某在执法时态度恶劣，某警官没有出示证件。"


def test_ordinary_numbers_stay() -> None:
    # given a text with an amount and a date
    value = "罚款200元，2026年3月5日作出决定。"
    # when it is redacted, then nothing changes
    assert redact(value, []) == value
