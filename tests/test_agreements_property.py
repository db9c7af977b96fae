"""Property: whatever order several users edit and save in, every edit either reaches the head
revision or comes back to its author in the 409 answer. Nothing is silently lost."""

from __future__ import annotations

import itertools

from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.factories import ApiUser as Api
from tests.factories import DemoData
from tests.test_agreements import MUNI_EDITOR, ORG_EDITOR

USERS = (MUNI_EDITOR, ORG_EDITOR, "administrator@fjordby-boligselskab.dk")
SECTIONS = 3
LINES = 5

# A round: several users edit the text as it stood when they last loaded it (line inserts into
# sections), then save in some order. Later savers in a round work on an outdated base.
edit = st.tuples(st.integers(0, len(USERS) - 1), st.integers(0, SECTIONS - 1), st.integers(0, LINES))
round_ = st.tuples(st.lists(edit, min_size=2, max_size=6), st.permutations(range(len(USERS))))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rounds=st.lists(round_, min_size=1, max_size=5))
def test_every_edit_is_kept_or_returned_as_a_conflict(app: Flask, demo: DemoData, rounds: list) -> None:
    apis = [Api(app, email) for email in USERS]
    created = apis[0].post("/agreements", {"title": "Egenskabstest", "type": "andet",
                                           "organisations": [demo.organisations[0].id]}).json
    agreement = f"/agreements/{created['id']}"
    assert apis[1].post(f"{agreement}/invitation", {"accept": True}).status_code == 200  # the organisation joins
    section_ids, base = [created["sections"][0]["id"]], 1
    for n in range(1, SECTIONS):
        added = apis[0].post(f"{agreement}/sections", {"heading": f"Afsnit {n}", "base_revision": base}).json
        section_ids.append(added["section_id"])
        base = added["revision"]
    seed = "".join(f"linje {i}\n" for i in range(LINES))
    apis[0].patch(agreement, {"base_revision": base, "sections": {sid: {"text": seed} for sid in section_ids}})

    def load() -> dict:
        current = apis[0].get(agreement).json
        return {"base": current["revision"], "text": {s["id"]: s["text"] for s in current["sections"]}}

    markers = itertools.count()
    accepted: list[str] = []
    conflicts = 0
    for edits, order in rounds:
        copies = {who: load() for who in range(len(USERS))}
        pending: dict[int, list[tuple[str, str]]] = {who: [] for who in range(len(USERS))}
        for who, section, position in edits:
            sid = section_ids[section]
            lines = copies[who]["text"][sid].splitlines(keepends=True)
            marker = f"ændring-{next(markers)}-af-bruger-{who}"
            lines.insert(min(position, len(lines)), marker + "\n")
            copies[who]["text"][sid] = "".join(lines)
            pending[who].append((sid, marker))
        for who in order:
            if not pending[who]:
                continue
            changed = {sid for sid, _ in pending[who]}
            response = apis[who].patch(agreement, {"base_revision": copies[who]["base"],
                                                   "sections": {sid: {"text": copies[who]["text"][sid]} for sid in changed}})
            if response.status_code == 200:
                accepted.extend(marker for _, marker in pending[who])
            else:
                assert response.status_code == 409, response.json
                conflicts += 1
                body = response.json
                returned = " ".join([c["mine"] or "" for c in body["conflicts"]] +
                                    [section["text"] for section in body["unsaved"].values()])
                lost = [marker for _, marker in pending[who] if marker not in returned]
                assert not lost, f"edits neither saved nor returned: {lost}"
            head = " ".join(apis[0].get(agreement).json["sections"][i]["text"] for i in range(SECTIONS))
            missing = [marker for marker in accepted if marker not in head]
            assert not missing, f"accepted edits lost from the head revision: {missing}"
    event(f"conflicts: {'some' if conflicts else 'none'}; saved: {'some' if accepted else 'none'}")
