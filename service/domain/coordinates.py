"""GCJ-02 (火星坐标, used by AMap/高德 and Tencent maps) and WGS-84 (GPS, 天地图, stored here).

The workspace stores every location in WGS-84. Sheets copied from AMap carry GCJ-02: the
published GCJ-02 offset, a smooth function of the WGS-84 point, is applied forwards by
:func:`wgs84_to_gcj02`, and undone by :func:`gcj02_to_wgs84` with a fixed-point iteration (the
offset varies by under a metre per hundred metres, so each step gains about five digits; three
steps reach 1e-9 degrees, well under a millimetre). Points outside China's bounding box are not
offset by GCJ-02 and are returned unchanged by both functions.

Written from the formula (Krasovsky 1940 ellipsoid, semi-major axis 6378245 m).
"""

from __future__ import annotations

import math

__all__ = ["gcj02_to_wgs84", "in_china", "wgs84_to_gcj02"]

_A = 6378245.0
"""Semi-major axis of the Krasovsky 1940 ellipsoid (m)."""
_EE = 0.00669342162296594323
"""Its first eccentricity squared."""
_TOLERANCE_DEG = 1e-9
_MAX_STEPS = 30


def in_china(lat: float, lon: float) -> bool:
    """True inside the bounding box where GCJ-02 offsets apply (a rectangle, as published)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _shift_lat(x: float, y: float) -> float:
    value = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    value += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    value += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    value += (
        (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    return value


def _shift_lon(x: float, y: float) -> float:
    value = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    value += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    value += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    value += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    return value


def _offset(lat: float, lon: float) -> tuple[float, float]:
    """The GCJ-02 offset (degrees of latitude, longitude) at a WGS-84 point."""
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * math.pi
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """A WGS-84 point as GCJ-02 ``(lat, lon)``; unchanged outside China."""
    if not in_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """A GCJ-02 point as WGS-84 ``(lat, lon)``; unchanged outside China.

    The WGS-84 point ``w`` with ``wgs84_to_gcj02(w) == (lat, lon)``, found by iterating
    ``w ← w − (wgs84_to_gcj02(w) − g)`` from ``w = g`` until a step moves less than 1e-9
    degrees.
    """
    if not in_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(_MAX_STEPS):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        step_lat, step_lon = g_lat - lat, g_lon - lon
        w_lat, w_lon = w_lat - step_lat, w_lon - step_lon
        if abs(step_lat) < _TOLERANCE_DEG and abs(step_lon) < _TOLERANCE_DEG:
            break
    return w_lat, w_lon
