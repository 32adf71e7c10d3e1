"""One place that builds onnxruntime sessions with the configured thread count."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_session(model: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
