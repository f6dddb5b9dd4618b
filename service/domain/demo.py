"""A seeded demo community: a living workspace a new user can try at once.

``seed_demo`` writes, through the same models the API uses, one community (花园路社区) as it
would look after half a year of use:

- four grids with three buildings each (every building where it stands), 48 households;
- six units whose members' occupations fit them (a hospital's doctors and nurses, a school's
  teachers...), and 36 members with names, phones (encrypted), Party organisations, positions,
  registration cards with the dates they were issued and reported, skills that fit their
  occupations, service intentions and a weekly availability;
- open demands over the coming days, each with what the resident asked, in their words, and the
  channel it came in by (a few with made-up contact details, stored encrypted like real ones);
- half a year of history in each of the three ledgers: demands ordered, dispatched, declined,
  claimed, accepted, served, rated and told back (群众诉求台账, 诉求反馈台账), a few served
  and still waiting to be told back, a few cancelled, and the notes of team visits to
  households (民情走访台账), some of which became demands;
- one login per role with the demo password.

Everything is synthetic (fixed seed): names are drawn from common surnames and given names,
phones from a range no carrier issues to people (``1380000xxxx``); no real person's data.
Seeding twice does nothing the second time.

``flask --app service.app linli-seed-demo`` runs it from the command line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from matcher.dispatch.generate import CENTRE_LAT, CENTRE_LON
from service.config.identity import Client
from service.contracts.visits import load_visit_problem
from service.db.base import utcnow
from service.db.flow import Demand, DemandEvent, DemandFeedback, Task
from service.db.longterm import (
    Group,
    GroupMember,
    HandInHandPair,
    Household,
    Post,
    PostChoice,
    UnitPair,
)
from service.db.people import Person
from service.db.registration import Building, Community, Grid, Member, Unit, new_id
from service.db.visits import VisitNote
from service.domain import visit_records
from service.domain.availability import LOCAL, WEEKDAYS
from service.domain.longterm import posts as post_records
from service.domain.people import new_person
from service.domain.personal_data import FieldCipher
from service.domain.solving import in_process

DEMO_COMMUNITY = "huayuan"
DEMO_PASSWORD = "linli-demo-2026"
"""The demo logins' password (a demo database only: never seed a production one)."""
DEMO_LOGINS = {
    "admin": "district",
    "dispatcher": "dispatcher",
    "organiser": "unit_organiser",
    "member": "member",
}
DISPLAY_NAMES = {
    "admin": "区委组织部 赵敏",
    "dispatcher": "社区党委 李娜",
    "organiser": "供电公司党委 周强",
}
GRIDS = ("第一网格", "第二网格", "第三网格", "第四网格")


@dataclass(frozen=True)
class DemoUnit:
    name: str
    party_organisation: str
    occupations: tuple[tuple[str, tuple[str, ...], str], ...]
    """(occupation, skills that fit it, position)."""


UNITS = (
    DemoUnit(
        "国网郑州供电公司",
        "供电公司党委",
        (
            ("电力工程师", ("repairs", "public_order"), "运维班长"),
            ("会计", ("poverty_relief", "policy_publicity"), "财务主管"),
        ),
    ),
    DemoUnit(
        "金水区人民医院",
        "医院党总支",
        (
            ("医生", ("health", "elderly_care"), "主治医师"),
            ("护士", ("health", "elderly_care"), "护士长"),
        ),
    ),
    DemoUnit(
        "郑州市第八中学",
        "八中党支部",
        (
            ("教师", ("tutoring", "culture"), "年级组长"),
            ("心理教师", ("psychological_support", "tutoring"), "心理辅导员"),
        ),
    ),
    DemoUnit(
        "河南正平律师事务所",
        "律所党支部",
        (("律师", ("legal_aid", "mediation"), "合伙人"),),
    ),
    DemoUnit(
        "金水区公安分局花园路派出所",
        "派出所党支部",
        (("社区民警", ("public_order", "mediation"), "社区警务室主任"),),
    ),
    DemoUnit(
        "中原数智科技有限公司",
        "公司党支部",
        (("软件工程师", ("digital_help", "policy_publicity"), "项目经理"),),
    ),
)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = (
    "建国",
    "秀英",
    "志强",
    "丽娟",
    "海涛",
    "晓燕",
    "国华",
    "慧敏",
    "德明",
    "春梅",
    "文杰",
    "雪梅",
    "振华",
    "红霞",
    "子健",
    "佳怡",
    "宏伟",
    "淑芬",
    "永刚",
    "静怡",
)
MEMBERS = 36
DEMANDS = 24
"""Open demands on the demand list."""
PAST_DEMANDS = 90
"""Demands of the last half year (served, told back, cancelled)."""
HOUSEHOLDS = 48
VISIT_NOTES = 40
HISTORY_DAYS = 180

CONTENTS: dict[str, tuple[str, ...]] = {
    "policy_publicity": ("想了解城乡居民医保续缴政策", "老人想知道高龄津贴怎么申请"),
    "sanitation": ("楼道堆放杂物，影响通行", "小区东门垃圾桶满溢，需要清运"),
    "poverty_relief": ("家中困难，想咨询临时救助", "低保家庭孩子开学需要帮扶"),
    "mediation": ("楼上漏水与邻居协商不成", "停车位纠纷，想请人调解"),
    "elderly_care": ("独居老人需要每周上门探望", "腿脚不便的老人需要陪同就医"),
    "tutoring": ("孩子初二数学跟不上，想找人辅导", "留守儿童周末作业辅导"),
    "health": ("老人血压不稳，想请医生上门看看", "想了解糖尿病饮食注意事项"),
    "legal_aid": ("工资被拖欠，想咨询怎么维权", "房屋继承手续不清楚，需要法律咨询"),
    "repairs": ("厨房水管漏水，需要上门维修", "楼道灯坏了，晚上看不见"),
    "digital_help": ("老人不会用手机挂号，需要教一教", "想学用手机缴水电费"),
    "psychological_support": ("孩子考试焦虑，想找人聊聊", "老伴去世后情绪低落"),
    "public_order": ("夜里有陌生人在楼道逗留", "电动车楼道充电，存在安全隐患"),
    "culture": ("想组织广场舞队参加社区演出", "老年合唱队需要排练场地"),
}
"""What residents ask, per category (in their words)."""
OUTCOMES = (
    "已上门处理完毕，居民表示问题解决",
    "已当面答复并提供书面材料",
    "已联系相关部门协同解决",
    "已完成服务并约定回访",
)
NOTES = (
    ("家里水管老化，经常漏水", "repairs"),
    ("老人独居，希望有人常来看看", "elderly_care"),
    ("孩子放学后无人辅导作业", "tutoring"),
    ("对楼下夜市噪音意见较大", "mediation"),
    ("不会用手机办理社保认证", "digital_help"),
    ("反映小区路灯不亮", "repairs"),
    ("身体状况良好，对社区服务满意", None),
    ("希望多组织健康讲座", "health"),
    ("家中老人行动不便，需要陪同就医", "elderly_care"),
    ("邻里关系和睦，无特别需求", None),
)
SOURCES = ("team_visit", "building_branch", "qq_group", "sms", "phone", "walk_in")


@dataclass(frozen=True)
class DemoSummary:
    community_id: str
    members: int
    demands: int
    logins: dict[str, str]
    created: bool


def _near(
    rng: random.Random, km: float, centre: tuple[float, float] | None = None
) -> tuple[float, float]:
    """A point within ``km`` of ``centre`` (default: the demo centre, Zhengzhou)."""
    lat0, lon0 = centre or (CENTRE_LAT, CENTRE_LON)
    return (
        round(lat0 + rng.uniform(-km, km) / 111.0, 6),
        round(lon0 + rng.uniform(-km, km) / 91.0, 6),
    )


def _weekly(rng: random.Random) -> list[dict[str, str]]:
    evenings = [{"weekday": d, "start": "18:30", "end": "21:00"} for d in WEEKDAYS[:5]]
    weekend = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in WEEKDAYS[5:]]
    return rng.sample(evenings, 3) + weekend


def _names(rng: random.Random, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in names:
            names.append(name)
    return names


class _Seeder:
    """Writes the demo's records level by level (the models have no ORM relationships)."""

    def __init__(self, session: Session, cipher: FieldCipher, now: datetime) -> None:
        self.s, self.cipher, self.now = session, cipher, now
        self.rng = random.Random(2026)
        self.today = now.astimezone(LOCAL).date()

    # -- registration ---------------------------------------------------------------------

    def places(self) -> None:
        now, rng = self.now, self.rng
        self.s.add(Community(id=DEMO_COMMUNITY, name="花园路社区", created_at=now))
        self.s.flush()
        self.grids = [
            Grid(id=new_id("g"), community_id=DEMO_COMMUNITY, name=name, created_at=now)
            for name in GRIDS
        ]
        self.s.add_all(self.grids)
        self.s.flush()
        self.buildings: list[Building] = []
        for k, grid in enumerate(self.grids):
            centre = (CENTRE_LAT + (k // 2 - 0.5) * 0.006, CENTRE_LON + (k % 2 - 0.5) * 0.007)
            for i in range(3):
                lat, lon = _near(rng, 0.2, centre)
                self.buildings.append(
                    Building(
                        id=new_id("b"),
                        grid_id=grid.id,
                        name=f"{i + 1}号楼",
                        lat=lat,
                        lon=lon,
                        created_at=now,
                    )
                )
        self.s.add_all(self.buildings)
        self.s.flush()
        self.households = []
        for i in range(HOUSEHOLDS):
            building = self.buildings[i % len(self.buildings)]
            assert building.lat is not None and building.lon is not None
            lat, lon = _near(rng, 0.03, (building.lat, building.lon))
            self.households.append(
                Household(
                    id=new_id("h"),
                    community_id=DEMO_COMMUNITY,
                    building_id=building.id,
                    lat=lat,
                    lon=lon,
                    needs=rng.sample(["errands", "voice", "disputes", "needs", "visits"], 1),
                    created_at=now,
                )
            )
        self.s.add_all(self.households)
        self.s.flush()

    def members(self) -> None:
        now, rng = self.now, self.rng
        self.units = [
            Unit(
                id=new_id("u"), name=u.name, party_organisation=u.party_organisation, created_at=now
            )
            for u in UNITS
        ]
        self.s.add_all(self.units)
        self.s.flush()
        roles = [
            (unit, job)
            for unit, spec in zip(self.units, UNITS, strict=True)
            for job in spec.occupations
        ]
        names = _names(rng, MEMBERS)
        self.member_rows: list[Member] = []
        for i in range(MEMBERS):
            unit, (occupation, skills, position) = roles[i % len(roles)]
            building = self.buildings[(i * 5) % len(self.buildings)]
            assert building.lat is not None and building.lon is not None
            lat, lon = _near(rng, 0.05, (building.lat, building.lon))
            issued = self.today - timedelta(days=rng.randrange(200, 700))
            extra = rng.sample([s for s in SKILL_POOL if s not in skills], 1)
            self.member_rows.append(
                Member(
                    id=new_id("m"),
                    community_id=DEMO_COMMUNITY,
                    unit_id=unit.id,
                    card_number=f"4101{rng.randrange(10**10):010d}{i:02d}",
                    name=names[i],
                    phone_enc=self.cipher.encrypt(f"1380000{1000 + i:04d}"),
                    party_organisation=f"{unit.party_organisation}第{1 + i % 3}支部",
                    position=position if i % 3 == 0 else None,
                    card_issued_on=issued,
                    reported_on=issued + timedelta(days=rng.randrange(3, 30)),
                    occupation=occupation,
                    specialties=[],
                    skills=[*skills, *extra],
                    preferences=list(skills[:1]),
                    lat=lat,
                    lon=lon,
                    grid_id=building.grid_id,
                    building_id=building.id,
                    weekly_availability=_weekly(rng),
                    capacity_hours_per_week=float(rng.choice((4, 6, 8))),
                    status="active",
                    reported_at=now,
                    created_at=now,
                )
            )
        self.s.add_all(self.member_rows)
        self.s.flush()

    # -- the demand list ------------------------------------------------------------------

    def _content(self, category: str) -> str:
        return self.rng.choice(CONTENTS[category])

    def open_demands(self) -> None:
        rng = self.rng
        for i in range(DEMANDS):
            day = self.today + timedelta(days=1 + i % 6)
            start = datetime.combine(day, time(9 if day.weekday() >= 5 else 18, 30), LOCAL)
            hours = rng.choice((1.0, 1.5, 2.0))
            skill = rng.choice(SKILL_POOL)
            building = rng.choice(self.buildings)
            assert building.lat is not None and building.lon is not None
            lat, lon = _near(rng, 0.05, (building.lat, building.lon))
            with_contact = i % 4 == 0
            demand = Demand(
                id=new_id("d"),
                community_id=DEMO_COMMUNITY,
                category=skill,
                skills=[skill],
                lat=lat,
                lon=lon,
                window_start=start,
                window_end=start + timedelta(hours=hours + (6 if day.weekday() >= 5 else 1.5)),
                duration_hours=hours,
                priority=rng.randint(1, 5),
                crew_size=1,
                content=self._content(skill),
                source=rng.choice(SOURCES),
                building_id=building.id,
                resident_ref=f"r-demo-{i:03d}",
                contact_phone_enc=self.cipher.encrypt(f"1380000{i:04d}") if with_contact else None,
                address_enc=self.cipher.encrypt(f"花园路{i + 1}号院") if with_contact else None,
                status="open",
                created_at=self.now - timedelta(hours=rng.randrange(1, 48)),
            )
            self.s.add(demand)
            self._step(demand.id, demand.created_at, "ordered", None, DISPLAY_NAMES["dispatcher"])
        self.s.flush()

    # -- half a year of history -----------------------------------------------------------

    def _step(
        self,
        demand_id: str,
        at: datetime,
        action: str,
        member: Member | None,
        actor: str,
        note: str | None = None,
    ) -> None:
        self.s.add(
            DemandEvent(
                demand_id=demand_id,
                at=at,
                action=action,
                member_id=None if member is None else member.id,
                actor=actor,
                note=note,
            )
        )

    def _able(self, skill: str) -> list[Member]:
        return [m for m in self.member_rows if skill in m.skills]

    def history(self) -> None:
        """Past demands: each ordered, dispatched (sometimes declined once first) or claimed,
        accepted, served and rated, and told back; the last few served await feedback, a few
        were cancelled. Visit notes come first: some of them became these demands."""
        rng, dispatcher = self.rng, DISPLAY_NAMES["dispatcher"]
        from_notes = self.visit_notes()
        for i in range(PAST_DEMANDS):
            days_ago = HISTORY_DAYS - i * (HISTORY_DAYS - 3) // PAST_DEMANDS
            ordered = datetime.combine(
                self.today - timedelta(days=days_ago), time(9 + i % 8, 10 * (i % 6)), LOCAL
            )
            note = from_notes[i] if i < len(from_notes) else None
            skill = note.category if note is not None and note.category else rng.choice(SKILL_POOL)
            able = self._able(skill)
            household = (
                next(h for h in self.households if h.id == note.household_id)
                if note is not None
                else rng.choice(self.households)
            )
            start = datetime.combine(
                ordered.date() + timedelta(days=1 + i % 3), time(18, 30), LOCAL
            )
            if start.weekday() >= 5:
                start = start.replace(hour=9)
            hours = rng.choice((1.0, 1.5, 2.0))
            demand = Demand(
                id=new_id("d"),
                community_id=DEMO_COMMUNITY,
                category=skill,
                skills=[skill],
                lat=household.lat,
                lon=household.lon,
                window_start=start,
                window_end=start + timedelta(hours=hours + 2),
                duration_hours=hours,
                priority=rng.randint(1, 5),
                crew_size=1,
                content=note.content if note is not None else self._content(skill),
                source="team_visit" if note is not None else rng.choice(SOURCES),
                building_id=household.building_id,
                household_id=household.id,
                resident_ref=f"r-past-{i:03d}",
                status="closed",
                created_at=ordered,
            )
            self.s.add(demand)
            self.s.flush()
            if note is not None:
                note.demand_id = demand.id
            self._step(demand.id, ordered, "ordered", None, dispatcher)
            if i % 17 == 5:  # cancelled: the resident solved it themself
                cancelled = ordered + timedelta(hours=5)
                demand.status, demand.closed_at = "cancelled", cancelled
                self._step(demand.id, cancelled, "cancelled", None, dispatcher, "居民已自行解决")
                self._feedback(demand, "居民来电说明已自行解决，取消需求", cancelled, "phone", None)
                continue
            server = rng.choice(able)
            dispatched = ordered + timedelta(hours=2)
            if i % 4 == 0:  # claimed from the demand list (抢单)
                self._step(demand.id, dispatched, "claimed", server, server.name or "")
            else:
                if i % 5 == 1 and len(able) > 1:  # declined once, then dispatched again
                    other = next(m for m in able if m is not server)
                    self._task(demand, other, start, "declined", dispatched, reason="当天单位值班")
                    self._step(demand.id, dispatched, "dispatched", other, dispatcher)
                    self._step(
                        demand.id,
                        dispatched + timedelta(hours=3),
                        "declined",
                        other,
                        other.name or "",
                        "当天单位值班",
                    )
                    dispatched += timedelta(hours=4)
                self._step(demand.id, dispatched, "dispatched", server, dispatcher)
                self._step(
                    demand.id,
                    dispatched + timedelta(hours=1),
                    "accepted",
                    server,
                    server.name or "",
                )
            served_at = start + timedelta(hours=hours)
            rating = rng.choice((4, 5, 5, 5, 3))
            self._task(
                demand,
                server,
                start,
                "completed",
                dispatched,
                hours=hours,
                rating=rating,
                completed=served_at,
            )
            self._step(demand.id, served_at, "completed", server, server.name or "", f"{hours:g} h")
            self._step(
                demand.id, served_at + timedelta(hours=12), "rated", None, dispatcher, str(rating)
            )
            demand.closed_at = served_at
            if i >= PAST_DEMANDS - 4:  # the latest few wait for the resident to be told back
                demand.status = "completed"
                continue
            told = served_at + timedelta(days=1)
            satisfaction = "satisfied" if rating >= 4 else "basically_satisfied"
            if i % 13 == 7:
                self._feedback(
                    demand,
                    rng.choice(OUTCOMES),
                    None,
                    None,
                    None,
                    reason="居民外出务工，电话未接通",
                )
            else:
                self._feedback(
                    demand,
                    rng.choice(OUTCOMES),
                    told,
                    rng.choice(("phone", "visit", "wechat")),
                    satisfaction,
                )
        self.s.flush()

    def _task(
        self,
        demand: Demand,
        member: Member,
        start: datetime,
        status: str,
        created: datetime,
        *,
        hours: float | None = None,
        rating: int | None = None,
        completed: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        self.s.add(
            Task(
                id=new_id("t"),
                demand_id=demand.id,
                member_id=member.id,
                start=start,
                status=status,
                decline_reason=reason,
                hours=hours,
                rating=rating,
                created_at=created,
                completed_at=completed,
            )
        )

    def _feedback(
        self,
        demand: Demand,
        outcome: str,
        told_at: datetime | None,
        told_via: str | None,
        satisfaction: str | None,
        *,
        reason: str | None = None,
    ) -> None:
        at = told_at or (demand.closed_at or demand.created_at) + timedelta(days=2)
        self.s.add(
            DemandFeedback(
                demand_id=demand.id,
                outcome=outcome,
                told_at=told_at,
                told_via=told_via,
                satisfaction=satisfaction,
                no_feedback_reason=reason,
                recorded_by=DISPLAY_NAMES["dispatcher"],
                recorded_at=at,
            )
        )
        self._step(
            demand.id, at, "feedback", None, DISPLAY_NAMES["dispatcher"], satisfaction or reason
        )

    def visit_notes(self) -> list[VisitNote]:
        """The visit notes of half a year; returns those that became demands (oldest first)."""
        rng = self.rng
        notes: list[VisitNote] = []
        for i in range(VISIT_NOTES):
            visited = self.today - timedelta(
                days=HISTORY_DAYS - 2 - i * (HISTORY_DAYS - 10) // VISIT_NOTES
            )
            content, category = NOTES[i % len(NOTES)]
            household = self.households[(i * 7) % len(self.households)]
            visitors = rng.sample(self.member_rows, 2)
            notes.append(
                VisitNote(
                    id=new_id("vn"),
                    community_id=DEMO_COMMUNITY,
                    household_id=household.id,
                    visited_on=visited,
                    visitors=[m.id for m in visitors],
                    content=content,
                    category=category,
                    recorded_by=DISPLAY_NAMES["dispatcher"],
                    created_at=datetime.combine(visited, time(20), LOCAL),
                )
            )
        self.s.add_all(notes)
        self.s.flush()
        becoming = [n for n in notes if n.category is not None]
        return becoming[::3]

    # -- groups and pairs -----------------------------------------------------------------

    def groups_and_pairs(self) -> None:
        """One group per grid, of the members living there, each with its elected leader;
        hand-in-hand pairs (one renewed into this half year); unit–community pairs."""
        now, today = self.now, self.today
        for k, grid in enumerate(self.grids):
            living = [m for m in self.member_rows if m.grid_id == grid.id]
            if not living:
                continue
            group = Group(
                id=new_id("gr"),
                community_id=DEMO_COMMUNITY,
                name=f"第{'一二三四'[k]}党员服务组",
                leader_id=living[0].id,
                area_buildings=[],
                area_grids=[grid.id],
                created_at=now,
            )
            self.s.add(group)
            self.s.flush()
            self.s.add_all(GroupMember(group_id=group.id, member_id=m.id) for m in living)
        half = f"{today.year}H{1 if today.month <= 6 else 2}"
        half_start = date(today.year, 1 if today.month <= 6 else 7, 1)
        categories = ("elderly", "student", "disabled", "elderly", "poor", "orphan")
        for i, category in enumerate(categories):
            member = self.member_rows[(i * 5 + 2) % len(self.member_rows)]
            self.s.add(
                HandInHandPair(
                    id=new_id("hp"),
                    community_id=DEMO_COMMUNITY,
                    member_id=member.id,
                    resident_ref=f"r-care-{i + 1:03d}",
                    category=category,
                    period=half,
                    start_date=half_start,
                    created_at=now,
                )
            )
        earlier = self.member_rows[7]
        self.s.add(
            HandInHandPair(
                id=new_id("hp"),
                community_id=DEMO_COMMUNITY,
                member_id=earlier.id,
                resident_ref="r-care-001",
                category="elderly",
                period=f"{today.year}H1" if half.endswith("H2") else f"{today.year - 1}H2",
                start_date=half_start - timedelta(days=182),
                end_date=half_start - timedelta(days=1),
                created_at=now,
            )
        )
        for unit in self.units[:3]:
            self.s.add(
                UnitPair(
                    id=new_id("up"),
                    community_id=DEMO_COMMUNITY,
                    unit_id=unit.id,
                    period=str(today.year),
                    start_date=date(today.year, 1, 1),
                    created_at=now,
                )
            )
        self.s.flush()

    # -- logins ---------------------------------------------------------------------------

    def logins(self, hash_method: str) -> None:
        people: dict[str, dict[str, Any]] = {
            "admin": {},
            "dispatcher": {"communities": [DEMO_COMMUNITY]},
            "organiser": {"unit_id": self.units[0].id},
            "member": {"member_id": self.member_rows[0].id},
        }
        for name, scope in people.items():
            self.s.add(
                new_person(
                    hash_method=hash_method,
                    username=name,
                    display_name=DISPLAY_NAMES.get(name) or self.member_rows[0].name or name,
                    password=DEMO_PASSWORD,
                    role=DEMO_LOGINS[name],
                    **scope,
                )
            )


SKILL_POOL = tuple(CONTENTS)


def seed_demo(
    session: Session,
    cipher: FieldCipher,
    *,
    now: datetime | None = None,
    hash_method: str = "scrypt",
) -> DemoSummary:
    """Seed the demo community (once); returns what it holds."""
    logins = {name: DEMO_PASSWORD for name in DEMO_LOGINS}
    if session.get(Community, DEMO_COMMUNITY) is not None:
        return DemoSummary(DEMO_COMMUNITY, MEMBERS, DEMANDS, logins, created=False)
    seeder = _Seeder(session, cipher, now or utcnow())
    seeder.places()
    seeder.members()
    seeder.open_demands()
    seeder.history()
    seeder.logins(hash_method)
    seeder.groups_and_pairs()
    session.commit()
    seed_modes(session, now=seeder.now)
    return DemoSummary(DEMO_COMMUNITY, MEMBERS, DEMANDS, logins, created=True)


# --------------------------------------------------------------------------------------------
# Every mode: posts allocated by the engine, a quarter of team visits solved by the engine
# --------------------------------------------------------------------------------------------

POSTS = (
    ("policy_publicity", "政策宣传员", 6, "每月在楼道宣传栏更新一次惠民政策"),
    ("sanitation", "环境卫生监督岗", 6, "每周巡查一次所在楼院环境卫生"),
    ("elderly_care", "助老服务岗", 8, "每月至少探望一次结对的独居老人"),
    ("mediation", "矛盾调解岗", 5, "接到调解请求三日内上门"),
    ("repairs", "便民维修岗", 6, "每季度参加一次便民维修日"),
    ("digital_help", "数字帮办岗", 5, "每月在社区开展一次手机使用课"),
)
VISIT_SESSION_START = "09:00"


def _dispatcher(session: Session) -> Client:
    """The demo dispatcher, as the domain sees a request of theirs."""
    person = session.scalars(select(Person).where(Person.username == "dispatcher")).one()
    return Client(
        id=person.id,
        name=person.display_name,
        communities=(DEMO_COMMUNITY,),
        role="dispatcher",
    )


def seed_modes(session: Session, *, now: datetime) -> None:
    """Posts with every member's ranked choices, allocated by the engine (verified) with a few
    commitments already kept; a quarter of team visits of the groups' areas, solved by the
    engine (verified), with attendance and visit notes on the outings already past."""
    client = _dispatcher(session)
    today = now.astimezone(LOCAL).date()
    half_end = date(today.year, 6, 30) if today.month <= 6 else date(today.year, 12, 31)
    members = list(
        session.scalars(
            select(Member).where(Member.community_id == DEMO_COMMUNITY).order_by(Member.card_number)
        )
    )
    posts = [
        Post(
            id=new_id("p"),
            community_id=DEMO_COMMUNITY,
            category=category,
            title=title,
            seats=seats,
            skills=[category],
            desired_skills=[],
            commitment_service=promise,
            commitment_deadline=half_end,
            created_at=now,
        )
        for category, title, seats, promise in POSTS
    ]
    session.add_all(posts)
    session.flush()
    for member in members:
        fitting = [p for p in posts if p.category in member.skills][:3]
        session.add_all(
            PostChoice(member_id=member.id, rank=rank, post_id=post.id)
            for rank, post in enumerate(fitting, start=1)
        )
    session.commit()
    allocation = post_records.allocate(session, client, DEMO_COMMUNITY, solver=in_process)
    for commitment in allocation["commitments"][::4]:
        post_records.mark(session, client, commitment["id"], "kept")
    _seed_quarter(session, client, today)


def _quarter_of(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last_month = first.month + 2
    end = (date(day.year + (last_month == 12), last_month % 12 + 1, 1)) - timedelta(days=1)
    return first, end


def _seed_quarter(session: Session, client: Client, today: date) -> None:
    groups = list(
        session.scalars(
            select(Group).where(Group.community_id == DEMO_COMMUNITY).order_by(Group.name)
        )
    )
    members_of: dict[str, list[str]] = {}
    for group_id, member_id in session.execute(
        select(GroupMember.group_id, GroupMember.member_id).order_by(GroupMember.member_id)
    ):
        members_of.setdefault(group_id, []).append(member_id)
    grid_of = dict(session.execute(select(Building.id, Building.grid_id)).all())
    households = list(
        session.scalars(
            select(Household).where(Household.community_id == DEMO_COMMUNITY).order_by(Household.id)
        )
    )
    start, end = _quarter_of(today)
    teams: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    for group in groups:
        area = [h for h in households if grid_of.get(h.building_id) in group.area_grids]
        if not area or not members_of.get(group.id):
            continue
        teams.append(
            {
                "id": group.name,
                "members": members_of[group.id],
                "leader": group.leader_id,
                "quorum": 2,
                "area": group.id,
            }
        )
        areas.append(
            {
                "id": group.id,
                "start": {"lat": area[0].lat, "lon": area[0].lon},
                "households": [
                    {
                        "id": h.id,
                        "location": {"lat": h.lat, "lon": h.lon},
                        "visit_minutes": 20,
                        "visits": 1,
                    }
                    for h in area
                ],
            }
        )
    problem = load_visit_problem(
        {
            "quarter": {"start": start.isoformat(), "end": end.isoformat()},
            "visit_weekdays": ["sat", "sun"],
            "max_sessions_per_day": 2,
            "session": {"start": VISIT_SESSION_START, "max_hours": 3.0},
            "members": [{"id": m} for team in teams for m in team["members"]],
            "teams": teams,
            "areas": areas,
            "options": {"time_limit_s": 1, "seed": 0, "min_days_between_visits": 7},
        }
    )
    stored = visit_records.create_schedule(
        session, client, DEMO_COMMUNITY, problem, max_households=len(households), solver=in_process
    )
    moment = utcnow()
    for outing in stored["sessions"]:
        if outing["end"] >= moment:
            continue
        visit_records.record_attendance(
            session,
            client,
            outing["id"],
            {
                "members": outing["attendees"],
                "households": outing["households"],
                "notes": "按计划走访，住户情况已记入民情走访台账。",
            },
            now=moment,
        )
