"""Measure a pure tone in a media file: decode its audio with PyAV, Goertzel in pure Python.

``tone_level(path, 440.0)`` is the amplitude (peak, full scale = 1.0) of the 440 Hz component of
the file's first audio stream over a window. A ``sine`` source at its default level reads about
0.125 (−18 dBFS); a tone that is absent reads below 0.005. The audio is read as mono (channels
averaged by the resampler), 48 kHz float. No numpy: an ``array('f')`` and one loop.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import av

RATE = 48000
SINE_LEVEL = 0.125  # libavfilter's sine: amplitude 1/8
ABSENT = 0.005  # well under any tone we make (about −46 dBFS), well over AAC's noise at a bin


def audio_samples(path: Path, stream: int = 0) -> array[float]:
    """Audio stream ``stream`` of ``path`` as mono 48 kHz float samples."""
    samples: array[float] = array("f")
    resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=stream):
            for out in resampler.resample(frame):
                samples.frombytes(bytes(out.planes[0])[: out.samples * 4])
        for out in resampler.resample(None):
            samples.frombytes(bytes(out.planes[0])[: out.samples * 4])
    return samples


def goertzel(samples: array[float], hz: float, start: int = 0, count: int | None = None) -> float:
    """Amplitude of the ``hz`` component of ``samples[start:start + count]``."""
    window = samples[start : None if count is None else start + count]
    n = len(window)
    if n == 0:
        return 0.0
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for value in window:
        s1, s2 = value + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * math.sqrt(max(power, 0.0)) / n


def tone_level(path: Path, hz: float, *, at_s: float | None = None, span_s: float = 0.5) -> float:
    """Amplitude of ``hz`` in ``path``'s audio over ``span_s`` seconds from ``at_s`` (default:
    the middle of the file)."""
    samples = audio_samples(path)
    count = round(span_s * RATE)
    if at_s is None:
        start = max(0, (len(samples) - count) // 2)
    else:
        start = max(0, min(len(samples) - count, round(at_s * RATE)))
    return goertzel(samples, hz, start, count)


def tone_levels(
    path: Path, tones: list[float] | tuple[float, ...], *, span_s: float = 0.5
) -> dict[float, tuple[float, float]]:
    """For each tone: its amplitude near the start and near the end of ``path``'s audio (0.1 s
    in from each end, ``span_s`` long), decoding the file once."""
    samples = audio_samples(path)
    count = round(span_s * RATE)
    margin = round(0.1 * RATE)
    head = margin
    tail = max(0, len(samples) - margin - count)
    return {
        hz: (goertzel(samples, hz, head, count), goertzel(samples, hz, tail, count)) for hz in tones
    }


def audio_stream_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return len(container.streams.audio)


def audio_seconds(path: Path) -> float:
    return len(audio_samples(path)) / RATE
