"""`yuyin batch`: thousands of files on local worker processes or a Ray cluster, resumable."""

from __future__ import annotations

import copy
import sys
import time
from typing import Any

import click
from tqdm import tqdm

from yuyin.batch import (
    BatchEvent,
    BatchSummary,
    Executor,
    LocalExecutor,
    WorkerConfig,
    expand_inputs,
    run_batch,
)
from yuyin.cli._common import EXIT_CODES_HELP, EXIT_PARTIAL, echo_json
from yuyin.cli._options import option_names, pop_options
from yuyin.cli.transcribe import transcribe_command
from yuyin.media import MediaOptions, validate_media_options

__all__ = ["BATCH_MEDIA_PARAMS", "CLI_ONLY_PARAMS", "batch_command"]

#: `yuyin transcribe`'s media flags that work per item in a batch (MediaOptions fields).
#: The output-side ones (--quality, --embed-subtitles and its --subtitle-*/--video-container,
#: --burn-in, --stems, --stems-format) are `yuyin transcribe` only.
BATCH_MEDIA_PARAMS = frozenset(
    {"playlist", "cookies", "download_dir", "separate_vocals", "separator", "demucs_model"}
)

#: Parameters of `yuyin batch` that do not map to a Transcribe/Model/Output option field
#: (the media flags map to MediaOptions instead).
CLI_ONLY_PARAMS = (
    frozenset(
        {
            "inputs",
            "executor",
            "workers",
            "ray_address",
            "gpus_per_worker",
            "retries",
            "json_output",
            "quiet",
        }
    )
    | BATCH_MEDIA_PARAMS
)

_OPTION_NAMES = option_names()


def _shared_params() -> list[click.Parameter]:
    """`yuyin transcribe`'s option flags, so the two commands never drift apart."""
    shared = _OPTION_NAMES | BATCH_MEDIA_PARAMS
    params = [copy.copy(p) for p in transcribe_command.params if p.name in shared]
    for p in params:
        if p.name == "output_dir" and isinstance(p, click.Option):
            p.required = True
            p.default = None
            p.help = "Folder for outputs, the journal and the combined manifest (required)."
    return params


class _Progress:
    """Files and audio hours done, throughput in audio hours per hour, ETA (stderr, TTY)."""

    def __init__(self, *, enabled: bool) -> None:
        self.verbose = enabled
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: tqdm[Any] | None = None
        self._audio = 0.0
        self._started = time.monotonic()

    def plan(self, total: int) -> None:
        if self.enabled and total:
            self._started = time.monotonic()
            self._bar = tqdm(total=total, desc="batch", unit="file", file=sys.stderr)

    def event(self, event: BatchEvent) -> None:
        # Final failures are listed once, in the closing summary.
        if event.status == "retrying" and event.failure is not None and self.verbose:
            self.write(f"retrying: {_described(event.item.source, event.failure.message)}")
        if self._bar is None or event.status == "retrying":
            return
        self._audio += event.audio_seconds
        hours = self._audio / 3600
        elapsed_h = max(time.monotonic() - self._started, 1e-9) / 3600
        self._bar.set_postfix_str(
            f"{hours:.2f} audio h, {hours / elapsed_h:.1f} audio h/h", refresh=False
        )
        self._bar.update(1)

    def write(self, line: str) -> None:
        if self._bar is not None:
            tqdm.write(line, file=sys.stderr)
        else:
            click.echo(line, err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _described(source: str, message: str) -> str:
    return message if source in message else f"{source}: {message}"


def _make_executor(
    executor: str,
    config: WorkerConfig,
    workers: int,
    ray_address: str | None,
    gpus_per_worker: float,
) -> Executor:
    if executor == "ray":
        from yuyin.batch.ray_executor import RayExecutor

        return RayExecutor(
            config, workers=workers, address=ray_address, gpus_per_worker=gpus_per_worker
        )
    if ray_address is not None:
        raise click.UsageError("--ray-address needs --executor ray")
    return LocalExecutor(config, workers=workers)


def _exit_code(summary: BatchSummary) -> int:
    if not summary.failed:
        return 0
    codes = {f.error.exit_code for f in summary.failed}
    return EXIT_PARTIAL if len(summary.failed) < summary.total or len(codes) > 1 else codes.pop()


@click.command(
    "batch",
    epilog=EXIT_CODES_HELP,
    short_help="Transcribe many files on worker processes or a Ray cluster (resumable).",
)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--executor",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: worker processes on this machine; ray: Ray actors (pip install 'yuyin[ray]').",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Models loaded at once (processes or Ray actors); --cpu-threads 0 splits the cores.",
)
@click.option(
    "--ray-address",
    default=None,
    help="auto (this machine's cluster), ray://HOST:10001 (Ray Client) or HOST:6379. "
    "Default: start a local Ray runtime.",
)
@click.option(
    "--gpus-per-worker",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="GPUs each Ray actor reserves (0.5 puts two on a GPU); use with --device cuda.",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Extra attempts per file after a failure, over all runs of this OUT folder.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line.")
@click.option(
    "--json",
    "json_output",
    is_flag=True,
    help="Print one JSON summary object on stdout (for scripts).",
)
def batch_command(
    inputs: tuple[str, ...],
    executor: str,
    workers: int,
    ray_address: str | None,
    gpus_per_worker: float,
    retries: int,
    quiet: bool,
    json_output: bool,
    **params: Any,
) -> None:
    """Transcribe INPUTS into --output-dir, resuming whatever an earlier run left undone.

    INPUTS are files, folders, globs, URLs, manifests (the `yuyin eval` formats: .jsonl,
    .csv, .tsv, Kaldi, audiofolder) or .txt/.lst files listing one path or URL per line.
    A journal in the output folder records every item: re-running the same command skips
    finished files and retries failed ones. yuyin-manifest.jsonl there lists each input
    with its text and output files (`yuyin eval --hyp OUT/yuyin-manifest.jsonl --ref ...`).

    URLs are downloaded once into the download cache. With --playlist each playlist URL,
    wherever it is named, becomes one item per entry (id `URL [N]`), so a re-run skips the
    finished entries. --cookies, --download-dir and --separate-vocals work as in
    `yuyin transcribe`; --quality, --embed-subtitles and --stems are `yuyin transcribe` only.

    \b
    Examples:
      yuyin batch archive/ -o out/ -m base -l zh-TW --workers 2
      yuyin batch urls.txt -o out/ --playlist                      # videos and playlists
      yuyin batch files.txt -o out/ --executor ray                 # local Ray runtime
      yuyin batch /mnt/shared/calls/ -o out/ --executor ray --ray-address ray://head:10001
    """
    media = MediaOptions(**{name: params.pop(name) for name in BATCH_MEDIA_PARAMS})
    topts, mopts, oopts = pop_options(params)
    validate_media_options(media)
    config = WorkerConfig(topts, mopts, media=media)
    expanded = expand_inputs(inputs, media=media, cache_dir=config.cache_dir)
    progress = _Progress(enabled=not quiet and not json_output)
    started = time.monotonic()
    pool = _make_executor(executor, config, workers, ray_address, gpus_per_worker)
    try:
        summary = run_batch(
            expanded,
            oopts.output_dir or ".",
            pool,
            output=oopts,
            retries=retries,
            on_plan=progress.plan,
            on_event=progress.event,
        )
    finally:
        progress.close()
        pool.close()
    elapsed = time.monotonic() - started
    if json_output:
        data = summary.to_dict()
        data.update(executor=executor, workers=workers, elapsed_seconds=round(elapsed, 3))
        echo_json(data)
    elif not quiet:
        for f in summary.failed:
            # A playlist entry's (or manifest row's) id says where the input came from.
            named = f"{f.id}: " if f.id and f.id != f.input and f.id not in f.error.message else ""
            click.echo(f"failed: {named}{_described(f.input, f.error.message)}", err=True)
        for hint in dict.fromkeys(f.error.hint for f in summary.failed if f.error.hint):
            click.echo(f"hint: {hint}", err=True)  # each once, however many items it concerns
        click.echo(
            f"{summary.succeeded} succeeded, {summary.skipped} skipped (done before), "
            f"{len(summary.failed)} failed; {summary.audio_seconds / 3600:.3f} audio hours "
            f"in {elapsed:.1f} s; manifest: {summary.manifest}",
            err=True,
        )
    sys.exit(_exit_code(summary))


batch_command.params[1:1] = _shared_params()
