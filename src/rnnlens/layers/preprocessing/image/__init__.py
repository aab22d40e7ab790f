"""Image preprocessing and augmentation layers, as Keras 3.15.1 defines them
(``keras/src/layers/preprocessing/image_preprocessing/``): ``Rescaling``, ``Resizing``,
``CenterCrop`` (deterministic), the geometric ``Random*`` layers, the color layers, the
mixing layers and ``MaxNumBoundingBoxes``. ``_base`` describes the shared call protocol.
"""

from rnnlens.layers.preprocessing.image.geometric import (RandomCrop, RandomElasticTransform,
                                                         RandomFlip, RandomPerspective,
                                                         RandomRotation, RandomShear,
                                                         RandomTranslation, RandomZoom)
from rnnlens.layers.preprocessing.image.resizing import CenterCrop, Rescaling, Resizing

__all__ = ["Rescaling", "Resizing", "CenterCrop", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomShear", "RandomPerspective", "RandomCrop",
           "RandomElasticTransform"]
