"""Quarterly team visits (组团走访): which households each outing covers, when, and who goes.

``problem`` holds the frozen problem, ``validation`` its reference checks, ``routing`` the one
small interface to the routing engine, ``outings`` the routed outings (each measured with the
contract's arithmetic and kept only if it fits the session), ``schedule`` dates and attendees
(a greedy, a second chance per household), ``dates_model`` the CP-SAT model of dates and
attendees for teams left short, ``reasons`` the certificates behind every household left out,
``solve`` the pipeline, ``answer`` the result, ``verify`` the independent checker and
``generate`` synthetic quarters.
"""
