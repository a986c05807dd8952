"""Window multi-head self-attention over a token map (Fig. 1, splits S_i)."""

from typing import Tuple

import tensorflow as tf
import tf_keras

from asvit_tf import precision
from asvit_tf.modeling.layers.linear import linear


@tf.custom_gradient
def _contract_with_scores(scores_grad: tf.Tensor, q: tf.Tensor,
                          k: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
  """dq = dS k and dk = dS^T q, with a backward that writes one
  (tokens, tokens) tensor: d(dS) = dq' k^T + q dk'^T as a single matmul of
  (tokens, 2 head_dim) operands."""
  dq = tf.matmul(scores_grad, k)
  dk = tf.linalg.matrix_transpose(
      tf.matmul(q, scores_grad, transpose_a=True))

  def grad(dq_upstream, dk_upstream):
    return (tf.matmul(tf.concat([dq_upstream, q], -1),
                      tf.concat([k, dk_upstream], -1), transpose_b=True),
            tf.matmul(scores_grad, dk_upstream),
            tf.matmul(scores_grad, dq_upstream, transpose_a=True))

  return (dq, dk), grad


_multiply_scores = precision.fused_on_cpu(tf.multiply)


@tf.custom_gradient
def attend(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) -> tf.Tensor:
  """softmax(q k^T) v over the last two axes, with a memory-lean gradient.

  The function is the paper's attention (q already scaled); only the
  backward pass differs from TF's own: with A = softmax(q k^T), O = A v and
  upstream G, dS = A * (G v^T - rowsum(G * O)) uses rowsum(G * O) =
  rowsum(A * G v^T), which reads two small (tokens, head_dim) tensors instead
  of two (tokens, tokens) ones; G v^T - rowsum(G * O) is one matmul of
  [G, -rowsum(G * O)] and [v, 1]; and dk = (q^T dS)^T, dv = (G^T A)^T put the
  transpose on the small operand. With head_dim at most 16 the attention is
  bound by memory traffic over its (tokens, tokens) tensors, not by
  arithmetic, so the backward passes over them 7 times (TF's autodiff of the
  formula: 13) and its derivative with respect to G, the pass that the
  length distortion's transposed reverse mode takes
  (asvit_tf.complexity.curve), 6 times: measured 26 % faster length
  distortion at 224 than without the folded term and the joint dq, dk
  contraction (benchmarks/README.md). Forward mode and higher orders
  differentiate through it as through any TF function.

  Under mixed precision (bfloat16 or float16 q, k, v) the matmuls run in
  that dtype; the softmax takes the max, exponentials and sum of the scores
  in float32 and rounds the weights once (TF's oneDNN kernels do so for
  bfloat16; elsewhere the scores are cast, see
  precision.native_softmax_rounds_once), and rowsum(G * O), the softmax
  normalization's term in dS, is summed in float32. On a CPU the
  element-wise product dS runs XLA-compiled (precision.fused_on_cpu).
  """
  wide = precision.at_least_float32(q.dtype)
  scores = tf.matmul(q, k, transpose_b=True)
  if wide != q.dtype and not precision.native_softmax_rounds_once(q.dtype):
    weights = tf.cast(tf.nn.softmax(tf.cast(scores, wide)), q.dtype)
  else:
    weights = tf.nn.softmax(scores)
  out = tf.matmul(weights, v)

  def grad(upstream):
    correction = tf.reduce_sum(
        tf.cast(upstream, wide) * tf.cast(out, wide), axis=-1, keepdims=True)
    centred = tf.matmul(
        tf.concat([upstream, tf.cast(-correction, q.dtype)], -1),
        tf.concat([v, tf.ones_like(v[..., :1])], -1), transpose_b=True)
    dq, dk = _contract_with_scores(_multiply_scores(weights, centred), q, k)
    return dq, dk, tf.linalg.matrix_transpose(
        tf.matmul(upstream, weights, transpose_a=True))

  return out, grad


class WindowAttention(tf_keras.layers.Layer):
  """Multi-head self-attention inside non-overlapping square windows.

  `window` gives, at call time, the (windows per side, window side in tokens)
  for a map side; the map is zero padded up to their product, attended, and
  cropped back. With (S, R//S) this is the paper's split attention; S=1 is
  global attention. No shifted windows.

  As the authors' code, any `dim` of at least `num_heads` works: heads are
  `dim // num_heads` wide, q, k and v span `num_heads * (dim // num_heads)`
  channels and the output projection maps them back to `dim`.
  """

  def __init__(self, dim: int, num_heads: int, **kwargs):
    super().__init__(**kwargs)
    self.dim = dim
    self.num_heads = num_heads
    self.head_dim = dim // num_heads
    self.inner_dim = num_heads * self.head_dim
    self.scale = self.head_dim ** -0.5
    self.qkv = linear(3 * self.inner_dim, 'qkv')
    self.proj = linear(dim, 'proj')

  def call(self, x, window: Tuple[Tuple[int, int], Tuple[int, int]]):
    """x: (B, H, W, D); window: ((n_h, side_h), (n_w, side_w))."""
    (n_h, side_h), (n_w, side_w) = window
    height, width = x.shape[1], x.shape[2]
    pad_h, pad_w = n_h * side_h - height, n_w * side_w - width
    if pad_h or pad_w:
      x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
    tokens = side_h * side_w
    # (B, n_h, side_h, n_w, side_w, D) -> (B * n_h * n_w, tokens, D)
    x = tf.reshape(x, [-1, n_h, side_h, n_w, side_w, self.dim])
    x = tf.transpose(x, [0, 1, 3, 2, 4, 5])
    x = tf.reshape(x, [-1, tokens, self.dim])
    qkv = tf.reshape(self.qkv(x), [-1, tokens, 3, self.num_heads,
                                   self.head_dim])
    q, k, v = tf.unstack(tf.transpose(qkv, [2, 0, 3, 1, 4]), axis=0)
    out = attend(q * self.scale, k, v)  # (windows, heads, tokens, head_dim)
    out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]),
                     [-1, tokens, self.inner_dim])
    out = self.proj(out)
    out = tf.reshape(out, [-1, n_h, n_w, side_h, side_w, self.dim])
    out = tf.transpose(out, [0, 1, 3, 2, 4, 5])
    out = tf.reshape(out, [-1, n_h * side_h, n_w * side_w, self.dim])
    if pad_h or pad_w:
      out = out[:, :height, :width, :]
    return out

  def get_config(self):
    config = super().get_config()
    config.update(dim=self.dim, num_heads=self.num_heads)
    return config
