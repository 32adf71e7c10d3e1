"""Processes: whether one still runs, and stopping a child."""

from __future__ import annotations

import os
import subprocess

__all__ = ["pid_alive", "stop"]


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists (a zombie counts), including processes of another user."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Terminate a child and wait for it; kill it if it is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
