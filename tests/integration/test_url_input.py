"""Direct media URLs are streamed by FFmpeg; tested against a real HTTP server on loopback."""

from __future__ import annotations

import pytest

import yuyin


def test_url_transcribes_like_the_file(media_server, tmp_path):
    engine = yuyin.load_engine(yuyin.ModelOptions(model="tiny.en"))
    (result,) = yuyin.transcribe_files(
        [f"{media_server}/en.mp3"],
        engine=engine,
        output=yuyin.OutputOptions(output_format=("txt",), output_dir=str(tmp_path)),
    )
    assert result.ok, result.error
    assert result.outputs == {"txt": str(tmp_path / "en.txt")}
    assert "morning" in (tmp_path / "en.txt").read_text().lower()


def test_missing_url_is_a_clear_input_error(media_server):
    with pytest.raises(yuyin.AudioDecodeError, match="cannot read media") as info:
        yuyin.decode_audio(f"{media_server}/nothing-here.wav")
    assert "download it" in info.value.hint
