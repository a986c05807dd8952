"""Seeded re-initialization of a built model in place (App. A).

The authors re-initialize each copy of a network with its training init
before measuring; here the same built model's variables are re-assigned from
the initializers its layers were built with, each with its own seed, so the
traced metric functions are reused and nothing is rebuilt.
"""

import numpy as np
import tensorflow as tf
import tf_keras

# (variable attribute, initializer attribute) pairs of Dense, LayerNorm and
# PatchEmbedding layers.
_INITIALIZED = (('kernel', 'kernel_initializer'),
                ('bias', 'bias_initializer'),
                ('gamma', 'gamma_initializer'),
                ('beta', 'beta_initializer'))


def variable_initializers(model: tf_keras.layers.Layer):
  """{variable ref: initializer} for every variable of `model`.

  Raises RuntimeError for a variable whose layer exposes no initializer.
  """
  found = {}
  for layer in model._flatten_layers(include_self=True, recursive=True):  # pylint: disable=protected-access
    for variable_attr, initializer_attr in _INITIALIZED:
      variable = getattr(layer, variable_attr, None)
      initializer = getattr(layer, initializer_attr, None)
      if isinstance(variable, tf.Variable) and initializer is not None:
        found[variable.ref()] = tf_keras.initializers.get(initializer)
  missing = [v.name for v in model.variables if v.ref() not in found]
  if missing:
    raise RuntimeError(f'no initializer known for {missing}')
  return found


def _seeded(initializer, seed: int):
  config = initializer.get_config()
  if 'seed' not in config:  # constant initializers
    return initializer
  return type(initializer).from_config({**config, 'seed': seed})


def reinitialize(model: tf_keras.layers.Layer, seed: int) -> None:
  """Assigns every variable a fresh draw from its initializer, seeded."""
  initializers = variable_initializers(model)
  seeds = np.random.SeedSequence(seed).generate_state(len(model.variables))
  for variable, variable_seed in zip(model.variables, seeds):
    initializer = _seeded(initializers[variable.ref()],
                          int(variable_seed) & 0x7FFFFFFF)
    variable.assign(initializer(variable.shape, dtype=variable.dtype))
