"""
Whether a server can be reached, asked before a download that would otherwise hang or retry
for a long time offline (tiktoken's GPT-2 files, the Hugging Face hub).
"""

from __future__ import annotations

import socket
import threading


def connection_error(host: str, port: int, timeout: float) -> str | None:
    """None if a TCP connection to host:port opens within `timeout` seconds, else the reason.

    Runs in a daemon thread because name resolution ignores socket timeouts."""
    outcome = {}

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["error"] = None
        except OSError as e:
            outcome["error"] = f"{type(e).__name__}: {e}"

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout + 1.0)
    return outcome.get("error", f"no answer within {timeout:.0f} s")
