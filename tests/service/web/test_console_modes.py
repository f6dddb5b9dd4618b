"""The long-term modes operated in the console (issue #19): 设岗认岗与承诺, 分组, 结对, 组团走访.

Each test walks one mode's actions through the console's forms, as the role that does them (the
dispatcher; the member for their ranked choices), on the demo community, and checks what the
pages then say: by name, in Chinese, with no raw id
(:func:`tests.service.web.chinese_text.problems`).
"""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from sqlalchemy import select

from service.db.longterm import (
    Commitment,
    Group,
    GroupMember,
    HandInHandPair,
    Household,
    Post,
    PostChoice,
    UnitPair,
)
from service.db.registration import Grid, Member, Unit
from service.db.visits import VisitAttendance, VisitSessionRecord
from service.domain.demo import DEMO_COMMUNITY as C
from tests.service.web.chinese_text import problems
from tests.service.web.test_console import Login, demo_member_id
from tests.service.web.test_console import console_app as console_app  # the fixture

TAGS = re.compile(r"<script.*?</script>|<style.*?</style>|<[^>]+>", re.S)


def visible(html: str) -> str:
    """The text a person reads on the page (tags, scripts and styles removed)."""
    return re.sub(r"[ \t]+", " ", TAGS.sub("\n", html))


def clean(html: str) -> list[str]:
    return problems(visible(html))


def test_a_dispatcher_sets_a_post_a_member_ranks_it_and_the_allocation_explains_itself(
    console_app: Flask,
) -> None:
    """设岗 → 选岗 on the member's phone → 认岗 (the result explained) → kept or missed."""
    dispatcher = Login(console_app, "dispatcher")
    created = dispatcher.post(
        f"/console/c/{C}/posts/new",
        {
            "category": "policy_publicity",
            "title": "楼道政策宣讲员",
            "seats": "3",
            "service": "每月宣讲一次",
            "deadline": "2026-12-31",
        },
        follow_redirects=True,
    )
    assert created.status_code == 200 and "楼道政策宣讲员" in created.text
    assert "每月宣讲一次" in created.text and clean(created.text) == []
    with console_app.extensions["linli"].sessions() as session:
        post_id = session.scalars(select(Post.id).where(Post.title == "楼道政策宣讲员")).one()
    refused = dispatcher.post(
        f"/console/c/{C}/posts/new",
        {"category": "policy_publicity", "title": "没有名额的岗位", "seats": "0"},
        follow_redirects=True,
    )
    assert "名额为1至100" in refused.text and "没有名额的岗位" not in refused.text

    member_id = demo_member_id(console_app)
    member = Login(console_app, "member")
    mine = member.get("/console/my/posts")
    assert mine.status_code == 200 and "我的岗位选择" in mine.text and "楼道政策宣讲员" in mine.text
    assert clean(mine.text) == []
    saved = member.post("/console/my/posts", {"rank1": post_id}, follow_redirects=True)
    assert "已保存" in saved.text
    with console_app.extensions["linli"].sessions() as session:
        ranked = session.scalars(
            select(PostChoice.post_id).where(PostChoice.member_id == member_id)
        )
        assert list(ranked) == [post_id]

    result = dispatcher.post(f"/console/c/{C}/posts/allocate", follow_redirects=True)
    assert result.status_code == 200 and "谁认了哪个岗位" in result.text, result.text[-3000:]
    with console_app.extensions["linli"].sessions() as session:
        name = session.get(Member, member_id).name  # type: ignore[union-attr]
        commitment = session.scalars(
            select(Commitment).where(Commitment.member_id == member_id, Commitment.status == "open")
        ).one()
    assert name in result.text and "第1志愿" in result.text and clean(result.text) == []

    marked = dispatcher.post(
        f"/console/commitments/{commitment.id}/mark", {"status": "kept"}, follow_redirects=True
    )
    assert "已标记" in marked.text and clean(marked.text) == []
    with console_app.extensions["linli"].sessions() as session:
        assert session.get(Commitment, commitment.id).status == "kept"  # type: ignore[union-attr]
    again = dispatcher.post(
        f"/console/commitments/{commitment.id}/mark", {"status": "missed"}, follow_redirects=True
    )
    assert 'class="msg msg-error"' in again.text and clean(again.text) == []


def test_my_post_choices_are_a_member_page_with_its_own_tab(console_app: Flask) -> None:
    """我的岗位选择 is for members (a tab of their pages); a dispatcher is refused it."""
    dispatcher = Login(console_app, "dispatcher")
    assert dispatcher.get("/console/my/posts").status_code == 403
    tasks = Login(console_app, "member").get("/console/my/tasks")
    assert 'href="/console/my/posts"' in tasks.text and "我的岗位选择" in tasks.text


def _group_of(console_app: Flask, member_id: str) -> str | None:
    with console_app.extensions["linli"].sessions() as session:
        return session.scalars(
            select(GroupMember.group_id).where(GroupMember.member_id == member_id)
        ).first()


def _members_of(console_app: Flask, group_id: str) -> list[str]:
    with console_app.extensions["linli"].sessions() as session:
        return list(
            session.scalars(select(GroupMember.member_id).where(GroupMember.group_id == group_id))
        )


def test_a_dispatcher_computes_groups_moves_a_member_and_records_the_leader(
    console_app: Flask,
) -> None:
    """分组: the proposal explained, a member moved between groups, the elected leader."""
    dispatcher = Login(console_app, "dispatcher")
    result = dispatcher.post(f"/console/c/{C}/groups/compute", {"min": "2", "max": "4"})
    assert result.status_code == 200 and "分组方案" in result.text, result.text[-3000:]
    assert clean(result.text) == []
    with console_app.extensions["linli"].sessions() as session:
        groups = list(session.scalars(select(Group).where(Group.community_id == C)))
        assert len(groups) >= 2
        first, second = groups[0], groups[1]
        moving = session.scalars(
            select(GroupMember.member_id).where(GroupMember.group_id == first.id)
        ).first()
        assert moving is not None
    moved = dispatcher.post(
        f"/console/groups/{second.id}/move", {"member_id": moving}, follow_redirects=True
    )
    assert moved.status_code == 200 and clean(moved.text) == []
    assert _group_of(console_app, moving) == second.id
    led = dispatcher.post(
        f"/console/groups/{second.id}/leader", {"leader_id": moving}, follow_redirects=True
    )
    assert "组长已记录" in led.text or "的组长已记录" in led.text
    with console_app.extensions["linli"].sessions() as session:
        assert session.get(Group, second.id).leader_id == moving  # type: ignore[union-attr]
        name = session.get(Member, moving).name  # type: ignore[union-attr]
    page = dispatcher.get(f"/console/c/{C}/groups")
    assert name in page.text and clean(page.text) == []
    outsider = next(m for m in _members_of(console_app, first.id) if m != moving)
    refused = dispatcher.post(
        f"/console/groups/{second.id}/leader", {"leader_id": outsider}, follow_redirects=True
    )
    assert "组长必须是本组组员" in refused.text and clean(refused.text) == []


def test_a_dispatcher_pairs_households_ends_and_renews_and_pairs_a_unit(
    console_app: Flask,
) -> None:
    """结对: hand-in-hand pairs computed for ticked households, ended, renewed; a unit pair."""
    dispatcher = Login(console_app, "dispatcher")
    with console_app.extensions["linli"].sessions() as session:
        households = list(
            session.scalars(select(Household.id).where(Household.community_id == C).limit(3))
        )
        paired = select(UnitPair.unit_id).where(
            UnitPair.community_id == C, UnitPair.end_date.is_(None)
        )
        unit_id = session.scalars(
            select(Unit.id).where(Unit.id.not_in(paired)).order_by(Unit.name)
        ).first()
    assert households and unit_id
    form: dict[str, object] = {"household": households, "period": "2026H2"}
    form.update({f"cat-{h}": "elderly" for h in households})
    result = dispatcher.post(f"/console/c/{C}/pairs/compute", form)
    assert result.status_code == 200 and "结对结果" in result.text, result.text[-3000:]
    assert clean(result.text) == []
    with console_app.extensions["linli"].sessions() as session:
        pairs = list(
            session.scalars(
                select(HandInHandPair).where(
                    HandInHandPair.community_id == C, HandInHandPair.end_date.is_(None)
                )
            )
        )
    assert pairs, "the demo's members live near its households"
    renewed = dispatcher.post(
        f"/console/pairs/hand/{pairs[0].id}/renew", {"period": "2027H1"}, follow_redirects=True
    )
    assert "2027年上半年" in renewed.text and clean(renewed.text) == []
    again = dispatcher.post(
        f"/console/pairs/hand/{pairs[0].id}/renew", {"period": "2027H1"}, follow_redirects=True
    )
    assert "无法续期" in again.text and clean(again.text) == []
    if len(pairs) > 1:
        ended = dispatcher.post(f"/console/pairs/hand/{pairs[1].id}/end", follow_redirects=True)
        assert "结对已结束" in ended.text
        with console_app.extensions["linli"].sessions() as session:
            assert session.get(HandInHandPair, pairs[1].id).end_date is not None  # type: ignore[union-attr]
    united = dispatcher.post(
        f"/console/c/{C}/unit-pairs/new",
        {"unit_id": unit_id, "period": "2026H2"},
        follow_redirects=True,
    )
    assert united.status_code == 200 and clean(united.text) == []
    with console_app.extensions["linli"].sessions() as session:
        unit_name = session.get(Unit, unit_id).name  # type: ignore[union-attr]
        active = session.scalars(
            select(UnitPair).where(UnitPair.unit_id == unit_id, UnitPair.end_date.is_(None))
        ).first()
    assert active is not None and unit_name in united.text and "2026年下半年" in united.text
    twice = dispatcher.post(
        f"/console/c/{C}/unit-pairs/new",
        {"unit_id": unit_id, "period": "2026H2"},
        follow_redirects=True,
    )
    assert 'class="msg msg-error"' in twice.text and clean(twice.text) == []


def test_a_dispatcher_schedules_the_quarter_and_records_an_outing(console_app: Flask) -> None:
    """组团走访: groups with areas → the quarter scheduled → calendars → attendance and notes."""
    dispatcher = Login(console_app, "dispatcher")
    dispatcher.post(f"/console/c/{C}/groups/compute", {"min": "2", "max": "4"})
    with console_app.extensions["linli"].sessions() as session:
        grids = list(session.scalars(select(Grid.id).where(Grid.community_id == C)))
        groups = list(session.scalars(select(Group.id).where(Group.community_id == C)))
    for group_id, grid_id in zip(groups, grids, strict=False):
        dispatcher.post(f"/console/groups/{group_id}/area", {"grids": [grid_id]})
    page = dispatcher.get(f"/console/c/{C}/visits")
    assert "安排本季度走访" in page.text or "安排一个季度" in page.text
    scheduled = dispatcher.post(
        f"/console/c/{C}/visits/schedule",
        {"start": "2026-01-01", "end": "2026-03-31"},
        follow_redirects=True,
    )
    assert scheduled.status_code == 200 and ".ics" in scheduled.text, scheduled.text[-3000:]
    assert clean(scheduled.text) == []
    with console_app.extensions["linli"].sessions() as session:
        outing = session.scalars(
            select(VisitSessionRecord)
            .where(VisitSessionRecord.community_id == C)
            .order_by(VisitSessionRecord.starts_at)
        ).first()
        assert outing is not None and outing.visit_date < date.today()
        came = list(outing.attendees)[:2]
        visited = list(outing.households)[:1]
    nobody = dispatcher.post(
        f"/console/visit-sessions/{outing.id}/attendance",
        {"households": visited},
        follow_redirects=True,
    )
    assert "请至少勾选一名到场的党员" in nobody.text
    recorded = dispatcher.post(
        f"/console/visit-sessions/{outing.id}/attendance",
        {"members": came, "households": visited, "notes": "老人反映楼道灯坏了"},
        follow_redirects=True,
    )
    assert recorded.status_code == 200 and "走访已记录" in recorded.text
    assert "老人反映楼道灯坏了" in recorded.text and clean(recorded.text) == []
    with console_app.extensions["linli"].sessions() as session:
        rows = session.scalars(
            select(VisitAttendance.member_id).where(VisitAttendance.session_id == outing.id)
        )
        assert sorted(rows) == sorted(came)
