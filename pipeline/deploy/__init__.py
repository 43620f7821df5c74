"""The pipeline's deploy steps: render the project's manifests for a run, apply them, wait."""
