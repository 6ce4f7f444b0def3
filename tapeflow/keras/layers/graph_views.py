"""A layer's place in functional graphs: ``input``, ``output``, ``input_shape``, ``output_shape``.

Mixed into ``Layer``; reads the ``_inbound_nodes`` that symbolic calls record.
"""
from __future__ import annotations

from .layer_utils import _shape_struct


class GraphViews:
    """``layer.input`` / ``layer.output`` and their shapes, from the layer's first functional call."""

    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined {what}.')
        return getattr(self._inbound_nodes[0], attr)

    @property
    def input(self):
        return self._node_attr("input_struct", "input")

    @property
    def output(self):
        return self._node_attr("output_struct", "output")

    def get_input_at(self, node_index):
        return self._inbound_nodes[node_index].input_struct

    def get_output_at(self, node_index):
        return self._inbound_nodes[node_index].output_struct

    @property
    def input_shape(self):
        if self._inbound_nodes:
            return _shape_struct(self._inbound_nodes[0].input_struct)
        if self._build_input_shape is not None:
            return self._build_input_shape
        if self._batch_input_shape is not None:
            return self._batch_input_shape
        raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined input shape.')

    @property
    def output_shape(self):
        if self._inbound_nodes:
            return _shape_struct(self._inbound_nodes[0].output_struct)
        raise AttributeError(f'The layer "{self.name}" has never been called and thus has no defined output shape.')
