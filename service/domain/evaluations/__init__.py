"""The five evaluations (五评议): community points (社区参评), year-end tiers, stars, the shortlist
and the veto — pure arithmetic over recorded facts, and a thin layer that reads the facts.

One module per idea, lowest first: :mod:`.scheme`, :mod:`.periods`, :mod:`.points` (pure),
:mod:`.facts` (reading), :mod:`.reports` (drafts, presentation), :mod:`.records` (recording the
evaluations), :mod:`.results`.

**Facts.** Points are tallied from recorded facts only, never from a stored score:

========================  ==========================================================  =========
fact                      what                                                        when
========================  ==========================================================  =========
``service``               a completed task (hours served, the resident's rating)      task start
``late_completion``       a completed task whose ``completed_at`` is after its         task start
                          demand's window end
``decline``               a declined task (not one declined because the demand was    task start
                          cancelled)
``no_show``               a task still accepted although its demand's window ended    task start
``visit``                 attendance of a visit session whose attendance was recorded session start
``commitment_kept`` /     a commitment marked kept / missed                            its deadline
``commitment_missed``                                                                 (else when
                                                                                      marked)
``survey``                a residents' survey response (群众测评)                        its period
========================  ==========================================================  =========

A service's time is its task's start, as in the ledger (:mod:`service.domain.ledger`), so
the half year's services and hours equal the ledger's. Half years are January–June and
July–December in Asia/Shanghai: a fact at 2026-07-01 00:00 +08:00 (2026-06-30 16:00 UTC)
belongs to ``2026H2``.

**A member who moved.** Every fact counts in the community where it happened (the demand's,
the commitment's, the visit session's, the survey's community), whatever community the member
lives in now. A member is evaluated by each community where they have facts (or live) on those
facts only: a member who moved in the summer has an ``2026H1`` tally in the old community and an
``2026H2`` tally in the new one; their year-end tier and stars come from each community's sum of
the two half years, and each community ranks and shortlists its own.

**Points.** ``points = Σ weight · quantity − Σ penalty · quantity`` over the items of
:data:`ITEMS`; ``rating_points`` is ``Σ (rating − 3)`` over rated services (a 5 adds two points'
worth, a 1 takes two away) and ``survey_points`` likewise ``Σ (score − 3)``. Each item lists the
ids of the facts behind it (task ids, ``visit_session_id:member_id``, commitment ids, survey
response ids).

**Year end.** The two half years summed; a tier by thresholds on the year's points (or by
quotas of the community's ranking); stars (0–5) by thresholds; the most beautiful in-service
member (最美在职党员) shortlist: the community's top ``shortlist_size`` by points (above zero).

**Veto (一票否决).** A community's recorded statement that a member never served, in either half
of the year, takes the member's excellence off: no ``excellent`` tier (at best ``good``; a quota
left free is not refilled), stars capped at ``veto_star_cap``, never on the shortlist; the
answer lists the statements (id, period, text) and what each rating would have been.
"""
