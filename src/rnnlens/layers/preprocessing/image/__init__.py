"""Image preprocessing and augmentation layers, as Keras 3.15.1 defines them
(``keras/src/layers/preprocessing/image_preprocessing/``): ``Rescaling``, ``Resizing``,
``CenterCrop`` (deterministic), the geometric ``Random*`` layers, the color layers, the
mixing layers and ``MaxNumBoundingBoxes``. ``_base`` describes the shared call protocol.
"""

from rnnlens.layers.preprocessing.image.geometric import (RandomCrop, RandomElasticTransform,
                                                         RandomFlip, RandomPerspective,
                                                         RandomRotation, RandomShear,
                                                         RandomTranslation, RandomZoom)
from rnnlens.layers.preprocessing.image.mixing import (AugMix, CutMix, MaxNumBoundingBoxes,
                                                      MixUp, RandAugment, RandomErasing,
                                                      RandomGaussianBlur)
from rnnlens.layers.preprocessing.image.resizing import CenterCrop, Rescaling, Resizing
from rnnlens.layers.preprocessing.image.color import (RandomBrightness, RandomColorDegeneration,
                                                     RandomColorJitter, RandomContrast,
                                                     RandomGrayscale, RandomHue, RandomInvert,
                                                     RandomSaturation, RandomSharpness)
from rnnlens.layers.preprocessing.image.tone import (
    AutoContrast, ContrastLimitedAdaptiveHistogramEqualization, Equalization,
    RandomPosterization, Solarization)

__all__ = ["Rescaling", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomShear", "RandomPerspective", "RandomCrop",
           "RandomElasticTransform", "RandomBrightness", "RandomContrast", "RandomHue",
           "RandomSaturation", "RandomSharpness", "RandomGrayscale", "RandomInvert",
           "RandomColorDegeneration", "RandomColorJitter", "RandomPosterization",
           "Solarization", "Equalization", "AutoContrast",
           "ContrastLimitedAdaptiveHistogramEqualization", "MixUp", "CutMix", "RandomErasing",
           "RandomGaussianBlur", "AugMix", "RandAugment", "MaxNumBoundingBoxes"]
