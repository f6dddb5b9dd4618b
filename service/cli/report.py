"""A dispatcher's summary of an answer: who was served, how hard members work, what was left out.

Two pure functions, shared by the ``linli`` CLI and (later) the web console:

* :func:`summarize` turns a problem and its answer into a JSON-ready ``dict`` of plain numbers;
* :func:`format_summary` turns that ``dict`` into a few lines of text.

The numbers are recomputed from the answer's assignments and the problem (not from the answer's
own ``load`` list), so a summary of a foreign or tampered answer still describes what it says.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from matcher.dispatch.answer import REASONS, Answer
from matcher.dispatch.problem import Problem

__all__ = ["PRIORITY_LABELS", "format_summary", "summarize"]

PRIORITY_LABELS = {5: "urgent", 1: "can wait"}
"""Words next to the ends of the 1..5 priority scale."""

EXAMPLES_PER_REASON = 2
BUSY_SHARE = 0.75
"""A member counts as busy above this share of their capacity."""


def summarize(
    problem: Problem,
    answer: Answer,
    *,
    violations: Sequence[str] | None = None,
    timings_s: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The numbers a dispatcher looks at first, as a JSON-ready dict.

    Args:
        problem: The problem that was dispatched.
        answer: Its answer.
        violations: Lines describing what :func:`matcher.dispatch.verify.verify` found (an empty
        list
            means the answer passed), or ``None`` when it was not checked.
        timings_s: Optional wall-clock seconds by step (``{"generate": 1.2, "dispatch": 20.1}``);
            by default the answer's own ``build_s + solve_s`` as ``"dispatch"``.

    Returns:
        A dict with ``members``, ``demands``, ``served``, ``status``, ``method``, ``objective``,
        ``bound``, ``gap`` (a fraction), ``by_priority`` (a list of ``{"priority", "served",
        "total"}`` from 5 down to 1), ``hours`` (``capacity``, ``assigned``, ``mean``,
        ``median``, ``max``, ``idle_share``, ``busy_share``: members above 75 % of capacity),
        ``unassigned`` (a list of ``{"reason", "count", "examples"}``, each example a
        ``{"demand", "detail"}``), ``timings_s`` and ``violations``.
    """
    durations = {d.id: d.duration_hours for d in problem.demands}
    served_ids = {a.demand for a in answer.assignments if a.demand in durations}

    total_by_priority = dict.fromkeys(range(5, 0, -1), 0)
    served_by_priority = dict.fromkeys(range(5, 0, -1), 0)
    for d in problem.demands:
        total_by_priority[d.priority] = total_by_priority.get(d.priority, 0) + 1
        if d.id in served_ids:
            served_by_priority[d.priority] = served_by_priority.get(d.priority, 0) + 1
    by_priority = [
        {"priority": p, "served": served_by_priority.get(p, 0), "total": total_by_priority[p]}
        for p in sorted(total_by_priority, reverse=True)
    ]

    hours = dict.fromkeys((m.id for m in problem.members), 0.0)
    counted: set[str] = set()
    for a in answer.assignments:
        if a.demand not in durations or a.demand in counted:
            continue
        counted.add(a.demand)
        for mid in dict.fromkeys(a.members):  # distinct, in order
            if mid in hours:
                hours[mid] += durations[a.demand]
    values = list(hours.values())
    n_members = len(values)
    busy = sum(
        1
        for m in problem.members
        if m.capacity_hours > 0 and hours[m.id] > BUSY_SHARE * m.capacity_hours + 1e-9
    )
    hours_summary = {
        "capacity": round(sum(m.capacity_hours for m in problem.members), 6),
        "assigned": round(sum(values), 6),
        "mean": round(statistics.fmean(values), 6) if values else 0.0,
        "median": round(statistics.median(values), 6) if values else 0.0,
        "max": round(max(values), 6) if values else 0.0,
        "idle_share": _share(sum(1 for h in values if h <= 0), n_members),
        "busy_share": _share(busy, n_members),
    }

    by_reason: dict[str, list[tuple[str, str]]] = {}
    for u in answer.unassigned:
        by_reason.setdefault(u.reason, []).append((u.demand, u.detail))
    known = [r for r in REASONS if r in by_reason]
    order = known + sorted(r for r in by_reason if r not in REASONS)
    unassigned = [
        {
            "reason": reason,
            "count": len(by_reason[reason]),
            "examples": [
                {"demand": demand, "detail": detail}
                for demand, detail in by_reason[reason][:EXAMPLES_PER_REASON]
            ],
        }
        for reason in order
    ]

    if timings_s is None:
        timings_s = {"dispatch": answer.stats.build_s + answer.stats.solve_s}
    return {
        "members": n_members,
        "demands": len(problem.demands),
        "served": len(served_ids),
        "status": answer.status,
        "method": answer.stats.method,
        "objective": answer.objective,
        "bound": answer.bound,
        "gap": answer.gap,
        "by_priority": by_priority,
        "hours": hours_summary,
        "unassigned": unassigned,
        "timings_s": {step: round(float(s), 3) for step, s in timings_s.items()},
        "violations": None if violations is None else list(violations),
    }


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:5.1f}%" if whole else "    -"


def format_summary(summary: Mapping[str, Any]) -> str:
    """A few readable lines for a summary made by :func:`summarize` (no trailing newline).

    Args:
        summary: The dict :func:`summarize` returns (or the same read back from JSON).

    Returns:
        Sections: served by priority, hours per member, unassigned by reason, objective, bound
        and gap, time taken and, when the answer was checked, ``verify: OK`` or the violations.
    """
    lines: list[str] = []
    status = summary["status"]
    method = summary.get("method") or ""
    lines.append(
        f"Linli dispatch: {summary['members']} members, {summary['demands']} demands; "
        f"status {status}" + (f" ({method})" if method else "")
    )

    lines += ["", "Served by priority"]
    rows = []
    for row in summary["by_priority"]:
        label = PRIORITY_LABELS.get(row["priority"])
        name = f"priority {row['priority']}" + (f" ({label})" if label else "")
        rows.append((name, row["served"], row["total"]))
    rows.append(("all", summary["served"], summary["demands"]))
    width = max(len(name) for name, _, _ in rows)
    count_width = len(str(summary["demands"]))
    for name, served, total in rows:
        lines.append(
            f"  {name:<{width}}  {served:>{count_width}} / {total:<{count_width}}  "
            f"{_pct(served, total)}"
        )

    h = summary["hours"]
    lines += [
        "",
        f"Hours per member (assigned {h['assigned']:.1f} h of {h['capacity']:.1f} h capacity)",
        f"  mean {h['mean']:.2f} h   median {h['median']:.2f} h   max {h['max']:.2f} h",
        f"  idle {100 * h['idle_share']:.1f}% of members   "
        f"above {100 * BUSY_SHARE:.0f}% of capacity {100 * h['busy_share']:.1f}%",
    ]

    unassigned = summary["unassigned"]
    left = sum(group["count"] for group in unassigned)
    lines += ["", f"Unassigned by reason ({left})"]
    if not unassigned:
        lines.append("  none")
    reason_width = max((len(group["reason"]) for group in unassigned), default=0)
    for group in unassigned:
        lines.append(f"  {group['reason']:<{reason_width}}  {group['count']}")
        for example in group["examples"]:
            lines.append(f"      e.g. {example['demand']}: {example['detail']}")

    gap = summary["gap"]
    lines += [
        "",
        f"Objective  {summary['objective']:.1f}",
        f"Bound      {summary['bound']:.1f}  (proven lower bound)",
        f"Gap        {100 * gap:.2f}%",
    ]
    timings = summary.get("timings_s") or {}
    if timings:
        parts = [f"{step} {seconds:.1f} s" for step, seconds in timings.items()]
        lines.append("Time       " + ", ".join(parts))

    violations = summary.get("violations")
    if violations is not None:
        lines.append("")
        if violations:
            lines.append(f"verify: {len(violations)} violation(s)")
            lines.extend(f"  {v}" for v in violations)
        else:
            lines.append("verify: OK")
    return "\n".join(lines)
