"""A stand-in for a vendor's benchmarking tool: times every model of an hwpred export folder with
onnxruntime and writes the CSV that ``hwpred measure import`` reads. It uses only the export's
manifest and files (no hwpred import), as a tool on a phone or board would.

usage: python device_tool.py EXPORT_DIR RESULTS.csv [--repeats N] [--unit ms|us]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--unit", choices=("ms", "us"), default="ms")
    args = ap.parse_args()
    folder = Path(args.folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    x = np.random.default_rng(0).standard_normal(manifest["input"]["shape"]).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    scale = 1e3 if args.unit == "ms" else 1e6
    with open(args.out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", f"latency_{args.unit}", "repeats", "sha256"])
        for m in manifest["models"]:
            path = folder / m["file"]
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            feed = {manifest["input"]["name"]: x}
            sess.run(None, feed)
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                sess.run(None, feed)
                times.append(time.perf_counter() - t)
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            w.writerow([m["file"], f"{statistics.median(times) * scale:.6f}", args.repeats, digest])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
