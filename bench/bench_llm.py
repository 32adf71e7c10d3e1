"""Benchmark strata-llm against raw llama-cpp-python on the same model, threads and prompts, in one run.

Measured per request (median of interleaved rounds):
- time to first token (TTFT) and prompt processing tokens/s (prompt tokens / TTFT);
- generation tokens/s after the first token;
- end-to-end wall time for the whole request.
Paths: raw llama-cpp-python in-process; strata-llm over HTTP (/v1/completions, streamed) and over MCP
(`complete` tool through fastmcp's HTTP client). Then N concurrent HTTP clients: total generated
tokens/s and p50/p95 request latency, with 1 and 2 model instances.

Usage: python bench/bench_llm.py [--rounds 5] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[1]
STRATA_LLM = str(Path(sys.executable).parent / "strata-llm")
MODEL = "smollm2-135m-instruct"
THREADS = 1
N_CTX = 2048
GEN_TOKENS = 128
# A counting prompt: greedy decoding keeps counting, so every path generates the same number of tokens.
BASE_PROMPT = " ".join(f"Item {i}: the quick brown fox jumps over the lazy dog." for i in range(40))
COUNT_TAIL = "\nNow count upwards: 1, 2, 3, 4, 5,"


def prompt_for(round_: int, path: str) -> str:
    # A different opening per round and path defeats prefix (KV) caching everywhere, at the same length.
    return f"Round {round_} path {path}. {BASE_PROMPT}{COUNT_TAIL}"


def raw_run(llama: Any, prompt: str) -> dict[str, float]:
    tokens = llama.tokenize(prompt.encode(), add_bos=True)
    start = time.perf_counter()
    first = last = 0.0
    n = 0
    for chunk in llama.create_completion(prompt=tokens, max_tokens=GEN_TOKENS, temperature=0, stream=True):
        now = time.perf_counter()
        if chunk["choices"][0]["text"]:
            first = first or now
            last = now
            n += 1
    return _measures(len(tokens), n, start, first, last, time.perf_counter())


def _measures(n_prompt: int, n_gen: int, start: float, first: float, last: float, end: float) -> dict[str, float]:
    ttft = first - start
    return {
        "prompt_tokens": n_prompt,
        "gen_tokens": n_gen,
        "ttft_ms": ttft * 1000,
        "pp_tps": n_prompt / ttft,
        "tg_tps": (n_gen - 1) / (last - first) if last > first else 0.0,
        "wall_s": end - start,
    }


def http_run(url: str, prompt: str) -> dict[str, float]:
    body = {
        "model": MODEL,
        "prompt": prompt,
        "max_tokens": GEN_TOKENS,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    start = time.perf_counter()
    first = last = 0.0
    usage: dict[str, int] = {}
    with httpx.stream("POST", f"{url}/v1/completions", json=body, timeout=300) as response:
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            usage = event.get("usage") or usage
            if event["choices"] and event["choices"][0]["text"]:
                now = time.perf_counter()
                first = first or now
                last = now
    return _measures(usage["prompt_tokens"], usage["completion_tokens"], start, first, last, time.perf_counter())


async def mcp_run(url: str, prompt: str) -> dict[str, float]:
    from fastmcp import Client

    async with Client(f"{url}/mcp", timeout=300) as client:
        start = time.perf_counter()
        result = await client.call_tool("complete", {"prompt": prompt, "max_tokens": GEN_TOKENS, "temperature": 0})
        end = time.perf_counter()
    out = result.structured_content or {}
    ttft = out["time_to_first_token_ms"] / 1000  # measured in the server: MCP results are not streamed
    return {
        "prompt_tokens": out["usage"]["prompt_tokens"],
        "gen_tokens": out["usage"]["completion_tokens"],
        "ttft_ms": ttft * 1000,
        "pp_tps": out["usage"]["prompt_tokens"] / ttft,
        "tg_tps": out["tokens_per_second"],
        "wall_s": end - start,
    }


def start_server(instances: int, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = workdir / "strata.toml"
    config.write_text(f"[llm]\nthreads = {THREADS}\nn_ctx = {N_CTX}\ninstances = {instances}\nmax_queue = 64\n")
    from strata.shared.testing import free_port

    port = free_port()
    env = {**os.environ, "STRATA_CONFIG": str(config), "STRATA_HOME": str(workdir), "OMP_WAIT_POLICY": "PASSIVE"}
    log = (workdir / f"server-{instances}.log").open("wb")
    process = subprocess.Popen(
        [STRATA_LLM, "serve", "--transport", "http", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("strata-llm did not start")


async def concurrent(url: str, clients: int, per_client: int, max_tokens: int) -> dict[str, float]:
    latencies: list[float] = []
    generated = 0

    async def worker(idx: int) -> None:
        nonlocal generated
        async with httpx.AsyncClient(timeout=600) as http:
            for j in range(per_client):
                body = {
                    "model": MODEL,
                    "prompt": f"Client {idx} request {j}.{COUNT_TAIL}",
                    "max_tokens": max_tokens,
                    "temperature": 0,
                }
                t0 = time.perf_counter()
                response = await http.post(f"{url}/v1/completions", json=body)
                latencies.append(time.perf_counter() - t0)
                generated += response.json()["usage"]["completion_tokens"]

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(clients):
            tg.start_soon(worker, i)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "throughput_tps": generated / elapsed,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import llama_cpp

    return (
        f"{cpu}, {os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB"
        f" RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"llama-cpp-python {llama_cpp.__version__} (portable AVX2 build), n_threads={THREADS}, "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--write", type=Path, default=None, help="Markdown file to rewrite with the results")
    args = parser.parse_args()

    import llama_cpp

    from strata.shared.models import locate_model

    llama = llama_cpp.Llama(
        model_path=str(locate_model(MODEL)), n_ctx=N_CTX, n_threads=THREADS, n_threads_batch=THREADS, verbose=False
    )
    described = machine()
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(1, Path(tmp))
        try:
            http_run(url, prompt_for(-1, "w"))  # warm both sides once
            raw_run(llama, prompt_for(-1, "w"))
            raw, http, mcp = [], [], []
            for r in range(args.rounds):  # interleaved so drift in machine load hits every path alike
                raw.append(raw_run(llama, prompt_for(r, "a")))
                http.append(http_run(url, prompt_for(r, "b")))
                mcp.append(anyio.run(mcp_run, url, prompt_for(r, "c")))
                print(
                    f"round {r}: raw {raw[-1]['tg_tps']:.1f} http {http[-1]['tg_tps']:.1f} "
                    f"mcp {mcp[-1]['tg_tps']:.1f} tok/s",
                    file=sys.stderr,
                )
            conc1 = [anyio.run(concurrent, url, n, 4, 48) for n in (1, 2, 4)]
        finally:
            process.terminate()
            process.wait()
        llama.close()
        process, url = start_server(2, Path(tmp))
        try:
            http_run(url, prompt_for(-2, "w"))
            conc2 = [anyio.run(concurrent, url, n, 4, 48) for n in (1, 2, 4)]
        finally:
            process.terminate()
            process.wait()

    results = {"raw": median_of(raw), "http": median_of(http), "mcp": median_of(mcp)}
    report = render(described, results, conc1, conc2, args.rounds)
    print(report)
    if args.write:
        write_section(args.write, report)


def render(
    described: str,
    r: dict[str, dict[str, float]],
    conc1: list[dict[str, float]],
    conc2: list[dict[str, float]],
    rounds: int,
) -> str:
    raw = r["raw"]
    lines = [
        "## llm: strata-llm vs raw llama-cpp-python",
        "",
        f"Machine: {described}.",
        f"Model {MODEL} (Q4_1), n_ctx {N_CTX}; prompt {int(raw['prompt_tokens'])} tokens, greedy, up to "
        f"{GEN_TOKENS} generated tokens; median of {rounds} interleaved rounds. Command: `make bench`.",
        "",
        "| path | prompt tok | gen tok | TTFT ms | prompt tok/s | gen tok/s | wall s | gen ratio vs raw | wall ratio (raw/path) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, label in (
        ("raw", "raw llama-cpp-python (in-process)"),
        ("http", "strata-llm HTTP /v1 (streamed)"),
        ("mcp", "strata-llm MCP `complete` (HTTP)"),
    ):
        m = r[name]
        lines.append(
            f"| {label} | {int(m['prompt_tokens'])} | {int(m['gen_tokens'])} | {m['ttft_ms']:.0f} | {m['pp_tps']:.0f} "
            f"| {m['tg_tps']:.1f} | {m['wall_s']:.2f} | {m['tg_tps'] / raw['tg_tps']:.3f} | "
            f"{raw['wall_s'] / m['wall_s']:.3f} |"
        )
    lines += [
        "",
        "MCP results are not streamed, so its TTFT and gen tok/s are the server's own measurements; its wall time "
        "includes the MCP round trip.",
        "",
        "Concurrent HTTP clients (each sends 4 non-streamed requests of up to 48 tokens):",
        "",
        "| instances | clients | requests | total gen tok/s | p50 latency s | p95 latency s |",
        "|---|---|---|---|---|---|",
    ]
    for instances, rows in ((1, conc1), (2, conc2)):
        for c in rows:
            lines.append(
                f"| {instances} | {int(c['clients'])} | {int(c['requests'])} | {c['throughput_tps']:.1f} | "
                f"{c['p50_s']:.2f} | {c['p95_s']:.2f} |"
            )
    return "\n".join(lines) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of the results file, keeping the others."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\nLatest results of `make bench`.\n\n"
    heading = section.splitlines()[0]
    if heading in text:
        before, rest = text.split(heading, 1)
        after = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


if __name__ == "__main__":
    main()
