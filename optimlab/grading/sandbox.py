"""The grader's sandbox process: run one student's notebook code and call its graded functions.

Started by :mod:`optimlab.grading.grader` as ``python -I sandbox.py JOB.json FD``, in its own
process group, with stdout and stderr thrown away. It

1. lowers its own limits (address space, CPU time, file size, no core files) before any
   student code runs, and keeps private references to the few functions it needs;
2. executes the notebook's code cells in order in one namespace, each in its own
   ``try`` (an error, ``sys.exit`` or a ``KeyboardInterrupt`` in a cell does not stop the next);
3. calls every graded function on the inputs in the job file (:func:`runner.call_all`, which
   converts what comes back to lists of floats), with a profiling hook that records any call
   into optimlab's own code while the student's function runs (the runtime tripwire);
4. writes one JSON line per event to the file descriptor FD, and nothing else anywhere.

The grader reads only those lines, and reads them as data: every comparison happens in the
grader's process. Announcing each cell and each function before it starts lets the grader
name what hung or killed the process, skip it, and start a fresh sandbox for the rest.
This is a grading sandbox, not a security boundary (see docs/instructors.md).
"""

from __future__ import annotations

import os
import sys


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    import resource

    def setl(which: int, value: int) -> None:
        try:
            soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):  # pragma: no cover - platform without the limit
            pass

    setl(resource.RLIMIT_AS, memory_mb * 1024 * 1024)
    setl(resource.RLIMIT_CPU, cpu_seconds)
    setl(resource.RLIMIT_FSIZE, 64 * 1024 * 1024)
    setl(resource.RLIMIT_CORE, 0)


def main(argv: list[str]) -> None:
    job_path, fd = argv[0], int(argv[1])
    import json

    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    os.unlink(job_path)
    _limit(int(job["memory_mb"]), int(job["cpu_seconds"]))

    here = os.path.dirname(os.path.abspath(__file__))
    package_parent = os.path.dirname(os.path.dirname(here))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # not the grading folder itself: `import runner` must not find ours
    if package_parent not in sys.path:
        sys.path.append(package_parent)  # so that `import optimlab` works even when not installed

    import builtins
    import linecache

    from optimlab.grading import runner

    dumps, write, getprofile, setprofile = json.dumps, os.write, sys.getprofile, sys.setprofile
    call_all, decode = runner.call_all, runner.decode
    exc_types = (BaseException,)
    pkg_dir = os.path.dirname(here) + os.sep
    allowed = {os.path.join(here, "runner.py"), os.path.abspath(__file__)}

    def emit(event: dict) -> None:
        data = (dumps(event, allow_nan=True) + "\n").encode()
        while data:
            written = write(fd, data)
            data = data[written:]

    emit({"event": "ready"})

    namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
    cell_errors = []
    for cell in job["cells"]:
        emit({"event": "cell", "index": cell["index"]})
        try:
            code = compile(cell["source"], f"<cell {cell['index']}>", "exec")
            linecache.cache[f"<cell {cell['index']}>"] = (
                len(cell["source"]), None, cell["source"].splitlines(True), f"<cell {cell['index']}>"
            )
            exec(code, namespace)
        except exc_types as exc:
            try:
                message = str(exc)[:300]
            except Exception:
                message = ""
            cell_errors.append({"index": cell["index"], "type": type(exc).__name__, "message": message})
    emit({"event": "loaded", "errors": cell_errors})

    for fn_job in job["functions"]:
        name = fn_job["name"]
        emit({"event": "start", "name": name})
        fn = namespace.get(name)
        if not callable(fn):
            emit({"event": "result", "name": name, "missing": True,
                  "what": type(fn).__name__ if name in namespace else None})
            continue
        trials = [{"args": decode(t["args"]), "spec": t["spec"]} for t in fn_job["trials"]]
        hits: list[str] = []

        def hook(frame, event, arg, hits=hits):
            if event == "call":
                path = frame.f_code.co_filename
                if path.startswith(pkg_dir) and path not in allowed and len(hits) < 5:
                    hits.append(f"{os.path.relpath(path, package_parent)}:{frame.f_code.co_name}")

        setprofile(hook)
        try:
            results = call_all(fn, fn_job["positional"], trials, catch=exc_types)
        finally:
            tampered = getprofile() is not hook
            setprofile(None)
        emit({"event": "result", "name": name, "results": results, "tripwire": hits, "tampered": tampered})
    emit({"event": "done"})


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    finally:
        os._exit(0)  # no atexit handlers, no student finalizers
