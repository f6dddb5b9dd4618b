"""Quarterly team visits (组团走访): which households each outing covers, when, and who goes.

``problem`` holds the frozen problem, ``validation`` its reference checks, ``routing`` the one
small interface to the routing engine, ``schedule`` dates and attendees, ``solve`` the pipeline,
``answer`` the result, ``verify`` the independent checker and ``generate`` synthetic quarters.
"""
