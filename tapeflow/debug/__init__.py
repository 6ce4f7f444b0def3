"""Debugging tools: the numerical gradient checker."""
from .gradcheck import GradientCheckError, check_gradients, numerical_gradient  # noqa: F401
