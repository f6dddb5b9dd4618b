"""Groups of members (分组): each community's members in groups by nearness of service, closeness
of trade and shared interest (服务就近、行业相近、兴趣相投).

``problem`` holds the frozen problem, ``validation`` its reference checks, ``solve`` the pipeline
composed of ``similarity``, ``community``, ``admission``, ``exact`` (CP-SAT for small
communities), ``seeding``, ``repair``, ``improve`` (local search), ``bound`` and ``describe``;
``answer`` the result, ``verify`` the independent checker and ``generate`` synthetic
districts. Members elect their own leaders, so an answer proposes none. Contract:
``docs/contracts/groups.md``.
"""
