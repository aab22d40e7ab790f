"""Config forms found in published model files (see the README's survey of real files).

Keras 3.0 - 3.4 saved the orthogonal and identity initializers under their alias class
names ("OrthogonalInitializer", "IdentityInitializer"): every default LSTM / GRU from
those versions names its recurrent initializer so. The file is rewritten here into that
form and must load in rnnlens and predict what Keras 3.15.1 predicts from it.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import assert_close, keras_available

pytestmark = pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")


def _rename(config: Any, old: str, new: str) -> Any:
    if isinstance(config, dict):
        out = {k: _rename(v, old, new) for k, v in config.items()}
        if out.get("class_name") == old:
            out["class_name"] = new
        return out
    if isinstance(config, list):
        return [_rename(v, old, new) for v in config]
    return config


def _as_keras_33(src: Path, dst: Path) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = _rename(json.loads(data), "Orthogonal", "OrthogonalInitializer")
                config = _rename(config, "Identity", "IdentityInitializer")
                data = json.dumps(config).encode()
            if item == "metadata.json":
                meta = json.loads(data)
                meta["keras_version"] = "3.3.3"
                data = json.dumps(meta).encode()
            zout.writestr(item, data)


def test_keras_33_initializer_aliases_load(tmp_path: Path) -> None:
    import keras  # noqa: PLC0415

    L = keras.layers
    i = keras.Input((6, 3))
    x = L.Bidirectional(L.LSTM(4, return_sequences=True))(i)
    x = L.GRU(3, recurrent_initializer=keras.initializers.Identity())(x)
    model = keras.Model(i, L.Dense(2)(x))
    model.save(tmp_path / "m.keras")
    _as_keras_33(tmp_path / "m.keras", tmp_path / "old.keras")
    text = zipfile.ZipFile(tmp_path / "old.keras").read("config.json").decode()
    assert '"OrthogonalInitializer"' in text and '"IdentityInitializer"' in text
    x_in = np.random.default_rng(0).normal(size=(4, 6, 3)).astype(np.float32)
    expected = keras.models.load_model(tmp_path / "old.keras").predict(x_in, verbose=0)
    ours = rnnlens.models.load_model(tmp_path / "old.keras")
    assert_close(ours.predict(x_in, verbose=0), expected, name="Keras 3.3 aliases")


@pytest.mark.parametrize("name, cls", [("OrthogonalInitializer", "Orthogonal"),
                                       ("IdentityInitializer", "Identity")])
def test_alias_class_names_resolve(name: str, cls: str) -> None:
    init = rnnlens.initializers.get({"class_name": name, "config": {"gain": 2.0}})
    assert type(init).__name__ == cls and init.get_config()["gain"] == 2.0
