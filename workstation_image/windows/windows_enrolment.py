"""A Windows machine's name and one-time join password, from the servicedesk's enrolment service.

The Linux image asks https://desk1.<domain>/enrol at its first boot (gemensam-enrol); a
Windows machine cannot ask before Setup has joined it, so the one who prepares its
installation medium asks for it, with the serial number the new-workstation order
registered. The service answers once per serial: it sets a random one-time password on the
order's pre-staged computer account, marks the asset in use, comments on the order's ticket
and answers the computer's name, the realm and the password. Windows Setup joins with that
password (UnattendedJoin's UnsecureJoin) and sets a machine password of its own, so the
password on the medium is dead once the machine has joined.

Because the password is given once, everything that can be checked before asking is checked
by the caller first; an answer that does not fit the order is an error that says the asset
must be set back to `new` before asking again.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

TIMEOUT = 120           # the service waits for the directory and RT: a loaded desk took over 30 s
MAX_ANSWER = 16 * 1024
MIN_PASSWORD = 24       # the service's passwords are 32 letters and digits
NAME = re.compile(r"[A-Z0-9][A-Z0-9-]{0,14}\Z")
DOMAIN = re.compile(r"[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+\Z")


class EnrolmentError(ValueError):
    """The service refused or could not be reached, or its answer is not usable."""


def checked_url(url: str) -> str:
    """https://host[:port]/path, nothing else: the password travels in the answer."""
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) and url.isprintable() else None
    if not parts or parts.scheme != "https" or not parts.hostname or parts.username or parts.query \
            or parts.fragment or len(url) > 300:
        raise EnrolmentError(f"--enrolment-url: {url!r:.80} is not an https:// URL of the enrolment service "
                             "(https://desk1.<domain>/enrol)")
    return url


def ask(url: str, serial: str, ca_file: Path) -> dict[str, Any]:
    """The service's JSON answer for serial; TLS checked against the city CA only."""
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(checked_url(url), data=json.dumps({"serial": serial}).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            body = response.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as error:
        raise EnrolmentError(f"{url}: serial {serial}: refused (HTTP {error.code}): "
                             f"{_message(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise EnrolmentError(f"{url}: not reachable ({getattr(error, 'reason', error)}); "
                             "nothing was issued") from None
    if len(body) > MAX_ANSWER:
        raise EnrolmentError(f"{url}: serial {serial}: the answer is longer than {MAX_ANSWER} bytes")
    try:
        answer = json.loads(body.decode("utf-8"))
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise EnrolmentError(f"{url}: serial {serial}: the answer is not a JSON object")
    return answer


def _message(error: urllib.error.HTTPError) -> str:
    try:
        message = json.loads(error.read(MAX_ANSWER).decode("utf-8"))["error"]
    except (ValueError, KeyError, TypeError, OSError):
        return "no message"
    return str(message)[:300] if str(message).isprintable() else "an unprintable message"


def checked_answer(answer: dict[str, Any], *, url: str, serial: str, realm: str, organisation: str,
                   profile: str, prefix: str) -> dict[str, str]:
    """The answer's values, each checked against the order it was asked for: the computer is the
    order's organisation's and profile's (its name <prefix>00042), in this city's realm. The
    password itself is never echoed."""
    def text(key: str) -> str:
        value = answer.get(key)
        if not isinstance(value, str):
            raise _unusable(url, serial, f"{key} is missing or not a string")
        return value

    name, domain, password = text("computer_name"), text("dns_domain"), text("one_time_password")
    if not (NAME.match(name) and re.fullmatch(re.escape(prefix.upper()) + r"[0-9]{5}", name)):
        raise _unusable(url, serial, f"computer_name {name!r:.40} is not the order's kind of name "
                                     f"({prefix.upper()}<5 digits>)")
    if not DOMAIN.match(domain) or text("realm") != domain.upper() or domain.upper() != realm.upper():
        raise _unusable(url, serial, f"the realm {text('realm')!r:.80} is not {realm}")
    if (answer.get("organisation"), answer.get("profile")) != (organisation, profile):
        raise _unusable(url, serial, f"the computer is {answer.get('organisation')!r:.40}'s "
                                     f"{answer.get('profile')!r:.40}, the order {organisation}'s {profile}")
    if len(password) < MIN_PASSWORD or not password.isprintable() or password.strip() != password:
        raise _unusable(url, serial, "the one-time password is not a usable secret")
    return {"computer_name": name, "one_time_password": password}


def _unusable(url: str, serial: str, why: str) -> EnrolmentError:
    return EnrolmentError(f"{url}: serial {serial}: the answer does not fit the order ({why}). The service "
                          "has issued the serial's one-time password: an agent sets the asset back to `new` "
                          "before it is asked again")
