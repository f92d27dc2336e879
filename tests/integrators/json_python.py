"""civic.integrators.json, the Python side: for every message type of proto/,
our JSON of a fully populated message (from json_dump gen) must equal what
Python's json_format makes of the same bytes; and Python's JSON must parse
with civic_msg_from_json to a message equal to the original.
   json_python.py JSON_DUMP TMPDIR   (PYTHONPATH has protoc --python_out code)"""
import importlib
import json
import os
import subprocess
import sys

from google.protobuf import json_format, symbol_database

json_dump, tmp = sys.argv[1], sys.argv[2]
gen_dir = os.path.join(tmp, "gen")
os.makedirs(gen_dir, exist_ok=True)

modules = []
for root, _, files in os.walk(os.path.join(tmp, "py")):
    for f in files:
        if f.endswith("_pb2.py"):
            rel = os.path.relpath(os.path.join(root, f), os.path.join(tmp, "py"))
            modules.append(importlib.import_module(rel[:-3].replace(os.sep, ".")))

def types_of(desc, out):
    for d in desc.message_types_by_name.values() if hasattr(desc, "message_types_by_name") else desc.nested_types:
        if d.GetOptions().map_entry:
            continue
        out.append(d.full_name)
        types_of(d, out)

names = []
for m in modules:
    types_of(m.DESCRIPTOR, names)
names.sort()
if len(names) < 50:
    sys.exit("FAIL: only %d message types found" % len(names))

# The C side writes TYPE.bin and TYPE.json for every type, and checks its
# own round trip; it must know every type (for Any and civic call).
rc = subprocess.call([json_dump, "gen", gen_dir] + names)
failures = 0 if rc == 0 else 1
db = symbol_database.Default()
for name in names:
    cls = db.GetSymbol(name)
    try:
        data = open(os.path.join(gen_dir, name + ".bin"), "rb").read()
        ours = json.load(open(os.path.join(gen_dir, name + ".json"), encoding="utf-8"))
    except OSError as e:
        print("FAIL %s: %s" % (name, e))
        failures += 1
        continue
    msg = cls()
    msg.ParseFromString(data)
    theirs = json.loads(json_format.MessageToJson(msg))
    if ours != theirs:
        print("FAIL %s: our JSON differs from json_format's\n  ours:   %s\n  theirs: %s"
              % (name, json.dumps(ours, sort_keys=True, ensure_ascii=False),
                 json.dumps(theirs, sort_keys=True, ensure_ascii=False)))
        failures += 1
        continue
    if data and not theirs:
        print("FAIL %s: nothing populated" % name)
        failures += 1
    # Python's JSON through our parser: the same message.
    pj = os.path.join(gen_dir, name + ".py.json")
    pb = os.path.join(gen_dir, name + ".py.bin")
    with open(pj, "w", encoding="utf-8") as f:
        f.write(json_format.MessageToJson(msg))
    if subprocess.call([json_dump, "parse", name, pj, pb]) != 0:
        failures += 1
        continue
    back = cls()
    back.ParseFromString(open(pb, "rb").read())
    if back != msg:
        print("FAIL %s: Python's JSON parsed by civic_msg_from_json gives another message" % name)
        failures += 1

print("%d message types compared, %d failures" % (len(names), failures))
sys.exit(1 if failures else 0)
