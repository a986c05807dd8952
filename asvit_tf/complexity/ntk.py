"""NTK condition number at initialization (Sec. 3.3, docs/design.md section 2).

Theta = J J^T with J[b] the gradient of the summed output features of example
b with respect to the given variables (the weight matrices). The per-example
gradients come two examples at a time inside a graph loop (two overlap the
small ops of one backward pass: measured 10-20 % faster on 2 cores than one),
so peak memory is two examples' backward passes plus J itself, never a
batch-sized Jacobian.

J J^T sums millions of products, and lambda_min is about 1/5000 of
lambda_max at initialization, so a float32 sum leaves the condition number
about three significant digits: merely listing the parameters in reverse
order moved it by up to 0.1 % (benchmarks/README.md). The sum runs in
float64, a block of columns at a time; the condition number then depends on
J alone, and the same J in any column order gives it to about 1e-8.
"""

from typing import Callable, Sequence

import numpy as np
import tensorflow as tf

FeatureFn = Callable[[tf.Tensor], tf.Tensor]
# Examples whose gradients run at once in the loop.
PARALLEL_EXAMPLES = 2
# Columns of J cast to float64 at once: 256 MB for a batch of 16.
GRAM_COLUMNS = 1 << 21


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
  return gram(jacobian)


def gram(jacobian: tf.Tensor) -> tf.Tensor:
  """J J^T (B, B) summed in float64, GRAM_COLUMNS columns of J at a time."""
  theta = tf.zeros([jacobian.shape[0]] * 2, tf.float64)
  for start in range(0, jacobian.shape[1], GRAM_COLUMNS):
    block = tf.cast(jacobian[:, start:start + GRAM_COLUMNS], tf.float64)
    theta += tf.matmul(block, block, transpose_b=True)
  return theta


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
