"""Hand-in-hand pairs (拉手式): vulnerable residents paired one-to-one with members who can help.

Each vulnerable resident (elderly, students, orphans, disabled, poor — 助老、助学、助孤、助残、助贫)
gets at most one member who offers the proxy services they need (五代: errands, voice, disputes,
needs, visits) and holds the skills, within the member's range; a member takes at most a few
residents. Last period's pairs are kept while they still work; the most vulnerable are paired
first. ``problem`` holds the frozen problem, ``validation`` its reference checks, ``solve`` the
min-cost flow, ``answer`` the result, ``verify`` the independent checker and ``generate``
synthetic districts. Contract: ``docs/contracts/pairs.md``.
"""
