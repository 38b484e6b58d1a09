#!/usr/bin/env python3
"""Condense a report's risk-and-review section (report.json's "calibration")
into docs/lab.md's table: per model or recipe, calibration on seen and unseen
combinations and the share answered alone at each target error rate.

usage: python3 scripts/risk-summary.py RUN/report.json [--weights-as-trained]
"""
import json
import sys


def ci(i, scale=1.0, digits=3):
    f = "{:.%df} [{:.%df}, {:.%df}]" % (digits, digits, digits)
    return f.format(scale * i["estimate"], scale * i["low"], scale * i["high"])


def pct(i):
    return "%.0f%% [%.0f, %.0f]" % (100 * i["estimate"], 100 * i["low"], 100 * i["high"])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = json.load(open(sys.argv[1]))
    as_trained = "--weights-as-trained" in sys.argv[2:]
    c = data["calibration"]
    targets = c["max_errors"]
    rows = {}
    for m in c["models"]:
        if as_trained and ("-q4_k_m" in m["model"] or "-q8_0" in m["model"]):
            continue
        rows.setdefault((m["model"], m["task"]), {})[m["split"]] = m
    head = ["model", "task", "ECE seen", "ECE unseen", "conf - acc unseen"]
    for e in targets:
        head += ["alone at <=%g%% seen" % (100 * e), "alone at <=%g%% unseen" % (100 * e)]
    head += ["seen 1st-target threshold on unseen: alone, errors"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, splits in rows.items():
        seen, unseen = splits.get("seen"), splits.get("unseen")
        if seen is None or unseen is None:
            continue
        cells = [name[0], name[1], ci(seen["ece"]), ci(unseen["ece"]), "%+.3f" % unseen["overconfidence"]]
        for k in range(len(targets)):
            cells += [pct(seen["selective"][k]["coverage"]),
                      pct(unseen["selective"][k]["coverage"])]
        rule = unseen.get("seen_threshold", [None])[0]
        cells.append("-" if rule is None or rule["threshold"] is None else "%.0f%%, %.1f%%" % (
            100 * rule["coverage"]["estimate"], 100 * rule["risk"]["estimate"]))
        print("| " + " | ".join(cells) + " |")
    verdicts = {}
    for r in c["seen_vs_unseen"]:
        v = r["verdict"].split(":")[0]
        verdicts[v] = verdicts.get(v, 0) + 1
    print("\nper model x task, unseen vs seen ECE: " + ", ".join("%s: %d" % kv for kv in sorted(verdicts.items())))


if __name__ == "__main__":
    main()
