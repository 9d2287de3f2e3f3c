"""JSON logs, one object a line, each carrying the id of the request it belongs to.

``logging_config`` is the one logging set-up: ``configure_logging`` applies it in this process, and
``milesgate serve`` hands it to uvicorn, which applies it again in every worker process it starts.
``settings_for_log`` is the configuration a process logs when it starts, with no secret in it."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import logging.config
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from pydantic import SecretStr

from gateway.settings import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}
# uvicorn adds the same message with terminal colours as ``color_message``: not for a JSON log.
_DROPPED_ATTRS = frozenset({"color_message"})
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MASKED = "**********"
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _plain(value: Any) -> Any:
    return _ANSI_ESCAPE.sub("", value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _plain(record.getMessage()),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in _DROPPED_ATTRS and not key.startswith("_"):
                entry[key] = _plain(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """JSON lines on stderr from every logger, uvicorn's included (their own handlers removed)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {name: {"handlers": [], "propagate": True} for name in _UVICORN_LOGGERS},
    }


def configure_logging(level: str = "INFO") -> None:
    logging.config.dictConfig(logging_config(level))
    # The request middleware logs each request with its id; uvicorn's access line would repeat it.
    logging.getLogger("uvicorn.access").disabled = True


def redacted_url(url: str) -> str | None:
    """``url`` with its password replaced by ``MASKED``; None when it is not a URL with a host."""
    try:
        parts = urlsplit(url)
        password = parts.password
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    if password is None:
        return url
    user_info, _, host = parts.netloc.rpartition("@")
    user = user_info.partition(":")[0]
    return parts._replace(netloc=f"{user}:{MASKED}@{host}").geturl()


def _loggable(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return redacted_url(value.get_secret_value()) or MASKED
    if isinstance(value, str):
        return (redacted_url(value) or value) if "@" in value else value
    if isinstance(value, Path):
        return str(value)
    return value


def settings_for_log(settings: Settings) -> dict[str, Any]:
    """Every setting by name, as a process logs them when it starts: secrets masked, and a URL's password
    (the database's, Redis's) replaced so that its host, port and database still show."""
    return {name: _loggable(getattr(settings, name)) for name in type(settings).model_fields}


def log_start(logger: logging.Logger, message: str, settings: Settings, **fields: Any) -> None:
    """One line when a process starts: ``message``, ``fields`` (the process's own: pid, role, ...) and its
    configuration without secrets."""
    logger.info(message, extra={**fields, "config": settings_for_log(settings)})


def log_unknown_variables(logger: logging.Logger, unknown: list[str]) -> None:
    """One warning naming the ``MILESGATE_*`` variables no setting reads (see ``settings.unknown_variables``)."""
    if unknown:
        logger.warning(
            "unknown MILESGATE_ variables, ignored: " + ", ".join(unknown), extra={"variables": unknown}
        )
