"""Known sounds and pictures for the finishing tests, and ways to measure them (no numpy).

Sounds come from libavfilter's ``aevalsrc`` (any expression of ``t``), pictures from
``testsrc2``; levels are read back with a Goertzel filter over whole cycles (a tone's amplitude
in dBFS) or as RMS, loudness with ``ebur128`` in a graph of the test's own.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.filter import Graph

RATE = 48_000
MEASURE_RATE = 8_000


def write_sound(
    path: Path,
    duration_s: float,
    expr: str,
    *,
    channels: int = 1,
    codec: str = "pcm_f32le",
    fmt: str = "wav",
) -> Path:
    """A sound of ``duration_s`` seconds whose every channel follows ``expr`` (a function of
    ``t``, e.g. ``0.125*sin(2*PI*440*t)``), encoded with ``codec`` into ``fmt``."""
    layout = "mono" if channels == 1 else "stereo"
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=RATE)
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.layout = layout
        graph = Graph()
        graph.link_nodes(
            graph.add(
                "aevalsrc",
                exprs="|".join([expr] * channels),
                sample_rate=str(RATE),
                duration=f"{duration_s}",
                nb_samples="1024",
            ),
            graph.add("aformat", sample_fmts="flt", channel_layouts=layout),
            graph.add("abuffersink"),
        ).configure()
        for frame in _pull_all(graph):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def tone(hz: float, amplitude: float = 0.125, start_s: float | None = None,
         end_s: float | None = None) -> str:  # fmt: skip
    """``aevalsrc`` expression of a sine (optionally only between two times)."""
    expr = f"{amplitude}*sin(2*PI*{hz}*t)"
    if start_s is not None or end_s is not None:
        expr += f"*between(t,{start_s or 0},{end_s if end_s is not None else 1e9})"
    return expr


def write_video(
    path: Path,
    duration_s: float,
    *,
    codec: str,
    fmt: str,
    fps: int = 10,
    width: int = 160,
    height: int = 96,
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    audio_expr: str | None = None,
    options: dict[str, str] | None = None,
    sample_aspect_ratio: Fraction | None = None,
) -> Path:
    """A test picture in ``codec``/``fmt`` (and a sound from ``audio_expr``, AAC); ``options``
    go to the muxer (e.g. ``output_ts_offset``); ``sample_aspect_ratio`` makes it anamorphic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=fps)
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = Fraction(1, fps)
        if codec == "libx264":
            stream.codec_context.options = {"preset": "ultrafast"}
        if rotation is not None:
            stream.set_display_rotation(rotation)
        if sample_aspect_ratio is not None:
            stream.codec_context.sample_aspect_ratio = sample_aspect_ratio
        audio: av.audio.stream.AudioStream | None = None
        if audio_expr is not None:
            made = out.add_stream("aac", rate=RATE)
            assert isinstance(made, av.audio.stream.AudioStream)
            made.layout = "mono"
            audio = made
        graph = Graph()
        graph.link_nodes(
            graph.add("testsrc2", size=f"{width}x{height}", rate=str(fps)),
            graph.add("trim", end_frame=str(round(duration_s * fps))),
            graph.add("format", pix_fmts=pix_fmt),
            graph.add("buffersink"),
        ).configure()
        for frame in _pull_all(graph):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        if audio is not None and audio_expr is not None:
            sound = path.with_name(path.name + ".tmp.wav")
            write_sound(sound, duration_s, audio_expr)
            with av.open(str(sound)) as source:
                for frame in source.decode(audio=0):
                    for packet in audio.encode(frame):
                        out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
            sound.unlink()
    return path


def _pull_all(graph: Graph) -> Iterator[av.AudioFrame]:
    while True:
        try:
            frame = graph.pull()
        except av.error.EOFError:
            return
        yield frame  # type: ignore[misc]


# -- measuring ----------------------------------------------------------------------------------


def read_mono(path: Path, rate: int = MEASURE_RATE, stream: int = 0) -> list[float]:
    """The audio stream ``stream`` of ``path``, mixed to mono, as floats at ``rate``."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    out: list[float] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=stream):
            for part in resampler.resample(frame):
                out.extend(_floats(part))
        for part in resampler.resample(None):
            out.extend(_floats(part))
    return out


def _floats(frame: av.AudioFrame) -> list[float]:
    import array

    values = array.array("f")
    values.frombytes(bytes(frame.planes[0])[: frame.samples * 4])
    return values.tolist()


def window(
    samples: list[float], start_s: float, end_s: float, rate: int = MEASURE_RATE
) -> list[float]:
    return samples[round(start_s * rate) : round(end_s * rate)]


def tone_db(samples: list[float], hz: float, rate: int = MEASURE_RATE) -> float:
    """The amplitude of the ``hz`` sine in ``samples`` in dBFS (Goertzel; use windows of whole
    cycles of every tone present, so none leaks into another's bin)."""
    n = len(samples)
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    amplitude = 2 * math.sqrt(max(power, 0.0)) / n
    return 20 * math.log10(amplitude) if amplitude > 0 else -math.inf


def rms_db(samples: list[float]) -> float:
    if not samples:
        return -math.inf
    mean = sum(x * x for x in samples) / len(samples)
    return 10 * math.log10(mean) if mean > 0 else -math.inf


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by the test's own ``ebur128`` graph."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        graph = Graph()
        source = graph.add_abuffer(template=stream)
        meter = graph.add("ebur128", metadata="1", peak="true")
        sink = graph.add("abuffersink")
        source.link_to(meter)
        meter.link_to(sink)
        graph.configure()
        integrated, peak = -math.inf, 0.0

        def drain() -> None:
            nonlocal integrated, peak
            while True:
                try:
                    frame = sink.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    return
                data = frame.metadata
                if "lavfi.r128.I" in data:
                    integrated = float(data["lavfi.r128.I"])
                peak = max(peak, float(data.get("lavfi.r128.true_peak", 0.0)))

        for frame in container.decode(stream):
            source.push(frame)
            drain()
        source.push(None)
        drain()
    return integrated, 20 * math.log10(peak) if peak > 0 else -math.inf


def frame_count(path: Path) -> int:
    """Packets of the first video stream (one per frame for the codecs here)."""
    with av.open(str(path)) as container:
        return sum(1 for p in container.demux(video=0) if p.size)


def video_codec(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_context.name


def stream_seconds(path: Path, kind: str) -> float:
    """The span of a stream's packets (first pts to last pts + duration), in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        first = last = None
        for packet in container.demux(stream):
            if packet.pts is None or not packet.size:
                continue
            start = packet.pts
            end = packet.pts + (packet.duration or 0)
            first = start if first is None else min(first, start)
            last = end if last is None else max(last, end)
        assert first is not None and last is not None and stream.time_base is not None
        return float((last - max(first, 0)) * stream.time_base)
