"""Evaluation: metrics (BC, FGD, diversity, face, lip sync, edits), the project's motion feature
extractor, the action and emotion judges, and the evaluation behind `python -m core eval`.

    metrics          numpy-only metric definitions
    features         heading-frame motion channels; the FGD autoencoder ("motion_features")
    classifiers      action judge (50 actions + "none") and emotion judge (8 emotions)
    judges           the three judges' files: load, train, or load else train
    clips            a held-out clip's entry, real motion and audio
    baselines        mean pose and nearest clip, and what they take from the training split
    systems          model, teacher and baselines as functions from a clip to a motion
    scoring          scores per clip and the table row they make
    evaluation       evaluate(...) -> EvalTable
    table            EvalTable: the aligned text table and its JSON
    data_efficiency  data_efficiency_study(...): FGD and BC against the share of training data
    command_line     the options of `python -m core eval` and the text it prints
    performance      real-voice mouth scores, blinks and foot skate
    panel            a quick fixed held-out panel for learning curves

Submodules are imported on use: `metrics` needs only numpy and scipy, the others need torch.
"""
