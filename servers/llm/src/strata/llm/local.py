"""In-process GGUF models through llama-cpp-python.

Each model keeps ``instances`` llama contexts (weights are memory-mapped, so shared). A request takes
a slot from the model's Admission, borrows an idle instance, and generates in a worker thread. The
prompt is formatted with the model's own chat template and counted before anything runs, so a prompt
that does not fit is an error naming both sizes, never a silent truncation. Generation checks a
cancel flag after every token, so a cancelled request stops its generation within one token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.to_thread

from strata.llm.admission import Admission
from strata.llm.engine import OnDelta, Prompt
from strata.llm.errors import ContextOverflowError, InvalidRequestError, UnsupportedError
from strata.llm.grammar import check_parses, schema_grammar
from strata.llm.types import EmbedResult, GenerationParams, GenerationResult, ModelInfo, ModelStatus, Usage
from strata.shared.log import get_logger

if TYPE_CHECKING:
    from llama_cpp import Llama

__all__ = ["LocalEngine"]

log = get_logger("strata.llm.local")


class _Cancelled(Exception):
    """Raised inside the worker thread when the awaiting request was cancelled."""


class LocalEngine:
    """One GGUF model served by a pool of llama-cpp-python instances."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        n_ctx: int,
        threads: int,
        instances: int,
        max_queue: int,
        max_tokens_cap: int,
        embedding: bool = False,
        chat_template: str | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.n_ctx = n_ctx
        self.threads = threads
        self.embedding = embedding
        self.max_tokens_cap = max_tokens_cap
        self._chat_template = chat_template
        self._idle: list[Llama] = []
        self._created = 0
        self._formatter: Any = None
        self._create_lock = anyio.Lock()
        self.admission = Admission(name, instances, max_queue)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the first instance now, so the first request does not pay for it."""
        if self._created == 0:
            self._idle.append(await self._create_instance())

    async def close(self) -> None:
        for llama in self._idle:
            llama.close()
        self._idle.clear()

    async def _create_instance(self) -> Llama:
        async with self._create_lock:
            llama = await anyio.to_thread.run_sync(self._load)
            self._created += 1
            if self._formatter is None and not self.embedding:
                self._formatter = self._make_formatter(llama)
            log.info("model_loaded", model=self.name, path=str(self.path), instance=self._created)
            return llama

    def _load(self) -> Llama:
        import llama_cpp

        _route_llama_logs()
        extra: dict[str, Any] = {}
        if self.embedding:
            extra = {"embedding": True, "pooling_type": llama_cpp.LLAMA_POOLING_TYPE_MEAN}
        return llama_cpp.Llama(
            model_path=str(self.path),
            n_ctx=self.n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            verbose=False,
            **extra,
        )

    def _make_formatter(self, llama: Llama) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._chat_template or llama.metadata.get("tokenizer.chat_template")
        if not template:
            return None
        eos_id, bos_id = llama.token_eos(), llama.token_bos()
        return Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=llama._model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )

    async def _borrow(self) -> Llama:
        if self._idle:
            return self._idle.pop()
        return await self._create_instance()

    # -- description ---------------------------------------------------------------------------

    def info(self) -> ModelInfo:
        return ModelInfo(
            name=self.name,
            engine="llama-cpp",
            source=str(self.path),
            context_window=self.n_ctx,
            chat=not self.embedding,
            embedding=self.embedding,
            loaded=self._created > 0,
        )

    def status(self) -> ModelStatus:
        return self.admission.snapshot(loaded=self._created > 0)

    # -- generation ----------------------------------------------------------------------------

    async def generate(
        self, prompt: Prompt, params: GenerationParams, on_delta: OnDelta | None = None
    ) -> GenerationResult:
        if self.embedding:
            raise UnsupportedError(f"model '{self.name}' is loaded for embeddings only; pick a chat model")
        if params.max_tokens is not None and params.max_tokens > self.max_tokens_cap:
            raise InvalidRequestError(
                f"max_tokens {params.max_tokens} is above this server's cap of {self.max_tokens_cap}"
            )
        grammar = schema_grammar(params.json_schema) if params.json_schema is not None else None
        async with self.admission.slot():
            llama = await self._borrow()
            try:
                result = await _run_cancellable(self._generate_sync, llama, prompt, params, grammar, on_delta)
            finally:
                self._idle.append(llama)
        self.admission.record_speed(result.tokens_per_second)
        return result

    def _tokens_for(self, llama: Llama, prompt: Prompt) -> tuple[list[int], list[str]]:
        if isinstance(prompt, str):
            return llama.tokenize(prompt.encode("utf-8"), add_bos=True, special=False), []
        if self._formatter is None:
            raise UnsupportedError(
                f"model '{self.name}' has no chat template; set chat_template in its config or use complete"
            )
        try:
            formatted = self._formatter(messages=[m.model_dump() for m in prompt])
        except Exception as exc:  # the template's own raise_exception (e.g. roles must alternate)
            raise InvalidRequestError(f"chat template of model '{self.name}' rejected the messages: {exc}") from exc
        stop = formatted.stop if isinstance(formatted.stop, list) else [formatted.stop] if formatted.stop else []
        tokens = llama.tokenize(formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True)
        return tokens, stop

    def _generate_sync(
        self,
        llama: Llama,
        prompt: Prompt,
        params: GenerationParams,
        grammar: str | None,
        on_delta: OnDelta | None,
        cancel: threading.Event,
    ) -> GenerationResult:
        from llama_cpp import StoppingCriteriaList
        from llama_cpp.llama_grammar import LlamaGrammar

        if grammar is not None:
            check_parses(llama, grammar)

        tokens, template_stop = self._tokens_for(llama, prompt)
        n_prompt = len(tokens)
        if n_prompt >= self.n_ctx:
            raise ContextOverflowError(model=self.name, prompt_tokens=n_prompt, max_tokens=None, n_ctx=self.n_ctx)
        if params.max_tokens is not None and n_prompt + params.max_tokens > self.n_ctx:
            raise ContextOverflowError(
                model=self.name, prompt_tokens=n_prompt, max_tokens=params.max_tokens, n_ctx=self.n_ctx
            )
        max_tokens = params.max_tokens or min(self.n_ctx - n_prompt, self.max_tokens_cap)

        started = time.perf_counter()
        first_token_at: float | None = None
        sampled = 0

        def after_each_token(_ids: Any, _logits: Any) -> bool:
            nonlocal first_token_at, sampled
            sampled += 1
            if first_token_at is None:
                first_token_at = time.perf_counter()
            return cancel.is_set()

        chunks = llama.create_completion(
            prompt=tokens,
            max_tokens=max_tokens,
            temperature=params.temperature,
            top_p=params.top_p,
            stop=[*params.stop, *template_stop],
            seed=params.seed,
            grammar=LlamaGrammar.from_string(grammar, verbose=False) if grammar is not None else None,
            stopping_criteria=StoppingCriteriaList([after_each_token]),
            stream=True,
        )
        pieces: list[str] = []
        finish = "stop"
        for chunk in chunks:
            choice: Any = chunk["choices"][0]  # type: ignore[index]
            if choice["text"]:
                pieces.append(choice["text"])
                if on_delta is not None:
                    anyio.from_thread.run(on_delta, choice["text"])
            finish = choice["finish_reason"] or finish
        ended = time.perf_counter()
        if cancel.is_set():
            raise _Cancelled
        # The stopping check also runs for the token sampled after the last one at max_tokens.
        produced = min(sampled, max_tokens)
        tps = (produced - 1) / (ended - first_token_at) if first_token_at and produced > 1 else None
        return GenerationResult(
            model=self.name,
            text="".join(pieces),
            finish_reason="length" if finish == "length" else "stop",
            usage=Usage(prompt_tokens=n_prompt, completion_tokens=produced, total_tokens=n_prompt + produced),
            time_to_first_token_ms=round((first_token_at - started) * 1000, 2) if first_token_at else None,
            tokens_per_second=round(tps, 2) if tps else None,
        )

    # -- embeddings ----------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str]) -> EmbedResult:
        if not self.embedding:
            raise UnsupportedError(f"model '{self.name}' is a chat model; configure one with embedding = true to embed")
        async with self.admission.slot():
            llama = await self._borrow()
            try:
                return await anyio.to_thread.run_sync(self._embed_sync, llama, list(texts))
            finally:
                self._idle.append(llama)

    def _embed_sync(self, llama: Llama, texts: list[str]) -> EmbedResult:
        counts = [len(llama.tokenize(t.encode("utf-8"), add_bos=True)) for t in texts]
        for count in counts:
            if count > self.n_ctx:
                raise ContextOverflowError(model=self.name, prompt_tokens=count, max_tokens=None, n_ctx=self.n_ctx)
        vectors = llama.embed(texts, normalize=True)
        return EmbedResult(model=self.name, dimensions=len(vectors[0]), embeddings=vectors, prompt_tokens=sum(counts))


_llama_log_callback: Any = None
LLAMA_LOG_CHARS = 300  # llama.cpp logs a whole refused grammar (hundreds of KB) as one error


def _route_llama_logs() -> None:
    """Send llama.cpp's own errors to the JSON log, one bounded line each, instead of raw text on stderr."""
    global _llama_log_callback
    if _llama_log_callback is not None:
        return
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def callback(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        if level in (3, 4):  # GGML_LOG_LEVEL_WARN, GGML_LOG_LEVEL_ERROR; debug, info and continuations are dropped
            message = " ".join(text.decode("utf-8", "replace").split())
            if message:
                log.warning("llama_cpp", message=message[:LLAMA_LOG_CHARS], chars=len(message))

    _llama_log_callback = callback  # ctypes drops a callback nobody references
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


async def _run_cancellable(fn: Any, *args: Any) -> GenerationResult:
    """Run ``fn(*args, cancel)`` in a worker thread; when this task is cancelled, tell the thread to stop.

    The thread is never abandoned: the instance it holds goes back to the pool only after it returns.
    """
    cancel = threading.Event()

    async def signal_on_cancel() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancel.set()

    result: GenerationResult | None = None
    error: Exception | None = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(signal_on_cancel)
        try:
            result = await anyio.to_thread.run_sync(fn, *args, cancel)
        except _Cancelled:
            pass  # the surrounding scope is being cancelled; its Cancelled exception follows
        except Exception as exc:  # re-raised below, unwrapped from the task group's ExceptionGroup
            error = exc
        finally:
            tg.cancel_scope.cancel()
    if error is not None:
        raise error
    if result is None:  # pragma: no cover - only reached when cancelled, which raises above
        raise anyio.get_cancelled_exc_class()()
    return result
