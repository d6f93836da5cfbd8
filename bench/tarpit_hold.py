#!/usr/bin/env python3
"""Superseded by `bench/run hold` (bench/README.md); kept so that older notes that name it still work.

usage: bench/tarpit_hold.py --transportd BUILD/transportd/transportd --adminctl BUILD/adminctl/adminctl [--sessions 2000]

Runs the hold scenario against transportd alone with C = --sessions and prints its figures (no results files).
"""
import argparse
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transportd", required=True)
    ap.add_argument("--adminctl", required=True)
    ap.add_argument("--sessions", type=int, default=2000)
    args = ap.parse_args()
    build = os.path.dirname(os.path.dirname(os.path.abspath(args.transportd)))
    if os.path.dirname(os.path.dirname(os.path.abspath(args.adminctl))) != build:
        sys.exit("tarpit_hold.py: --transportd and --adminctl must come from one build directory")
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.call([sys.executable, os.path.join(here, "bench.py"), "hold", "--servers", "transportd",
                            "--hold", str(args.sessions), "--build-dir", build, "--no-write"])


if __name__ == "__main__":
    sys.exit(main())
