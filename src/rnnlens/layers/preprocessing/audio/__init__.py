"""Audio preprocessing layers, as Keras 3.15.1 defines them: ``MelSpectrogram`` (no
weights) and ``STFTSpectrogram`` (trainable ``STFT``-initialized kernels)."""

from rnnlens.layers.preprocessing.audio.mel import MelSpectrogram
from rnnlens.layers.preprocessing.audio.spectrogram import STFTSpectrogram

__all__ = ["MelSpectrogram", "STFTSpectrogram"]
