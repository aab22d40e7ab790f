"""``rnnlens tour``: the seed tutorial, run for real and explained.

The tutorial ("the difference between return sequences and return states for
LSTMs") feeds ``[0.1, 0.2, 0.3]`` shaped (1, 3, 1) to ``LSTM(1)`` in four
configurations. The tour runs each one, names every returned tensor with its
shape, values and meaning, proves the claims (the last step of the sequence
is ``state_h``; ``state_c`` is something else) from the trace, then builds
the three uses the tutorial names. Every check is computed, never asserted
by text: the tour exits non-zero if one fails.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

import rnnlens
from rnnlens.layers import LSTM, Bidirectional, Dense, Input, Masking, TimeDistributed
from rnnlens.models import Model

CONFIGS = [
    ("default", {}),
    ("return_sequences=True", {"return_sequences": True}),
    ("return_state=True", {"return_state": True}),
    ("return_sequences=True, return_state=True", {"return_sequences": True,
                                                  "return_state": True}),
]


@dataclass
class Tour:
    """Settings and the output stream; collects every check's result."""

    units: int = 1
    timesteps: int = 3
    seed: int = 1
    compare: str | None = None
    out: TextIO = sys.stdout
    checks: list[tuple[str, bool]] = field(default_factory=list)
    shown: list[tuple[str, Any, Any]] = field(default_factory=list)   # (title, model, x)

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def check(self, claim: str, ok: bool, detail: str = "") -> None:
        self.checks.append((claim, bool(ok)))
        mark = "PASS" if ok else "FAIL"
        self.say(f"  [{mark}] {claim}" + (f"  ({detail})" if detail else ""))


def fmt(values: np.ndarray) -> str:
    """Numbers with 5 decimals, nested like the array, on one line."""
    text = np.array2string(np.asarray(values), precision=5, floatmode="fixed",
                           separator=", ", max_line_width=10_000, suppress_small=False)
    return " ".join(text.split())


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    """An aligned text table."""
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]
    line = lambda cells: "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths]), *map(line, rows)]


def data(timesteps: int) -> np.ndarray:
    """The tutorial's input: 0.1, 0.2, ... shaped (1, T, 1)."""
    return (np.arange(1, timesteps + 1, dtype=np.float32) / 10).reshape(1, timesteps, 1)


def meaning(name: str, tour: Tour, sequences: bool) -> str:
    t = tour.timesteps
    return {
        "seq": f"hidden state h_t after every step t=1..{t}",
        "last": f"hidden state after the last step, h_{t}",
        "state_h": f"last hidden state h_{t} (a state, to hand on)",
        "state_c": f"last cell state c_{t} (internal memory)",
    }[name if name != "out" else ("seq" if sequences else "last")]


def run_configs(tour: Tour, weights: list[np.ndarray]) -> dict[str, Any]:
    """The four configurations with the same weights; prints each."""
    x = data(tour.timesteps)
    results = {}
    for k, (title, kwargs) in enumerate(CONFIGS, 1):
        inputs = Input(shape=(tour.timesteps, 1))
        layer = LSTM(tour.units, **kwargs)
        outs = layer(inputs)
        model = Model(inputs=inputs, outputs=list(outs) if isinstance(outs, tuple) else outs)
        model.set_weights(weights)
        pred = model.predict(x, verbose=0)
        pred = pred if isinstance(pred, list) else [pred]
        names = ["lstm1", "state_h", "state_c"][: len(pred)]
        roles = ["out", "state_h", "state_c"]
        seq = kwargs.get("return_sequences", False)
        flags = "".join(f", {a}" for a in title.split(", ") if "=" in a)
        returned = "lstm1, state_h, state_c" if len(pred) == 3 else "lstm1"
        tour.say(f"\n{k}. LSTM({tour.units}{flags})  ->  {returned}")
        rows = [[n, str(p.shape), meaning(r, tour, seq), fmt(p[0])]
                for n, p, r in zip(names, pred, roles)]
        for line in table(rows, ["returned", "shape", "meaning", "values (sample 0)"]):
            tour.say(line)
        results[title] = pred
        tour.shown.append((f"{k}. LSTM({tour.units}{flags})", model, x))
    return results


def prove_claims(tour: Tour, results: dict[str, Any], weights: list[np.ndarray]) -> None:
    """The tutorial's claims, computed."""
    seq, state_h, state_c = results["return_sequences=True, return_state=True"]
    tour.say("\nWhat the four configurations show:")
    diff = float(np.max(np.abs(seq[:, -1] - state_h)))
    tour.check("the last step of the sequence equals state_h", diff == 0.0, f"max diff {diff:g}")
    same = float(np.max(np.abs(results["default"][0] - state_h)))
    tour.check("the default output is that same last hidden state", same == 0.0,
               f"max diff {same:g}")
    gap = float(np.max(np.abs(state_c - state_h)))
    tour.check("state_c is a different tensor from state_h", gap > 1e-6,
               f"max |c - h| = {gap:.5f}")

    layer = LSTM(tour.units, return_sequences=True)
    layer.build((None, tour.timesteps, 1))
    layer.set_weights(weights)
    tr = rnnlens.trace(layer, data(tour.timesteps))[layer.name]
    tour.say("\nInside the layer, step by step (rnnlens.trace; unit 0 of sample 0):")
    rows = [[str(t + 1), f"{data(tour.timesteps)[0, t, 0]:.1f}",
             *(f"{tr.gates[g][0, t, 0]:.5f}" for g in "ifgo"),
             f"{tr.c[0, t, 0]:.5f}", f"{tr.h[0, t, 0]:.5f}"] for t in range(tour.timesteps)]
    heads = ["t", "x_t", "i (input)", "f (forget)", "g (candidate)", "o (output)", "c_t", "h_t"]
    for line in table(rows, heads):
        tour.say(line)
    tour.say("  c_t = f * c_(t-1) + i * g is the memory the layer carries; h_t = o * tanh(c_t)"
             "\n  is what it shows. return_sequences gives every h_t; return_state adds the last"
             "\n  h and c, and only the trace shows c at every step.")
    rebuilt_c = tr.gates["f"] * tr.c_prev + tr.gates["i"] * tr.gates["g"]
    rebuilt_h = tr.gates["o"] * np.tanh(tr.c)
    err = max(float(np.max(np.abs(rebuilt_c - tr.c))), float(np.max(np.abs(rebuilt_h - tr.h))))
    tour.check("the trace rebuilds c_t and h_t from the gates", err < 1e-6, f"max err {err:.1e}")
    tour.check("the trace's h equals the return_sequences output",
               float(np.max(np.abs(tr.h - seq))) == 0.0)
    tour.check("the trace's last c equals state_c",
               float(np.max(np.abs(tr.c[:, -1] - state_c))) == 0.0)


def use_stacked(tour: Tour) -> None:
    u, t = tour.units, tour.timesteps
    tour.say("\nUse 1. Stacked LSTMs: every layer but the last returns its sequence.")
    inputs = Input(shape=(t, 1))
    x = LSTM(max(u, 2), return_sequences=True, name="lower")(inputs)
    model = Model(inputs, LSTM(u, name="upper")(x))
    tour.shown.append(("Use 1. Stacked LSTMs", model, data(t)))
    model.summary(print_fn=lambda s: [tour.say("  " + line) for line in s.splitlines()])
    trace = rnnlens.trace(model, data(t))
    ok = np.array_equal(trace["upper"].h[:, -1], model.predict(data(t), verbose=0))
    tour.check("the upper LSTM reads the lower one's (1, T, u) sequence; its last h is the output",
               ok)


def use_time_distributed(tour: Tour) -> None:
    u, t = tour.units, tour.timesteps
    tour.say("\nUse 2. TimeDistributed(Dense(1)): one prediction per time step.")
    inputs = Input(shape=(t, 1))
    seq = LSTM(max(u, 2), return_sequences=True, name="lstm_seq")(inputs)
    dense = Dense(1)
    model = Model(inputs, TimeDistributed(dense)(seq))
    tour.shown.append(("Use 2. TimeDistributed(Dense(1))", model, data(t)))
    y = model.predict(data(t), verbose=0)
    tour.say(f"  output shape {y.shape}: {fmt(y[0, :, 0])}")
    h = rnnlens.trace(model, data(t))["lstm_seq"].h
    manual = h @ dense.kernel + dense.bias
    tour.check("each step's output is the same Dense applied to that step's h",
               float(np.max(np.abs(manual - y))) < 1e-6)


def use_encoder_decoder(tour: Tour) -> None:
    u, t = max(tour.units, 2), tour.timesteps
    tour.say("\nUse 3. Encoder-decoder: the encoder's [state_h, state_c] start the decoder.")
    enc_in, dec_in = Input(shape=(t, 1), name="encoder_input"), Input(shape=(2, 1),
                                                                      name="decoder_input")
    _, state_h, state_c = LSTM(u, return_state=True, name="encoder")(enc_in)
    dec_seq = LSTM(u, return_sequences=True, name="decoder")(dec_in,
                                                             initial_state=[state_h, state_c])
    out = TimeDistributed(Dense(1), name="head")(dec_seq)
    model = Model([enc_in, dec_in], [out, state_h, state_c])
    dec_x = np.zeros((1, 2, 1), np.float32)
    y, h, c = model.predict([data(t), dec_x], verbose=0)
    tour.shown.append(("Use 3. Encoder-decoder", model, [data(t), dec_x]))
    tour.say(f"  encoder state_h {fmt(h[0])}  state_c {fmt(c[0])}")
    tour.say(f"  decoder outputs {fmt(y[0, :, 0])} (shape {y.shape})")
    tr = rnnlens.trace(model, [data(t), dec_x])
    start_h, start_c = tr["decoder"].initial_states
    tour.check("the decoder starts from exactly the encoder's final h and c",
               np.array_equal(start_h, h) and np.array_equal(start_c, c))
    tour.say("  (A decoder needs c as well as h: h alone would restart its memory from zero.)")


def padding_and_masks(tour: Tour, weights: list[np.ndarray]) -> None:
    """What the final state is for a padded sequence, padded right or left."""
    t, u = tour.timesteps, tour.units
    real = data(t)
    pad = np.zeros((1, 2, 1), np.float32)
    tour.say(f"\nMasks. Pad the {t}-step input with 2 zeros and put Masking() in front: "
             "padded steps are skipped.")
    _, h_ref, c_ref = _lstm_with(weights, u, return_state=True)(real)
    rows, same = [], {}
    for side, x in (("right", np.concatenate([real, pad], 1)),
                    ("left", np.concatenate([pad, real], 1))):
        for masked in (True, False):
            layer = _lstm_with(weights, u, return_sequences=True, return_state=True)
            seq, h, c = layer(Masking()(x) if masked else x)
            same[side, masked] = np.array_equal(h, h_ref) and np.array_equal(c, c_ref)
            rows.append([side, "yes" if masked else "no", fmt(x[0, :, 0]), fmt(seq[0, :, 0]),
                         fmt(h[0]), "yes" if same[side, masked] else "no"])
    tour.shown.append(("Masks: padded right, Masking()", lambda: _masked_model(weights, u, t + 2),
                       np.concatenate([real, pad], 1)))       # built only for --html
    for line in table(rows, ["padding", "masked", "input", "sequence output (unit 0)",
                             "state_h", "= unpadded state"]):
        tour.say(line)
    tour.say("  Masked steps change no state, so state_h and state_c are those of the real "
             "steps,\n  whichever side the padding is on. A masked step outputs the last "
             "output again\n  (0 before the first real step).")
    tour.check("with a mask, left- and right-padded inputs end in the unpadded states",
               same["right", True] and same["left", True])
    tour.check("without a mask, trailing padding changes the final states",
               not same["right", False])
    if same["left", False]:
        tour.say("  Unmasked *leading* zeros happen to be harmless here: from a zero state, a "
                 "zero input\n  with the initial zero candidate bias keeps c and h at exactly "
                 "0. A trained bias breaks\n  that, so mask padding rather than rely on it.")


def bidirectional_states(tour: Tour) -> None:
    """Which of Bidirectional(LSTM)'s five tensors is which."""
    t, u = tour.timesteps, tour.units
    tour.say(f"\nBidirectional(LSTM({u}, return_state=True)) returns five tensors:")
    layer = Bidirectional(LSTM(u, return_state=True))
    out, h_f, c_f, h_b, c_b = layer(data(t))
    rows = [["output", str(out.shape), "concat of the two directions' last outputs"],
            ["h_fwd", str(h_f.shape), f"forward h after reading x_1..x_{t} (= output[:, :{u}])"],
            ["c_fwd", str(c_f.shape), "forward cell state at the end"],
            ["h_bwd", str(h_b.shape), f"backward h after reading x_{t}..x_1 (= output[:, {u}:])"],
            ["c_bwd", str(c_b.shape), "backward cell state at the end"]]
    for line in table(rows, ["returned", "shape", "meaning"]):
        tour.say(line)
    tour.shown.append((f"Bidirectional(LSTM({u}, return_state=True))", layer, data(t)))
    tour.check("output = concat([h_fwd, h_bwd])",
               np.array_equal(out, np.concatenate([h_f, h_b], axis=-1)))
    tr = rnnlens.trace(layer, data(t))
    back = tr[layer.backward_layer.name]
    tour.check("the backward layer read the sequence from its last step: its trace ends at x_1",
               np.array_equal(back.h[:, -1], h_b))
    tour.say(f"  To start a decoder, join them: LSTM({2 * u})(y, initial_state="
             "[concat([h_fwd, h_bwd]), concat([c_fwd, c_bwd])]).")
    decoder = LSTM(2 * u, return_state=True)
    _, h0, c0 = decoder(np.zeros((1, 1, 1), np.float32), initial_state=[
        np.concatenate([h_f, h_b], -1), np.concatenate([c_f, c_b], -1)])
    tour.check("a decoder of 2*units takes the joined states", h0.shape == (1, 2 * u))


def _masked_model(weights: list[np.ndarray], units: int, steps: int) -> Model:
    inputs = Input(shape=(steps, 1))
    outs = _lstm_with(weights, units, return_sequences=True, return_state=True)(Masking()(inputs))
    return Model(inputs, list(outs))


def _lstm_with(weights: list[np.ndarray], units: int, **kwargs: Any) -> LSTM:
    layer = LSTM(units, **kwargs)
    layer.build((None, None, 1))
    layer.set_weights(weights)
    return layer


def keras_predict(kwargs: dict, units: int, timesteps: int, weights: list[np.ndarray],
                  x: np.ndarray) -> list[np.ndarray]:
    """The same configuration in Keras 3 (imported only here), same weights."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)                          # TensorFlow logs to fd 2 while importing
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import keras
    finally:
        os.dup2(saved, 2)
        os.close(saved)

    inputs = keras.Input(shape=(timesteps, 1))
    outs = keras.layers.LSTM(units, **kwargs)(inputs)
    model = keras.Model(inputs, list(outs) if isinstance(outs, (tuple, list)) else outs)
    model.set_weights(weights)
    pred = model.predict(x, verbose=0)
    return [np.asarray(p) for p in (pred if isinstance(pred, list) else [pred])]


def compare_keras(tour: Tour, weights: list[np.ndarray], results: dict[str, Any]) -> None:
    """Runs the four configurations in Keras with the same weights."""
    tour.say("\nKeras 3 with the same weights (largest absolute difference):")
    worst = 0.0
    for title, kwargs in CONFIGS:
        theirs = keras_predict(kwargs, tour.units, tour.timesteps, weights, data(tour.timesteps))
        ours = results[title]
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, theirs))
        worst = max(worst, diff)
        tour.say(f"  {title:<42} {diff:.2e}")
    tour.check("rnnlens equals Keras to 1e-5 in every configuration", worst <= 1e-5,
               f"worst {worst:.2e}")


def run(units: int = 1, timesteps: int = 3, seed: int = 1, compare: str | None = None,
        out: TextIO = sys.stdout, html: str | None = None) -> int:
    """Runs the tour; returns 0 when every check holds, 1 otherwise.

    With ``html``, also writes the tour's models to that page (``rnnlens.explain``).
    """
    tour = Tour(units=units, timesteps=timesteps, seed=seed, compare=compare, out=out)
    rnnlens.utils.clear_session()                  # same names on every run
    rnnlens.utils.set_random_seed(seed)
    base = LSTM(units)
    base.build((None, timesteps, 1))
    weights = base.get_weights()
    tour.say("rnnlens tour: return sequences and return states for LSTMs")
    tour.say(f"Input: {fmt(data(timesteps)[0, :, 0])} shaped (1, {timesteps}, 1) = (samples, "
             f"time steps, features).  LSTM({units}), weights from seed {seed}, the same in "
             "every configuration.")
    results = run_configs(tour, weights)
    prove_claims(tour, results, weights)
    for use in (use_stacked, use_time_distributed, use_encoder_decoder):
        use(tour)
    padding_and_masks(tour, weights)
    bidirectional_states(tour)
    if compare == "keras":
        compare_keras(tour, weights, results)
    failed = [c for c, ok in tour.checks if not ok]
    tour.say(f"\n{len(tour.checks) - len(failed)}/{len(tour.checks)} checks passed.")
    if html:
        from rnnlens.explain.command import tour_page

        tour.say(tour_page(html, tour.shown))
    return 1 if failed else 0


__all__ = ["run"]
