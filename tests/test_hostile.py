"""The hostile-input corpus (tests/hostile.py) against both apps: same status, same JSON, nothing leaked."""

import re

import pytest

from tests.clients import ApiClient, Reply
from tests.hostile import CORPUS, Case

# What must never reach a client: a traceback, a file of the service, a Python exception's name.
LEAKS = re.compile(rb"Traceback|File \"|\.py\b|/work/|site-packages|Error:|Exception")


def check_answer(case: Case, reply: Reply) -> None:
    assert reply.status == case.status, reply.body[:300]
    assert reply.content_type == "application/json"
    if case.method == "HEAD":  # headers only, by HTTP's rules
        assert reply.body == b""
        return
    assert not LEAKS.search(reply.body), reply.body[:300]
    # Error bodies are short and name problems, never carry the rejected input back.
    assert len(reply.body) < 4096
    if reply.status >= 400:
        assert "detail" in reply.json()


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_both_apps_answer_alike(both: tuple[ApiClient, ApiClient], case: Case) -> None:
    flask_reply, fastapi_reply = (
        client.request(case.method, case.path, content=case.body, headers=case.headers) for client in both
    )
    check_answer(case, flask_reply)
    check_answer(case, fastapi_reply)
    if case.method != "HEAD":
        assert flask_reply.json() == fastapi_reply.json()
