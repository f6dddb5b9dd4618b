"""The daily dispatch engine (下单): demands matched to members and teams, with a proven bound.

Read it top down: ``problem`` (the frozen contract) → ``validation`` (references checked) →
``arrays`` and ``candidates`` (numpy masks: skills, time, distance) → ``pair_terms`` (what a pair
costs and uses) → ``greedy`` (the first plan) → ``model`` and ``lns`` (the exact sub-models and the
neighbourhood search) → ``bound`` (the Lagrangian and LP bounds) → ``repair`` and ``reasons``
(why a demand is left out) → ``answer``; ``solve`` composes them. ``verify`` is the independent
checker (it shares no code with the model), ``generate`` writes synthetic districts.
"""
