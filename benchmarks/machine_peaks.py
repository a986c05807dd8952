"""This machine's matmul peak and memory bandwidth, the yardsticks of the
benchmarks' fractions of peak (train_throughput.py, search_speed.py)."""

import time
from typing import Callable, Optional

import tensorflow as tf


def _best_seconds(fn: Callable[[], tf.Tensor], repeats: int) -> float:
  """Best wall time of `fn`; one element is fetched, so a large result
  is not copied out."""
  def run():
    tf.reshape(fn(), [-1])[0].numpy()

  run()
  best = float('inf')
  for _ in range(repeats):
    start = time.perf_counter()
    run()
    best = min(best, time.perf_counter() - start)
  return best


def matmul_peak_flops(dtype: str = 'float32', size: Optional[int] = None,
                      repeats: int = 5) -> float:
  """Best FLOP/s of a size x size matmul in `dtype` on this machine. The
  default size is 2048 on a CPU and 8192 where TF computes on a GPU, on which
  a 2048 product takes tens of microseconds, about as long as its launch and
  the fetch of its result."""
  if size is None:
    size = 8192 if tf.config.list_logical_devices('GPU') else 2048
  a = tf.cast(tf.random.normal([size, size], seed=0), dtype)
  b = tf.cast(tf.random.normal([size, size], seed=1), dtype)
  matmul = tf.function(tf.linalg.matmul)
  return 2 * size ** 3 / _best_seconds(lambda: matmul(a, b), repeats)


def memory_bandwidth_bytes(megabytes: int = 256, repeats: int = 5) -> float:
  """Best bytes/s that TF moves between memory and the cores: the faster of
  a read-only stream (a sum) and a read-and-write one (a scaling) over a
  float32 tensor far larger than a core's own caches."""
  x = tf.random.normal([megabytes * 2 ** 18], seed=0)
  size = 4 * x.shape.num_elements()
  total = tf.function(lambda: tf.reduce_sum(x))
  scale = tf.function(lambda: x * 1.5)
  return max(size / _best_seconds(total, repeats),
             2 * size / _best_seconds(scale, repeats))
