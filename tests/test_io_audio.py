import numpy as np
import pytest
import soundfile
from file_errors import error_naming

from core.errors import BodyLanguageError
from core.io.audio import load_audio, save_wav

SOURCE_RATE = 44100
DURATION = 1.25  # not a whole second, so a wrong length cannot hide behind round numbers
FORMATS = {"wav": "PCM_16", "flac": "PCM_16", "ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}
LOSSY = {"ogg", "mp3"}


def sine(frequency: float, rate: int = SOURCE_RATE, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(DURATION * rate))) / rate
    return amplitude * np.sin(2 * np.pi * frequency * t)


def write_stereo(path, left: np.ndarray, right: np.ndarray, subtype: str) -> None:
    try:
        soundfile.write(path, np.stack([left, right], axis=1), SOURCE_RATE, subtype=subtype)
    except (soundfile.LibsndfileError, ValueError, TypeError) as exc:
        if path.suffix == ".mp3":
            pytest.skip(
                f"this libsndfile ({soundfile.__libsndfile_version__}) cannot write mp3: {exc}"
            )
        raise


def spectrum(audio: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    magnitude = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.fft.rfftfreq(len(audio), 1 / rate), magnitude


def peak_frequency(audio: np.ndarray, rate: int) -> float:
    frequencies, magnitude = spectrum(audio, rate)
    return float(frequencies[np.argmax(magnitude)])


@pytest.mark.parametrize("extension", list(FORMATS))
@pytest.mark.parametrize("rate", [16000, 22050, 48000])
def test_loads_each_format_as_mono_at_the_requested_rate(tmp_path, extension, rate):
    path = tmp_path / f"sine.{extension}"
    tone = sine(440)
    write_stereo(path, tone, tone, FORMATS[extension])

    audio = load_audio(path, sample_rate=rate)

    assert audio.dtype == np.float32 and audio.ndim == 1
    source_length = len(tone)
    expected = -(-source_length * rate // SOURCE_RATE)  # every input sample's time, rounded up
    if extension in LOSSY:  # codecs may pad or trim a frame's worth at the ends
        assert abs(len(audio) - expected) <= 0.01 * expected
    else:
        assert len(audio) == expected
    assert abs(peak_frequency(audio, rate) - 440) <= 2
    assert np.abs(audio).max() <= 1.0
    # Both channels carry the tone at 0.5: a sum instead of a mean would double it.
    middle = audio[len(audio) // 4 : 3 * len(audio) // 4]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)


def test_default_rate_is_16k(tmp_path):
    path = tmp_path / "sine.wav"
    tone = sine(440)
    write_stereo(path, tone, tone, "PCM_16")
    audio = load_audio(path)
    assert len(audio) == int(round(DURATION * 16000))
    assert abs(peak_frequency(audio, 16000) - 440) <= 2


def test_same_rate_is_returned_unresampled(tmp_path):
    path = tmp_path / "sine.wav"
    tone = sine(440)
    write_stereo(path, tone, tone, "FLOAT")
    audio = load_audio(path, sample_rate=SOURCE_RATE)
    np.testing.assert_allclose(audio, tone.astype(np.float32), atol=1e-6)


def test_channels_are_mixed_down_by_mean(tmp_path):
    path = tmp_path / "two_tones.wav"
    write_stereo(path, sine(440), sine(1000), "PCM_16")

    audio = load_audio(path, sample_rate=16000)

    frequencies, magnitude = spectrum(audio, 16000)
    at_440 = magnitude[np.argmin(np.abs(frequencies - 440))]
    at_1000 = magnitude[np.argmin(np.abs(frequencies - 1000))]
    assert at_1000 / at_440 == pytest.approx(1.0, rel=0.1)
    # Each tone arrives at half amplitude: RMS of two 0.25-amplitude sines.
    assert np.sqrt(np.mean(audio**2)) == pytest.approx(0.25, rel=0.05)


def test_loud_float_audio_is_kept_within_full_scale(tmp_path):
    path = tmp_path / "loud.wav"
    tone = sine(440, amplitude=1.8)
    write_stereo(path, tone, tone, "FLOAT")
    audio = load_audio(path, sample_rate=16000)
    assert np.abs(audio).max() <= 1.0
    assert np.abs(audio).max() == pytest.approx(1.0)


def test_save_wav_writes_16_bit_pcm_that_reads_back(tmp_path):
    path = tmp_path / "out.wav"
    tone = sine(440, rate=16000).astype(np.float32)

    save_wav(path, tone, 16000)

    info = soundfile.info(path)
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        "WAV", "PCM_16", 16000, 1
    )
    np.testing.assert_allclose(load_audio(path, 16000), tone, atol=1 / 32768 + 1e-6)


def test_save_wav_clips_instead_of_wrapping(tmp_path):
    path = tmp_path / "hot.wav"
    save_wav(path, np.array([0.5, 1.5, -2.0, 0.0], np.float32), 8000)
    samples, _ = soundfile.read(path, dtype="int16")
    assert samples.tolist() == [16384, 32767, -32768, 0]


def test_save_wav_keeps_channels(tmp_path):
    path = tmp_path / "stereo.wav"
    save_wav(path, np.stack([sine(440, 8000), sine(880, 8000)], axis=1), 8000)
    assert soundfile.info(path).channels == 2


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (np.zeros(0, np.float32), "N > 0"),
        (np.zeros((2, 3, 4), np.float32), "N > 0"),
        (np.array([0.1, np.nan], np.float32), "NaN"),
    ],
)
def test_save_wav_refuses_bad_audio(tmp_path, audio, message):
    path = tmp_path / "bad.wav"
    with error_naming(path, message):
        save_wav(path, audio, 16000)


def test_save_wav_into_a_missing_folder_names_the_file(tmp_path):
    path = tmp_path / "no_such_folder" / "out.wav"
    with error_naming(path, "cannot write"):
        save_wav(path, np.zeros(10, np.float32), 16000)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, "16k", True])
def test_bad_sample_rates(tmp_path, rate):
    path = tmp_path / "sine.wav"
    write_stereo(path, sine(440), sine(440), "PCM_16")
    with pytest.raises(BodyLanguageError, match="sample rate"):
        load_audio(path, sample_rate=rate)


@pytest.mark.parametrize(
    "content", [b"", b"RIFF", b"RIFF\x24\x00\x00\x00WAVEfmt ", np.arange(4000, dtype=np.uint8)]
)
def test_unreadable_files_name_the_file(tmp_path, content):
    path = tmp_path / "broken.wav"
    path.write_bytes(bytes(content))
    with error_naming(path, "cannot decode"):
        load_audio(path)


def _one_nan() -> np.ndarray:
    samples = np.zeros(100, np.float32)
    samples[10] = np.nan
    return samples


@pytest.mark.parametrize("samples, subtype, message", [
    (np.zeros((0, 2)), "PCM_16", "zero length"),
    (_one_nan(), "FLOAT", "NaN"),
], ids=["zero_length", "nan_samples"])
def test_decodable_but_unusable_audio_names_the_file(tmp_path, samples, subtype, message):
    path = tmp_path / "unusable.wav"
    soundfile.write(path, samples, 16000, subtype=subtype)
    with error_naming(path, message):
        load_audio(path)
