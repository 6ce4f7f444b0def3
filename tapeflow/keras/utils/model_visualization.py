"""``plot_model``: draw a model's layer graph with pydot + Graphviz (both optional)."""
from __future__ import annotations

import os


def _pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("plot_model needs pydot, which is not installed: run `pip install pydot`, and install "
                          "Graphviz (https://graphviz.gitlab.io/download/, e.g. `apt-get install graphviz`)") from None
    try:
        pydot.Dot.create(pydot.Dot())
    except (OSError, FileNotFoundError, Exception) as e:  # pydot raises plain Exception when `dot` is absent
        raise ImportError("plot_model needs the Graphviz `dot` program, which was not found on PATH: install "
                          "Graphviz (https://graphviz.gitlab.io/download/, e.g. `apt-get install graphviz`)") from e
    return pydot


def layer_graph(model) -> tuple:
    """``(layers, edges)``: the model's layers and ``(parent index, child index)`` pairs, one per
    connection (a plain stack of layers when the model records none). ``plot_model`` draws this;
    the TensorBoard callback writes it as the Graphs tab's graph.

    >>> import tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, name="hidden"),
    ...                          tf.keras.layers.Dense(1, name="out")])
    >>> layers, edges = layer_graph(m)
    >>> [l.name for l in layers], edges
    (['hidden', 'out'], [(0, 1)])
    """
    layers = list(model.layers)
    index = {id(layer): i for i, layer in enumerate(layers)}
    edges = []
    for i, layer in enumerate(layers):
        for node in getattr(layer, "_inbound_nodes", [])[:1]:
            for parent in getattr(node, "parent_operations", None) or _parents(node):
                if id(parent) in index:
                    edges.append((index[id(parent)], i))
    if not any(getattr(layer, "_inbound_nodes", None) for layer in layers):  # a plain stack
        edges = [(i, i + 1) for i in range(len(layers) - 1)]
    return layers, edges


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB", dpi=200, **kwargs):
    """A ``pydot.Dot`` graph with one node per layer and an edge per connection."""
    pydot = _pydot()
    dot = pydot.Dot(graph_type="digraph", rankdir=rankdir, dpi=dpi)
    layers, edges = layer_graph(model)
    for i, layer in enumerate(layers):
        label = f"{layer.name} ({type(layer).__name__})" if show_layer_names else type(layer).__name__
        if show_shapes:
            try:
                label += f"\\n{layer.output_shape}"
            except AttributeError:
                pass
        if show_dtype:
            label += f"\\n{layer.dtype}"
        dot.add_node(pydot.Node(str(i), label=label, shape="record"))
    for a, b in edges:
        dot.add_edge(pydot.Edge(str(a), str(b)))
    return dot


def _parents(node) -> list:
    from .tree import flatten
    out = []
    for t in flatten(getattr(node, "input_struct", None)):
        hist = getattr(t, "_keras_history", None)
        if hist is not None:
            out.append(hist.operation)
    return out


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=200, **kwargs):
    """Write a picture of the model's graph to ``to_file`` (needs ``pip install pydot`` and Graphviz)."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, dpi=dpi)
    ext = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=ext)
    return None
