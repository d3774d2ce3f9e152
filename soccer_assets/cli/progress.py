"""What ``soccer pipeline`` shows while it works, and where the rest of the noise goes.

* :class:`StageProgress` — one line per stage as it finishes (``✓ team_state  2.1 s``). On a
  terminal a ``rich`` spinner above them names the stage and the Dagster step running; when stdout is
  a pipe or a file (CI) only the plain finished-stage lines are printed, without ANSI codes.
* :func:`pipeline_logging` — the run's Dagster event log (every event, DEBUG up, formatted like
  Dagster's console logger) and the ``dagster`` / ``mlflow`` / ``alembic`` Python loggers go to a
  log file instead of the terminal; ``verbose`` also streams them to stderr as Dagster and MLflow
  do by default.

Dagster only imports lazily here, so the module is cheap to import in tests.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

# Same layout as Dagster's console logger (dagster._utils.log.default_format_string), so the file
# reads like the terminal output of `--verbose`.
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"

# Python loggers taken off the terminal for the duration of a run (their own handlers print to
# stderr: MLflow configures `mlflow` and `alembic` with a StreamHandler at import).
ROUTED_LOGGERS = ("dagster", "mlflow", "alembic", "sqlalchemy.engine", "huey")

# MLflow warns on every log_model that the pyfunc model object is serialized with CloudPickle. The
# model store pickles its own OutcomeModel on purpose (and loads only what it logged), so that
# one message is dropped; every other MLflow warning still reaches the log.
CLOUDPICKLE_WARNING = "Passing a Python object as `python_model` causes it to be serialized"

# The environment `soccer pipeline` sets for MLflow unless the user set it: no tqdm bars.
MLFLOW_ENVIRONMENT = {"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


def quiet_mlflow_environment() -> None:
    """Turn MLflow's artifact progress bars off (read at download time; a set value is kept)."""
    for key, value in MLFLOW_ENVIRONMENT.items():
        os.environ.setdefault(key, value)


class _DropMessage(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefix)


def silence_cloudpickle_warning() -> None:
    """Drop MLflow's CloudPickle warning at the logger that emits it (``mlflow.pyfunc``); idempotent."""
    pyfunc = logging.getLogger("mlflow.pyfunc")
    if not any(isinstance(f, _DropMessage) and f.prefix == CLOUDPICKLE_WARNING for f in pyfunc.filters):
        pyfunc.addFilter(_DropMessage(CLOUDPICKLE_WARNING))


def log_file_path(logs_dir: Path, now: dt.datetime | None = None) -> Path:
    """A fresh ``pipeline-<UTC timestamp>.log`` in ``logs_dir`` (a suffix if the second is taken)."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    path = logs_dir / f"pipeline-{stamp}.log"
    n = 1
    while path.exists():
        path = logs_dir / f"pipeline-{stamp}-{n}.log"
        n += 1
    return path


class StageProgress:
    """The stage-by-stage display of a pipeline run (see the module docstring).

    ``live`` (default: stdout is a terminal and the run is not verbose) adds the spinner; without it
    only the finished-stage lines are printed, which is what a pipe or a log viewer wants.
    """

    def __init__(self, console: Console | None = None, live: bool | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.live = self.console.is_terminal if live is None else live
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._label = ""
        self._started = 0.0

    def __enter__(self) -> StageProgress:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                console=self.console, transient=True,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def start(self, label: str) -> None:
        self._label = label
        self._started = time.perf_counter()
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(label, total=None)

    def step(self, step_key: str) -> None:
        """The Dagster step that just started within the current stage (shown next to the spinner)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=f"{self._label} · {step_key}")

    def finish(self, ok: bool, note: str = "") -> None:
        elapsed = time.perf_counter() - self._started
        mark = "✓" if ok else "✗"
        line = f"{mark} {self._label:<44} {elapsed:6.1f} s"
        if note:
            line += f"  {note}"
        if self._progress is not None and self._task is not None:
            self._progress.remove_task(self._task)
            self._task = None
        # No markup, no highlighting, no wrapping: the line is printed as it is, also in a pipe.
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def message(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)


class _StepStarts(logging.Handler):
    """Feeds the Dagster ``STEP_START`` events of a run to :meth:`StageProgress.step`."""

    def __init__(self, progress: StageProgress) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None and event.event_type_value == "STEP_START" and meta.get("step_key"):
            self.progress.step(meta["step_key"])


class _LinesToLogger:
    """A text stream that logs each line it is given (``print`` writes the newline separately)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._pending = ""

    def write(self, text: str) -> int:
        *done, self._pending = (self._pending + text).split("\n")
        for line in done:
            if line.strip():
                self.logger.info(line)
        return len(text)

    def flush(self) -> None:
        if self._pending.strip():
            self.logger.info(self._pending)
        self._pending = ""


@dataclass
class RunLogging:
    """The Dagster loggers of the pipeline's runs: ``logger_defs`` for the jobs, ``config`` for
    the ``loggers`` section of their run config (a logger runs only if the run config names it)."""

    logger_defs: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)


def _formatter() -> logging.Formatter:
    return logging.Formatter(LOG_FORMAT, LOG_DATE_FORMAT)


@contextlib.contextmanager
def pipeline_logging(
    log_path: Path, progress: StageProgress | None = None, verbose: bool = False
) -> Iterator[RunLogging]:
    """Route a pipeline's logs to ``log_path`` for the duration of the block; restores everything after.

    Yields the :class:`RunLogging` to run the jobs with: a Dagster logger writing every event to the
    file (and reporting step starts to ``progress``) plus, with ``verbose``, Dagster's own colored
    console logger at the instance's ``python_log_level`` (DEBUG by default), as without this block.
    """
    import dagster as dg
    import mlflow  # noqa: F401  (configures its loggers at import: reroute them after that)
    from mlflow.utils import logging_utils as mlflow_logging

    quiet_mlflow_environment()
    silence_cloudpickle_warning()
    handler = logging.FileHandler(log_path, encoding="utf-8", delay=False)
    handler.setFormatter(_formatter())
    step_starts = _StepStarts(progress) if progress is not None else None

    def file_logger(_init_context: Any) -> logging.Logger:
        run_logger = logging.Logger("dagster", level=logging.DEBUG)  # not in the logging tree
        run_logger.addHandler(handler)
        if step_starts is not None:
            run_logger.addHandler(step_starts)
        return run_logger

    logger_defs: dict[str, Any] = {
        "pipeline_log_file": dg.LoggerDefinition(file_logger, description="soccer pipeline's log file")
    }
    config: dict[str, Any] = {"pipeline_log_file": {}}
    if verbose:
        instance_level = None
        with contextlib.suppress(Exception):
            instance_level = dg.DagsterInstance.get().python_log_level
        logger_defs["console"] = dg.colored_console_logger
        config["console"] = {"config": {"log_level": instance_level or "DEBUG"}}

    stderr_handler: logging.Handler | None = None
    if verbose:
        stderr_handler = logging.StreamHandler(sys.stderr)
        stderr_handler.setFormatter(_formatter())
    saved: list[tuple[logging.Logger, list[logging.Handler], bool]] = []
    for name in ROUTED_LOGGERS:
        lg = logging.getLogger(name)
        saved.append((lg, list(lg.handlers), lg.propagate))
        # verbose: the logger's own terminal handler (or one to stderr) beside the file.
        terminal = (lg.handlers or [stderr_handler]) if stderr_handler is not None else []
        lg.handlers = [handler, *terminal]
        lg.propagate = False
    # Everything else that reaches the root logger (our own warnings, e.g. download retries, and
    # Python warnings) goes to the file too instead of Python's last-resort stderr handler.
    root = logging.getLogger()
    root.addHandler(handler)
    if stderr_handler is not None:
        root.addHandler(stderr_handler)
    else:
        logging.captureWarnings(True)
    # MLflow also prints a few lines straight to stderr through its own stream ("Successfully
    # registered model ...", mlflow.utils.logging_utils.eprint): log them instead. (Its on/off
    # switch is no use: MLflow switches it back on itself after each of its silenced sections.)
    mlflow_stream = mlflow_logging.MLFLOW_LOGGING_STREAM
    if not verbose:
        lines = _LinesToLogger(logging.getLogger("mlflow"))
        mlflow_stream.write, mlflow_stream.flush = lines.write, lines.flush  # type: ignore[method-assign]
    try:
        yield RunLogging(logger_defs, config)
    finally:
        if not verbose:
            lines.flush()
            del mlflow_stream.write, mlflow_stream.flush  # back to the class's methods
            logging.captureWarnings(False)
        if stderr_handler is not None:
            root.removeHandler(stderr_handler)
        root.removeHandler(handler)
        for lg, handlers, propagate in saved:
            lg.handlers = handlers
            lg.propagate = propagate
        handler.close()
