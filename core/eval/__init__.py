"""Evaluation: metrics (BC, FGD, diversity, face, lip sync, edits), the project's motion feature
extractor, the action and emotion judges, and the report behind `python -m core eval`.

    metrics      numpy-only metric definitions
    features     heading-frame motion channels; the FGD autoencoder ("motion_features" checkpoint)
    classifiers  action judge (50 actions + "none") and emotion judge (8 emotions)
    report       evaluate(...) -> EvalTable, data_efficiency_study(...), the judges' files

Submodules are imported on use: `metrics` needs only numpy and scipy, the others need torch.
"""
