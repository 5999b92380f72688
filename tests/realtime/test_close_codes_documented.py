"""Every close code the stream uses is documented, in both documents."""

import re
from pathlib import Path

import yaml

from realtime import close_codes

ROOT = Path(__file__).resolve().parents[2]
USED = {value for name, value in vars(close_codes).items() if name.startswith("CLOSE_")} | {1000}


def test_asyncapi_lists_every_close_code():
    spec = yaml.safe_load((ROOT / "docs" / "asyncapi.yaml").read_text())
    listed = {row["code"] for row in spec["channels"]["stream"]["x-close-codes"]}
    assert listed == USED


def test_realtime_md_table_lists_every_close_code():
    text = (ROOT / "docs" / "realtime.md").read_text()
    table = text[text.index("### Close codes") : text.index("### Frames")]
    assert {int(code) for code in re.findall(r"^\| (\d{4}) \|", table, re.M)} == USED


def test_no_code_an_asgi_application_cannot_send():
    # autobahn's sendClose accepts 1000 and 3000-4999 only. 1012 (draining)
    # is sent by the server itself, below the application.
    sent_by_the_application = USED - {close_codes.CLOSE_SERVICE_RESTART}
    assert all(code == 1000 or 3000 <= code <= 4999 for code in sent_by_the_application)
    assert "CLOSE_SERVICE_RESTART" not in (ROOT / "realtime" / "consumers.py").read_text()
