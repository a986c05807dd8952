"""Training-free auto-scaling (Algorithm 2, Sec. 3.4).

`scaler` holds the candidates, the rank-sum choice and the resumable loop;
`python -m asvit_tf.scaling` is the binary.
"""
