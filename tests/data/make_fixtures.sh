#!/usr/bin/env bash
# Regenerate every audio/video test fixture in tests/data/ (see README.md there).
#
#   bash tests/data/make_fixtures.sh
#
# Needs espeak-ng, sox and ffmpeg; they are installed with apt-get only if one
# of them is missing. Output is deterministic for a given set of tool versions
# (sox runs with -R, ffmpeg with bitexact flags and stripped metadata).
set -euo pipefail

# --------------------------------------------------------------------------
# Texts. They were chosen by transcribing the generated speech with the
# English-only tiny model and the multilingual base model (see README.md).
# --------------------------------------------------------------------------
EN_VOICE="en-us"
EN_RATE=150
EN_LONG_RATE=145
EN_TEXT="I like to read a good book in the morning. It makes me happy and ready for the day."
EN_SHORT_TEXT="I like to read a good book."   # for the (large) stereo 44.1 kHz WAV
EN_LONG_TEXT="The sun is warm today. We are going to the park to play with the children. \
My mother made a big cake for the family. We ate it after dinner and it was very good. \
The dog is sleeping in the garden under a tree. The birds are singing and the sky is blue. \
In the evening we read a book and then we go to bed."

ZH_VOICE="cmn-latn-pinyin"
ZH_RATE=160
ZH_PINYIN="wo3 men5 yi4 qi3 qu4 gong1 yuan2. wo3 men5 yi4 qi3 qu4 xue2 xiao4."
ZH_TEXT="我們一起去公園。我們一起去學校。"

NONSPEECH_SECONDS=3

# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------
need_install=0
for tool in espeak-ng sox soxi ffmpeg ffprobe; do
    command -v "$tool" >/dev/null 2>&1 || need_install=1
done
if [[ $need_install == 1 ]]; then
    echo "make_fixtures: installing espeak-ng, sox, ffmpeg with apt-get" >&2
    SUDO=""
    if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
    $SUDO apt-get update
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y espeak-ng sox ffmpeg
fi

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$OUT"

SOX=(sox -R -D -V1)            # repeatable (fixed seeds), no dither, quiet
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
FFX=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact)

# speak VOICE RATE TEXT OUT.wav -> 16 kHz mono s16 WAV
speak() {
    espeak-ng -v "$1" -s "$2" -w "$TMP/espeak.wav" "$3"
    "${SOX[@]}" "$TMP/espeak.wav" -r 16000 -c 1 -b 16 -e signed-integer "$4"
}

# --------------------------------------------------------------------------
# Speech
# --------------------------------------------------------------------------
speak "$EN_VOICE" "$EN_RATE" "$EN_TEXT" en.wav
speak "$EN_VOICE" "$EN_LONG_RATE" "$EN_LONG_TEXT" en_long.wav
speak "$ZH_VOICE" "$ZH_RATE" "$ZH_PINYIN" zh.wav

# --------------------------------------------------------------------------
# Codec / container variants of en.wav
# --------------------------------------------------------------------------
"${FF[@]}" -i en.wav "${FFX[@]}" -c:a flac -compression_level 12 en.flac
"${FF[@]}" -i en.wav "${FFX[@]}" -c:a libmp3lame -b:a 48k en.mp3
"${FF[@]}" -i en.wav "${FFX[@]}" -c:a libopus -b:a 24k -f ogg en.ogg
"${FF[@]}" -i en.wav "${FFX[@]}" -c:a aac -b:a 32k -f ipod en.m4a
"${FF[@]}" -i en.wav "${FFX[@]}" -c:a libopus -b:a 24k -f webm en.webm
# Stereo 44.1 kHz is ~176 kB/s, so this one uses only the first clause.
espeak-ng -v "$EN_VOICE" -s "$EN_RATE" -w "$TMP/espeak.wav" "$EN_SHORT_TEXT"
"${SOX[@]}" "$TMP/espeak.wav" -r 44100 -c 2 -b 16 -e signed-integer en_stereo_44k.wav remix 1 1

# --------------------------------------------------------------------------
# Tiny videos: 64x64 solid colour, 5 fps, H.264 (+ AAC of en.wav)
# --------------------------------------------------------------------------
EN_DUR="$(soxi -D en.wav)"
VIDEO=(-c:v libx264 -preset medium -crf 40 -pix_fmt yuv420p -g 50 -threads 1
       -bsf:v filter_units=remove_types=6 -flags:v +bitexact)
"${FF[@]}" -f lavfi -i "color=c=0x3060c0:s=64x64:r=5:d=$EN_DUR" -i en.wav \
    "${FFX[@]}" "${VIDEO[@]}" -c:a aac -b:a 32k -shortest -movflags +faststart video.mp4
"${FF[@]}" -f lavfi -i "color=c=0x3060c0:s=64x64:r=5:d=$EN_DUR" \
    "${FFX[@]}" "${VIDEO[@]}" -an -movflags +faststart video_noaudio.mp4

# --------------------------------------------------------------------------
# Non-speech (16 kHz mono s16)
# --------------------------------------------------------------------------
NS=(-r 16000 -c 1 -b 16 -e signed-integer)
"${SOX[@]}" -n "${NS[@]}" silence.wav trim 0 "$NONSPEECH_SECONDS"
# sox's whitenoise measures -9.75 dBFS RMS here, so -20.25 dB gives -30.0 dBFS RMS
# (check with: sox noise.wav -n stats)
"${SOX[@]}" -n "${NS[@]}" noise.wav synth "$NONSPEECH_SECONDS" whitenoise gain -20.25
# 220 Hz sine, peak 0.1 = -20 dBFS
"${SOX[@]}" -n "${NS[@]}" hum.wav synth "$NONSPEECH_SECONDS" sine 220 vol 0.1

# --------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------
# little-endian integers as raw bytes
le32() { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)))"; }
le16() { printf "$(printf '\\x%02x\\x%02x' $(($1 & 255)) $((($1 >> 8) & 255)))"; }
# wav_header DATA_BYTES CHANNELS RATE BITS
wav_header() {
    local n=$1 ch=$2 rate=$3 bits=$4
    local align=$((ch * bits / 8))
    printf 'RIFF'; le32 $((36 + n)); printf 'WAVEfmt '; le32 16
    le16 1; le16 "$ch"; le32 "$rate"; le32 $((rate * align)); le16 "$align"; le16 "$bits"
    printf 'data'; le32 "$n"
}

: > empty.wav                                        # 0 bytes
wav_header 0 1 16000 16 > zero_length.wav            # valid header, no samples
size=$(wc -c < en.mp3)
head -c $((size * 30 / 100)) en.mp3 > truncated.mp3  # first 30 % of en.mp3
# RIFF/WAVE header whose fmt chunk is impossible (0 channels, 0 Hz, 0 bits)
# and whose data chunk claims far more bytes than follow; then 4 kB of
# (seeded, hence reproducible) noise bytes.
{
    printf 'RIFF'; le32 $((0x7ffffff0)); printf 'WAVEfmt '; le32 16
    le16 1; le16 0; le32 0; le32 0; le16 0; le16 0
    printf 'data'; le32 $((0x7fffffd0))
    "${SOX[@]}" -n -t raw -r 8000 -c 1 -b 8 -e signed-integer - synth 0.512 whitenoise
} > corrupt.wav
printf 'this is not audio\n' > not_audio.wav

# --------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------
json_str() {  # JSON string literal (texts here contain no control characters)
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}
duration() { printf '%.3f' "$(ffprobe -v error -show_entries format=duration -of default=nw=1:nk=1 "$1")"; }
# entry AUDIO TEXT LANGUAGE VOICE SPOKEN  (empty LANGUAGE/VOICE -> null)
entry() {
    local lang voice
    if [[ -n $3 ]]; then lang=$(json_str "$3"); else lang=null; fi
    if [[ -n $4 ]]; then voice=$(json_str "$4"); else voice=null; fi
    printf '{"audio": %s, "text": %s, "language": %s, "voice": %s, "spoken": %s, "duration": %s}\n' \
        "$(json_str "$1")" "$(json_str "$2")" "$lang" "$voice" "$(json_str "$5")" "$(duration "$1")"
}
{
    entry en.wav "$EN_TEXT" en "$EN_VOICE" "$EN_TEXT"
    entry en_long.wav "$EN_LONG_TEXT" en "$EN_VOICE" "$EN_LONG_TEXT"
    entry zh.wav "$ZH_TEXT" zh "$ZH_VOICE" "$ZH_PINYIN"
    for f in en.flac en.mp3 en.ogg en.m4a en.webm video.mp4; do
        entry "$f" "$EN_TEXT" en "$EN_VOICE" "$EN_TEXT"
    done
    entry en_stereo_44k.wav "$EN_SHORT_TEXT" en "$EN_VOICE" "$EN_SHORT_TEXT"
    for f in silence.wav noise.wav hum.wav; do
        entry "$f" "" "" "" ""
    done
} > fixtures.jsonl

echo "make_fixtures: wrote fixtures to $OUT" >&2
