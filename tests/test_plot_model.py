"""``rnnlens.utils.plot_model`` / ``model_to_dot`` against Keras 3.15.1's.

* DOT text: for the same models built in Keras and in rnnlens, ``model_to_dot``
  (pydot) gives the same text once node ids (``id(layer)``) are numbered in
  order of appearance: the same nodes in the same order, the same labels
  (names, classes, shapes, dtypes, activations, trainable) and the same edges,
  for functional, Sequential, multi-input and nested models (expanded or not).
* rnnlens's own small pydot writes exactly the text pydot writes.
* Drawn by rnnlens (no Graphviz): a valid SVG (parsed as XML) with NumPy only,
  whose text holds every layer name and shape; a PNG (signature, size from
  ``dpi``, the labels in its ``tEXt`` description) and a PDF through
  matplotlib; the layout never overlaps boxes and every edge points down.
* Drawn by Graphviz (``dot``, Debian package ``graphviz``) as Keras does.
* Keras's signature and its errors.
"""

from __future__ import annotations

import inspect
import re
import shutil
import struct
import sys
import zlib
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens.utils import _model_drawing as drawing
from rnnlens.utils import model_visualization as mv

ALL = dict(show_shapes=True, show_dtype=True, show_layer_activations=True, show_trainable=True)


@pytest.fixture(scope="module")
def keras() -> Any:
    import keras

    return keras


def number_ids(text: str) -> str:
    """Node ids (``id(layer)``) renamed n0, n1, ... in order of appearance."""
    ids: dict[str, str] = {}
    return re.sub(r"(?m)(?<![\w\"])\d{6,}(?![\w\"])",
                  lambda m: ids.setdefault(m.group(0), f"n{len(ids)}"), text)


def models(lib: Any) -> dict[str, Any]:
    """The same architectures in Keras and in rnnlens (fresh names each call)."""
    lib.utils.clear_session()                          # the same automatic names in both
    L = lib.layers
    out = {}
    i = lib.Input((3, 1))
    a, h, c = L.LSTM(1, return_sequences=True, return_state=True)(i)
    out["seed"] = lib.Model(i, [a, h, c])
    out["sequential"] = lib.Sequential([lib.Input((3, 1)), L.LSTM(2, return_sequences=True),
                                        L.TimeDistributed(L.Dense(1)), L.Flatten(),
                                        L.Dense(2, activation="softmax")])
    e, d = lib.Input((5, 1), name="enc"), lib.Input((3, 1), name="dec")
    _, sh, sc = L.LSTM(4, return_state=True, name="encoder")(e)
    y = L.LSTM(4, return_sequences=True, name="decoder")(d, initial_state=[sh, sc])
    out["encoder_decoder"] = lib.Model([e, d], L.TimeDistributed(L.Dense(1), name="head")(y))
    x = lib.Input((6, 2))
    m = L.Dropout(0.1)(x)
    b = L.Bidirectional(L.GRU(3, return_sequences=True), name="bidir")(m)
    frozen = L.Dense(2, name="frozen")
    frozen.trainable = False
    out["branches"] = lib.Model(x, L.Concatenate()([L.GlobalAveragePooling1D()(b),
                                                    L.Flatten()(frozen(b))]))
    inner = lib.Sequential([lib.Input((3, 1)), L.LSTM(2, name="in_lstm"),
                            L.Dense(1, name="in_dense")], name="inner model")
    x = lib.Input((3, 1), name="x")
    out["nested"] = lib.Model(x, L.Dense(2, name="out")(inner(x)))
    return out


OPTIONS = [{}, ALL, {"expand_nested": True, "show_shapes": True, "rankdir": "LR"},
           {"show_layer_names": False, "dpi": 96}]


@pytest.mark.keras
def test_dot_text_equals_keras(keras: Any) -> None:
    theirs, ours = models(keras), models(rnnlens)
    for name in theirs:
        for options in OPTIONS:
            want = number_ids(keras.utils.model_to_dot(theirs[name], **options).to_string())
            got = number_ids(rnnlens.utils.model_to_dot(ours[name], **options).to_string())
            assert got == want, (name, options)


@pytest.mark.keras
def test_own_dot_writes_what_pydot_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    pydot = pytest.importorskip("pydot")
    for name, model in models(rnnlens).items():
        for options in OPTIONS:
            with_pydot = rnnlens.utils.model_to_dot(model, **options)
            assert isinstance(with_pydot, pydot.Dot)
            monkeypatch.setattr(mv, "_PYDOT", [None])
            own = rnnlens.utils.model_to_dot(model, **options)
            monkeypatch.setattr(mv, "_PYDOT", [])
            assert isinstance(own, mv.Dot)
            assert own.to_string() == with_pydot.to_string(), (name, options)


def test_quoting_as_pydot() -> None:
    assert mv._quote("Helvetica") == "Helvetica" and mv._quote("200") == "200"
    assert mv._quote("inner model") == '"inner model"'
    assert mv._quote("node") == '"node"' and mv._quote(True) == "true"
    assert mv._quote('a"b') == '"a\\"b"' and mv._quote("<<b>x</b>>") == "<<b>x</b>>"


# ---------------------------------------------------------------------------- own drawing
@pytest.fixture
def no_graphviz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mv, "check_graphviz", lambda: False)


def svg_text(path: Any) -> tuple[Any, str]:
    root = ElementTree.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return root, "\n".join(texts)


def labels_of(model: Any) -> list[str]:
    """Every layer name and every output shape as the labels write them."""
    out = []
    for layer in model._layers if not isinstance(model, rnnlens.Sequential) else model.layers:
        out.append(layer.name)
        out.append(mv._format_shape(mv._tensor_attr(layer, "output", "shape")))
    return out


def png_chunks(data: bytes) -> dict[bytes, list[bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, list[bytes]] = {}
    pos = 8
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0]
        chunks.setdefault(kind, []).append(body)
        pos += 12 + n
    return chunks


def test_own_svg_png_pdf(tmp_path: Any, no_graphviz: None) -> None:
    for name, model in models(rnnlens).items():
        result = rnnlens.utils.plot_model(model, tmp_path / f"{name}.svg", show_shapes=True,
                                          show_layer_names=True)
        root, text = svg_text(tmp_path / f"{name}.svg")
        for label in labels_of(model):
            assert label in text, (name, label)
        dot = rnnlens.utils.model_to_dot(model)
        n_edges = len(re.findall(r"->", dot.to_string()))
        assert len(root.findall("{http://www.w3.org/2000/svg}g[@class='edge']")) == n_edges
        assert type(result).__name__ == "SVG"
    model = models(rnnlens)["encoder_decoder"]
    rnnlens.utils.plot_model(model, tmp_path / "m.png", show_shapes=True, show_dtype=True,
                             show_layer_names=True, dpi=72)
    chunks = png_chunks((tmp_path / "m.png").read_bytes())
    width, height = struct.unpack(">II", chunks[b"IHDR"][0][:8])
    text = b"\n".join(chunks.get(b"tEXt", []) + [zlib.decompress(c.split(b"\0", 2)[2])
                                                 for c in chunks.get(b"zTXt", [])])
    for label in labels_of(model) + ["float32"]:
        assert label.encode() in text
    rnnlens.utils.plot_model(model, tmp_path / "m2.png", show_shapes=True, show_dtype=True,
                             show_layer_names=True, dpi=144)
    w2, h2 = struct.unpack(">II", png_chunks((tmp_path / "m2.png").read_bytes())[b"IHDR"][0][:8])
    assert abs(w2 - 2 * width) <= 2 and abs(h2 - 2 * height) <= 2
    rnnlens.utils.plot_model(model, tmp_path / "m.pdf")
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    rnnlens.utils.plot_model(model, tmp_path / "m.dot", show_shapes=True)
    assert (tmp_path / "m.dot").read_text() == mv._graph(
        mv._MINI, model, {"show_layer_names": False, "show_shapes": True, "show_dtype": False,
                          "show_layer_activations": False, "show_trainable": False},
        "TB", False, 200, False, "ortho").to_string()


def _get_scene_for(model: Any, **options: Any) -> Any:
    return drawing.Scene.of(mv._graph(mv._MINI, model, {
        "show_layer_names": True, "show_shapes": True, "show_dtype": False,
        "show_layer_activations": False, "show_trainable": False},
        options.get("rankdir", "TB"), options.get("expand_nested", False), 200, False, "ortho"))


def test_svg_needs_numpy_only(tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
                              no_graphviz: None) -> None:
    for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.figure", "IPython"):
        monkeypatch.setitem(sys.modules, name, None)
    model = models(rnnlens)["seed"]
    assert rnnlens.utils.plot_model(model, tmp_path / "seed.svg", show_shapes=True) is None
    _, text = svg_text(tmp_path / "seed.svg")
    assert "(None, 3, 1)" in text and "LSTM" in text
    with pytest.raises(ImportError, match=r"graphviz.*rnnlens\[plot\].*\.svg"):
        rnnlens.utils.plot_model(model, tmp_path / "seed.png")


def test_nested_clusters_and_rankdir(no_graphviz: None) -> None:
    model = models(rnnlens)["nested"]
    scene = _get_scene_for(model, expand_nested=True)
    (frame,) = scene.clusters
    assert frame[4] == "inner model"
    inside = [b for b in scene.boxes.values() if b.cluster]
    assert sorted(b.layer for b in inside) == ["in_dense", "in_lstm"]
    for b in inside:
        assert frame[0] < b.x - b.w / 2 and b.x + b.w / 2 < frame[2]
        assert frame[1] < b.y - b.h / 2 and b.y + b.h / 2 < frame[3]
    svg = scene.svg()
    assert 'stroke-dasharray' in svg and "inner model" in svg
    wide = _get_scene_for(models(rnnlens)["sequential"], rankdir="LR")
    tall = _get_scene_for(models(rnnlens)["sequential"], rankdir="TB")
    assert wide.width > 2 * tall.width and tall.height > 2 * wide.height


def _check_layout(scene: Any) -> None:
    boxes = list(scene.boxes.values())
    for k, a in enumerate(boxes):
        assert a.x - a.w / 2 >= 0 and a.y - a.h / 2 >= 0
        assert a.x + a.w / 2 <= scene.width + 1e-6 and a.y + a.h / 2 <= scene.height + 1e-6
        for b in boxes[k + 1:]:
            apart_x = abs(a.x - b.x) >= (a.w + b.w) / 2 - 1e-6
            apart_y = abs(a.y - b.y) >= (a.h + b.h) / 2 - 1e-6
            assert apart_x or apart_y, (a.layer, b.layer)
    for s, d in scene.edges:
        assert scene.boxes[s].y + scene.boxes[s].h / 2 < scene.boxes[d].y - scene.boxes[d].h / 2


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_layout_never_overlaps_and_edges_point_down(n: int, data: Any) -> None:
    boxes = {}
    for k in range(n):
        name = data.draw(st.text("abcdefgh_", min_size=1, max_size=30), label="name")
        cells = data.draw(st.integers(0, 3), label="cells")
        boxes[str(k)] = drawing.Box(title=[(name, True), (" (Dense)", False)],
                                    cells=[drawing.Cell([("Output shape: ", False),
                                                         ("(None, 3)", True)])] * cells,
                                    layer=f"layer{k}")
    edges = sorted({(str(a), str(b)) for a in range(n) for b in range(a + 1, n)
                    if data.draw(st.booleans(), label=f"{a}->{b}")})
    scene = drawing.Scene(boxes, edges, {}, "TB")
    _check_layout(scene)
    svg = scene.svg()
    root = ElementTree.fromstring(svg)
    assert len(root.findall("{http://www.w3.org/2000/svg}g[@class='node']")) == n


def test_real_models_lay_out_cleanly(no_graphviz: None) -> None:
    for model in models(rnnlens).values():
        _check_layout(_get_scene_for(model))


# ---------------------------------------------------------------------------- Graphviz
@pytest.fixture
def graphviz() -> None:
    if shutil.which("dot") is None:
        pytest.fail("plot_model's Graphviz path needs the dot program: apt-get install graphviz")
    pytest.importorskip("pydot")
    assert mv.check_graphviz()


def test_graphviz_draws_as_keras(tmp_path: Any, graphviz: None) -> None:
    model = models(rnnlens)["encoder_decoder"]
    rnnlens.utils.plot_model(model, tmp_path / "m.svg", show_shapes=True, show_layer_names=True)
    root, text = svg_text(tmp_path / "m.svg")
    assert "Generated by graphviz" in (tmp_path / "m.svg").read_text()
    compact = re.sub(r"\s+", "", text)
    for label in labels_of(model):
        assert re.sub(r"\s+", "", label) in compact, label
    rnnlens.utils.plot_model(model, tmp_path / "m", dpi=50)        # no extension: PNG
    chunks = png_chunks((tmp_path / "m").read_bytes())
    assert struct.unpack(">II", chunks[b"IHDR"][0][:8])[0] > 50


# ---------------------------------------------------------------------------- Keras's API
@pytest.mark.keras
def test_signatures_are_keras(keras: Any) -> None:
    for name in ("plot_model", "model_to_dot"):
        ours = inspect.signature(getattr(rnnlens.utils, name))
        theirs = inspect.signature(getattr(keras.utils, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()]


def test_errors_as_keras(tmp_path: Any) -> None:
    unbuilt = rnnlens.Sequential([rnnlens.layers.Dense(2)])
    for fn in (rnnlens.utils.plot_model, rnnlens.utils.model_to_dot):
        with pytest.raises(ValueError, match="has not yet been built"):
            fn(unbuilt)
    model = models(rnnlens)["seed"]
    with pytest.raises(ValueError, match="layer_range"):
        rnnlens.utils.plot_model(model, tmp_path / "x.svg", layer_range=["a", "b"])
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        rnnlens.utils.model_to_dot(model, colour=True)
    with pytest.raises(ValueError, match="rankdir"):
        rnnlens.utils.plot_model(model, tmp_path / "x.svg", rankdir="up")
    single = np.zeros((2, 3, 1), np.float32)
    assert model.predict(single, verbose=0)[0].shape == (2, 3, 1)     # unchanged by plotting
