"""The `training` section of an architecture file: one checked definition for file, CLI and form."""

from __future__ import annotations

from cnn_tui.spec.params import BOOL, CHOICE, FLOAT, INT, Param, ParamSet

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "adadelta")
SCHEDULES = ("constant", "step", "cosine", "onecycle", "plateau")
DEVICES = ("auto", "cuda", "mps", "cpu")
MONITORS = ("val_loss", "val_acc")

TRAINING_PARAMS = ParamSet((
    Param("optimizer", CHOICE, "adam", choices=OPTIMIZERS, help="update rule"),
    Param("learning_rate", FLOAT, 0.001, lo=0.0, hi=10.0, lo_open=True,
          suggested=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.1, 1.0), help="step size"),
    Param("batch_size", INT, 64, lo=1, hi=65536, suggested=(32, 64, 128, 256, 512, 1024),
          help="images per step"),
    Param("epochs", INT, 10, lo=1, hi=10000, suggested=(1, 3, 5, 10, 20, 50),
          help="passes over the training set"),
    Param("weight_decay", FLOAT, 0.0, lo=0.0, hi=1.0, suggested=(0.0, 0.0001, 0.0005, 0.01),
          help="L2 penalty (decoupled for adamw)"),
    Param("momentum", FLOAT, 0.9, lo=0.0, hi=1.0, hi_open=True, help="sgd / rmsprop momentum"),
    Param("nesterov", BOOL, False, help="Nesterov momentum (sgd)"),
    Param("label_smoothing", FLOAT, 0.0, lo=0.0, hi=1.0, hi_open=True, suggested=(0.0, 0.05, 0.1),
          help="soften the one-hot targets"),
    Param("schedule", CHOICE, "constant", choices=SCHEDULES, help="learning-rate schedule"),
    Param("step_size", INT, 1, lo=1, hi=10000, help="step schedule: epochs between decays"),
    Param("gamma", FLOAT, 0.7, lo=0.0, hi=1.0, lo_open=True, help="step / plateau decay factor"),
    Param("warmup_epochs", FLOAT, 0.0, lo=0.0, hi=1000.0, help="linear warm-up length in epochs"),
    Param("early_stopping", INT, None, lo=1, hi=1000, optional=True,
          help="stop after this many epochs without improvement (off when empty)"),
    Param("monitor", CHOICE, "val_loss", choices=MONITORS, help="what early stopping watches"),
    Param("augment", BOOL, False, help="random shifts, rotations and scaling on the device"),
    Param("val_size", INT, 5000, lo=0, hi=30000, help="images held out of the training set for validation"),
    Param("seed", INT, 0, lo=0, hi=2**31 - 1, help="random seed"),
    Param("device", CHOICE, "auto", choices=DEVICES, help="auto: CUDA, then MPS, then CPU"),
))

DEFAULT_TRAINING = TRAINING_PARAMS.defaults()
