"""The pipeline run: it succeeded, and its steps ran in order."""

from fixtures.platforms.base import PipelineOutcome


def test_pipeline_succeeded_with_steps_in_order(pipeline_outcome: PipelineOutcome) -> None:
    assert pipeline_outcome.succeeded, pipeline_outcome.details
    assert pipeline_outcome.steps == ("train", "serve", "web-ui"), pipeline_outcome.details


def test_training_reported_its_accuracy(pipeline_outcome, harness_config) -> None:
    assert pipeline_outcome.train_accuracy is not None
    assert pipeline_outcome.train_accuracy >= harness_config.min_accuracy, (
        f"the train step measured {pipeline_outcome.train_accuracy:.4f} on its test split, "
        f"below --min-accuracy {harness_config.min_accuracy}"
    )
