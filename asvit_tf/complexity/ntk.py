"""NTK condition number at initialization (Sec. 3.3, docs/design.md section 2).

Theta = J J^T with J[b] the gradient of the summed output features of example
b with respect to the given variables (the weight matrices). The per-example
gradients come two examples at a time inside a graph loop (two overlap the
small ops of one backward pass: measured 10-20 % faster on 2 cores than one),
so peak memory is two examples' backward passes plus J itself, never a
batch-sized Jacobian.
"""

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

FeatureFn = Callable[[tf.Tensor], tf.Tensor]
# Examples whose gradients run at once in the loop.
PARALLEL_EXAMPLES = 2


def ntk_matrix(f: FeatureFn, variables: Sequence[tf.Variable],
               images: tf.Tensor) -> tf.Tensor:
  """Theta (B, B) = J J^T for the B examples in `images`."""
  variables = list(variables)

  def example_gradient(image: tf.Tensor) -> tf.Tensor:
    with tf.GradientTape(watch_accessed_variables=False) as tape:
      tape.watch(variables)
      total = tf.reduce_sum(f(image[tf.newaxis]))
    grads = tape.gradient(total, variables,
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return tf.concat([tf.reshape(g, [-1]) for g in grads], axis=0)

  jacobian = tf.map_fn(example_gradient, images,
                       parallel_iterations=PARALLEL_EXAMPLES,
                       fn_output_signature=variables[0].dtype)
  return tf.matmul(jacobian, jacobian, transpose_b=True)


def condition_number(theta: np.ndarray) -> float:
  """lambda_max / lambda_min of a symmetric Theta; never raises.

  NaN when Theta is not finite, inf when it is singular (lambda_min <= 0):
  both mark a bad architecture (the authors' code records -1 for NaN).
  """
  theta = np.asarray(theta, np.float64)
  if not np.all(np.isfinite(theta)):
    return float('nan')
  eigenvalues = np.linalg.eigvalsh(theta)  # ascending
  if eigenvalues[0] <= 0:
    return float('inf')
  return float(eigenvalues[-1] / eigenvalues[0])
