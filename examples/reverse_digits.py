"""Train an encoder-decoder LSTM to reverse digit sequences (about 10 s on 2 cores).

The code lives in ``rnnlens.examples.reverse_digits`` so that the command line
can run it too: ``rnnlens example reverse``. Read it there; this file runs it.
"""

from rnnlens.examples.reverse_digits import main

if __name__ == "__main__":
    raise SystemExit(main())
