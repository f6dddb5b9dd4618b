"""The community workspace (issue #7): registration of communities, grids, buildings, units and
members, scoped to the API client's communities."""
