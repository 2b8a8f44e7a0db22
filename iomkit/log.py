"""Structured logging: one event per line, key=value. Never print in services."""

from __future__ import annotations

import logging
import sys
from typing import Any


def _fmt(value: Any) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def line(event: str, kv: dict[str, Any]) -> str:
    """``event k=v k=v``: the message itself carries the fields, so any formatter (Faust's
    worker installs its own) keeps them."""
    return " ".join([event, *(f"{k}={_fmt(v)}" for k, v in kv.items())])


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        head = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        line = " ".join(f"{k}={_fmt(v)}" for k, v in head.items()) + " event=" + record.getMessage()
        if record.exc_info:
            line += " exc=" + _fmt(self.formatException(record.exc_info).replace("\n", " | "))
        return line


class Logger:
    """``log.info("grade.published", rag="RED")`` writes one key=value line."""

    def __init__(self, name: str) -> None:
        self._log = logging.getLogger(name)

    def _emit(self, level: int, event: str, kv: dict[str, Any], exc: bool = False) -> None:
        if self._log.isEnabledFor(level):
            self._log.log(level, line(event, kv), exc_info=exc)

    def debug(self, event: str, **kv: Any) -> None:
        self._emit(logging.DEBUG, event, kv)

    def info(self, event: str, **kv: Any) -> None:
        self._emit(logging.INFO, event, kv)

    def warning(self, event: str, **kv: Any) -> None:
        self._emit(logging.WARNING, event, kv)

    def error(self, event: str, exc: bool = False, **kv: Any) -> None:
        self._emit(logging.ERROR, event, kv, exc)


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiokafka says "Authenticated as NAME via SCRAM-SHA-512" at INFO for every connection
    # (the lag watcher opens some every few seconds): a failed login still shows (ERROR).
    logging.getLogger("aiokafka.conn").setLevel(max(logging.WARNING, root.level))


def get(name: str) -> Logger:
    return Logger(name)
