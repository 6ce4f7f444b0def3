"""The Keras 3 ``Optimizer`` base class: everything an optimizer does except its update rule.

A subclass implements ``build(variables)`` (call ``super().build`` and create slots with
``add_variable_from_reference``) and ``update_step(gradient, variable, learning_rate)``. The base
class handles, in Keras's order: skipping ``None`` gradients (with a warning naming the variables),
loss-scale unscaling, gradient accumulation, clipping (``clipnorm`` / ``global_clipnorm`` /
``clipvalue``), decoupled weight decay, the update, EMA of the weights, the ``iterations`` counter,
and variable constraints.

Beyond Keras, any optimizer takes ``gradient_noise_eta`` / ``gradient_noise_gamma`` /
``gradient_noise_seed``: annealed Gaussian noise ``N(0, eta / (1 + t)^gamma)`` added to every gradient
after clipping (Neelakantan et al. 2015, "Adding Gradient Noise Improves Learning for Very Deep
Networks"), drawn from ``tapeflow.backend.rng``. A learning-rate schedule with an
``on_optimizer_step(optimizer, step)`` method is called before each update (OneCycle uses it to
cycle the optimizer's momentum).

Hot path: the built-in optimizers receive the gradient as a NumPy array of the variable's dtype and
update ``variable._value`` and their slots in place with ``out=`` ufuncs; slots and the scratch
buffers they use are allocated once in ``build``. Step-level scalars (bias corrections...) are
computed once per ``apply`` in ``_prepare_step``, not once per variable.
"""
from __future__ import annotations

import re
import warnings

import numpy as np

from ...autodiff.tape import GradientTape
from ...backend import rng as _rng
from ...autodiff.tensor import Tensor, Variable
from .schedules import LearningRateSchedule, serialize as _serialize_schedule
from . import parallel


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _as_array(g) -> np.ndarray:
    if g.__class__ is np.ndarray:
        return g
    if isinstance(g, Tensor):
        return g._value
    return np.asarray(g)


class Optimizer:
    """Base class of every optimizer (``tf.keras.optimizers.Optimizer``).

    Options every optimizer takes as keywords (subclasses pass them through ``**kwargs``):
    ``weight_decay`` (decoupled), ``clipnorm``, ``clipvalue``, ``global_clipnorm``, ``use_ema``,
    ``ema_momentum``, ``ema_overwrite_frequency``, ``loss_scale_factor``,
    ``gradient_accumulation_steps`` and ``gradient_noise_eta``/``_gamma``/``_seed``.

    >>> import tapeflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.keras.optimizers.SGD(learning_rate=0.5)
    >>> _ = opt.apply_gradients([(tf.constant([1.0, 1.0]), w)])
    >>> w.numpy().tolist(), int(opt.iterations)
    ([0.5, 1.5], 1)
    """

    _restore_pending = None  # set by tf.train.Checkpoint.restore before build; called once the slots exist

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, gradient_noise_eta=None, gradient_noise_gamma=0.55,
                 gradient_noise_seed=None, **kwargs):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.")
        if "lr" in kwargs:  # tf.keras 2 spelling: still accepted, as tf.keras 2.x did, with a warning
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise ValueError(f"{type(self).__name__}: argument(s) not recognized: {kwargs}")
        if not name:  # as Keras: the class in snake case, numbered after the first ("adam", "adam_1", "adam_w")
            from ..backend import to_snake_case, unique_object_name
            name = unique_object_name(to_snake_case(type(self).__name__))
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema:
            if ema_momentum > 1 or ema_momentum < 0:
                raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                            or ema_overwrite_frequency < 1):
                raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if gradient_noise_eta is not None and not float(gradient_noise_eta) >= 0:
            raise ValueError(f"`gradient_noise_eta` must be >= 0 or None. Received: {gradient_noise_eta!r}")
        self.gradient_noise_eta = None if gradient_noise_eta is None else float(gradient_noise_eta)
        self.gradient_noise_gamma = float(gradient_noise_gamma)
        self.gradient_noise_seed = gradient_noise_seed
        self._noise_gen = None
        self.built = False
        self._variables: list[Variable] = []
        self._trainable_variables: list[Variable] = []
        self._trainable_variables_indices: dict[int, int] = {}
        self._tmp: list[np.ndarray] = []       # one scratch buffer per model variable (not state)
        self._gbuf: list = []                  # gradient buffers, created on first need (clip/scale/accumulate)
        self._exclude_from_weight_decay: set = set()
        self._exclude_from_weight_decay_pattern = None
        self._exclude_from_weight_decay_cache: dict[int, bool] = {}
        self._iterations = self._track(Variable(np.zeros((), np.int64), trainable=False,
                                                name=f"{self.name}/iteration"))
        self._learning_rate = None
        self.learning_rate = learning_rate

    # -- state ------------------------------------------------------------------------------
    def _track(self, variable: Variable) -> Variable:
        self._variables.append(variable)
        return variable

    @property
    def variables(self) -> list:
        """Every state variable, in creation order: iterations, learning rate (when a float), then slots."""
        return self._variables[:]

    @property
    def iterations(self):
        """Number of updates applied (an int64 Variable; with gradient accumulation, real updates only)."""
        if self.gradient_accumulation_steps:
            return Tensor._wrap(np.asarray(self._iterations._value // self.gradient_accumulation_steps))
        return self._iterations

    def _step_count(self) -> int:
        it = int(self._iterations._value)
        return it // self.gradient_accumulation_steps if self.gradient_accumulation_steps else it

    def build(self, variables) -> None:
        """Register the model variables and create base-class slots (EMA averages, accumulators)."""
        variables = list(variables)
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = self.add_optimizer_variables(variables, "gradient_accumulator")
        for i, v in enumerate(variables):
            self._trainable_variables_indices[id(v)] = i
        self._trainable_variables = variables[:]
        self._tmp = [np.empty_like(v._value) for v in variables]
        self._gbuf = [None] * len(variables)
        self.built = True

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", name=None) -> Variable:
        """A non-trainable state variable filled with ``initializer`` ('zeros', 'ones', a number or a callable)."""
        dtype = np.dtype(dtype or "float32")
        shape = tuple(shape)
        if isinstance(initializer, str):
            if initializer not in ("zeros", "ones"):
                raise ValueError(f"add_variable: initializer must be 'zeros', 'ones', a number or a callable, "
                                 f"got {initializer!r}")
            value = np.zeros(shape, dtype) if initializer == "zeros" else np.ones(shape, dtype)
        elif callable(initializer):
            value = np.asarray(initializer(shape, dtype=dtype), dtype=dtype)
        else:
            value = np.full(shape, initializer, dtype=dtype)
        return self._track(Variable(value, trainable=False, name=f"{self.name}/{name or 'variable'}"))

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros") -> Variable:
        """A slot with the shape and dtype of ``reference_variable``, named after its path."""
        ref_name = str(getattr(reference_variable, "path", None) or reference_variable.name)
        name = ref_name.replace("/", "_").replace(":", "_") + "_" + (name or "var")
        return self.add_variable(reference_variable.shape, initializer=initializer,
                                 dtype=reference_variable.dtype, name=name)

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable for each name (a list when ``name`` is a string, else a tuple of lists);
        slots of several names are interleaved per variable, as Keras does."""
        names = [name] if isinstance(name, str) else list(name)
        out = tuple([] for _ in names)
        for v in trainable_variables:
            for k, n in enumerate(names):
                out[k].append(self.add_variable_from_reference(v, name=n, initializer=initializer))
        return out[0] if isinstance(name, str) else out

    def _get_variable_index(self, variable) -> int:
        return self._trainable_variables_indices[id(variable)]

    def _scratch(self) -> list:
        """Another set of per-variable scratch buffers, for update rules that need two temporaries."""
        return [np.empty_like(v._value) for v in self._trainable_variables]

    # -- learning rate ------------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate: the lr Variable, or the schedule/callable evaluated now (a Tensor)."""
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return lr
        if isinstance(lr, LearningRateSchedule):
            out = lr(self._iterations)
        else:
            out = lr()
        return out if isinstance(out, Tensor) else Tensor._wrap(np.asarray(out, dtype=np.float32))

    @learning_rate.setter
    def learning_rate(self, value):
        old = self._learning_rate
        if isinstance(value, LearningRateSchedule) or callable(value):
            self._learning_rate = value
            if isinstance(old, Variable):
                self._variables = [v for v in self._variables if v is not old]
            return
        if isinstance(old, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not settable. "
                            "If you need the learning rate to be settable, instantiate the optimizer with a "
                            "float `learning_rate` argument.")
        raw = value._value if isinstance(value, Tensor) else value
        if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, (int, float, np.number, np.ndarray)) \
                or np.ndim(raw) != 0:
            raise ValueError("Argument `learning_rate` should be a float, an instance of LearningRateSchedule, "
                             "or a callable (that takes no arguments and returns the learning rate). "
                             f"Received instead: learning_rate={value!r}")
        if isinstance(old, Variable):
            old._value[()] = float(raw)
        else:
            self._learning_rate = Variable(np.asarray(float(raw), np.float32), trainable=False,
                                           name=f"{self.name}/learning_rate")
            self._variables.insert(1, self._learning_rate)

    @property
    def lr(self):  # tf.keras 2 spelling, kept readable/settable for old callbacks
        warnings.warn("`optimizer.lr` is deprecated, use `optimizer.learning_rate`.", DeprecationWarning, stacklevel=2)
        return self.learning_rate

    @lr.setter
    def lr(self, value):
        warnings.warn("`optimizer.lr` is deprecated, use `optimizer.learning_rate`.", DeprecationWarning, stacklevel=2)
        self.learning_rate = value

    def _current_learning_rate(self) -> float:
        lr = self._learning_rate
        if isinstance(lr, Variable):
            return float(lr._value)
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self._iterations))
        return float(lr())

    # -- applying gradients ---------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; returns ``iterations`` (as tf.keras)."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(grads, variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None) -> None:
        """Update variables from gradients (Tensors or arrays; ``None`` entries are skipped with a warning).

        Without ``trainable_variables`` the gradients must match, one to one, the variables the optimizer
        was built with. Non-trainable variables are never updated.
        """
        if not isinstance(grads, (list, tuple)):
            grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables. Call `optimizer.build(trainable_variables)` first.")
            if len(grads) != len(self._trainable_variables):
                raise ValueError(f"Received {len(grads)} gradients, but the optimizer is tracking "
                                 f"{len(self._trainable_variables)} trainable variables.")
            trainable_variables = self._trainable_variables
        elif not self.built:
            self.build(list(trainable_variables))
        if self._restore_pending is not None:  # tf.train.Checkpoint values for slots that did not exist yet
            self._restore_pending(self)
        index = self._trainable_variables_indices
        garrs, vars_, idxs, missing = [], [], [], None
        for g, v in zip(grads, trainable_variables):
            if not v.trainable:  # frozen variables are never updated
                continue
            i = index.get(id(v))
            if i is None:
                raise ValueError(f"Unknown variable: '{getattr(v, 'path', v)}'. This optimizer can only be "
                                 "called for the variables it was originally built with. When working with a "
                                 "new set of variables, create a new optimizer instance.")
            if g is None:
                missing = (missing or []) + [v]
                continue
            g = g._value if g.__class__ is Tensor else _as_array(g)
            val = v._value
            if g.shape != val.shape or g.dtype != val.dtype:
                if g.shape != val.shape:
                    raise ValueError(f"{self.name}: gradient for variable '{v.path}' has shape {g.shape}, "
                                     f"expected the variable's shape {val.shape}")
                g = g.astype(val.dtype)
            if v.overwrite_with_gradient:
                self._overwrite_with_gradient(g, v, i)
                continue
            garrs.append(g)
            vars_.append(v)
            idxs.append(i)
        if missing:
            names = [getattr(v, "path", None) or v.name for v in missing]
            if not garrs and len(missing) == sum(1 for v in trainable_variables if v.trainable):
                raise ValueError("No gradients provided for any variable.")
            warnings.warn(f"Gradients do not exist for variables {names} when minimizing the loss. "
                          "If using `model.compile()`, did you forget to provide a `loss` argument?",
                          stacklevel=3)
        if garrs:
            if self.loss_scale_factor is not None:
                garrs = [np.divide(g, self.loss_scale_factor, out=self._grad_buffer(i))
                         for g, i in zip(garrs, idxs)]
            self._apply_arrays(garrs, vars_, idxs)
            for v in vars_:
                if v.constraint is not None:
                    v.assign(v.constraint(v))
        it = self._iterations._value
        it[()] = it[()] + 1  # item assignment: a ufunc on a 0-d array costs microseconds

    def _grad_buffer(self, i: int) -> np.ndarray:
        buf = self._gbuf[i]
        if buf is None:
            buf = self._gbuf[i] = np.empty_like(self._trainable_variables[i]._value)
        return buf

    def _apply_arrays(self, grads, variables, idxs) -> None:
        steps = self.gradient_accumulation_steps
        if steps:
            accs = [self._accumulated_gradients[i]._value for i in idxs]
            if (int(self._iterations._value) + 1) % steps == 0:
                grads = [np.divide(np.add(g, a, out=self._grad_buffer(i)), steps, out=self._grad_buffer(i))
                         for g, a, i in zip(grads, accs, idxs)]
                self._update(grads, variables, idxs)
                for acc in self._accumulated_gradients:
                    acc._value.fill(0)
            else:
                for g, a in zip(grads, accs):
                    np.add(a, g, out=a)
        else:
            self._update(grads, variables, idxs)
        if self.use_ema:
            self._update_model_variables_moving_average(self._trainable_variables)
            freq = self.ema_overwrite_frequency
            if freq and (self._step_count() + 1) % freq == 0:
                self._overwrite_model_variables_with_average_value(self._trainable_variables)

    def _update(self, grads, variables, idxs) -> None:
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            grads = self._clip_gradients(grads, out=[self._grad_buffer(i) for i in idxs])
        if self.gradient_noise_eta:
            grads = self._add_gradient_noise(grads, idxs)
        hook = getattr(self._learning_rate, "on_optimizer_step", None)
        if hook is not None:
            hook(self, self._iterations)
        lr = self._current_learning_rate()
        if self.weight_decay is not None:
            self._apply_weight_decay(variables, lr)
        self._backend_update_step(grads, variables, lr)

    def gradient_noise_stddev(self, step=None) -> float:
        """``sqrt(eta / (1 + t)^gamma)`` for update ``t`` (default: the next one); 0 without noise."""
        if not self.gradient_noise_eta:
            return 0.0
        t = self._step_count() if step is None else int(step)
        return (self.gradient_noise_eta / (1.0 + t) ** self.gradient_noise_gamma) ** 0.5

    def _add_gradient_noise(self, grads, idxs) -> list:
        """New gradients ``g + N(0, sigma_t^2)`` written into the gradient buffers (the caller's arrays are
        never modified)."""
        if self.gradient_noise_seed is None:  # the global stream (follows tf.random.set_seed)
            gen = _rng.generator()
        else:                                 # an own stream, created once from the op seed
            if self._noise_gen is None:
                self._noise_gen = _rng.generator(self.gradient_noise_seed)
            gen = self._noise_gen
        std, out = self.gradient_noise_stddev(), []
        for g, i in zip(grads, idxs):
            buf = self._grad_buffer(i)
            dt = buf.dtype if buf.dtype in (np.float32, np.float64) else np.float64
            noise = gen.standard_normal(buf.shape, dtype=dt)
            noise *= std
            np.add(g, noise, out=buf, casting="unsafe")
            out.append(buf)
        return out

    def _backend_update_step(self, grads, trainable_variables, learning_rate) -> None:
        self._prepare_step(learning_rate)
        if type(self).update_step is Optimizer.update_step and \
                parallel.parallel_update(self, grads, trainable_variables, learning_rate):
            return
        for g, v in zip(grads, trainable_variables):
            self.update_step(g, v, learning_rate)

    def _prepare_step(self, learning_rate: float) -> None:
        """Hook: compute step-level scalars once per apply (bias corrections...)."""

    # An elementwise rule is written once, on arrays: ``_update_arrays(g, w, slots, scratch, lr)`` with the
    # slot arrays of ``_slot_attrs`` and the scratch buffers of ``_scratch_attrs``; see parallel.py.
    _slot_attrs: tuple = ()
    _scratch_attrs: tuple = ("_tmp",)

    def _slot_values(self, i: int) -> tuple:  # a None attribute name: a slot this configuration lacks
        return tuple(None if a is None else getattr(self, a)[i]._value for a in self._slot_attrs)

    def _scratch_values(self, i: int) -> tuple:
        return tuple(getattr(self, a)[i] for a in self._scratch_attrs)

    def _update_arrays(self, g, w, slots, scratch, learning_rate) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_step(gradient, variable, lr)")

    def update_step(self, gradient, variable, learning_rate) -> None:
        i = self._trainable_variables_indices[id(variable)]
        self._update_arrays(gradient, variable._value, self._slot_values(i), self._scratch_values(i), learning_rate)

    # Keras's helpers for custom update rules written with ops
    def assign(self, variable, value) -> None:
        variable.assign(value)

    def assign_add(self, variable, value) -> None:
        variable.assign_add(value)

    def assign_sub(self, variable, value) -> None:
        variable.assign_sub(value)

    def _overwrite_with_gradient(self, g, v, i) -> None:
        steps = self.gradient_accumulation_steps
        if not steps:
            np.copyto(v._value, g)
            return
        acc = self._accumulated_gradients[i]._value
        if (int(self._iterations._value) + 1) % steps == 0:
            np.maximum(g, acc, out=v._value)
            acc.fill(0)
        else:
            np.maximum(g, acc, out=acc)

    # -- clipping, weight decay, EMA --------------------------------------------------------
    def _clip_gradients(self, grads, out=None) -> list:
        """Clip a list of gradients by ``clipnorm``, ``global_clipnorm`` or ``clipvalue`` (new arrays,
        or written into ``out``)."""
        grads = [None if g is None else _as_array(g) for g in grads]
        if out is None:
            out = [None if g is None else np.empty_like(g, dtype=np.result_type(g, np.float32)) for g in grads]
        if self.clipnorm and self.clipnorm > 0:
            c = self.clipnorm
            for g, o in zip(grads, out):
                if g is not None:
                    norm = float(np.sqrt(np.vdot(g, g).real))
                    np.multiply(g, c / max(norm, c), out=o)
        elif self.global_clipnorm and self.global_clipnorm > 0:
            c = self.global_clipnorm
            norm = float(np.sqrt(sum(float(np.vdot(g, g).real) for g in grads if g is not None)))
            scale = c * min(1.0 / norm, 1.0 / c) if norm > 0 else 1.0
            if not np.isfinite(norm):
                scale = float("nan")
            for g, o in zip(grads, out):
                if g is not None:
                    np.multiply(g, scale, out=o)
        elif self.clipvalue and self.clipvalue > 0:
            c = self.clipvalue
            for g, o in zip(grads, out):
                if g is not None:
                    np.clip(g, -c, c, out=o)
        else:
            return grads
        return out

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exclude variables (objects, or names containing any of ``var_names``) from weight decay.
        Must be called before the optimizer is built."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_from_weight_decay = {id(v) for v in var_list or ()}
        self._exclude_from_weight_decay_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._exclude_from_weight_decay_cache = {}

    def _use_weight_decay(self, variable) -> bool:
        key = id(variable)
        hit = self._exclude_from_weight_decay_cache.get(key)
        if hit is None:
            pattern = self._exclude_from_weight_decay_pattern
            hit = not (key in self._exclude_from_weight_decay
                       or (pattern is not None and pattern.search(variable.name) is not None))
            self._exclude_from_weight_decay_cache[key] = hit
        return hit

    def _apply_weight_decay(self, variables, lr: float) -> None:
        factor = 1.0 - float(self.weight_decay) * lr
        for v in variables:
            if self._use_weight_decay(v):
                np.multiply(v._value, factor, out=v._value)

    def _update_model_variables_moving_average(self, trainable_variables) -> None:
        m = self.ema_momentum if self._step_count() != 0 else 0.0
        for i, (v, avg) in enumerate(zip(trainable_variables, self._model_variables_moving_average)):
            a, tmp = avg._value, self._tmp[i]
            a *= m
            np.multiply(v._value, 1.0 - m, out=tmp)
            a += tmp

    def _overwrite_model_variables_with_average_value(self, trainable_variables) -> None:
        if len(trainable_variables) != len(self._model_variables_moving_average):
            raise ValueError(f"The number of model variables ({len(trainable_variables)}) to overwrite does not "
                             "match the number of moving averages stored in the optimizer "
                             f"({len(self._model_variables_moving_average)}).")
        for v, avg in zip(trainable_variables, self._model_variables_moving_average):
            if v.trainable:  # a variable frozen since build keeps its value
                np.copyto(v._value, avg._value)

    def finalize_variable_values(self, var_list=None) -> None:
        """With ``use_ema``, overwrite the variables with their moving averages (``fit`` calls this at the end)."""
        if self.use_ema and self.built:
            self._overwrite_model_variables_with_average_value(
                self._trainable_variables if var_list is None else list(var_list))

    # -- convenience ----------------------------------------------------------------------
    def minimize(self, loss, var_list, tape=None):
        """Compute gradients of ``loss`` (a callable, or a Tensor recorded on ``tape``) and apply them."""
        if callable(var_list):
            var_list = var_list()
        var_list = list(var_list)
        if not isinstance(loss, Tensor) and callable(loss):
            with GradientTape() as tape:
                loss = loss()
        elif tape is None:
            raise ValueError("minimize: `tape` is required when `loss` is a Tensor (pass the GradientTape that "
                             "recorded it, or pass `loss` as a zero-argument callable)")
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def scale_loss(self, loss):
        """Multiply the loss by ``loss_scale_factor`` (when set) before computing gradients."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    def set_weights(self, weights) -> None:
        """Set every state variable (``variables`` order) from arrays or variables."""
        if not self.built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet been built. "
                             "Call `optimizer.build(trainable_variables)` first.")
        weights = list(weights)
        if len(weights) != len(self._variables):
            raise ValueError(f"set_weights: the optimizer has {len(self._variables)} variables, "
                             f"got {len(weights)} weights")
        for var, w in zip(self._variables, weights):
            w = _as_array(w)
            if tuple(var.shape) != w.shape:
                raise ValueError(f"Optimizer variable '{var.name}' has shape {tuple(var.shape)}, not compatible "
                                 f"with the provided weight shape {w.shape}.")
            var.assign(w)

    def get_weights(self) -> list:
        return [v.numpy() for v in self._variables]

    def save_own_variables(self, store) -> None:
        for i, v in enumerate(self._variables):
            store[str(i)] = v.numpy()

    def load_own_variables(self, store) -> None:
        if len(store.keys()) != len(self._variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it has "
                          f"{len(self._variables)} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables.", stacklevel=2)
            return
        for i, v in enumerate(self._variables):
            v.assign(store[str(i)])

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict:
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_cfg = _serialize_schedule(lr)
        elif isinstance(lr, Variable):
            lr_cfg = float(lr._value)
        else:  # a plain callable cannot be saved as data: keep its current value
            lr_cfg = self._current_learning_rate()
        return {"name": self.name, "learning_rate": lr_cfg, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps,
                **({"gradient_noise_eta": self.gradient_noise_eta, "gradient_noise_gamma": self.gradient_noise_gamma,
                    "gradient_noise_seed": self.gradient_noise_seed} if self.gradient_noise_eta is not None else {})}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from .schedules import deserialize
            config["learning_rate"] = deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={int(self._iterations._value)}>"
