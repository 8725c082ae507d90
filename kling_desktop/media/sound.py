"""The sound of a result, mixed on this computer (issue #13): levels, ducking, loudness, export.

Everything runs in-process through PyAV and libavfilter (no ffmpeg binary). Sound moves between
the finishing steps as *working files*: WAV, 32-bit float, 48 kHz, mono or stereo, which keep
every sample exact and let a level above full scale survive until the last step.

Levels are linear gains (0.5 is −6 dB); ``amix`` runs with ``normalize=0`` so a level means what
it says. Loudness is brought to an EBU R128 target in two passes: ``ebur128`` measures the mix,
then a fixed gain moves it to the target, and only when that gain would push the true peak over
−1 dBTP a limiter (at 4× oversampling, delay compensated) holds the peaks — the rest of the sound
keeps its dynamics.
"""

from __future__ import annotations

import cmath
import logging
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import av.error
from av.filter import Graph
from av.filter.context import FilterContext

from kling_desktop.cancel import CancelToken
from kling_desktop.files import atomic_file

log = logging.getLogger(__name__)

#: The working sample rate of every finishing step.
WORK_RATE: Final = 48_000
_SAMPLE_BYTES: Final = 4  # float32
_CHUNK: Final = 4096  # samples per frame handed to the filters and the WAV writer

#: Ceiling for the true peak after loudness normalisation (EBU R128 / streaming services).
TRUE_PEAK_DBTP: Final = -1.0
#: The limiter aims a little under the ceiling: resampling back from 4× can add a few tenths.
_LIMIT_DB: Final = -1.5
_OVERSAMPLED: Final = 4 * WORK_RATE
#: Extra measuring passes that make up for the loudness a limiter took away.
_MAKE_UP_ROUNDS: Final = 2
#: ``ebur128`` reports −70 LUFS (its absolute gate) when nothing in the sound passes the gate.
_SILENT_LUFS: Final = -70.0

#: Ducking: the clip's own sound drops by up to ~8 dB while Kling's sound is above −30 dBFS.
_DUCK: Final = {"threshold": "0.03", "ratio": "8", "attack": "20", "release": "300"}

_EXPORT_EXTENSIONS: Final = {"wav": ".wav", "mp3": ".mp3"}


@dataclass(frozen=True)
class MixSettings:
    """How the result's sound is made from Kling's sound and the clip's own."""

    sound_volume: float = 1.0  # Kling's generated sound, linear gain 0–2
    original_volume: float = 0.0  # the clip's own sound, linear gain 0–2
    duck: bool = False  # lower the clip's own sound while Kling's sound is loud
    loudness_lufs: float | None = None  # EBU R128 integrated target (−1 dBTP ceiling); None: off
    duck_sound: bool = False  # the other way round: lower Kling's sound while the clip's is loud

    def __post_init__(self) -> None:
        for name in ("sound_volume", "original_volume"):
            value = getattr(self, name)
            if not 0.0 <= value <= 2.0:
                raise ValueError(f"{name} must be between 0 and 2, not {value}.")

    @property
    def is_plain(self) -> bool:
        """True when the result is Kling's sound exactly as it came."""
        return (
            self.sound_volume == 1.0
            and self.original_volume == 0.0
            and not self.duck
            and not self.duck_sound
            and self.loudness_lufs is None
        )

    @property
    def uses_original(self) -> bool:
        return self.original_volume > 0.0


# -- working files ------------------------------------------------------------------------------


def audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The first audio stream of an open file, or None."""
    return container.streams.audio[0] if container.streams.audio else None


def channels_of(path: Path) -> int:
    """How many channels the first audio stream of ``path`` has (0 when it has none)."""
    with av.open(str(path)) as container:
        stream = audio_stream(container)
        return stream.codec_context.channels if stream is not None else 0


def layout_for(channels: int) -> str:
    """The working layout for a sound of ``channels`` channels: mono stays mono, else stereo."""
    return "mono" if channels == 1 else "stereo"


def start_of(container: av.container.InputContainer) -> float:
    """Where a file's timeline begins, in seconds: 0 for most files; an MPEG-TS recording may
    start at any time, and its sound and picture are placed from there."""
    start = container.start_time
    return max(0.0, start / av.time_base) if start is not None else 0.0


def decode_chunks(
    path: Path,
    layout: str,
    *,
    rate: int = WORK_RATE,
    cancel: CancelToken | None = None,
) -> Iterator[bytes]:
    """The first audio stream of ``path`` as packed float32 bytes in ``layout`` at ``rate``.

    The sound is placed on the file's own timeline, counted from its start (:func:`start_of`):
    a stream that starts late is preceded by silence, samples before the start (encoder
    priming a file did not trim) are dropped.
    """
    channels = 1 if layout == "mono" else 2
    frame_bytes = channels * _SAMPLE_BYTES
    with av.open(str(path)) as container:
        stream = audio_stream(container)
        if stream is None:
            return
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        origin = start_of(container)
        skip: int | None = None  # bytes still to drop (negative: silence to add first)

        def emit(frames: Sequence[av.AudioFrame]) -> Iterator[bytes]:
            nonlocal skip
            for out in frames:
                data = bytes(out.planes[0])[: out.samples * frame_bytes]
                if skip is None:
                    start = (out.time if out.time is not None else 0.0) - origin
                    skip = round(start * rate) * -frame_bytes
                    if skip < 0:
                        yield bytes(-skip)
                        skip = 0
                if skip > 0:
                    dropped = min(skip, len(data))
                    data = data[dropped:]
                    skip -= dropped
                if data:
                    yield data

        for frame in container.decode(stream):
            if cancel is not None:
                cancel.raise_if_cancelled()
            yield from emit(resampler.resample(frame))
        yield from emit(resampler.resample(None))


def read_samples(
    path: Path, layout: str, *, rate: int = WORK_RATE, cancel: CancelToken | None = None
) -> array[float]:
    """The whole first audio stream of ``path`` as interleaved float samples (see
    :func:`decode_chunks`)."""
    samples: array[float] = array("f")
    for chunk in decode_chunks(path, layout, rate=rate, cancel=cancel):
        samples.frombytes(chunk)
    return samples


def make_frame(data: bytes, layout: str, pts: int, rate: int = WORK_RATE) -> av.AudioFrame:
    """A packed float32 frame holding ``data`` (whole samples of ``layout``)."""
    channels = 1 if layout == "mono" else 2
    frame = av.AudioFrame(
        format="flt", layout=layout, samples=len(data) // (channels * _SAMPLE_BYTES)
    )
    frame.planes[0].update(data)
    frame.sample_rate = rate
    frame.pts = pts
    frame.time_base = Fraction(1, rate)
    return frame


def frames_of(
    chunks: Iterator[bytes], layout: str, rate: int = WORK_RATE
) -> Iterator[av.AudioFrame]:
    """Packed float32 bytes re-cut into frames of :data:`_CHUNK` samples, timed from 0."""
    channels = 1 if layout == "mono" else 2
    size = _CHUNK * channels * _SAMPLE_BYTES
    pending = bytearray()
    pts = 0
    for chunk in chunks:
        pending += chunk
        while len(pending) >= size:
            yield make_frame(bytes(pending[:size]), layout, pts, rate)
            del pending[:size]
            pts += _CHUNK
    if pending:
        yield make_frame(bytes(pending), layout, pts, rate)


class WavWriter:
    """Writes a working WAV (float32) atomically: the file appears whole when the block ends."""

    def __init__(self, dest: Path, layout: str, *, codec: str = "pcm_f32le") -> None:
        self._dest = Path(dest)
        self._layout = layout
        self._codec = codec
        self._pts = 0

    def __enter__(self) -> WavWriter:
        self._file_cm = atomic_file(self._dest)
        handle = self._file_cm.__enter__()
        try:
            self._out = av.open(handle, mode="w", format="wav")
            stream = self._out.add_stream(self._codec, rate=WORK_RATE)
            assert isinstance(stream, av.audio.stream.AudioStream)
            stream.layout = self._layout
            self._stream = stream
        except BaseException as exc:
            self._file_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    @property
    def samples_written(self) -> int:
        return self._pts

    def write_bytes(self, data: bytes) -> None:
        """Append packed float32 samples (any length of whole samples)."""
        channels = 1 if self._layout == "mono" else 2
        step = _CHUNK * channels * _SAMPLE_BYTES
        for offset in range(0, len(data), step):
            self.write_frame(make_frame(data[offset : offset + step], self._layout, 0))

    def write_frame(self, frame: av.AudioFrame) -> None:
        frame.pts = self._pts
        frame.time_base = Fraction(1, WORK_RATE)
        self._pts += frame.samples
        for packet in self._stream.encode(frame):
            self._out.mux(packet)

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        try:
            if kind is None:
                for packet in self._stream.encode(None):
                    self._out.mux(packet)
            self._out.close()
        except BaseException as exc:
            self._file_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._file_cm.__exit__(kind, error, trace)


def duration_of(path: Path) -> float | None:
    """The length of the first audio stream of ``path`` in seconds, from its headers."""
    with av.open(str(path)) as container:
        stream = audio_stream(container)
        if stream is None:
            return None
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return container.duration / av.time_base
    return None


# -- filter graphs ------------------------------------------------------------------------------


def _drain(sink: FilterContext) -> Iterator[av.AudioFrame]:
    while True:
        try:
            frame = sink.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        assert isinstance(frame, av.AudioFrame)
        yield frame


def run_graph(
    sources: Sequence[tuple[FilterContext, Iterator[av.AudioFrame]]],
    sink: FilterContext,
    cancel: CancelToken | None = None,
) -> Iterator[av.AudioFrame]:
    """Feed each source its frames (the earliest first, so multi-input filters keep pace) and
    yield what ``sink`` gives, to the end."""
    heads: list[tuple[FilterContext, Iterator[av.AudioFrame], av.AudioFrame]] = []
    for context, frames in sources:
        first = next(frames, None)
        if first is None:
            context.push(None)
        else:
            heads.append((context, frames, first))
    while heads:
        if cancel is not None:
            cancel.raise_if_cancelled()
        index = min(range(len(heads)), key=lambda i: heads[i][2].pts or 0)
        context, frames, frame = heads[index]
        context.push(frame)
        following = next(frames, None)
        if following is None:
            context.push(None)
            del heads[index]
        else:
            heads[index] = (context, frames, following)
        yield from _drain(sink)
    yield from _drain(sink)


def _source(graph: Graph, layout: str) -> FilterContext:
    return graph.add_abuffer(
        format="flt", sample_rate=WORK_RATE, layout=layout, time_base=Fraction(1, WORK_RATE)
    )


def _chain(graph: Graph, first: FilterContext, *nodes: tuple[str, dict[str, str]]) -> FilterContext:
    last = first
    for name, options in nodes:
        node = graph.add(name, **options)
        last.link_to(node)
        last = node
    return last


def _sink(graph: Graph, last: FilterContext, layout: str) -> FilterContext:
    end = _chain(
        graph,
        last,
        (
            "aformat",
            {"sample_fmts": "flt", "sample_rates": str(WORK_RATE), "channel_layouts": layout},
        ),
        ("abuffersink", {}),
    )
    graph.configure()
    return end


# -- mixing -------------------------------------------------------------------------------------


def extract_audio(video: Path, dest: Path, *, cancel: CancelToken | None = None) -> Path | None:
    """The clip's own sound as a working WAV at ``dest``; None when the clip has no sound."""
    channels = channels_of(video)
    if channels == 0:
        return None
    layout = layout_for(channels)
    with WavWriter(dest, layout) as writer:
        for chunk in decode_chunks(video, layout, cancel=cancel):
            writer.write_bytes(chunk)
    return Path(dest)


def _mix_graph(
    layout: str, settings: MixSettings, with_original: bool, length: int | None
) -> tuple[Graph, FilterContext, FilterContext | None, FilterContext]:
    """The mix up to (not including) its sink: generated [+ original] → levels → length."""
    graph = Graph()
    generated = _source(graph, layout)
    sound = _chain(graph, generated, ("volume", {"volume": f"{settings.sound_volume:.6f}"}))
    original: FilterContext | None = None
    out = sound
    if with_original:
        original = _source(graph, layout)
        own = _chain(graph, original, ("volume", {"volume": f"{settings.original_volume:.6f}"}))
        mixer = graph.add(
            "amix", inputs="2", normalize="0", duration="longest", dropout_transition="0"
        )
        if settings.duck:
            # The clip's own sound is compressed by Kling's sound as heard (after its level).
            split = graph.add("asplit", outputs="2")
            sound.link_to(split)
            ducker = graph.add("sidechaincompress", **_DUCK)
            own.link_to(ducker, 0, 0)
            split.link_to(ducker, 1, 1)
            split.link_to(mixer, 0, 0)
            ducker.link_to(mixer, 0, 1)
        elif settings.duck_sound:
            # The other way round: Kling's sound gives way to the clip's own (dialogue).
            split = graph.add("asplit", outputs="2")
            own.link_to(split)
            ducker = graph.add("sidechaincompress", **_DUCK)
            sound.link_to(ducker, 0, 0)
            split.link_to(ducker, 1, 1)
            ducker.link_to(mixer, 0, 0)
            split.link_to(mixer, 0, 1)
        else:
            sound.link_to(mixer, 0, 0)
            own.link_to(mixer, 0, 1)
        out = mixer
    if length is not None:
        out = _chain(
            graph,
            out,
            ("apad", {"whole_len": str(length)}),
            ("atrim", {"end_sample": str(length)}),
        )
    return graph, generated, original, out


def mix(
    generated: Path,
    original: Path | None,
    dest: Path,
    settings: MixSettings,
    *,
    length_s: float | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Mix Kling's sound (``generated``) with the clip's own (``original``) into a working WAV.

    ``original`` is read only when its level is above 0. ``length_s`` pads with silence or cuts
    the result to that length (the clip's); without it the result is as long as the longer
    input. With ``settings.loudness_lufs`` the mix is measured first, then moved to the target
    (see the module's docstring): the mix is made once and kept beside ``dest`` meanwhile.
    """
    with_original = original is not None and settings.uses_original
    channels = channels_of(generated)
    if with_original and original is not None:
        channels = max(channels, channels_of(original))
    layout = layout_for(channels)
    length = round(length_s * WORK_RATE) if length_s is not None else None
    expected = length or round((duration_of(generated) or 1.0) * WORK_RATE)
    mixed_to = 0.7 if settings.loudness_lufs is not None else 1.0

    def mixed() -> Iterator[av.AudioFrame]:
        graph, gen_src, orig_src, out = _mix_graph(layout, settings, with_original, length)
        if settings.loudness_lufs is not None:
            out = _chain(graph, out, ("ebur128", {"metadata": "1", "peak": "true"}))
        sink = _sink(graph, out, layout)
        sources = [(gen_src, frames_of(decode_chunks(generated, layout, cancel=cancel), layout))]
        if orig_src is not None and original is not None:
            chunks = decode_chunks(original, layout, cancel=cancel)
            sources.append((orig_src, frames_of(chunks, layout)))
        done = 0
        for frame in run_graph(sources, sink, cancel):
            done += frame.samples
            if progress is not None:
                progress(mixed_to * min(1.0, done / max(1, expected)))
            yield frame

    target = settings.loudness_lufs
    if target is None:
        with WavWriter(dest, layout) as writer:
            for frame in mixed():
                writer.write_frame(frame)
    else:
        # The mix is made once, measured on the way, and kept beside ``dest`` until its gain is
        # known (the ``.part`` name is what the crash sweep removes).
        staged = Path(dest).with_name(f".{Path(dest).name}.mix.part")
        try:
            measured = _Loudness()
            with WavWriter(staged, layout) as writer:
                for frame in mixed():
                    measured.read(frame)
                    writer.write_frame(frame)
            _normalise(staged, dest, layout, measured, target, progress, cancel)
        finally:
            staged.unlink(missing_ok=True)
    if progress is not None:
        progress(1.0)
    return Path(dest)


def _normalise(
    source: Path,
    dest: Path,
    layout: str,
    measured: _Loudness,
    target: float,
    progress: Callable[[float], None] | None,
    cancel: CancelToken | None,
) -> None:
    """Write ``source`` (measured as ``measured``) moved to ``target`` LUFS into ``dest``."""

    def through(nodes: Sequence[tuple[str, dict[str, str]]]) -> Iterator[av.AudioFrame]:
        graph = Graph()
        start = _source(graph, layout)
        sink = _sink(graph, _chain(graph, start, *nodes), layout)
        yield from run_graph(
            [(start, frames_of(decode_chunks(source, layout), layout))], sink, cancel
        )

    nodes: list[tuple[str, dict[str, str]]] = []
    if measured.integrated is None:
        log.info("Loudness not normalised: the sound is silent")
    else:
        gain = target - measured.integrated
        nodes = _normalise_nodes(gain, measured.true_peak_db)
        # Limiting takes some loudness away: measure again and make up for it (twice at most).
        for _ in range(_MAKE_UP_ROUNDS if len(nodes) > 1 else 0):
            limited = _Loudness()
            for frame in through([*nodes, ("ebur128", {"metadata": "1"})]):
                limited.read(frame)
            if limited.integrated is None or abs(target - limited.integrated) <= 0.3:
                break
            gain += target - limited.integrated
            nodes = _normalise_nodes(gain, measured.true_peak_db)
    total = max(1, round((duration_of(source) or 1.0) * WORK_RATE))
    with WavWriter(dest, layout) as writer:
        for frame in through(nodes):
            writer.write_frame(frame)
            if progress is not None:
                progress(0.7 + 0.3 * min(1.0, writer.samples_written / total))


def _normalise_nodes(gain_db: float, true_peak_db: float) -> list[tuple[str, dict[str, str]]]:
    """The filters that raise a sound by ``gain_db`` and hold its true peak to −1 dBTP."""
    nodes: list[tuple[str, dict[str, str]]] = [("volume", {"volume": f"{gain_db:.4f}dB"})]
    if true_peak_db + gain_db > TRUE_PEAK_DBTP:
        log.info(
            "Loudness %+.1f dB would peak at %.1f dBTP: limiting to %.1f dBTP",
            gain_db, true_peak_db + gain_db, TRUE_PEAK_DBTP,
        )  # fmt: skip
        nodes += [
            ("aresample", {"out_sample_rate": str(_OVERSAMPLED)}),
            (
                "alimiter",
                {
                    "limit": f"{10 ** (_LIMIT_DB / 20):.5f}",
                    "attack": "5",
                    "release": "50",
                    "level": "0",
                    "latency": "1",
                },
            ),
            ("aresample", {"out_sample_rate": str(WORK_RATE)}),
        ]
    return nodes


class _Loudness:
    """What ``ebur128`` (metadata=1, peak=true) said by the last frame it passed on."""

    def __init__(self) -> None:
        self.integrated: float | None = None
        self.true_peak = 0.0

    def read(self, frame: av.AudioFrame) -> None:
        data = frame.metadata
        value = data.get("lavfi.r128.I")
        if value is not None:
            lufs = float(value)
            self.integrated = lufs if lufs > _SILENT_LUFS else None
        peak = data.get("lavfi.r128.true_peak")
        if peak is not None:
            self.true_peak = max(self.true_peak, float(peak))

    @property
    def true_peak_db(self) -> float:
        return 20 * math.log10(self.true_peak) if self.true_peak > 0 else -math.inf


def measure_loudness(path: Path, *, cancel: CancelToken | None = None) -> float:
    """Integrated loudness of the first audio stream of ``path`` in LUFS (EBU R128, ``ebur128``).

    Returns ``-math.inf`` for silence (nothing passes the −70 LUFS gate) or no sound at all.
    """
    channels = channels_of(path)
    if channels == 0:
        return -math.inf
    layout = layout_for(channels)
    graph = Graph()
    source = _source(graph, layout)
    sink = _sink(graph, _chain(graph, source, ("ebur128", {"metadata": "1"})), layout)
    measured = _Loudness()
    frames = frames_of(decode_chunks(path, layout, cancel=cancel), layout)
    for frame in run_graph([(source, frames)], sink, cancel):
        measured.read(frame)
    return measured.integrated if measured.integrated is not None else -math.inf


# -- export -------------------------------------------------------------------------------------


def available_exports() -> tuple[str, ...]:
    """The audio formats :func:`export_audio` can write with this build's encoders."""
    return ("wav", "mp3") if "libmp3lame" in av.codecs_available else ("wav",)


def export_audio(
    source: Path, dest_base: Path, fmt: str = "wav", *, cancel: CancelToken | None = None
) -> Path:
    """Save the sound alone for the user: ``dest_base`` + ``.wav`` (16-bit PCM) or ``.mp3``.

    ``dest_base`` is the name without its extension, e.g. ``clip.sound`` → ``clip.sound.wav``.

    Raises:
        ValueError: ``fmt`` is not a format this build can write (the sentence says why).
    """
    if fmt not in _EXPORT_EXTENSIONS:
        raise ValueError(f"The sound can be saved as WAV or MP3, not as {fmt!r}.")
    if fmt not in available_exports():
        raise ValueError(
            "This build of the app has no MP3 encoder, so the sound cannot be saved as MP3; "
            "save it as WAV instead."
        )
    dest = dest_base.with_name(dest_base.name + _EXPORT_EXTENSIONS[fmt])
    layout = layout_for(channels_of(source))
    with atomic_file(dest) as handle, av.open(handle, mode="w", format=fmt) as out:
        if fmt == "wav":
            stream = out.add_stream("pcm_s16le", rate=WORK_RATE)
        else:
            stream = out.add_stream("libmp3lame", rate=WORK_RATE)
            stream.bit_rate = 192_000
        assert isinstance(stream, av.audio.stream.AudioStream)
        stream.layout = layout
        pts = 0
        for frame in frames_of(decode_chunks(source, layout, cancel=cancel), layout):
            frame.pts = pts
            pts += frame.samples
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return dest


# -- is the clip's own sound in a result? -------------------------------------------------------

_CONTAINS_RATE: Final = 4000  # Hz: speech and most ambience live below 2 kHz
_FFT: Final = 256  # 64 ms frames
_MAX_FRAMES: Final = 470  # ~30 s are plenty to tell
_SIGNIFICANT_DB: Final = 30.0  # reference cells within this of its loudest cell are compared
_FLOOR_DB: Final = -30.0  # the reference must explain at least this share of the result
_STANDS_OUT_DB: Final = 6.0  # …and this much more than when it is moved in time or frequency
_FREQ_SHIFTS: Final = (-12, -6, 6, 12)  # bins (15.6 Hz each)
_SILENT_REF: Final = 1e-7  # mean power per cell (≈ −70 dBFS): too quiet to tell


def contains(result: Path, reference: Path, *, cancel: CancelToken | None = None) -> bool | None:
    """Whether ``result``'s sound still holds ``reference``'s sound (the clip's own).

    Both are compared as power spectrograms (mono, 4 kHz, 64 ms frames). If the result holds the
    reference at a gain ``g``, then nearly every cell where the reference is strong holds at
    least ``g`` times the reference's power: ``g`` is estimated as a low percentile of the
    result/reference ratio over those cells, and the share of the result's energy it explains
    must be large (≥ −30 dB) and well above the share explained by the reference moved in
    frequency or in time (so a different sound, even broadband noise, does not pass). Robust to
    level changes and to other sound on top.

    Returns None when it cannot tell: the reference has no sound or is silent.
    """
    if channels_of(reference) == 0:
        return None
    ref = _spectrogram(reference, cancel)
    cells = sum(len(frame) for frame in ref)
    if not ref or sum(map(sum, ref)) / max(1, cells) < _SILENT_REF:
        return None
    if channels_of(result) == 0:
        return False
    res = _spectrogram(result, cancel)
    frames = min(len(ref), len(res))
    if frames == 0:
        return False
    ref, res = ref[:frames], res[:frames]
    aligned = _explained(ref, res)
    if aligned < 10 ** (_FLOOR_DB / 10):
        return False
    moved_in_frequency = max(_explained(_shift_bins(ref, s), res) for s in _FREQ_SHIFTS)
    shifts = [frames // 3, frames // 2, 2 * frames // 3] if frames >= 6 else []
    moved_in_time = max((_explained(ref[s:] + ref[:s], res) for s in shifts), default=aligned)
    null = min(moved_in_frequency, moved_in_time)
    return aligned >= null * 10 ** (_STANDS_OUT_DB / 10)


def _explained(ref: list[list[float]], res: list[list[float]]) -> float:
    """The share of ``res``'s energy that a scaled copy of ``ref`` could account for."""
    peak = max((max(frame) for frame in ref), default=0.0)
    if peak <= 0.0:
        return 0.0
    cutoff = peak * 10 ** (-_SIGNIFICANT_DB / 10)
    ratios = sorted(
        x / r
        for rf, xf in zip(ref, res, strict=True)
        for r, x in zip(rf, xf, strict=True)
        if r >= cutoff
    )
    if not ratios:
        return 0.0
    gain = ratios[len(ratios) // 10]
    total = sum(map(sum, res))
    return min(1.0, gain * sum(map(sum, ref)) / total) if total > 0 else 0.0


def _shift_bins(ref: list[list[float]], shift: int) -> list[list[float]]:
    bins = len(ref[0])
    if shift > 0:
        return [[0.0] * shift + frame[: bins - shift] for frame in ref]
    return [frame[-shift:] + [0.0] * -shift for frame in ref]


def _spectrogram(path: Path, cancel: CancelToken | None) -> list[list[float]]:
    """Power per bin (1 … N/2−1) of Hann-windowed frames of the mono sound at 4 kHz."""
    samples: array[float] = array("f")
    limit = _FFT * _MAX_FRAMES
    for chunk in decode_chunks(path, "mono", rate=_CONTAINS_RATE, cancel=cancel):
        samples.frombytes(chunk)
        if len(samples) >= limit:
            break
    del samples[limit:]
    window = [0.5 - 0.5 * math.cos(2 * math.pi * i / _FFT) for i in range(_FFT)]
    frames: list[list[float]] = []
    # Two real frames ride in one complex FFT (one as the real part, one as the imaginary).
    count = len(samples) // _FFT
    for pair in range(0, count, 2):
        if cancel is not None:
            cancel.raise_if_cancelled()
        a = samples[pair * _FFT : (pair + 1) * _FFT]
        b = samples[(pair + 1) * _FFT : (pair + 2) * _FFT] if pair + 1 < count else None
        z = [
            complex(a[i] * window[i], b[i] * window[i] if b is not None else 0.0)
            for i in range(_FFT)
        ]
        spectrum = _fft(z)
        first, second = [], []
        for k in range(1, _FFT // 2):
            zk, zn = spectrum[k], spectrum[_FFT - k].conjugate()
            first.append(abs((zk + zn) / 2) ** 2)
            second.append(abs((zk - zn) / 2) ** 2)
        frames.append(first)
        if b is not None:
            frames.append(second)
    return frames


def _fft(values: list[complex]) -> list[complex]:
    """Iterative radix-2 FFT (len a power of two)."""
    n = len(values)
    out = list(values)
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            out[i], out[j] = out[j], out[i]
    size = 2
    while size <= n:
        half = size // 2
        step = cmath.exp(-2j * math.pi / size)
        twiddles = [step**k for k in range(half)]
        for start in range(0, n, size):
            for k in range(half):
                even = out[start + k]
                odd = out[start + k + half] * twiddles[k]
                out[start + k] = even + odd
                out[start + k + half] = even - odd
        size *= 2
    return out
