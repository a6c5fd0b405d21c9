"""`yuyin transcribe`: files, folders, globs, URLs or stdin to txt/srt/vtt/tsv/json."""

from __future__ import annotations

import dataclasses
import sys
import time
from typing import Any

import click
from tqdm import tqdm

from yuyin.audio import probe_audio
from yuyin.cli._common import EXIT_CODES_HELP, EXIT_PARTIAL, echo_json, error_dict, report_error
from yuyin.cli._options import pop_options
from yuyin.engines.registry import ENGINES
from yuyin.errors import YuyinError
from yuyin.media import MediaOptions, is_url
from yuyin.media.options import (
    QUALITIES,
    SEPARATORS,
    STEM_FORMATS,
    SUBTITLE_CODECS,
    VIDEO_CONTAINERS,
)
from yuyin.options import (
    DEFAULT_TEMPERATURES,
    OUTPUT_FORMATS,
    ModelOptions,
    TranscribeOptions,
    VadOptions,
)
from yuyin.transcribe import FileResult, transcribe_files
from yuyin.types import Segment

__all__ = ["CLI_ONLY_PARAMS", "MEDIA_PARAMS", "transcribe_command"]

_MO = MediaOptions()

#: Flags that map one-to-one to `MediaOptions` fields (tests/unit/test_media_options.py).
MEDIA_PARAMS = frozenset(f.name for f in dataclasses.fields(MediaOptions))
#: Parameters that steer the command itself rather than map to a Transcribe/Model/Output
#: option field (the media flags map to MediaOptions instead).
CLI_ONLY_PARAMS = frozenset({"inputs", "quiet", "json_output"}) | MEDIA_PARAMS

_T = TranscribeOptions()
_V = VadOptions()
_M = ModelOptions()


def _floats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter("expected numbers separated by commas, e.g. 0,0.2,0.4") from None


def _formats(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    names = [v.strip().lower() for v in value.split(",") if v.strip()]
    if "all" in names:
        return OUTPUT_FORMATS
    bad = [n for n in names if n not in OUTPUT_FORMATS]
    if bad or not names:
        raise click.BadParameter(
            f"unknown format(s) {', '.join(bad) or '(none)'}; choose from "
            f"{', '.join(OUTPUT_FORMATS)} or all"
        )
    return tuple(dict.fromkeys(names))


def _none_if_negative(
    _ctx: click.Context, _param: click.Parameter, value: float | None
) -> float | None:
    return None if value is None or value < 0 else value


@click.command(
    "transcribe",
    epilog=EXIT_CODES_HELP,
    short_help="Transcribe audio/video files to text and subtitles.",
)
@click.argument("inputs", nargs=-1, required=True)
@click.option("-m", "--model", default=_M.model, show_default=True,
              help="Embedded model (base, tiny.en), a local model folder, or a hub name "
              "(small, large-v3) downloaded once. `yuyin models` lists them.")
@click.option("--engine", default=_M.engine, show_default=True,
              help="Recogniser: " + ", ".join(ENGINES) + ". `yuyin engines` lists what each "
              "runs on and the extra it needs.")
@click.option("--base-url", default=None,
              help="API root for --engine openai, e.g. http://127.0.0.1:8000/v1 (default: "
              "OpenAI's); gRPC endpoint for --engine google (default: regional).")
@click.option("--api-key", default=None, envvar="OPENAI_API_KEY", show_envvar=True,
              help="Key for --engine openai.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=_M.device,
              show_default=True, help="auto uses CUDA when a GPU is usable, else the CPU.")
@click.option("--device-index", type=int, default=_M.device_index, show_default=True,
              help="GPU number when --device cuda.")
@click.option("--compute-type", default=_M.compute_type, show_default=True,
              help="auto (float16 on CUDA, int8 on CPU), float32, float16, bfloat16, int8, "
              "int8_float16, int8_float32...")
@click.option("--cpu-threads", type=int, default=_M.cpu_threads, show_default=True,
              help="CPU threads per model replica (0: CTranslate2 decides).")
@click.option("--num-workers", type=int, default=_M.num_workers, show_default=True,
              help="Model replicas for parallel decoding from several threads.")
@click.option("-l", "--language", default=None,
              help="Language code or name (en, zh, english...); zh-TW for Traditional and "
              "zh-CN for Simplified Chinese. Default: detect.")
@click.option("--zh-script", type=click.Choice(["traditional", "simplified"]), default=None,
              help="Force the script of Chinese output (traditional uses Taiwan phrasing).")
@click.option("--task", type=click.Choice(["transcribe", "translate"]), default=_T.task,
              show_default=True, help="translate writes English whatever is spoken.")
@click.option("--beam-size", type=int, default=_T.beam_size, show_default=True,
              help="Beam-search width (1 = greedy, fastest).")
@click.option("--best-of", type=int, default=_T.best_of, show_default=True,
              help="Candidates sampled at temperatures above 0.")
@click.option("--patience", type=float, default=_T.patience, show_default=True,
              help="Beam-search patience factor.")
@click.option("--temperature", default=",".join(f"{t:g}" for t in DEFAULT_TEMPERATURES),
              callback=_floats, show_default=True,
              help="Temperatures tried in order when a decode fails the thresholds below.")
@click.option("--compression-ratio-threshold", type=float,
              default=_T.compression_ratio_threshold, callback=_none_if_negative,
              show_default=True, help="Retry when text compresses better than this "
              "(repetition); negative disables.")
@click.option("--log-prob-threshold", type=float, default=_T.log_prob_threshold,
              show_default=True, help="Retry when the mean token log-probability is below this.")
@click.option("--no-speech-threshold", type=float, default=_T.no_speech_threshold,
              callback=_none_if_negative, show_default=True,
              help="Skip a window whose no-speech probability is above this; negative disables.")
@click.option("--condition-on-previous-text/--no-condition-on-previous-text",
              default=_T.condition_on_previous_text, show_default=True,
              help="Prompt each window with the previous text (turn off if output loops).")
@click.option("--initial-prompt", default=None,
              help="Text priming vocabulary and style, e.g. names or 繁體中文 punctuation.")
@click.option("--hotwords", default=None, help="Words or phrases to favour.")
@click.option("--word-timestamps/--no-word-timestamps", default=_T.word_timestamps,
              show_default=True, help="Time every word (every character in Chinese).")
@click.option("--vad/--no-vad", default=None,
              help="Gate decoding with Silero VAD. Default: on for inputs of "
              "--vad-min-duration or longer; shorter inputs are only checked for speech.")
@click.option("--vad-min-duration", type=float, default=_T.vad_min_duration, show_default=True,
              help="Input length (s) from which VAD gating is on by default.")
@click.option("--vad-threshold", type=float, default=_V.threshold, show_default=True,
              help="Speech probability threshold of the VAD.")
@click.option("--vad-min-speech-duration-ms", type=int, default=_V.min_speech_duration_ms,
              show_default=True, help="Drop speech chunks shorter than this.")
@click.option("--vad-max-speech-duration-s", type=float, default=_V.max_speech_duration_s,
              show_default=True, help="Split speech chunks longer than this.")
@click.option("--vad-min-silence-duration-ms", type=int, default=_V.min_silence_duration_ms,
              show_default=True, help="Silence that ends a speech chunk.")
@click.option("--vad-speech-pad-ms", type=int, default=_V.speech_pad_ms, show_default=True,
              help="Padding kept around each speech chunk.")
@click.option("--batch-size", type=int, default=_T.batch_size, show_default=True,
              help="0 decodes sequentially; N > 0 batches N speech chunks (faster on long "
              "files; uses VAD).")
@click.option("--keep-hallucinations", is_flag=True, default=False,
              help="Keep phantom lines Whisper writes on silence (subtitle credits, "
              "'Thank you for watching').")
@click.option("--hallucination-silence-threshold", type=float, default=None,
              help="Skip silences longer than this (s) around suspected hallucinations.")
@click.option("-f", "--output-format", default="all", callback=_formats, show_default=True,
              help="Comma-separated: txt, srt, vtt, tsv, json, or all.")
@click.option("-o", "--output-dir", default=None,
              help="Folder for output files. Default: beside each input (stdin: current folder).")
@click.option("--max-line-width", type=click.IntRange(min=1), default=None,
              help="Wrap subtitle lines at this many columns (a CJK character is 2).")
@click.option("--max-line-count", type=click.IntRange(min=1), default=None,
              help="Lines per subtitle cue (with --max-line-width).")
@click.option("--highlight-words", is_flag=True, default=False,
              help="Karaoke-style subtitles underlining each word as it is spoken.")
@click.option("--quality", type=click.Choice(QUALITIES), default=_MO.quality,
              help="Download the video of URLs too: low (≤360p), good (≤720p) or best. "
              "Default: audio only (good with --embed-subtitles).")
@click.option("--cookies", type=click.Path(dir_okay=False), default=_MO.cookies,
              help="cookies.txt (Netscape format) for sign-in or age-gated videos.")
@click.option("--playlist", is_flag=True, default=_MO.playlist,
              help="Transcribe every entry of a playlist URL (without it a playlist is an "
              "error); one failed entry does not stop the others.")
@click.option("--download-dir", default=_MO.download_dir,
              help="Download cache: each URL is downloaded once (per quality). Default: "
              "downloads/ in the model cache ($YUYIN_CACHE_DIR or ~/.cache/yuyin).")
@click.option("--embed-subtitles", is_flag=True, default=_MO.embed_subtitles,
              help="Also write NAME.subtitled.mp4/.mkv: a copy of the video with the "
              "transcript as a selectable subtitle track (no re-encoding).")
@click.option("--subtitle-codec", type=click.Choice(SUBTITLE_CODECS),
              default=_MO.subtitle_codec, show_default=True,
              help="Track format: mov_text (MP4), srt or ass (MKV); auto picks by container.")
@click.option("--subtitle-language", default=_MO.subtitle_language,
              help="Language tag of the track (en, eng, zh, chi...). Default: the "
              "transcript's language.")
@click.option("--video-container", type=click.Choice(VIDEO_CONTAINERS),
              default=_MO.video_container, show_default=True,
              help="Container of the subtitled copy: auto keeps MP4 as MP4 and writes the "
              "rest as MKV.")
@click.option("--burn-in", is_flag=True, default=_MO.burn_in,
              help="Also write NAME.burned.mp4/.mkv: a copy of the video with the subtitles "
              "drawn into the picture (video re-encoded with H.264, audio copied).")
@click.option("--subtitle-font", type=click.Path(dir_okay=False), default=_MO.subtitle_font,
              help="Font file for --burn-in (.ttf/.otf/.ttc). Default: the first installed "
              "font with every character (DejaVu Sans, then Noto CJK / WenQuanYi for CJK).")
@click.option("--separate-vocals", is_flag=True, default=_MO.separate_vocals,
              help="Separate the voice from music before recognition (for songs, videos "
              "with background music).")
@click.option("--separator", type=click.Choice(SEPARATORS), default=_MO.separator,
              show_default=True,
              help="light needs no weights; demucs (htdemucs) needs `pip install demucs` "
              "and its weights on disk; auto uses demucs when it can.")
@click.option("--demucs-model", type=click.Path(), default=_MO.demucs_model,
              help="htdemucs weights file (955717e8-8726e21a.th) or its folder. Default: "
              "the torch hub cache.")
@click.option("--stems", type=click.Path(file_okay=False), default=_MO.stems,
              help="Folder to write the separated stems to (NAME.vocals.wav, "
              "NAME.accompaniment.wav), 16 kHz mono.")
@click.option("--stems-format", type=click.Choice(STEM_FORMATS), default=_MO.stems_format,
              show_default=True, help="Audio format of --stems.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no transcript on stdout.")
@click.option("--json", "json_output", is_flag=True,
              help="Print one JSON summary object on stdout (for scripts).")
def transcribe_command(inputs: tuple[str, ...], quiet: bool, json_output: bool,
                       **params: Any) -> None:
    """Transcribe INPUTS (files, folders, globs, URLs, or - for stdin) with Whisper.

    URLs: direct media links, and YouTube (watch, shorts, youtu.be) and other sites with
    the `media` extra (yt-dlp). Downloads are cached, so a URL is fetched once.

    \b
    Examples:
      yuyin transcribe talk.mp4                       # all formats beside talk.mp4
      yuyin transcribe meeting.m4a -l zh-TW -f srt,txt  # Traditional Chinese subtitles
      yuyin transcribe recordings/ -o out/ --json     # a folder, summary for scripts
      cat a.wav | yuyin transcribe - -m tiny.en       # standard input
      yuyin transcribe https://youtu.be/ID -f srt     # a YouTube video (audio only)
      yuyin transcribe clip.mp4 --embed-subtitles     # + clip.subtitled.mp4
      yuyin transcribe clip.mp4 --burn-in             # + clip.burned.mp4
      yuyin transcribe song.mp3 --separate-vocals --stems stems/
    """
    # Flags are named after option fields (VadOptions' with a `vad-` prefix); unit tests
    # keep the two in step.
    media = MediaOptions(**{name: params.pop(name) for name in MEDIA_PARAMS})
    topts, mopts, oopts = pop_options(params)

    show = not quiet and not json_output
    progress = _Progress(enabled=not quiet and not json_output)

    def on_done(result: FileResult) -> None:
        progress.close()
        if result.error is not None:
            named = result.input in result.error.message
            report_error(result.error, prefix="" if named else f"{result.input}: ")
        elif show:
            for path in result.outputs.values():
                click.echo(f"wrote {path}", err=True)

    def on_segment(segment: Segment) -> None:
        progress.advance(segment.end)
        if show:
            progress.write(f"[{_clock(segment.start)} --> {_clock(segment.end)}] "
                           f"{segment.text.strip()}")

    results = transcribe_files(
        inputs,
        options=topts,
        model_options=mopts,
        output=oopts,
        on_start=progress.start,
        on_segment=on_segment,
        on_done=on_done,
        media=media,
        on_download=progress.download,
        on_burn=progress.burn,
    )
    failed = [r for r in results if not r.ok]
    if json_output:
        echo_json(_summary(results))
    elif len(results) > 1:
        click.echo(f"{len(results) - len(failed)} succeeded, {len(failed)} failed", err=True)
    if failed:
        codes = {r.error.exit_code for r in failed if r.error is not None}
        sys.exit(EXIT_PARTIAL if len(failed) < len(results) or len(codes) > 1 else codes.pop())


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60.0)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours:d}:" if hours else "") + f"{minutes:02d}:{secs:06.3f}"


def _summary(results: list[FileResult]) -> dict[str, Any]:
    files = []
    for r in results:
        entry: dict[str, Any] = {"input": r.input, "ok": r.ok, "outputs": r.outputs}
        if r.transcript is not None:
            entry.update(language=r.transcript.language, duration=round(r.transcript.duration, 3),
                         segments=len(r.transcript.segments), text=r.transcript.text)
        if r.error is not None:
            entry["error"] = error_dict(r.error)
        files.append(entry)
    ok = sum(r.ok for r in results)
    return {"succeeded": ok, "failed": len(results) - ok,
            "audio_seconds": round(sum(r.transcript.duration for r in results
                                       if r.transcript is not None), 3),
            "files": files}


class _Progress:
    """A per-file progress bar on stderr: audio seconds done / total and speed × real time."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: tqdm[Any] | None = None
        self._download: tqdm[Any] | None = None
        self._burn: tqdm[Any] | None = None
        self._started = 0.0

    def start(self, item: str) -> None:
        if not self.enabled:
            return
        total: float | None = None
        if item != "-" and not is_url(item.split(" [", 1)[0]):
            try:
                total = round(probe_audio(item).duration, 1) or None
            except YuyinError:
                total = None  # the real decode reports the error
        self._bar = tqdm(total=total, desc=item[-40:], unit="s", file=sys.stderr, leave=False,
                         bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s "
                         "[{elapsed}<{remaining}{postfix}]")
        self._started = time.monotonic()

    def download(self, done: int, total: int | None) -> None:
        """Show download progress in bytes (URLs), before the audio-seconds bar takes over."""
        if not self.enabled:
            return
        if self._download is None:
            self._download = tqdm(total=total, desc="download", unit="B", unit_scale=True,
                                  unit_divisor=1024, file=sys.stderr, leave=False)
        if total and self._download.total != total:
            self._download.total = total
        self._download.update(max(0, done - self._download.n))
        if total and done >= total:
            self._download.close()
            self._download = None

    def burn(self, done: float, total: float | None) -> None:
        """Show the re-encoding of --burn-in in video seconds (after recognition)."""
        if not self.enabled:
            return
        if self._burn is None:
            self._burn = tqdm(total=round(total, 1) if total else None, desc="burn-in",
                              unit="s", file=sys.stderr, leave=False,
                              bar_format="{desc} {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s "
                              "[{elapsed}<{remaining}]")
        self._burn.update(max(0.0, round(done, 1) - self._burn.n))

    def advance(self, position: float) -> None:
        if self._bar is None:
            return
        self._bar.update(max(0.0, round(position, 1) - self._bar.n))
        elapsed = time.monotonic() - self._started
        if elapsed > 0:
            self._bar.set_postfix_str(f"{position / elapsed:.1f}x real time", refresh=False)

    def write(self, line: str) -> None:
        if self._bar is not None:
            tqdm.write(line, file=sys.stdout)
        else:
            click.echo(line)

    def close(self) -> None:
        if self._download is not None:
            self._download.close()
            self._download = None
        if self._burn is not None:
            self._burn.close()
            self._burn = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None
