"""``python -m bench [--only foundation] [--n 1000000]``: start a broker, run the suites,
print one table and save ``bench/results/<suite>.json``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from types import FrameType

from bench import SUITES, Context, report
from bench.broker import BenchBroker, own_broker, running_broker
from iomkit import kafka


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", action="append", choices=sorted(SUITES), metavar="SUITE",
        help=f"run only this suite (repeatable); one of: {', '.join(sorted(SUITES))}",
    )
    parser.add_argument(
        "--n", type=int, default=1_000_000, help="records through the broker (1,000,000)"
    )
    parser.add_argument(
        "--codec-n", type=int, default=200_000,
        help="records for the CPU-only codec measures, at most --n (200,000)",
    )
    parser.add_argument(
        "--bootstrap", metavar="HOST:PORT",
        help="use this running broker instead of starting one (bench.* topics are recreated); "
             "IOM_KAFKA_CLIENT_CONFIG names its operator's client.properties",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.codec_n < 1:
        parser.error("--n and --codec-n must be positive")
    return args


async def run_suites(names: Sequence[str], ctx: Context) -> list[report.SuiteResult]:
    await kafka.wait_for_broker(ctx.settings)
    results = []
    for name in names:
        module = importlib.import_module(SUITES[name])
        started = time.perf_counter()
        result: report.SuiteResult = await module.run(ctx)
        result.seconds = time.perf_counter() - started
        path = report.save_json(result)
        report.progress(f"{name}: done in {result.seconds:.1f} s, saved {path}")
        results.append(result)
    return results


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally that stops the broker


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = args.only or list(SUITES)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    broker: AbstractContextManager[BenchBroker] = (
        nullcontext(running_broker(args.bootstrap)) if args.bootstrap else own_broker()
    )
    with broker as bench_broker:
        report.progress(f"broker at {bench_broker.settings.kafka_client().bootstrap_servers}"
                        " (SASL_SSL)")
        ctx = Context(
            settings=bench_broker.settings,
            n=args.n,
            codec_n=min(args.codec_n, args.n),
            broker=bench_broker,
        )
        results = asyncio.run(run_suites(names, ctx))
    report.write(results, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
