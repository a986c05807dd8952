"""This machine's matmul peak, the yardstick of the benchmarks' fractions of
peak (train_throughput.py, search_speed.py)."""

import time

import tensorflow as tf


def matmul_peak_flops(dtype: str = 'float32', size: int = 2048,
                      repeats: int = 5) -> float:
  """Best FLOP/s of a size x size matmul in `dtype` on this machine."""
  a = tf.cast(tf.random.normal([size, size], seed=0), dtype)
  b = tf.cast(tf.random.normal([size, size], seed=1), dtype)
  matmul = tf.function(tf.linalg.matmul)
  matmul(a, b).numpy()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    matmul(a, b).numpy()
    best = min(best, time.perf_counter() - start)
  return 2 * size ** 3 / best
