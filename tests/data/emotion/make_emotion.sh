#!/usr/bin/env bash
# Regenerate the small RAVDESS-named emotion dataset in tests/data/emotion/ (issue 12).
#
#   bash tests/data/emotion/make_emotion.sh
#
# Synthetic speech, not acted emotion: each "emotion" is an espeak-ng prosody profile
# (pitch, pitch range, rate, volume) and each "actor" an espeak-ng voice + variant, so the
# classes differ acoustically and a speaker-independent classifier can learn them. Nothing
# here is recorded from people, so the files and any model trained on them may be shipped.
#
# Layout and names follow RAVDESS: Actor_NN/MM-CC-EE-II-SS-RR-NN.ogg with
#   MM modality 03 (audio-only), CC channel 01 (speech), EE emotion (01 neutral, 03 happy,
#   04 sad, 05 angry), II intensity (01 normal, 02 strong; neutral is normal only),
#   SS statement (01, 02), RR repetition (01, 02), NN actor (odd male, even female).
# Neutral clips have two repetitions, the others two intensities: 16 clips per actor.
#
# 16 kHz mono Ogg Vorbis at quality 0 (about 7 kB a clip; FLAC would be 4x larger).
# Output is deterministic for a given espeak-ng and sox version: the per-clip jitter comes
# from bash's RANDOM with a fixed seed and sox runs with -R.
set -euo pipefail

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "make_emotion: needs $tool (apt-get install espeak-ng sox libsox-fmt-all)" >&2
        exit 1
    }
done

OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
SOX=(sox -R -D -V1)
RANDOM=12  # fixed seed: the same jitter every run

STATEMENTS=("" "The train leaves at nine." "Please open the window now.")

# actor -> espeak-ng voice+variant (odd actors male, even female, as in RAVDESS)
declare -A VOICE=(
    [01]="en-us+m3" [02]="en-us+f2" [03]="en-gb+m1" [04]="en-gb+f3"
    [05]="en-gb-scotland+m4" [06]="en-gb-x-rp+f4" [07]="en-029+m2" [08]="en-us+f5"
)

# emotion -> "pitch% range rate% volume" at normal intensity; strong intensity scales the
# pitch, rate and volume changes by 1.6 and widens the range by one step.
declare -A PROFILE=(
    [01]="0 medium 0 medium"
    [03]="30 high 15 loud"
    [04]="-22 low -25 soft"
    [05]="4 medium 32 x-loud"
)
declare -A STRONG_RANGE=([medium]=medium [high]=x-high [low]=x-low)

clip() {  # clip EMOTION INTENSITY STATEMENT REPETITION ACTOR
    local emo=$1 int=$2 stmt=$3 rep=$4 actor=$5
    local pitch range rate volume
    read -r pitch range rate volume <<<"${PROFILE[$emo]}"
    if [[ $int == 02 ]]; then
        pitch=$((pitch * 16 / 10)); rate=$((rate * 16 / 10)); range=${STRONG_RANGE[$range]}
        case $volume in loud) volume=x-loud ;; soft) volume=x-soft ;; esac
    fi
    # Small per-clip jitter so repetitions and actors are not identical renderings.
    pitch=$((pitch + RANDOM % 7 - 3)); rate=$((rate + RANDOM % 7 - 3))
    # Signed percentages: SSML reads an unsigned "5%" as absolute, not as a change.
    local ssml
    ssml=$(printf '<speak><prosody pitch="%+d%%" range="%s" rate="%+d%%"' "$pitch" "$range" "$rate")
    ssml+=" volume=\"$volume\">${STATEMENTS[10#$stmt]}</prosody></speak>"
    mkdir -p "$OUT/Actor_$actor"
    espeak-ng -m -v "${VOICE[$actor]}" -w "$TMP/clip.wav" "$ssml"
    # Trim espeak's leading and trailing silence, then 16 kHz mono Vorbis.
    "${SOX[@]}" "$TMP/clip.wav" -r 16000 -c 1 -C 0 \
        "$OUT/Actor_$actor/03-01-$emo-$int-$stmt-$rep-$actor.ogg" \
        silence 1 0.02 1% reverse silence 1 0.02 1% reverse
}

rm -rf "$OUT"/Actor_*
for actor in 01 02 03 04 05 06 07 08; do
    for stmt in 01 02; do
        for rep in 01 02; do clip 01 01 "$stmt" "$rep" "$actor"; done
        for emo in 03 04 05; do
            for int in 01 02; do clip "$emo" "$int" "$stmt" 01 "$actor"; done
        done
    done
done
echo "make_emotion: wrote $(find "$OUT" -name '*.ogg' | wc -l) clips" \
    "($(du -sh "$OUT" | cut -f1)) to $OUT" >&2
