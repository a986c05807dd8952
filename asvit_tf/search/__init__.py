"""Training-free topology search (Algorithm 1) and auto-scaling (Algorithm 2).

Library modules: `space` (Table 1 dimensions), `policy` and `adam` (the
REINFORCE policy and its optimizer), `reward` (normalized metric changes,
baseline), `reinforce` (one search), `scaling` (candidates, ranks, choice),
`scaler` (one scaling run), `cost` (closed-form params/MACs), `state`
(atomic checkpoints), `progress`, `plots`, and `search_job` / `scale_job`
(runs in a model_dir). Binaries: `python -m asvit_tf.search` and
`python -m asvit_tf.scale`.
"""
