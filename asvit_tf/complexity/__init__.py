"""Training-free complexity metrics of ViT topologies (Sec. 3.2-3.3, App. A).

Length distortion L_E, curvature kappa, length distortion with curvature
L_E^kappa and the NTK condition number, each the mean over seeded
initializations; see docs/design.md section 2 for the settings.
"""

from asvit_tf.complexity.measurer import Measurer
from asvit_tf.complexity.measurer import MetricResult
from asvit_tf.complexity.settings import METRICS
from asvit_tf.complexity.settings import Settings

__all__ = ['METRICS', 'Measurer', 'MetricResult', 'Settings']
