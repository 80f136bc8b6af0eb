"""Generate a Spleeter checkpoint for the 4- or 5-stem architecture (random weights).

Real 4/5-stem weights cannot be downloaded here; a generated checkpoint exercises exactly the
same graph, variable names and restore path, so the 4/5-stem code is tested for real.
"""

from __future__ import annotations

from pathlib import Path


def generate_checkpoint(checkpoint: str, directory: Path, seed: int = 7) -> Path:
    import tensorflow as tf
    from spleeter.model import EstimatorSpecBuilder
    from spleeter.utils.configuration import load_configuration

    directory.mkdir(parents=True, exist_ok=True)
    params = load_configuration(f"spleeter:{checkpoint}")
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        waveform = tf.compat.v1.placeholder(tf.float32, shape=(None, 2))
        builder = EstimatorSpecBuilder({"waveform": waveform}, params)
        _ = builder.masked_stfts
        tf.compat.v1.train.get_or_create_global_step()  # real checkpoints carry it too
        # Batch-norm statistics at their initial values (mean 0, var 1) give an identity-like
        # network; perturb them so that every stem's mask really depends on the weights.
        perturb = [
            variable.assign(variable + tf.random.uniform(tf.shape(variable), 0.0, 0.5, seed=seed))
            for variable in tf.compat.v1.global_variables()
            if "moving_variance" in variable.name
        ]
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(perturb)
            saver.save(session, str(directory / "model"))
    (directory / ".probe").write_text("OK")
    return directory
