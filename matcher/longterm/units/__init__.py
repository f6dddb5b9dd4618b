"""Unit–community pairing (结对共建): units paired with communities, one to one or k per community.

Each community lists weighted needs (legal, medical, education, ...); each unit offers resources.
``problem`` holds the frozen problem, ``validation`` its reference checks, ``solve`` the CP-SAT
model (need coverage first, then pairs made, then nearness, by sequential solves), ``answer`` the
result with reasons, ``verify`` the independent checker and ``generate`` synthetic districts.
Contract: ``docs/contracts/units.md``.
"""
