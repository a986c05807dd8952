"""Independent, reproducible seeds derived from the run seed."""

import numpy as np

# Streams drawn from the run seed.
POLICY_INIT = 0
SAMPLER = 1
METRICS = 2


def derive(seed: int, *keys: int) -> int:
  """A 32-bit seed for the stream named by `keys` of run `seed`."""
  return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def generator(seed: int, *keys: int) -> np.random.Generator:
  return np.random.default_rng(np.random.SeedSequence([seed, *keys]))
