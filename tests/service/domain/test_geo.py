"""GCJ-02 ⇄ WGS-84 (service.domain.coordinates): known pairs, round trips, points outside China."""

from __future__ import annotations

import math

import pytest

from service.domain.coordinates import gcj02_to_wgs84, in_china, wgs84_to_gcj02

EARTH_RADIUS_M = 6371008.8


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def test_the_forward_offset_matches_a_published_pair() -> None:
    """WGS-84 (39.915, 116.404) in Beijing is GCJ-02 (39.91640428, 116.41024450)."""
    lat, lon = wgs84_to_gcj02(39.915, 116.404)
    assert lat == pytest.approx(39.91640428150164, abs=1e-9)
    assert lon == pytest.approx(116.41024449916938, abs=1e-9)


@pytest.mark.parametrize(
    "point",
    [
        (34.7466, 113.6253),  # Zhengzhou (the demo district)
        (39.915, 116.404),  # Beijing
        (31.2304, 121.4737),  # Shanghai
        (22.5431, 114.0579),  # Shenzhen
        (43.8256, 87.6168),  # Urumqi
        (45.8038, 126.5350),  # Harbin
    ],
)
def test_round_trips_inside_china_are_within_a_metre(point: tuple[float, float]) -> None:
    """GCJ-02 → WGS-84 undoes the offset: the round trip errs by far less than 1 m, and the
    offset itself is a few hundred metres (so the conversion matters)."""
    gcj = wgs84_to_gcj02(*point)
    assert 50 < _metres(point, gcj) < 1000
    back = gcj02_to_wgs84(*gcj)
    assert _metres(point, back) < 1.0
    assert _metres(wgs84_to_gcj02(*back), gcj) < 1.0


def test_the_inverse_of_a_gcj02_point_maps_back_onto_it() -> None:
    """A point read off AMap converts to WGS-84 whose GCJ-02 image is that point (< 1 mm)."""
    amap = (34.74813, 113.63147)
    wgs = gcj02_to_wgs84(*amap)
    assert _metres(wgs84_to_gcj02(*wgs), amap) < 0.001


@pytest.mark.parametrize("point", [(51.5074, -0.1278), (35.6762, 139.6503), (-33.8688, 151.2093)])
def test_points_outside_china_are_unchanged(point: tuple[float, float]) -> None:
    """London, Tokyo, Sydney: no offset either way."""
    assert not in_china(*point)
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
