"""Every optimizer of the course: a plain per-tensor rule function plus a thin class.

    >>> from optimlab import optim
    >>> opt = optim.Adam(params, lr=1e-3)
    >>> opt.step(grads)            # params are updated in place

``optim.available()`` lists every optimizer with its defaults.
"""

from .adabelief import AdaBelief, adabelief
from .adafactor import Adafactor, adafactor
from .adagrad import Adagrad, adagrad
from .adam import Adam, Adamax, AdamW, NAdam, RAdam, adam, adamax, nadam, radam
from .amos import Amos, amos
from .base import Optimizer
from .lion import Lion, lion
from .muon import Muon, muon, newton_schulz
from .registry import REGISTRY, available, create
from .rmsprop import Adadelta, RMSprop, adadelta, rmsprop
from .schedulefree import AdamWScheduleFree, adamw_schedulefree
from .sgd import SGD, sgd

__all__ = [
    "REGISTRY", "SGD", "AdaBelief", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW",
    "AdamWScheduleFree", "Adamax", "Amos", "Lion", "Muon", "NAdam", "Optimizer", "RAdam",
    "RMSprop", "adabelief", "adadelta", "adafactor", "adagrad", "adam", "adamax",
    "adamw_schedulefree", "amos", "available", "create", "lion", "muon", "nadam",
    "newton_schulz", "radam", "rmsprop", "sgd",
]
