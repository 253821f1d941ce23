#!/usr/bin/env python3
"""Side-by-side throughput of the engine and its CPU peers, in one run on one machine.

For each model and batch size: PyTorch (timm, eval, torch.jit.trace + torch.jit.freeze, which
folds BatchNorm), ONNX Runtime (CPUExecutionProvider) and OpenVINO (CPU, f32, LATENCY hint) on
the same ONNX export, and the engine through `vit bench --json`; all with the same thread count
and the same input size. Prints a Markdown table and, with --output, writes it to a file.

    pip install torch timm onnx onnxscript onnxruntime openvino
    swift build -c release --static-swift-stdlib --product vit
    python3 scripts/bench_peers.py --models m0 m5 deit_tiny_patch16_224 --batches 1 16 --threads 1 2 --output BENCHMARKS.table.md

--isas avx512 avx2 portable measures the engine once per kernel tier (one column each), beside the
same peer runs.

Models are EfficientViT's m0…m5 or any registered model by its (timm) name; with --bench-src PATH
(a checkout of tobna/WhatTransformerToFavor, see bench_models.py) also the "Which Transformer to
Favor" benchmark's models, which PyTorch runs from that code. A peer that cannot run a model (an
export ONNX has no operator for) is reported on stderr and left out of the table.

Weights are random (speed does not depend on their values). Each run is the median over
--duration seconds after --warmup seconds, in a fresh process (so peak RSS is that system's);
with --repeat N the systems are measured N times, interleaved, and each one's median run is
reported.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(run, warmup: float, duration: float) -> list[float]:
    end = time.perf_counter() + warmup
    while time.perf_counter() < end:
        run()
    times = []
    end = time.perf_counter() + duration
    while time.perf_counter() < end or len(times) < 3:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def timm_name(model: str) -> str:
    """timm's name of a model given as the engine accepts it (EfficientViT's m0…m5 aliases, or a
    registry name such as deit_tiny_patch16_224, which is timm's)."""
    return f"efficientvit_{model}" if model in ("m0", "m1", "m2", "m3", "m4", "m5") else model


def onnx_path(args) -> str:
    return os.path.join(args.tmp, f"{args.model}_{args.batch}_{args.height}x{args.width}.onnx")


def peer_worker(args) -> None:
    """Runs one peer in this (fresh) process and prints a JSON line. The ONNX peers import
    neither torch nor timm, so their peak RSS is theirs alone."""
    import numpy as np

    x = np.random.default_rng(0).standard_normal((args.batch, 3, args.height, args.width), dtype=np.float32)
    if args.peer in ("pytorch", "export"):
        import torch
        import timm

        torch.set_num_threads(args.threads)
        if args.bench_src:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import bench_models

            bench_models.register(args.bench_src)
        if args.bench_src and args.model.split("_")[0] in bench_models.FAMILIES:
            model = bench_models.create(args.model)
        else:
            model = timm.create_model(timm_name(args.model), pretrained=False).eval()
        tx = torch.from_numpy(x)
        if args.peer == "export":
            torch.onnx.export(model, tx, onnx_path(args), opset_version=17, input_names=["input"],
                              output_names=["logits"], dynamo=False)
            print(json.dumps({}))
            return
        with torch.no_grad():
            traced = torch.jit.freeze(torch.jit.trace(model, tx))
            times = timed(lambda: traced(tx), args.warmup, args.duration)
    elif args.peer == "onnxruntime":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(onnx_path(args), options, providers=["CPUExecutionProvider"])
        times = timed(lambda: session.run(None, {"input": x}), args.warmup, args.duration)
    else:
        import openvino as ov
        compiled = ov.Core().compile_model(onnx_path(args), "CPU", {
            "INFERENCE_NUM_THREADS": args.threads, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32"})
        request = compiled.create_infer_request()
        times = timed(lambda: request.infer({0: x}), args.warmup, args.duration)
    median = statistics.median(times)
    print(json.dumps({"images_per_second": args.batch / median, "latency_ms": median * 1e3,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def run_peer(peer: str, model: str, batch: int, threads: int, args, tmp: str) -> dict | None:
    command = [sys.executable, __file__, "--worker", peer, "--model", model, "--batch", str(batch),
               "--threads", str(threads), "--height", str(args.height), "--width", str(args.width),
               "--warmup", str(args.warmup), "--duration", str(args.duration), "--tmp", tmp]
    if args.bench_src:
        command += ["--bench-src", args.bench_src]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{peer} {model} b{batch} t{threads} failed: {result.stderr.strip()[-400:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_run(runs: list[dict]) -> dict:
    ordered = sorted(runs, key=lambda r: r["images_per_second"])
    return ordered[(len(ordered) - 1) // 2]


def run_engine(vit: str, model: str, batch: int, threads: int, isa: str | None, args) -> dict:
    result = subprocess.run([vit, "bench", "--model", model, "--batch", str(batch), "--threads", str(threads),
                             "--height", str(args.height), "--width", str(args.width), "--warmup", str(args.warmup),
                             "--duration", str(args.duration), "--json"] + (["--isa", isa] if isa else []),
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["m0", "m1", "m2", "m3", "m4", "m5"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--peers", nargs="+", default=["pytorch", "onnxruntime", "openvino"])
    parser.add_argument("--height", type=int, default=224)
    parser.add_argument("--width", type=int, default=224)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each system this many times, interleaved, and report the median")
    parser.add_argument("--vit", default=os.path.join(ROOT, ".build", "release", "vit"))
    parser.add_argument("--isas", nargs="+", default=[None], metavar="ISA",
                        help="the engine's kernel tiers to measure, one column each (default: the best the CPU runs)")
    parser.add_argument("--output")
    parser.add_argument("--bench-src", help="a checkout of tobna/WhatTransformerToFavor, for its models")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.peer, args.threads = args.worker, args.threads[0]
        peer_worker(args)
        return

    rows = []
    isas = args.isas
    label = (lambda isa: f"engine {isa}") if isas != [None] else (lambda isa: "engine")
    header = ["model", "batch", "threads"] + [f"{label(i)} img/s" for i in isas] + \
             [f"{p} img/s" for p in args.peers] + [f"{label(i)} / best peer" for i in isas] + \
             ["engine RSS MB", "ORT RSS MB", "BLAS kernel"]
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            for threads in args.threads:
                for batch in args.batches:
                    if {"onnxruntime", "openvino"} & set(args.peers):
                        run_peer("export", model, batch, threads, args, tmp)
                    # Interleave the systems over the repeats so drifts of the machine (clock,
                    # neighbours) hit all of them alike; report each one's median run.
                    engines, samples = {i: [] for i in isas}, {p: [] for p in args.peers}
                    for _ in range(args.repeat):
                        for i in isas:
                            engines[i].append(run_engine(args.vit, model, batch, threads, i, args))
                        for p in args.peers:
                            r = run_peer(p, model, batch, threads, args, tmp)
                            if r:
                                samples[p].append(r)
                    engine = {i: median_run(engines[i]) for i in isas}
                    peers = {p: median_run(samples[p]) if samples[p] else None for p in args.peers}
                    best = max((r["images_per_second"] for r in peers.values() if r), default=float("nan"))
                    ort = peers.get("onnxruntime")
                    first = engine[isas[0]]
                    row = [model, str(batch), str(threads)] + \
                          [f"{engine[i]['images_per_second']:.0f}" for i in isas] + \
                          [f"{peers[p]['images_per_second']:.0f}" if peers[p] else "failed" for p in args.peers] + \
                          [f"{engine[i]['images_per_second'] / best:.2f}×" for i in isas] + \
                          [f"{first['peak_rss_bytes'] / 1e6:.0f}",
                           f"{ort['peak_rss_bytes'] / 1e6:.0f}" if ort else "–", first["blas_kernel"]]
                    rows.append(row)
                    print(" | ".join(row), file=sys.stderr, flush=True)
    table = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
    table += "".join("| " + " | ".join(r) + " |\n" for r in rows)
    command = "python3 scripts/bench_peers.py " + " ".join(sys.argv[1:])
    text = f"Command: `{command}`\n\n{table}"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
