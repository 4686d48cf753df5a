#!/usr/bin/env python3
"""example-worker: a research worker loop against ResearchStore, with the standard library only.

    scripts/example-worker.py [--url URL] [--worker ID] [--types T1,T2] [--lease SECONDS] [--once]

It claims the oldest pending research request (POST /db/research/claim), runs it while renewing
its lease (POST /db/research/{id}/heartbeat), and completes it with a result or fails it with an
error (PATCH /db/research/{id}). The "research" here is a stand-in: put your workflow in run().
Identity: AUTH_MODE=none sends X-User-ID and X-User-Roles: worker; with RESEARCH_STORE_TOKEN set,
a Bearer token (a JWT whose roles hold "worker") is sent instead. Ctrl-C stops it after the
request in hand; a crash instead leaves the request to the lease sweeper, which hands it out again.
"""
import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

stopping = False


def call(args, method, path, body):
    headers = {"Content-Type": "application/json"}
    token = os.environ.get("RESEARCH_STORE_TOKEN")
    if token:
        headers["Authorization"] = "Bearer " + token
    else:
        headers.update({"X-User-ID": args.worker, "X-User-Roles": "worker"})
    request = urllib.request.Request(args.url + path, json.dumps(body).encode(), headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def run(args, research):
    """The workflow: a few steps, the lease renewed between them. Returns the result object."""
    for step in range(3):
        time.sleep(0.05)
        status, renewed = call(args, "POST", f"/db/research/{research['id']}/heartbeat", {"lease_seconds": args.lease})
        if status != 200:
            raise RuntimeError(f"lease lost at step {step}: {renewed.get('detail')}")
    return {"answer": f"{len(research['question'])} characters considered", "worker": args.worker}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--worker", default="example-worker")
    parser.add_argument("--types", default="", help="comma-separated workflow types (default: any)")
    parser.add_argument("--lease", type=int, default=60, help="lease seconds, 10 to 3600")
    parser.add_argument("--once", action="store_true", help="exit when nothing is pending")
    args = parser.parse_args()
    types = [t for t in args.types.split(",") if t]

    def stop(*_):
        global stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    done = 0
    while not stopping:
        status, research = call(args, "POST", "/db/research/claim", {"workflow_types": types, "lease_seconds": args.lease})
        if status == 204:
            if args.once:
                break
            time.sleep(1)
            continue
        if status != 200:
            sys.exit(f"example-worker: claim answered {status}: {research}")
        try:
            change = {"status": "completed", "result": run(args, research)}
        except Exception as error:  # the workflow failed: say why
            change = {"status": "failed", "error": str(error)[:4000] or type(error).__name__}
        status, finished = call(args, "PATCH", f"/db/research/{research['id']}", change)
        print(f"{research['id']} attempt {research['attempt']}: {change['status']} ({status})", flush=True)
        done += 1
    print(f"example-worker: {done} requests handled", flush=True)


if __name__ == "__main__":
    main()
