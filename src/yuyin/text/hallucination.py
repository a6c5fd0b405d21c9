"""Whisper's phantom lines: text it writes over silence or music that nobody said.

Whisper learned from subtitled video, so on silence it tends to reproduce the credits and
sign-offs that end such videos. Two lists: lines that are never real speech in an ASR input
(subtitle credits) and short lines that are real when someone says them ("Thank you."), which
are dropped only when the decoder itself doubted there was speech.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_phantom", "normalize_for_match"]

# Subtitle credits and channel sign-offs; compared after `normalize_for_match`.
_ALWAYS = (
    "字幕由amara.org社群提供",
    "字幕由amara.org社区提供",
    "subtitles by the amara.org community",
    "請不吝點贊訂閱轉發打賞支持明鏡與點點欄目",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "請不吝點贊訂閱轉發打賞",
    "请不吝点赞订阅转发打赏",
    "字幕志願者李宗盛",
    "字幕志愿者李宗盛",
    "中文字幕志願者李宗盛",
    "中文字幕志愿者李宗盛",
    "thank you for watching",
    "thanks for watching",
    "thank you for watching please subscribe",
    "please subscribe to my channel",
    "thank you so much for watching",
    "謝謝觀看",
    "谢谢观看",
    "感謝觀看",
    "感谢观看",
    "訂閱我的頻道",
    "订阅我的频道",
)
_IF_DOUBTFUL = ("you", "thank you", "thanks", "bye", "okay", "謝謝", "谢谢", "嗯")
# Credits embed varying names and URLs; match their stable parts.
_PATTERNS = (
    re.compile(r"amara\.?org"),
    re.compile(r"^(中文)?字幕(由|制作|製作|志愿者|志願者|提供)"),
    re.compile(r"^(請|请)不吝(點|点)(贊|赞)"),
)

#: Decoder no-speech probability above which a short stock line counts as doubtful.
DOUBTFUL_NO_SPEECH_PROB = 0.3


def normalize_for_match(text: str) -> str:
    """Lower-case, NFKC-fold and strip punctuation and spaces, for comparing stock lines."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = (c for c in folded if c == "." or unicodedata.category(c)[0] in "LN")
    return "".join(kept).strip(".")


def is_phantom(text: str, *, no_speech_prob: float = 0.0, speech_evidence: bool = True) -> bool:
    """Whether a segment's text is one of Whisper's phantom lines and should be dropped.

    Args:
        text: the segment text.
        no_speech_prob: the decoder's probability that the window held no speech.
        speech_evidence: False when voice-activity detection found no speech under the
            segment; short stock lines are then dropped too.
    """
    key = normalize_for_match(text)
    if not key:
        return False
    if key in _ALWAYS_KEYS or any(p.search(key) for p in _PATTERNS):
        return True
    doubtful = no_speech_prob >= DOUBTFUL_NO_SPEECH_PROB or not speech_evidence
    return doubtful and key in _IF_DOUBTFUL_KEYS


_ALWAYS_KEYS = frozenset(normalize_for_match(line) for line in _ALWAYS)
_IF_DOUBTFUL_KEYS = frozenset(normalize_for_match(line) for line in _IF_DOUBTFUL)
