"""Streaming gesture detection: a GRU cell with explicit state, one 20 Hz frame per invocation.

Keras 3 GRU layers convert to WHILE loops whose int8 conversion crashes the converter
(shared/reference/ml.md §7), so the device model is one time step written out with Dense layers:

    inputs  frame (1, 3) = x_t,  state (1, 16) = h_{t-1}
    z  = sigmoid(Wz x + bz + Uz h + cz)          r = sigmoid(Wr x + br + Ur h + cr)
    hh = tanh(Wh x + bh + r * (Uh h + ch))       h_t = hh + z * (h - hh)   (= z h + (1-z) hh)
    outputs state_out (1, 16) = h_t,  scores (1, 4) = softmax(V h_t + d), class 0 = no gesture

It is trained as an ordinary Keras GRU (reset_after=True, same equations) over whole streams, and
the trained weights are copied into the step model (`step_model`). The harness or firmware feeds
frames in order, copies state_out into state before the next frame, and starts every stream from
h = 0. For the int8 variant, `harness.quant.state.tie_state` gives state_out exactly state's
scale and zero point, so the copy is byte for byte (no requantization).
"""

from __future__ import annotations

import numpy as np

SEED = 6
FEATURES, HIDDEN, CLASSES = 3, 16, 4


def build_sequence():
    """The training model: GRU over a whole stream, per-frame softmax."""
    import keras

    inp = keras.Input((None, FEATURES), name="frames")
    h = keras.layers.GRU(HIDDEN, return_sequences=True, reset_after=True, name="gru")(inp)
    out = keras.layers.Dense(CLASSES, activation="softmax", name="head")(h)
    return keras.Model(inp, out, name="gesture_gru_seq")


def build_step():
    """The one-step explicit-state model (inputs [frame, state], outputs [state_out, scores])."""
    import keras

    L = keras.layers
    x = keras.Input((FEATURES,), batch_size=1, name="frame")
    h = keras.Input((HIDDEN,), batch_size=1, name="state")
    z = L.Activation("sigmoid")(L.Add()([L.Dense(HIDDEN, name="xz")(x), L.Dense(HIDDEN, name="hz")(h)]))
    r = L.Activation("sigmoid")(L.Add()([L.Dense(HIDDEN, name="xr")(x), L.Dense(HIDDEN, name="hr")(h)]))
    hh = L.Activation("tanh")(L.Add()([L.Dense(HIDDEN, name="xh")(x),
                                        L.Multiply()([r, L.Dense(HIDDEN, name="hh")(h)])]))
    h_new = L.Add(name="state_out")([hh, L.Multiply()([z, L.Subtract()([h, hh])])])
    scores = L.Dense(CLASSES, activation="softmax", name="scores")(h_new)
    return keras.Model([x, h], [h_new, scores], name="gesture_gru_cell")


def step_model(seq_model):
    """Copy the trained GRU and head weights into a new step model."""
    step = build_step()
    k, rk, b = seq_model.get_layer("gru").get_weights()  # (F,3H), (H,3H), (2,3H); gates z, r, h
    H = HIDDEN
    for g, name in enumerate("zrh"):
        sl = slice(g * H, (g + 1) * H)
        step.get_layer("x" + name).set_weights([k[:, sl], b[0, sl]])
        step.get_layer("h" + name).set_weights([rk[:, sl], b[1, sl]])
    step.get_layer("scores").set_weights(seq_model.get_layer("head").get_weights())
    return step


def run_step_model(step, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The float step model over one stream, in numpy (fast): (states fed in (T+1, H), scores (T, C)).

    states[t] is the state input at frame t; states[T] is the final state.
    """
    w = {n: step.get_layer(n).get_weights() for n in ("xz", "hz", "xr", "hr", "xh", "hh", "scores")}

    def dense(n, v):
        return v @ w[n][0] + w[n][1]

    def sig(v):
        return 1.0 / (1.0 + np.exp(-v))

    h = np.zeros(HIDDEN, np.float32)
    hs, ss = [h], []
    for x in np.asarray(frames, np.float32):
        z = sig(dense("xz", x) + dense("hz", h))
        r = sig(dense("xr", x) + dense("hr", h))
        hh = np.tanh(dense("xh", x) + r * dense("hh", h))
        h = (hh + z * (h - hh)).astype(np.float32)
        logits = dense("scores", h)
        e = np.exp(logits - logits.max())
        hs.append(h)
        ss.append(e / e.sum())
    return np.stack(hs), np.stack(ss)


def train(data: dict[str, np.ndarray]):
    """Train the sequence GRU from fixed seeds and return the equivalent step model."""
    import keras

    from suites import deterministic

    deterministic(SEED)
    seq = build_sequence()
    seq.compile(optimizer=keras.optimizers.Adam(5e-3), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    seq.fit(data["x_train"], data["y_train"], epochs=40, batch_size=16, shuffle=True, verbose=0)
    return step_model(seq)


def calibration_pairs(step, streams: np.ndarray, per_stream: int = 12) -> list[np.ndarray]:
    """[frames (N,3), states (N,16)] sampled from real state trajectories, plus each final state.

    The state input is calibrated on the states the cell itself produces, so its range covers the
    state output's and `tie_state` loses nothing.
    """
    xs, hs = [], []
    for s in streams:
        states, _ = run_step_model(step, s)
        idx = np.linspace(0, len(s) - 1, per_stream).astype(int)
        xs.append(s[idx])
        hs.append(states[idx])
        xs.append(s[:1])
        hs.append(states[-1:])
    return [np.concatenate(xs).astype(np.float32), np.concatenate(hs).astype(np.float32)]
