"""Python classes for proto/, made by `protoc --python_out` at run time into
a temporary directory (never committed), then importable as
`civic.<service>.v1.<file>_pb2`."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile

_done = None


def default_proto_dir():
    """$CIVIC_PROTO_DIR, else the repository's proto/ next to clients/,
    else an installed share/civicgrid/proto."""
    env = os.environ.get("CIVIC_PROTO_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.normpath(os.path.join(here, "..", "..", "..", "proto"))
    if os.path.isdir(os.path.join(repo, "civic")):
        return repo
    for prefix in ("/usr/local", "/usr"):
        p = os.path.join(prefix, "share", "civicgrid", "proto")
        if os.path.isdir(p):
            return p
    raise RuntimeError("no proto/ found: set CIVIC_PROTO_DIR")


def load(proto_dir=None, out_dir=None, protoc="protoc"):
    """Generate the classes (once per process) and put them on sys.path.
    Returns the directory they are in."""
    global _done
    if _done:
        return _done
    proto_dir = proto_dir or default_proto_dir()
    if out_dir is None:
        out_dir = tempfile.mkdtemp(prefix="civicgrid-py-")
        atexit.register(shutil.rmtree, out_dir, True)
    os.makedirs(out_dir, exist_ok=True)
    files = []
    for root, dirs, names in os.walk(os.path.join(proto_dir, "civic")):
        dirs[:] = [d for d in dirs if d != "released"]
        files += [os.path.relpath(os.path.join(root, n), proto_dir) for n in names if n.endswith(".proto")]
    if not files:
        raise RuntimeError("no .proto files under %s/civic" % proto_dir)
    # The well-known types (google/protobuf/*.proto) come with protoc's
    # include directory; their Python classes with python3-protobuf.
    subprocess.run([protoc, "-I", proto_dir, "-I", "/usr/include", "--python_out", out_dir] + sorted(files),
                   check=True)
    sys.path.insert(0, out_dir)
    _done = out_dir
    return out_dir
