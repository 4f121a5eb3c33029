"""Checks and hashing for the identity a complainant gives.

Only the published checksums are checked (GB 11643 resident ID, GB 32100 unified social credit code):
region-code tables go stale, and python-stdnum rejects valid numbers (DESIGN.md, section 7).
"""

import hashlib
import hmac
import re

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# GB 32100: the code's alphabet (no I, O, Z, S, V) and position weights.
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s()-]", "", phone)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits


def is_valid_phone(phone: str) -> bool:
    number = normalise_phone(phone)
    return bool(_MOBILE.fullmatch(number) or _LANDLINE.fullmatch(number))


def is_mobile(phone: str) -> bool:
    return bool(_MOBILE.fullmatch(normalise_phone(phone)))


def e164(phone: str) -> str:
    """The number as SMS senders take it: mainland mobiles get +86, others are stored with their + already."""
    return f"+86{phone}" if is_mobile(phone) and not phone.startswith("+") else phone


def is_valid_email(email: str) -> bool:
    return bool(_EMAIL.fullmatch(email))


def is_valid_id_number(number: str) -> bool:
    number = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17]


def is_valid_credit_code(code: str) -> bool:
    code = code.upper()
    if len(code) != 18 or any(char not in _CREDIT_ALPHABET for char in code):
        return False
    total = sum(_CREDIT_ALPHABET.index(char) * weight for char, weight in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31] == code[17]


def contact_hash(contact_key: str, secret: str) -> str:
    """A keyed hash: phone numbers are too few for a plain hash to hide them."""
    return hmac.new(secret.encode(), contact_key.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    number = normalise_phone(phone)
    return number[:3] + "****" + number[-4:] if len(number) >= 8 else "****"
