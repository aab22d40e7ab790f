"""Train an attention encoder-decoder to translate dates ("march 3 1998", "3/3/98", ...)
into ISO form (1998-03-03), then decode step by step (under a minute on 2 cores).

The code lives in ``rnnlens.examples.date_attention`` so that the command line
can run it too: ``rnnlens example dates``. Read it there; this file runs it.
"""

from rnnlens.examples.date_attention import main

if __name__ == "__main__":
    raise SystemExit(main())
