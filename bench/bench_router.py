"""strata-router benchmarks: proxy overhead next to the LiteLLM proxy, and tool-output compression.

1. Overhead. One fast loopback upstream (a minimal asyncio HTTP server answering a canned OpenAI chat
   completion). The same keep-alive load generator drives it directly, through strata-router and
   through the LiteLLM proxy (installed in its own virtual environment, configured for the same
   upstream, with a master key as its docs require; the router checks an API key too and writes its
   ledger). Latency added = p50/p99 through the proxy minus direct, at concurrency 1, 8 and 32;
   requests/s; resident memory of each proxy before and after 10,000 more requests.
2. Compression. Real outputs produced in the run (pytest, git diff/status/log of this repository, gcc
   and mypy errors, a Python traceback, a JSON listing); tokens counted with a real BPE tokenizer
   (the bundled SmolLM2's, via llama-cpp-python), and every error line checked to survive.

    python bench/bench_router.py --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from strata.shared.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LITELLM_VENV = ROOT / ".bench-cache" / "litellm-venv"
LITELLM_SPEC = "litellm[proxy]==1.108.7"
CANNED = json.dumps(
    {
        "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "bench",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
).encode()  # fmt: skip
BODY = json.dumps({"model": "bench", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 8}).encode()
LEVELS = ((1, 2000), (8, 4000), (32, 4000))
MEMORY_REQUESTS = 10_000


# ----------------------------------------------------------------------------- the fast upstream


async def _upstream(port: int) -> None:
    response = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(CANNED),
        CANNED,
    )

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# ----------------------------------------------------------------------------- the load generator


async def _one_connection(port: int, path: str, headers: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"POST %s HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json\r\n%scontent-length: %d\r\n\r\n%s" % (
        path.encode(), port, headers, len(BODY), BODY,
    )  # fmt: skip
    for _ in range(count):
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"bad response: {head[:200]!r}")
        length = next(
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
    writer.close()


def load(port: int, path: str, key: str | None, concurrency: int, total: int) -> dict[str, float]:
    headers = b"authorization: Bearer %s\r\n" % key.encode() if key else b""
    latencies: list[float] = []

    async def run() -> float:
        started = time.perf_counter()
        per = total // concurrency
        await asyncio.gather(*[_one_connection(port, path, headers, per, latencies) for _ in range(concurrency)])
        return time.perf_counter() - started

    wall = asyncio.run(run())
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "rps": len(latencies) / wall,
    }


# ----------------------------------------------------------------------------- processes


def wait_http(port: int, path: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"nothing answered on port {port}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def ensure_litellm() -> Path:
    python = LITELLM_VENV / "bin" / "python"
    if not (LITELLM_VENV / "bin" / "litellm").exists():
        uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
        subprocess.run([uv, "venv", "-q", "-p", "3.11", str(LITELLM_VENV)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "-p", str(python), LITELLM_SPEC], check=True)
    return LITELLM_VENV / "bin" / "litellm"


def start_router(tmp: Path, upstream: int, key: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = tmp / "strata.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [router]
            data_dir = "{tmp / "router-data"}"
            [router.providers.up]
            base_url = "http://127.0.0.1:{upstream}/v1"
            [router.models.bench]
            provider = "up"
            model = "bench"
            input_price = 0.15
            output_price = 0.6
            [router.routes.default]
            policy = "fixed"
            model = "bench"
            [router.cache]
            exact = false
            [router.keys.bench]
            key_env = "BENCH_ROUTER_KEY"
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    env |= {"STRATA_HOME": str(tmp), "STRATA_CONFIG": str(config), "BENCH_ROUTER_KEY": key}
    process = subprocess.Popen(
        [str(BIN / "strata-router"), "serve", "--transport", "http", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "router.log").open("wb"),
    )  # fmt: skip
    wait_http(port, "/healthz", process)
    return process, port


def start_litellm(tmp: Path, upstream: int, key: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    config = tmp / "litellm.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            model_list:
              - model_name: bench
                litellm_params:
                  model: openai/bench
                  api_base: http://127.0.0.1:{upstream}/v1
                  api_key: unused
            litellm_settings:
              telemetry: false
            """
        )
    )
    env = dict(os.environ) | {"LITELLM_MASTER_KEY": key, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    process = subprocess.Popen(
        [str(ensure_litellm()), "--config", str(config), "--port", str(port), "--host", "127.0.0.1", "--num_workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "litellm.log").open("wb"), cwd=tmp,
    )  # fmt: skip
    wait_http(port, "/health/liveliness", process)
    return process, port


def overhead() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        up_port = free_port()
        upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(up_port)])
        time.sleep(1.0)
        key = "sk-" + secrets.token_hex(24)
        router, router_port = start_router(tmp, up_port, key)
        litellm, litellm_port = start_litellm(tmp, up_port, key)
        targets = {
            "direct": (up_port, "/v1/chat/completions", None),
            "strata-router": (router_port, "/v1/chat/completions", key),
            "LiteLLM proxy": (litellm_port, "/v1/chat/completions", key),
        }
        results: dict[str, Any] = {"levels": {}, "memory": {}}
        try:
            for port, path, k in targets.values():
                load(port, path, k, 8, 800)  # warm up connection pools and caches
            for concurrency, total in LEVELS:
                for name_, (port, path, k) in targets.items():
                    row = load(port, path, k, concurrency, total)
                    results["levels"].setdefault(concurrency, {})[name_] = row
                    print(f"c={concurrency} {name_}: {row}", file=sys.stderr)
            for name_, process in (("strata-router", router), ("LiteLLM proxy", litellm)):
                port, path, k = targets[name_]
                before = rss_mb(process.pid)
                load(port, path, k, 8, MEMORY_REQUESTS)
                after = rss_mb(process.pid)
                results["memory"][name_] = (before, after)
                print(f"memory {name_}: {before:.1f} -> {after:.1f} MB", file=sys.stderr)
        finally:
            for process in (router, litellm, upstream):
                process.terminate()
                process.wait(timeout=30)
        return results


# ----------------------------------------------------------------------------- compression


def corpus(tmp: Path) -> dict[str, str]:
    def run(args: list[str], cwd: Path = ROOT) -> str:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
        return done.stdout + done.stderr

    made: dict[str, str] = {}
    suite = tmp / "suite"
    suite.mkdir()
    (suite / "test_ok.py").write_text(
        "\n".join(f"def test_{i}():\n    assert {i} + 1 == {i + 1}\n" for i in range(400))
    )
    (suite / "test_bad.py").write_text(
        "import json\n\ndef test_config():\n    cfg = {'retries': 3}\n    assert cfg['retries'] == 5\n\n"
        "def test_parse():\n    json.loads('{broken')\n"
    )
    made["pytest -v, 402 tests, 2 failing"] = run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-o", "addopts=", str(suite)], suite
    )
    made["pytest -v tests/test_workspace.py (this repo)"] = run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            "tests/test_workspace.py",
            "tests/test_exported_members.py",
        ]
    )
    made["git diff HEAD~3 (this repo)"] = run(["git", "diff", "HEAD~3", "--", "servers", "shared"])
    made["git log --stat -n 40 (this repo)"] = run(["git", "log", "--stat", "-n", "40"])
    clone = tmp / "clone"
    run(["git", "clone", "-q", "--local", str(ROOT), str(clone)], tmp)
    for i, path in enumerate(sorted(clone.glob("servers/*/src/strata/*/*.py"))[:25]):
        path.write_text(path.read_text() + f"\n# edit {i}\n")
    for i in range(10):
        (clone / f"scratch_{i}.txt").write_text("x\n")
    run(["git", "add", "servers/llm"], clone)
    made["git status, 25 changed + 10 new files"] = run(["git", "status"], clone)
    c_file = tmp / "broken.c"
    c_file.write_text(
        '#include <stdio.h>\nint main(void) {\n  int x = ;\n  printf("%d\\n", y);\n  undefined_call(3);\n  return 0;\n}\n'
    )
    made["gcc -Wall, 3 errors"] = run(["gcc", "-fsyntax-only", "-Wall", str(c_file)], tmp)
    broken = tmp / "broken.py"
    broken.write_text("def f(x: int) -> str:\n    return x\n\nf('a')\n" * 10)
    made["mypy, 20 errors"] = run([sys.executable, "-m", "mypy", "--no-incremental", str(broken)], tmp)
    crash = tmp / "crash.py"
    crash.write_text(
        "import json\n\ndef walk(n):\n    return json.loads('{oops') if n == 0 else walk(n - 1)\n\nwalk(40)\n"
    )
    made["Python traceback, 40-deep recursion into json"] = run([sys.executable, str(crash)], tmp)
    from importlib.metadata import distributions

    listing = [
        {"name": d.metadata["Name"], "version": d.version, "requires": d.requires or []} for d in distributions()
    ]
    made["JSON: installed distributions"] = json.dumps(sorted(listing, key=lambda d: str(d["name"])), indent=2)
    return made


def compression() -> list[dict[str, Any]]:
    from llama_cpp import Llama

    from strata.router.compress import clean, compress, detect, is_error
    from strata.shared.models import locate_model

    vocab = Llama(model_path=str(locate_model("smollm2-135m-instruct")), vocab_only=True, verbose=False)

    def tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode(), add_bos=False, special=False))

    rows = []
    with tempfile.TemporaryDirectory() as name:
        for label, raw in corpus(Path(name)).items():
            packed = compress(raw)
            # JSON keeps error-bearing values inside its structure; the listing here has none.
            errors = [] if detect(raw) == "json" else sorted({ln for ln in clean(raw) if is_error(ln)})
            kept = set(packed.text.split("\n"))
            rows.append(
                {
                    "output": label, "kind": packed.kind, "lines": packed.raw_lines, "before": tokens(raw),
                    "after": tokens(packed.text), "errors": len(errors), "errors_kept": sum(e in kept for e in errors),
                }
            )  # fmt: skip
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


# ----------------------------------------------------------------------------- report


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    ram = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    return f"{cpu}, {os.cpu_count()} cores, {ram} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def report(over: dict[str, Any], comp: list[dict[str, Any]]) -> str:
    lines = [
        "## router: proxy overhead next to LiteLLM, and tool-output compression",
        "",
        f"Machine: {machine()}. Command: `python bench/bench_router.py --write docs/benchmarks.md`. Load generator,",
        "upstream and proxy share the machine's cores; every number below comes from the same run.",
        "",
        "Overhead: a minimal asyncio upstream answers a canned chat completion; each row sends the same",
        "non-streamed request over keep-alive connections. Added latency = through the proxy minus direct.",
        f"LiteLLM is `{LITELLM_SPEC}` (1 worker, master key); strata-router checks an API key, prices the",
        "call and writes the ledger (exact cache off, so every request goes upstream).",
        "",
        "| concurrency | target | p50 ms | p99 ms | added p50 ms | added p99 ms | requests/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for concurrency, row in over["levels"].items():
        direct = row["direct"]
        for target, r in row.items():
            added = "" if target == "direct" else f"{r['p50_ms'] - direct['p50_ms']:.2f}"
            added99 = "" if target == "direct" else f"{r['p99_ms'] - direct['p99_ms']:.2f}"
            lines.append(
                f"| {concurrency} | {target} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {added} | {added99} | {r['rps']:.0f} |"
            )
    lines += ["", f"Resident memory before and after {MEMORY_REQUESTS:,} more requests (concurrency 8):", ""]
    lines += ["| proxy | RSS before MB | RSS after MB | growth MB |", "|---|---|---|---|"]
    for target, (before, after) in over["memory"].items():
        lines.append(f"| {target} | {before:.1f} | {after:.1f} | {after - before:+.1f} |")
    ratios = [
        over["levels"][c]["strata-router"]["rps"] / over["levels"][c]["LiteLLM proxy"]["rps"] for c in over["levels"]
    ]
    lines += [
        "",
        "strata-router throughput / LiteLLM throughput: "
        + ", ".join(f"{r:.1f}× at c={c}" for r, c in zip(ratios, over["levels"], strict=True))
        + ".",
    ]
    lines += [
        "",
        "Compression (`compress`, auto-detected kind), tokens by the bundled SmolLM2 BPE tokenizer; outputs",
        "produced in the run. The raw text stays retrievable by id (`raw_output`).",
        "",
        "| output | kind | lines | tokens before | tokens after | saved | error lines kept |",
        "|---|---|---|---|---|---|---|",
    ]
    total_before = total_after = 0
    for r in comp:
        total_before += r["before"]
        total_after += r["after"]
        saved = 1 - r["after"] / r["before"] if r["before"] else 0
        lines.append(
            f"| {r['output']} | {r['kind']} | {r['lines']} | {r['before']:,} | {r['after']:,} | {saved:.0%} | {r['errors_kept']}/{r['errors']} |"
        )
    if total_before:
        lines.append(f"| **all** | | | {total_before:,} | {total_after:,} | {1 - total_after / total_before:.0%} | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, default=None, help="Results file to update (docs/benchmarks.md)")
    parser.add_argument("--serve-upstream", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=["overhead", "compression"], default=None)
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(_upstream(args.serve_upstream))
        return
    over = overhead() if args.only != "compression" else {"levels": {}, "memory": {}}
    comp = compression() if args.only != "overhead" else []
    text = report(over, comp)
    print(text)
    if args.write:
        from bench_llm import write_section

        write_section(args.write, text)


if __name__ == "__main__":
    main()
