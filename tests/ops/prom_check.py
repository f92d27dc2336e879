#!/usr/bin/python3
"""prom_check: checks a Prometheus text exposition (format 0.0.4) against the
format's rules, stdlib only. Usage: prom_check.py FILE [REQUIRE...], where
each REQUIRE is a regular expression some sample line must match.

Rules checked: every line is a comment, blank, or a sample; # HELP and
# TYPE name a valid metric, at most once each, TYPE before the samples and
with a known type; metric and label names use the allowed characters;
label values are quoted with only \\\\, \\" and \\n escapes; no duplicate
labels or series; values parse as floats; a metric's samples are together;
a histogram has _bucket series with an le label, increasing le values per
series, cumulative counts ending in le="+Inf", and _sum and _count with
_count equal to the +Inf bucket; a counter's samples are not negative."""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def fail(lineno, msg):
    sys.exit("prom_check: line %d: %s" % (lineno, msg))


def parse_labels(s, lineno):
    """Parses '{a="x",b="y"}' (s starts after '{'); returns (dict, rest)."""
    labels = {}
    i = 0
    while True:
        if s[i:i + 1] == "}":
            return labels, s[i + 1:]
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        if not m:
            fail(lineno, "bad label at %r" % s[i:])
        name = m.group(1)
        i += m.end()
        val = []
        while True:
            if i >= len(s):
                fail(lineno, "unterminated label value")
            c = s[i]
            if c == "\\":
                e = s[i + 1:i + 2]
                if e not in ("\\", '"', "n"):
                    fail(lineno, "bad escape \\%s" % e)
                val.append({"n": "\n"}.get(e, e))
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                fail(lineno, "newline in label value")
            else:
                val.append(c)
                i += 1
        if name in labels:
            fail(lineno, "label %s twice" % name)
        labels[name] = "".join(val)
        if s[i:i + 1] == ",":
            i += 1
        elif s[i:i + 1] != "}":
            fail(lineno, "expected , or } after a label")


def parse_value(v, lineno):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf").replace("NaN", "nan"))
    try:
        return float(v)
    except ValueError:
        fail(lineno, "bad value %r" % v)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) in ("histogram", "summary"):
            return name[: -len(suffix)]
    return name


def check(text):
    if text and not text.endswith("\n"):
        fail(0, "the exposition must end with a newline")
    helps, types, seen, done = {}, {}, set(), set()
    series = {}  # family -> list of (name, labels, value, lineno)
    current = None
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    fail(lineno, "bad metric name %r" % name)
                if parts[1] == "HELP":
                    if name in helps:
                        fail(lineno, "second HELP for %s" % name)
                    helps[name] = parts[3] if len(parts) > 3 else ""
                else:
                    if name in types:
                        fail(lineno, "second TYPE for %s" % name)
                    if len(parts) < 4 or parts[3] not in TYPES:
                        fail(lineno, "bad TYPE line")
                    if name in seen:
                        fail(lineno, "TYPE for %s after its samples" % name)
                    types[name] = parts[3]
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            fail(lineno, "bad sample line %r" % line)
        name, rest = m.group(1), line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, rest = parse_labels(rest[1:], lineno)
        fields = rest.split()
        if not rest.startswith(" ") or len(fields) not in (1, 2):
            fail(lineno, "expected ' VALUE [TIMESTAMP]' after the name and labels")
        value = parse_value(fields[0], lineno)
        if len(fields) == 2 and not re.match(r"-?\d+$", fields[1]):
            fail(lineno, "bad timestamp")
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                fail(lineno, "samples of %s are not together" % fam)
            if current is not None:
                done.add(current)
            current = fam
        seen.add(fam)
        key = (name, tuple(sorted(labels.items())))
        if key in series.setdefault(("all",), set()):
            fail(lineno, "duplicate series %s%s" % (name, labels))
        series[("all",)].add(key)
        series.setdefault(fam, []).append((name, labels, value, lineno))
        if types.get(fam) == "counter" and (value < 0 or math.isnan(value)):
            fail(lineno, "counter %s is negative" % name)
    for fam, t in types.items():
        if t == "histogram" and fam in series:
            check_histogram(fam, series[fam])
    return series


def check_histogram(fam, samples):
    groups = {}
    for name, labels, value, lineno in samples:
        other = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(other, {"buckets": [], "sum": None, "count": None})
        if name == fam + "_bucket":
            if "le" not in labels:
                fail(lineno, "bucket without le")
            g["buckets"].append((parse_value(labels["le"], lineno), value, lineno))
        elif name == fam + "_sum":
            g["sum"] = value
        elif name == fam + "_count":
            g["count"] = (value, lineno)
        else:
            fail(lineno, "%s is not a sample of histogram %s" % (name, fam))
    for other, g in groups.items():
        b = g["buckets"]
        if not b or b[-1][0] != math.inf:
            fail(b[-1][2] if b else 0, "histogram %s%s has no le=\"+Inf\" bucket last" % (fam, other))
        for (le0, v0, _), (le1, v1, ln) in zip(b, b[1:]):
            if not le1 > le0:
                fail(ln, "le values of %s must increase" % fam)
            if v1 < v0:
                fail(ln, "buckets of %s must be cumulative" % fam)
        if g["sum"] is None or g["count"] is None:
            fail(b[-1][2], "histogram %s%s needs _sum and _count" % (fam, other))
        if g["count"][0] != b[-1][1]:
            fail(g["count"][1], "%s_count differs from its +Inf bucket" % fam)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    check(text)
    lines = text.split("\n")
    for req in sys.argv[2:]:
        if not any(re.search(req, l) for l in lines if not l.startswith("#")):
            sys.exit("prom_check: no sample matches %r" % req)
    print("prom_check: %s ok (%d lines)" % (sys.argv[1], len(lines) - 1))


if __name__ == "__main__":
    main()
