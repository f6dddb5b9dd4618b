"""Great-circle distances on the WGS84 mean sphere, vectorised."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Points on the unit sphere, shape ``(n, 3)``, for a spatial index."""
    lat = np.radians(lat_deg)
    lon = np.radians(lon_deg)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def chord_for_km(distance_km: float) -> float:
    """Straight-line distance on the unit sphere matching a great-circle distance."""
    angle = min(distance_km / EARTH_RADIUS_KM, np.pi)
    return float(2.0 * np.sin(angle / 2.0))


def haversine_km(
    lat1_deg: NDArray[np.float64] | float,
    lon1_deg: NDArray[np.float64] | float,
    lat2_deg: NDArray[np.float64] | float,
    lon2_deg: NDArray[np.float64] | float,
) -> NDArray[np.float64]:
    """Haversine distance in km between paired points (broadcasting)."""
    lat1 = np.radians(lat1_deg)
    lat2 = np.radians(lat2_deg)
    dlat = lat2 - lat1
    dlon = np.radians(np.asarray(lon2_deg) - np.asarray(lon1_deg))
    h = np.sin(dlat / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))
