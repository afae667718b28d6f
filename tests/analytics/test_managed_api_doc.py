"""The goals and saved-funnels examples of docs/api.md, run as written against the demo configuration."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.testclient import TestClient

from samtycke.settings import Settings
from samtycke.web.app import create_app
from tests.support.live import wait_ready
from tests.support.paths import REPO
from tests.support.tokens import TOKEN_OF, TOKENS

DOC = (REPO / "docs" / "api.md").read_text(encoding="utf-8")


@dataclass
class Call:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def calls() -> list[Call]:
    section = DOC.split("## Goals and saved funnels", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands: list[str] = []
    pending = ""
    for line in block.splitlines():
        if not pending and (not line.strip() or line.startswith("#")):
            continue
        pending += line.removesuffix("\\") + "\n"
        try:  # a command goes on while a line ends in a backslash or a quote is open
            shlex.split(pending)
        except ValueError:
            continue
        if not line.endswith("\\"):
            commands.append(pending)
            pending = ""
    assert not pending
    return [parsed(shlex.split(command)) for command in commands]


def parsed(words: list[str]) -> Call:
    assert words[:2] == ["curl", "-s"], words
    call = Call("GET", "")
    rest = iter(words[2:])
    for word in rest:
        if word == "-X":
            call.method = next(rest)
        elif word == "-H":
            name, value = next(rest).split(": ", 1)
            call.headers[name] = value
        elif word == "-d":
            call.body = next(rest)
            call.method = "POST" if call.method == "GET" else call.method
        else:
            call.url = word
    return call


def test_every_example_answers_as_the_doc_says(make_settings: Callable[..., Settings]) -> None:
    documented = calls()
    # list, create two goals, read one, change it, the configuration file's goal, save a funnel,
    # list funnels, change it, delete the goal it uses, delete the funnel, the goal, the record
    expected = [200, 201, 201, 200, 200, 409, 201, 200, 200, 409, 200, 200, 200]
    assert len(documented) == len(expected)
    ids: dict[str, str] = {}
    answers: list[Any] = []
    with TestClient(create_app(make_settings(tokens=TOKENS)), base_url="http://localhost") as client:
        wait_ready(client)
        for call, status in zip(documented, expected, strict=True):
            url = call.url.replace("http://127.0.0.1:8000", "")
            for placeholder, value in ids.items():
                url = url.replace(placeholder, value)
            headers = {
                name: re.sub(r"\$(\w+)_TOKEN", lambda m: TOKEN_OF[m.group(1).lower()], value)
                for name, value in call.headers.items()
            }
            response = client.request(call.method, url, headers=headers, content=call.body)
            assert response.status_code == status, (call, response.text)
            answers.append(response.json())
            if call.method == "POST" and url.endswith("/goals") and "GOAL_ID" not in ids:
                ids["GOAL_ID"] = str(response.json()["id"])
            if call.method == "POST" and url.endswith("/funnels"):
                ids["FUNNEL_ID"] = str(response.json()["id"])

    listed = answers[0]
    assert [g["source"] for g in listed["goals"]] == ["config", "config"]
    assert "before it was created" in listed["backfill"]
    assert answers[1]["id"] == 3 and answers[1]["backfill"] == listed["backfill"]  # above ids 1 and 2
    assert answers[4]["page"] == "/kontakt/tack*" and answers[4]["id"] == 3
    assert answers[5]["error"]["code"] == "read_only"
    assert answers[7]["funnels"][0]["steps"][1] == {"goal": "Contact form sent", "label": "Sent"}
    assert answers[8]["within"] == "24h"
    assert answers[9]["error"]["code"] == "conflict"
    record = [
        e
        for e in answers[12]["events"]
        if e["target"] in ("site 1 goal 3", f"site 1 funnel {ids['FUNNEL_ID']}")
    ]
    assert [e["action"] for e in reversed(record)] == [
        "create_goal", "update_goal", "create_funnel", "update_funnel", "delete_funnel", "delete_goal",
    ]  # fmt: skip
    update = json.loads(record[-2]["detail"])  # newest first: the change after the creation
    assert (update["before"]["page"], update["after"]["page"]) == ("/kontakt/skickat*", "/kontakt/tack*")
