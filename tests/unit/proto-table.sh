#!/bin/sh
# docs/protocol.md against proto/rdmabroker.proto, so that the table of
# messages, numbers and versions cannot drift from the schema: every body
# number and its messages, every message and enum, and every field added
# since version 1 (proto/history/rdmabroker-v1.proto) must be in the
# tables, with versions no newer than proto/version.h's.
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
exec python3 - "$top_srcdir" <<'PY'
import re, sys

top = sys.argv[1]
schema = open(top + "/proto/rdmabroker.proto").read()
v1 = open(top + "/proto/history/rdmabroker-v1.proto").read()
doc = open(top + "/docs/protocol.md").read()
cur = int(re.search(r"#define RB_PROTO_VERSION\s+(\d+)",
                    open(top + "/proto/version.h").read()).group(1))
errors = []

def strip(text):
    return re.sub(r"//[^\n]*", "", text)

def messages(text):
    """name -> {field: number} for every message; enums as empty dicts."""
    text = strip(text)
    out = {}
    for m in re.finditer(r"^(message|enum) (\w+) \{(\}|.*?^\})", text, re.M | re.S):
        fields = {}
        for f in re.finditer(r"^\s*(?:required |optional |repeated )?(\w+) (\w+) = (\d+)",
                             m.group(3), re.M):
            fields[f.group(2)] = (f.group(1), int(f.group(3)))
        out[m.group(2)] = fields if m.group(1) == "message" else {}
    return out

def body(text, msg):
    text = strip(text)
    m = re.search(r"^message %s \{.*?oneof body \{(.*?)\}" % msg, text, re.M | re.S)
    return {f.group(2): (f.group(1), int(f.group(3)))
            for f in re.finditer(r"^\s*(\w+) (\w+) = (\d+);", m.group(1), re.M)}

def table(title):
    m = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(title), doc, re.M | re.S)
    if not m:
        errors.append("docs/protocol.md has no section '%s'" % title)
        return []
    rows = []
    for line in m.group(1).splitlines():
        if line.startswith("|") and not re.match(r"\|[\s:-]+\|", line):
            cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
            rows.append(cells)
    return rows[1:]	# the header row

def version(v, what):
    if not v.isdigit() or not 1 <= int(v) <= cur:
        errors.append("%s: version %r is not 1..%d" % (what, v, cur))
        return 0
    return int(v)

now, old = messages(schema), messages(v1)
seen = {}

def saw(name, v, where):
    # One message may carry several bodies of the same direction (the
    # CM's CmIdReq: a handle, for destroy, disconnect, establish, query).
    if name in seen and not (seen[name].split()[0] == where.split()[0] and
                             where.split()[0] in ("request", "reply")):
        errors.append("%s is listed twice (%s and %s)" % (name, seen[name], where))
    seen[name] = where
    if name not in now:
        errors.append("%s (%s) is not in the schema" % (name, where))
    elif (name in old) != (v == 1):
        errors.append("%s (%s): version %d, but it is %sin version 1" %
                      (name, where, v, "" if name in old else "not "))

# Requests and replies: one row per body number.
req, rep = body(schema, "Request"), body(schema, "Reply")
rows = table("Requests and replies")
listed = set()
for num, name, rq, rp, v in rows:
    v = version(v, name)
    listed.add(name)
    if name not in req or name not in rep:
        errors.append("body %s is listed but not in Request and Reply" % name)
        continue
    if req[name] != (rq, int(num)) or rep[name] != (rp, int(num)):
        errors.append("body %s: table says %s/%s = %s, schema %s, %s" %
                      (name, rq, rp, num, req[name], rep[name]))
    saw(rq, v, "request " + name)
    saw(rp, v, "reply " + name)
for name in set(req) | set(rep):
    if name not in listed:
        errors.append("body %s is not in docs/protocol.md" % name)

ev = body(schema, "Event")
rows = table("Events")
for num, name, msg, v in rows:
    if ev.get(name) != (msg, int(num)):
        errors.append("event %s: table says %s = %s, schema %s" %
                      (name, msg, num, ev.get(name)))
    saw(msg, version(v, name), "event " + name)
for name in ev:
    if name not in [r[1] for r in rows]:
        errors.append("event %s is not in docs/protocol.md" % name)

for title in ("Envelopes", "Messages carried inside others"):
    for name, v in table(title):
        saw(name, version(v, name), title)
for name in now:
    if name not in seen:
        errors.append("message %s is not in docs/protocol.md" % name)

# Fields added after version 1, to messages version 1 had.
added = {}
for field, num, v in table("Fields added after version 1"):
    msg, _, f = field.partition(".")
    added[(msg, f)] = (int(num), version(v, field))
for msg, fields in now.items():
    if msg not in old or msg in ("Request", "Reply", "Event"):
        continue
    for f, (_, num) in fields.items():
        if f in old[msg]:
            if old[msg][f][1] != num:
                errors.append("%s.%s was renumbered: %d in version 1, %d now" %
                              (msg, f, old[msg][f][1], num))
        elif (msg, f) not in added:
            errors.append("%s.%s = %d is new since version 1 but not in the table" %
                          (msg, f, num))
        elif added[(msg, f)][0] != num:
            errors.append("%s.%s: table says %d, schema %d" %
                          (msg, f, added[(msg, f)][0], num))
for (msg, f) in added:
    if f not in now.get(msg, {}):
        errors.append("%s.%s is in the table but not in the schema" % (msg, f))
# Nothing of version 1 disappears or moves.
for msg, fields in old.items():
    for f, (_, num) in fields.items():
        if msg in now and f not in now[msg]:
            errors.append("%s.%s (version 1) is gone: retire it with `reserved`" % (msg, f))

for e in errors:
    print("proto-table: " + e)
print("proto-table: %d messages, %d bodies checked, %d problem(s)" %
      (len(now), len(req), len(errors)))
sys.exit(1 if errors else 0)
PY
