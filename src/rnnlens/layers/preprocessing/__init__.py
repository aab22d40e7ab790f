"""Preprocessing layers, as Keras 3.15.1 defines them: text and lookups
(``TextVectorization``, ``StringLookup``, ``IntegerLookup``, ``Hashing``) and numeric
(``Normalization``, ``Discretization``, ``CategoryEncoding``, ``HashedCrossing``), and
``Pipeline``. Keras's layout:
``keras/src/layers/preprocessing/``.

They take NumPy data (strings as ``str`` / ``bytes`` / object arrays), run eagerly or
inside models (``Input(shape=(1,), dtype="string")``), have no trainable weights, and
carry their vocabularies and statistics in ``.keras`` files as Keras stores them.
"""

from rnnlens.layers.preprocessing.category_encoding import CategoryEncoding
from rnnlens.layers.preprocessing.discretization import Discretization
from rnnlens.layers.preprocessing.hashed_crossing import HashedCrossing
from rnnlens.layers.preprocessing.hashing import Hashing
from rnnlens.layers.preprocessing.normalization import Normalization
from rnnlens.layers.preprocessing.pipeline import Pipeline
from rnnlens.layers.preprocessing.string_lookup import IntegerLookup, StringLookup
from rnnlens.layers.preprocessing.text_vectorization import TextVectorization

__all__ = ["TextVectorization", "StringLookup", "IntegerLookup", "Hashing", "Normalization",
           "Discretization", "CategoryEncoding", "HashedCrossing", "Pipeline"]
