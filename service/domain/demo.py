"""A seeded demo community: a living workspace a new user can try at once.

``seed_demo`` writes, through the same models the API uses: one community (花园路社区) with
grids and buildings, three units, 36 members (active, with skills, service intentions and a
weekly availability), open demands over the coming days (a few with made-up contact details,
stored encrypted like real ones) and one login per role with the demo password. Everything is
synthetic (fixed seed): no real person's data. Seeding twice does nothing the second time.

``flask --app service.app linli-seed-demo`` runs it from the command line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from matcher.dispatch.generate import CENTRE_LAT, CENTRE_LON
from matcher.vocabulary import CATEGORIES
from service.db.base import utcnow
from service.db.flow import Demand
from service.db.registration import Building, Community, Grid, Member, Unit, new_id
from service.domain.availability import LOCAL, WEEKDAYS
from service.domain.people import new_person
from service.domain.personal_data import FieldCipher

DEMO_COMMUNITY = "huayuan"
DEMO_PASSWORD = "linli-demo-2026"
"""The demo logins' password (a demo database only: never seed a production one)."""
DEMO_LOGINS = {
    "admin": "district",
    "dispatcher": "dispatcher",
    "organiser": "unit_organiser",
    "member": "member",
}
GRIDS = ("第一网格", "第二网格", "第三网格", "第四网格")
UNITS = (
    ("国网郑州供电公司", "供电公司党委"),
    ("金水区人民医院", "医院党总支"),
    ("郑州市第八中学", "八中党支部"),
)
OCCUPATIONS = ("电力工程师", "医生", "教师", "律师", "社区民警", "会计", "程序员", "护士")
MEMBERS = 36
DEMANDS = 24
SKILLS = tuple(CATEGORIES)


@dataclass(frozen=True)
class DemoSummary:
    community_id: str
    members: int
    demands: int
    logins: dict[str, str]
    created: bool


def _near(rng: random.Random, km: float) -> tuple[float, float]:
    """A point within ``km`` of the demo centre (Zhengzhou)."""
    return (
        round(CENTRE_LAT + rng.uniform(-km, km) / 111.0, 6),
        round(CENTRE_LON + rng.uniform(-km, km) / 91.0, 6),
    )


def _weekly(rng: random.Random) -> list[dict[str, str]]:
    evenings = [{"weekday": d, "start": "18:30", "end": "21:00"} for d in WEEKDAYS[:5]]
    weekend = [{"weekday": d, "start": "09:00", "end": "17:00"} for d in WEEKDAYS[5:]]
    return rng.sample(evenings, 3) + weekend


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
    rng = random.Random(2026)
    now = now or utcnow()
    session.add(Community(id=DEMO_COMMUNITY, name="花园路社区", created_at=now))
    session.flush()  # no ORM relationships: each level is written before the next
    grids = [
        Grid(id=new_id("g"), community_id=DEMO_COMMUNITY, name=name, created_at=now)
        for name in GRIDS
    ]
    buildings = [
        Building(id=new_id("b"), grid_id=grid.id, name=f"{i + 1}号楼", created_at=now)
        for grid in grids
        for i in range(3)
    ]
    units = [
        Unit(id=new_id("u"), name=name, party_organisation=org, created_at=now)
        for name, org in UNITS
    ]
    session.add_all([*grids, *units])
    session.flush()
    session.add_all(buildings)
    session.flush()
    members = []
    for i in range(MEMBERS):
        lat, lon = _near(rng, 0.8)
        building = rng.choice(buildings)
        skills = rng.sample(SKILLS, 3)
        members.append(
            Member(
                id=new_id("m"),
                community_id=DEMO_COMMUNITY,
                unit_id=units[i % len(units)].id,
                card_number=f"4101{rng.randrange(10**10):010d}{i:02d}",
                occupation=rng.choice(OCCUPATIONS),
                specialties=[],
                skills=skills,
                preferences=skills[:1],
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
    session.add_all(members)
    session.flush()
    today = now.astimezone(LOCAL).date()
    for i in range(DEMANDS):
        day = today + timedelta(days=1 + i % 6)
        start = datetime.combine(day, time(9 if day.weekday() >= 5 else 18, 30), LOCAL)
        hours = rng.choice((1.0, 1.5, 2.0))
        skill = rng.choice(SKILLS)
        lat, lon = _near(rng, 1.0)
        with_contact = i % 4 == 0
        session.add(
            Demand(
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
                resident_ref=f"r-demo-{i:03d}",
                contact_phone_enc=cipher.encrypt(f"1380000{i:04d}") if with_contact else None,
                address_enc=cipher.encrypt(f"花园路{i + 1}号院") if with_contact else None,
                status="open",
                created_at=now,
            )
        )
    session.flush()
    people: dict[str, dict[str, Any]] = {
        "admin": {},
        "dispatcher": {"communities": [DEMO_COMMUNITY]},
        "organiser": {"unit_id": units[0].id},
        "member": {"member_id": members[0].id},
    }
    for name, scope in people.items():
        session.add(
            new_person(
                hash_method=hash_method,
                username=name,
                display_name=name,
                password=DEMO_PASSWORD,
                role=DEMO_LOGINS[name],
                **scope,
            )
        )
    session.commit()
    return DemoSummary(DEMO_COMMUNITY, MEMBERS, DEMANDS, logins, created=True)
