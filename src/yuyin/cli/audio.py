"""`yuyin audio`: inspect, convert, split, plot, generate, record, play and measure audio."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from yuyin.analysis import PLOT_KINDS, WHISPER_MEL_BANDS, SnrReport, plot_audio, save_figure, snr
from yuyin.audio import (
    AUDIO_FORMATS,
    SAMPLE_FORMATS,
    TONE_KINDS,
    convert_audio,
    generate_tone,
    levels,
    list_devices,
    load_audio,
    play,
    play_and_record,
    record,
    resample,
    split_audio,
    write_audio,
)
from yuyin.audio.levels import SILENCE_THRESHOLD_DBFS
from yuyin.audio.samples import RESAMPLE_QUALITIES
from yuyin.cli._common import EXIT_CODES_HELP, echo_json
from yuyin.errors import ConfigurationError, InputError

__all__ = ["audio_command"]


_SIZE_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6,
               "mib": 2**20, "g": 10**9, "gb": 10**9, "gib": 2**30}  # fmt: skip
_RATE_UNITS = {"": 1, "k": 10**3, "kbps": 10**3, "m": 10**6}


def _quantity(value: str | None, units: dict[str, int], examples: str) -> int | None:
    """A positive number with an optional unit suffix: 10MB, 25MiB, 500k, 64k."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", value)
    unit = match.group(2).lower() if match else ""
    if not match or unit not in units or float(match.group(1)) <= 0:
        raise click.BadParameter(f"{value!r} is not a positive amount like {examples}")
    return round(float(match.group(1)) * units[unit])


def _size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    return _quantity(value, _SIZE_UNITS, "10MB, 25MiB or 500k")


def _bitrate(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    return _quantity(value, _RATE_UNITS, "64k or 128000")


def _kinds(_ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    names = [n.strip().lower() for v in value for n in v.split(",") if n.strip()]
    if not names or "all" in names:
        return PLOT_KINDS
    bad = [n for n in names if n not in PLOT_KINDS]
    if bad:
        raise click.BadParameter(
            f"unknown kind(s) {', '.join(bad)}; choose from {', '.join(PLOT_KINDS)} or all"
        )
    return tuple(dict.fromkeys(names))


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def _num(value: float | None, digits: int = 3) -> float | None:
    """A JSON-safe number: rounded, and None for inf/NaN (JSON has no infinity)."""
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)


def _db(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if math.isfinite(value) else ("-inf" if value < 0 else "inf")


start_option = click.option(
    "--start",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="First second to use.",
)
end_option = click.option(
    "--end",
    type=click.FloatRange(min=0),
    default=None,
    help="Second to stop at. Default: the end.",
)
json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print one JSON object on stdout."
)


_F = TypeVar("_F", bound=Callable[..., Any])


def _rate_option(help_text: str, default: int | None = None) -> Callable[[_F], _F]:
    return click.option(
        "-r", "--sample-rate", type=click.IntRange(min=1), default=default,
        show_default=default is not None, help=help_text,
    )  # fmt: skip


def _channels_option(help_text: str, default: int | None = None) -> Callable[[_F], _F]:
    return click.option(
        "-c", "--channels", type=click.IntRange(min=1), default=default,
        show_default=default is not None, help=help_text,
    )  # fmt: skip


def _duration_option(help_text: str, default: float | None = None) -> Callable[[_F], _F]:
    return click.option(
        "-d", "--duration", type=click.FloatRange(min=0, min_open=True), default=default,
        show_default=default is not None, help=help_text,
    )  # fmt: skip


sample_format_option = click.option(
    "--sample-format",
    type=click.Choice(SAMPLE_FORMATS),
    default=None,
    help="Sample format of WAV (all) or FLAC (s16, s24) output. Default: the source's, or s16.",
)


@click.group(
    "audio",
    epilog=EXIT_CODES_HELP,
    short_help="Inspect, convert, split, plot, generate, record, play and measure audio.",
)
def audio_command() -> None:
    """Audio tools: info, convert, split, plot, tone, devices, record, play, snr.

    \b
    Examples:
      yuyin audio info talk.m4a --json
      yuyin audio convert talk.m4a talk16k.wav --sample-rate 16000 --channels 1
      yuyin audio split long.mp3 -o pieces/ --max-duration 55 --max-bytes 10MB
      yuyin audio plot talk.wav -o talk.png --kind waveform,mel,whisper --start 2 --end 4
      yuyin audio tone tone.wav --frequency 1000 --duration 2 --level-dbfs -6
      yuyin audio snr tone.wav recorded.wav --json
    """


@audio_command.command("info")
@click.argument("input_file", metavar="FILE")
@click.option(
    "--silence-threshold-dbfs",
    type=float,
    default=SILENCE_THRESHOLD_DBFS,
    show_default=True,
    help="20 ms frames quieter than this count as silence.",
)
@json_option
def info_command(input_file: str, silence_threshold_dbfs: float, json_output: bool) -> None:
    """Show what FILE holds: format, rate, channels, length, levels, clipping, silence."""
    loaded = load_audio(input_file, allow_empty=True)
    measured = levels(
        loaded.samples,
        loaded.sample_rate,
        bit_depth=loaded.bit_depth,
        silence_threshold_dbfs=silence_threshold_dbfs,
    )
    info = loaded.info
    data: dict[str, Any] = {
        "path": info.path,
        "container": info.container,
        "codec": info.codec,
        "sample_format": loaded.sample_format,
        "bit_depth": loaded.bit_depth,
        "sample_rate": loaded.sample_rate,
        "channels": loaded.channels,
        "samples": int(loaded.samples.shape[1]),
        "duration": _num(loaded.duration, 6),
        "has_video": info.has_video,
        "peak_dbfs": _num(measured.peak_dbfs, 2),
        "rms_dbfs": _num(measured.rms_dbfs, 2),
        "clipped_samples": measured.clipped_samples,
        "silence_ratio": _num(measured.silence_ratio, 4),
        "channel_peak_dbfs": [_num(v, 2) for v in measured.channel_peak_dbfs],
        "channel_rms_dbfs": [_num(v, 2) for v in measured.channel_rms_dbfs],
    }
    if json_output:
        echo_json(data)
        return
    bits = f", {loaded.bit_depth}-bit" if loaded.bit_depth else ""
    rows = [
        ("container", info.container + (" (has video)" if info.has_video else "")),
        ("codec", f"{info.codec} ({loaded.sample_format}{bits})"),
        ("sample rate", f"{loaded.sample_rate} Hz"),
        ("channels", str(loaded.channels)),
        ("duration", f"{loaded.duration:.3f} s ({data['samples']} samples)"),
        ("peak", f"{_db(measured.peak_dbfs)} dBFS"),
        ("RMS", f"{_db(measured.rms_dbfs)} dBFS"),
        ("clipped", f"{measured.clipped_samples} samples"),
        ("silence", f"{measured.silence_ratio:.1%} (below {silence_threshold_dbfs:g} dBFS)"),
    ]
    if loaded.channels > 1:
        for n, (peak, rms) in enumerate(
            zip(measured.channel_peak_dbfs, measured.channel_rms_dbfs, strict=True), start=1
        ):
            rows.append((f"channel {n}", f"peak {_db(peak)} dBFS, RMS {_db(rms)} dBFS"))
    click.echo(info.path)
    for key, value in rows:
        click.echo(f"  {key:<12} {value}")


@audio_command.command("convert")
@click.argument("input_file", metavar="INPUT")
@click.argument("output_file", metavar="OUTPUT")
@_rate_option("Output rate in Hz (resampled with soxr). Default: the input's.")
@_channels_option("Output channels (1 mixes down, 2 from mono copies). Default: the input's.")
@sample_format_option
@click.option(
    "--bitrate",
    callback=_bitrate,
    default=None,
    help="MP3/Opus bitrate, e.g. 64k. Default: the encoder's.",
)
@click.option(
    "--quality",
    type=click.Choice(RESAMPLE_QUALITIES),
    default="HQ",
    show_default=True,
    help="soxr resampling quality.",
)
@start_option
@end_option
@json_option
def convert_command(input_file: str, output_file: str, json_output: bool, **params: Any) -> None:
    """Convert INPUT (any media) to OUTPUT: .wav, .flac, .mp3, .opus or .ogg (Opus)."""
    # Flags are named after convert_audio's keyword arguments.
    written = convert_audio(input_file, output_file, **params)
    data = {
        "path": written.path,
        "codec": written.codec,
        "sample_rate": written.sample_rate,
        "channels": written.channels,
        "duration": _num(written.duration, 6),
        "bytes": Path(written.path).stat().st_size,
    }
    if json_output:
        echo_json(data)
    else:
        click.echo(
            f"wrote {written.path} ({written.codec}, {written.sample_rate} Hz, "
            f"{written.channels} ch, {written.duration:.3f} s, {data['bytes']} bytes)"
        )


@audio_command.command("split")
@click.argument("input_file", metavar="INPUT")
@click.option(
    "-o",
    "--output-dir",
    default=".",
    show_default=True,
    help="Folder for the pieces and INPUT-STEM.manifest.json.",
)
@click.option(
    "--max-duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Longest piece in seconds (e.g. 30 or 55).",
)
@click.option(
    "--max-bytes",
    callback=_size,
    default=None,
    help="Largest piece file, e.g. 10MB, 25MiB or 500k.",
)
@click.option(
    "--overlap",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds each piece repeats of the one before.",
)
@click.option(
    "--search-duration",
    type=click.FloatRange(min=0),
    default=None,
    help="Look this many seconds back from each limit for silence to cut in. "
    "Default: a quarter of --max-duration, at most 5.",
)
@click.option(
    "-f",
    "--format",
    "audio_format",
    type=click.Choice(AUDIO_FORMATS),
    default="wav",
    show_default=True,
    help="Format of the pieces.",
)
@_rate_option("Rate of the pieces in Hz. Default: the input's.")
@_channels_option("Channels of the pieces. Default: the input's.")
@sample_format_option
@click.option("--bitrate", callback=_bitrate, default=None, help="MP3/Opus bitrate, e.g. 64k.")
@click.option(
    "--stem", default=None, help="Name stem of the pieces and manifest. Default: INPUT's."
)
@json_option
def split_command(input_file: str, json_output: bool, **params: Any) -> None:
    """Cut INPUT into pieces within --max-duration and/or --max-bytes, cutting in silence.

    The manifest lists each piece with its offset in INPUT (seconds), so the transcripts
    of the pieces can be shifted back onto one timeline.
    """
    # Flags are named after split_audio's keyword arguments.
    result = split_audio(input_file, **params)
    if json_output:
        echo_json(
            {
                "manifest": str(result.manifest),
                "duration": _num(result.duration, 6),
                "pieces": [
                    {
                        "file": str(result.manifest.parent / p.file),
                        "offset": p.offset,
                        "duration": p.duration,
                        "bytes": p.bytes,
                    }
                    for p in result.pieces
                ],
            }
        )
        return
    for piece in result.pieces:
        click.echo(
            f"{result.manifest.parent / piece.file}  offset {piece.offset:.3f} s  "
            f"duration {piece.duration:.3f} s  {piece.bytes} bytes"
        )
    click.echo(f"wrote {len(result.pieces)} pieces and {result.manifest}", err=True)


@audio_command.command("plot")
@click.argument("input_file", metavar="INPUT")
@click.option("-o", "--output", required=True, help="PNG file to write (FILE.png).")
@click.option(
    "-k",
    "--kind",
    "kinds",
    multiple=True,
    callback=_kinds,
    help="Panels, comma-separated or repeated: " + ", ".join(PLOT_KINDS) + " or all. Default: all.",
)
@start_option
@end_option
@click.option(
    "--separate",
    is_flag=True,
    help="One file per kind: OUTPUT-STEM_KIND.png instead of one figure.",
)
@click.option(
    "--whisper-mels",
    type=click.Choice([str(n) for n in WHISPER_MEL_BANDS]),
    default="80",
    show_default=True,
    help="Mel bands of the whisper panel: 80 (tiny..large-v2), 128 (large-v3).",
)
@click.option(
    "--dpi",
    type=click.IntRange(min=20, max=600),
    default=100,
    show_default=True,
    help="Resolution of the PNG.",
)
def plot_command(
    input_file: str,
    output: str,
    kinds: tuple[str, ...],
    start: float,
    end: float | None,
    separate: bool,
    whisper_mels: str,
    dpi: int,
) -> None:
    """Draw INPUT as PNG: waveform, spectrum, spectrogram, mel, MFCC, Whisper's log-mel.

    Stereo files get one panel per channel; the whisper panel shows the mono mix at
    16 kHz, as the model hears it.
    """
    target = Path(output)
    if target.suffix.lower() != ".png":
        raise ConfigurationError(
            f"plots are written as PNG, so {output!r} should end in .png",
            hint="e.g. -o plot.png",
        )
    loaded = load_audio(input_file, start=start, end=end)
    groups = [(k,) for k in kinds] if separate else [kinds]
    for group in groups:
        path = target.with_name(f"{target.stem}_{group[0]}{target.suffix}") if separate else target
        figure = plot_audio(
            loaded.samples,
            loaded.sample_rate,
            kinds=group,
            start=loaded.start,
            title=Path(input_file).name,
            whisper_mels=int(whisper_mels),
        )
        click.echo(f"wrote {save_figure(figure, path, dpi=dpi)}", err=True)


@audio_command.command("tone")
@click.argument("output_file", metavar="OUTPUT")
@click.option(
    "-k",
    "--kind",
    type=click.Choice(TONE_KINDS),
    default="sine",
    show_default=True,
    help="Signal: sine, logarithmic sweep, white or pink noise, silence.",
)
@click.option(
    "--frequency",
    type=float,
    default=1000.0,
    show_default=True,
    help="Sine frequency, or where the sweep starts, in Hz.",
)
@click.option(
    "--end-frequency",
    type=float,
    default=None,
    help="Where the sweep ends, in Hz. Default: 0.45 x the sample rate.",
)
@_duration_option("Length in seconds.", default=2.0)
@_rate_option("Rate in Hz.", default=48000)
@_channels_option("Identical channels.", default=1)
@click.option(
    "--level-dbfs",
    type=click.FloatRange(max=0),
    default=None,
    help="Peak level of sine/sweep, RMS level of noise. Default: -6 peak, -20 RMS for noise.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Noise seed.")
@sample_format_option
@json_option
def tone_command(
    output_file: str, kind: str, sample_format: str | None, json_output: bool, **params: Any
) -> None:
    """Write a test signal to OUTPUT (.wav, .flac, .mp3, .opus)."""
    # Flags are named after generate_tone's keyword arguments.
    samples = generate_tone(kind, **params)
    sample_rate, channels = params["sample_rate"], params["channels"]
    path = write_audio(output_file, samples, sample_rate, sample_format=sample_format)
    seconds = samples.shape[1] / sample_rate
    measured = levels(samples, sample_rate)
    if json_output:
        echo_json(
            {
                "path": str(path),
                "kind": kind,
                "sample_rate": sample_rate,
                "channels": channels,
                "duration": _num(seconds, 6),
                "peak_dbfs": _num(measured.peak_dbfs, 2),
                "rms_dbfs": _num(measured.rms_dbfs, 2),
            }
        )
    else:
        click.echo(f"wrote {path} ({kind}, {sample_rate} Hz, {channels} ch, {seconds:g} s)")


@audio_command.command("devices")
@json_option
def devices_command(json_output: bool) -> None:
    """List sound cards (PortAudio); says so when there are none."""
    found = list_devices()
    if json_output:
        echo_json(
            {
                "devices": [
                    {
                        "index": d.index,
                        "name": d.name,
                        "host_api": d.host_api,
                        "max_input_channels": d.max_input_channels,
                        "max_output_channels": d.max_output_channels,
                        "default_sample_rate": d.default_sample_rate,
                        "default_input": d.is_default_input,
                        "default_output": d.is_default_output,
                    }
                    for d in found
                ]
            }
        )
        return
    if not found:
        click.echo("no audio devices found", err=True)
        return
    for d in found:
        marks = [
            m
            for m, on in (
                ("default input", d.is_default_input),
                ("default output", d.is_default_output),
            )
            if on
        ]
        click.echo(
            f"{d.index:>3}  {d.name}  ({d.host_api}; in {d.max_input_channels}, "
            f"out {d.max_output_channels}, {d.default_sample_rate:g} Hz)"
            + (f"  [{', '.join(marks)}]" if marks else "")
        )


@audio_command.command("record")
@click.argument("output_file", metavar="OUTPUT")
@_duration_option("Seconds to record. Default: until Ctrl-C.")
@_rate_option("Rate in Hz.", default=16000)
@_channels_option("Input channels.", default=1)
@click.option("--device", default=None, help="Device number or name. Default: the default input.")
@sample_format_option
@json_option
def record_command(
    output_file: str,
    duration: float | None,
    sample_rate: int,
    channels: int,
    device: str | None,
    sample_format: str | None,
    json_output: bool,
) -> None:
    """Record from a microphone to OUTPUT (.wav, .flac...) for --duration or until Ctrl-C."""
    if duration is None:
        click.echo("recording... press Ctrl-C to stop", err=True)
    samples = record(
        duration=duration, sample_rate=sample_rate, channels=channels, device=_device(device)
    )
    if samples.shape[1] == 0:
        raise InputError("nothing was recorded", hint="record for longer before stopping")
    path = write_audio(output_file, samples, sample_rate, sample_format=sample_format)
    seconds = samples.shape[1] / sample_rate
    if json_output:
        echo_json(
            {
                "path": str(path),
                "sample_rate": sample_rate,
                "channels": channels,
                "duration": _num(seconds, 6),
            }
        )
    else:
        click.echo(f"wrote {path} ({seconds:.2f} s, {sample_rate} Hz, {channels} ch)")


@audio_command.command("play")
@click.argument("input_file", metavar="INPUT")
@click.option("--device", default=None, help="Device number or name. Default: the default output.")
@start_option
@end_option
def play_command(input_file: str, device: str | None, start: float, end: float | None) -> None:
    """Play INPUT (any media) on a sound card."""
    loaded = load_audio(input_file, start=start, end=end)
    play(loaded.samples, loaded.sample_rate, device=_device(device))


@audio_command.command("snr")
@click.argument("reference", required=False)
@click.argument("captured", required=False)
@click.option(
    "--loopback",
    is_flag=True,
    help="Play REFERENCE (default: a 2 s 1 kHz tone) and record it at the same time.",
)
@click.option("--device", default=None, help="Loopback device number or name.")
@click.option(
    "--max-delay-ms",
    type=click.FloatRange(min=0),
    default=None,
    help="Largest delay searched either way, in ms. Default: any.",
)
@click.option("--save-capture", default=None, help="With --loopback: also write the recording.")
@json_option
def snr_command(
    reference: str | None,
    captured: str | None,
    loopback: bool,
    device: str | None,
    max_delay_ms: float | None,
    save_capture: str | None,
    json_output: bool,
) -> None:
    """Measure CAPTURED against REFERENCE: delay, gain, SNR, and THD+N for tones.

    The capture is aligned to the reference by cross-correlation first, so device or
    codec latency shows up as the delay, not as noise.
    """
    max_delay = None if max_delay_ms is None else max_delay_ms / 1000
    if loopback:
        if captured is not None:
            raise ConfigurationError(
                "--loopback records the capture itself", hint="pass only REFERENCE (or nothing)"
            )
        if reference is None:
            rate = 48000
            ref = generate_tone("sine", frequency=1000.0, duration=2.0, sample_rate=rate)
        else:
            loaded = load_audio(reference)
            ref, rate = loaded.samples, loaded.sample_rate
        cap = play_and_record(ref, rate, device=_device(device))
        if save_capture:
            write_audio(save_capture, cap, rate)
        report = snr(ref, cap, rate, max_delay=max_delay)
    else:
        if reference is None or captured is None:
            raise ConfigurationError(
                "snr needs REFERENCE and CAPTURED", hint="or use --loopback to record one"
            )
        ref_audio, cap_audio = load_audio(reference), load_audio(captured)
        rate = ref_audio.sample_rate
        cap = resample(cap_audio.samples, cap_audio.sample_rate, rate)
        report = snr(ref_audio.samples, cap, rate, max_delay=max_delay)
    _report_snr(report, reference, captured, json_output)


def _report_snr(
    report: SnrReport, reference: str | None, captured: str | None, json_output: bool
) -> None:
    if json_output:
        echo_json(
            {
                "reference": reference,
                "captured": captured,
                "sample_rate": report.sample_rate,
                "delay_samples": report.delay_samples,
                "delay_ms": _num(report.delay_ms),
                "correlation": _num(report.correlation, 4),
                "gain": _num(report.gain, 6),
                "gain_db": _num(report.gain_db, 2),
                "snr_db": _num(report.snr_db, 2),
                "compared_seconds": _num(report.compared),
                "thd_n_db": _num(report.thd_n_db, 2),
                "fundamental_hz": _num(report.fundamental_hz, 3),
            }
        )
        return
    click.echo(f"delay    {report.delay_ms:.3f} ms ({report.delay_samples} samples)")
    click.echo(f"gain     {_db(report.gain_db)} dB" + (" (inverted)" if report.gain < 0 else ""))
    click.echo(f"SNR      {_db(report.snr_db)} dB over {report.compared:.2f} s")
    if report.thd_n_db is not None and report.fundamental_hz is not None:
        click.echo(f"THD+N    {_db(report.thd_n_db)} dB at {report.fundamental_hz:.2f} Hz")
