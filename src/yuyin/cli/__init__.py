"""The `yuyin` command: one subcommand per module, like git."""

from __future__ import annotations

import click

from yuyin import __version__
from yuyin.cli._common import YuyinGroup, configure_logging
from yuyin.cli.audio import audio_command
from yuyin.cli.batch import batch_command
from yuyin.cli.bench import bench_command
from yuyin.cli.doctor import doctor_command
from yuyin.cli.emotion import emotion_command
from yuyin.cli.engines import engines_command
from yuyin.cli.eval import eval_command
from yuyin.cli.finetune import finetune_command
from yuyin.cli.google import google_command
from yuyin.cli.models import models_command
from yuyin.cli.serve import serve_command
from yuyin.cli.stream import stream_command
from yuyin.cli.stream_server import stream_server_command
from yuyin.cli.transcribe import transcribe_command

__all__ = ["main"]

CONTEXT = {
    "help_option_names": ["-h", "--help"],
    "auto_envvar_prefix": "YUYIN",
    "show_default": True,
    "max_content_width": 100,
}


@click.group(cls=YuyinGroup, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="yuyin")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """yuyin (語音): speech to text with Whisper, in English and Chinese, offline.

    Every option can also be set in the environment as YUYIN_<COMMAND>_<OPTION>,
    e.g. YUYIN_TRANSCRIBE_MODEL=tiny.en; a flag on the command line wins.
    """
    configure_logging(verbose)


main.add_command(transcribe_command)
main.add_command(models_command)
main.add_command(doctor_command)
main.add_command(engines_command)
main.add_command(eval_command)
main.add_command(finetune_command)
main.add_command(audio_command)
main.add_command(serve_command)
main.add_command(stream_command)
main.add_command(stream_server_command)
main.add_command(google_command)
main.add_command(batch_command)
main.add_command(emotion_command)
main.add_command(bench_command)
