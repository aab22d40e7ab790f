"""Character-level sequence-to-sequence translation with an LSTM encoder-decoder
(teacher forcing), then greedy decoding with inference models rebuilt from the
saved model's tensors, as in Keras's lstm_seq2seq example. The English-French
corpus is replaced by a synthetic "language": the target is the source word
reversed and upper-cased."""

import os
import tempfile

import numpy as np

import rnnlens as keras                      # was: import keras
from _common import size

batch_size = 64
epochs = size(100, 2)
latent_dim = size(256, 16)
num_samples = size(10000, 200)


def corpus(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    letters = list("abcdefghij")
    inputs = ["".join(rng.choice(letters, rng.integers(2, 7))) for _ in range(num_samples)]
    targets = ["\t" + w[::-1].upper() + "\n" for w in inputs]   # tab starts, newline ends
    return inputs, targets


def one_hot(texts: list[str], index: dict, length: int, pad: str) -> np.ndarray:
    out = np.zeros((len(texts), length, len(index)), dtype="float32")
    for i, text in enumerate(texts):
        for t, char in enumerate(text):
            out[i, t, index[char]] = 1.0
        out[i, len(text):, index[pad]] = 1.0
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    input_texts, target_texts = corpus(rng)
    input_chars = sorted(set("".join(input_texts)) | {" "})
    target_chars = sorted(set("".join(target_texts)) | {" "})
    input_index = {c: i for i, c in enumerate(input_chars)}
    target_index = {c: i for i, c in enumerate(target_chars)}
    max_enc = max(len(t) for t in input_texts)
    max_dec = max(len(t) for t in target_texts)
    encoder_input_data = one_hot(input_texts, input_index, max_enc, " ")
    decoder_input_data = one_hot(target_texts, target_index, max_dec, " ")
    decoder_target_data = one_hot([t[1:] for t in target_texts], target_index, max_dec, " ")

    encoder_inputs = keras.Input(shape=(None, len(input_chars)))
    encoder = keras.layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]
    decoder_inputs = keras.Input(shape=(None, len(target_chars)))
    decoder_lstm = keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = keras.layers.Dense(len(target_chars), activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)
    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)

    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit([encoder_input_data, decoder_input_data], decoder_target_data,
              batch_size=batch_size, epochs=epochs, validation_split=0.2)
    path = os.path.join(tempfile.mkdtemp(), "s2s_model.keras")
    model.save(path)

    # Inference: rebuild an encoder and a one-step decoder from the saved model.
    model = keras.models.load_model(path)
    encoder_inputs = model.input[0]
    encoder_outputs, state_h_enc, state_c_enc = model.layers[2].output
    encoder_model = keras.Model(encoder_inputs, [state_h_enc, state_c_enc])
    decoder_inputs = model.input[1]
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_lstm = model.layers[3]
    decoder_outputs, state_h_dec, state_c_dec = decoder_lstm(
        decoder_inputs, initial_state=decoder_states_inputs)
    decoder_outputs = model.layers[4](decoder_outputs)
    decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs,
                                [decoder_outputs, state_h_dec, state_c_dec])

    reverse_target = {i: c for c, i in target_index.items()}

    def decode_sequence(input_seq: np.ndarray) -> str:
        states_value = encoder_model.predict(input_seq, verbose=0)
        target_seq = np.zeros((1, 1, len(target_chars)))
        target_seq[0, 0, target_index["\t"]] = 1.0
        decoded = ""
        while True:
            output_tokens, h, c = decoder_model.predict([target_seq] + states_value,
                                                        verbose=0)
            sampled = int(np.argmax(output_tokens[0, -1, :]))
            char = reverse_target[sampled]
            decoded += char
            if char == "\n" or len(decoded) > max_dec:
                return decoded
            target_seq = np.zeros((1, 1, len(target_chars)))
            target_seq[0, 0, sampled] = 1.0
            states_value = [h, c]

    for seq_index in range(size(20, 2)):
        print("Input sentence:", input_texts[seq_index], "Decoded sentence:",
              repr(decode_sequence(encoder_input_data[seq_index:seq_index + 1])))


if __name__ == "__main__":
    main()
