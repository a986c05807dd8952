"""PNG figures of a search (paper Fig. 5) and a scaling run (Fig. 3)."""

import math
from typing import Sequence

import matplotlib

matplotlib.use('Agg')
from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top


def _save(figure, path: str) -> None:
  figure.tight_layout()
  figure.savefig(path, dpi=120)
  plt.close(figure)


def entropy_curve(steps: Sequence[int], entropy: Sequence[float],
                  path: str) -> None:
  """Fig. 5: policy entropy over the search steps."""
  figure, axis = plt.subplots(figsize=(5, 3.5))
  axis.plot(steps, entropy)
  axis.set_xlabel('search step')
  axis.set_ylabel('policy entropy (nats)')
  axis.set_title('Topology search: policy entropy')
  axis.grid(alpha=0.3)
  _save(figure, path)


def scaling_trajectory(depths: Sequence[int], widths: Sequence[int],
                       path: str) -> None:
  """Fig. 3 left: total depth (blocks) against total width (channels)."""
  figure, axis = plt.subplots(figsize=(5, 3.5))
  axis.plot(depths, widths, marker='o')
  for step, (d, w) in enumerate(zip(depths, widths)):
    axis.annotate(str(step), (d, w), fontsize=7, xytext=(3, 3),
                  textcoords='offset points')
  axis.set_xlabel('total depth (blocks)')
  axis.set_ylabel('total width (sum of block channels)')
  axis.set_title('Auto-scaling trajectory')
  axis.grid(alpha=0.3)
  _save(figure, path)


def complexity_trajectory(lengths: Sequence[float], kappas: Sequence[float],
                          steps: Sequence[int], path: str) -> None:
  """Fig. 3 right: L_E against the NTK condition number per scaling step."""
  figure, axis = plt.subplots(figsize=(5, 3.5))
  points = [(s, l, k) for s, l, k in zip(steps, lengths, kappas)
            if math.isfinite(l) and math.isfinite(k)]
  axis.plot([p[2] for p in points], [p[1] for p in points], marker='o')
  for step, length, kappa in points:
    axis.annotate(str(step), (kappa, length), fontsize=7, xytext=(3, 3),
                  textcoords='offset points')
  axis.set_xlabel('NTK condition number (lower is better)')
  axis.set_ylabel('length distortion L_E (higher is better)')
  axis.set_title('Complexity along the scaling')
  axis.grid(alpha=0.3)
  _save(figure, path)
