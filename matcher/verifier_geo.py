"""The verifiers' own great-circle distance, written apart from the engine's :mod:`matcher.geo`.

Every independent verifier (dispatch, visits and the four long-term matchings) measures distances
with this one function, so that a verifier never shares a line with the model it checks while the
contracts' single rule ("haversine, Earth radius 6371.0088 km") is still written once for them.
"""

from __future__ import annotations

import math

__all__ = ["EARTH_RADIUS_KM", "haversine_km"]

EARTH_RADIUS_KM = 6371.0088
"""The WGS84 mean Earth radius that every contract names."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points given in degrees, in km.

    ``nan`` in a coordinate gives ``nan`` (the verifiers report it rather than hide it).
    """
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = math.radians(lon2 - lon1) / 2.0
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    if h > 1.0:  # rounding; written so that nan stays nan
        h = 1.0
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))
