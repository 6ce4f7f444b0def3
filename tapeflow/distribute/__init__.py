"""``tf.distribute``: strategies over in-process CPU replicas, and MultiWorkerMirroredStrategy over MPI ranks.

>>> import tapeflow as tf
>>> strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0", "/cpu:1"])
>>> strategy.num_replicas_in_sync
2
"""
from .strategy import (DistributedDataset, InputContext, MirroredStrategy, OneDeviceStrategy,  # noqa: F401
                       ReplicaContext, Strategy, compute_average_loss, get_replica_context, get_strategy,
                       has_strategy, in_cross_replica_context)
from .values import PerReplica, ReduceOp  # noqa: F401
from .multi_worker import MultiWorkerMirroredStrategy  # noqa: F401  (imports mpi4py only when constructed)
from . import experimental  # noqa: F401

__all__ = ["Strategy", "MirroredStrategy", "OneDeviceStrategy", "ReplicaContext", "InputContext",
           "DistributedDataset", "PerReplica", "ReduceOp", "get_strategy", "has_strategy",
           "in_cross_replica_context", "get_replica_context", "compute_average_loss",
           "MultiWorkerMirroredStrategy", "experimental"]
