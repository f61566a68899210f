"""Facts about a torch.export graph that graders check: which activation functions it applies, and how
many residual additions it makes. Standalone (torch only), so the graders and the sandboxed call worker
(a grader's probe of a student's class) use the same definitions."""

ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "leaky_relu", "hardtanh", "softplus",
               "mish", "prelu", "hardswish", "hardsigmoid", "relu6")


def _op_name(node) -> str:
    """'aten.relu_.default' -> 'relu'."""
    name = str(node.target).split(".")[1] if str(node.target).startswith("aten.") else str(node.target)
    return name.rstrip("_")


def activations(graph) -> set[str]:
    """The activation functions a graph calls, by aten name ('relu', 'sigmoid', 'tanh', ...)."""
    return {_op_name(n) for n in graph.nodes if n.op == "call_function" and _op_name(n) in ACTIVATIONS}


def residual_adds(program) -> int:
    """Additions of two feature maps of the same shape (x + F(x), with or without a projection) in a
    torch.export program. A bias, a scalar, a broadcast constant or a counter update is not one: both
    operands must be the model's input or results of earlier operations (not parameters or buffers), with
    equal shapes of at least 3 dimensions."""
    inputs = set(program.graph_signature.user_inputs)

    def feature_map(x) -> bool:
        return getattr(x, "op", None) == "call_function" or (getattr(x, "op", None) == "placeholder" and x.name in inputs)

    count = 0
    for node in program.graph.nodes:
        if node.op != "call_function" or _op_name(node) != "add" or len(node.args) < 2:
            continue
        a, b = node.args[:2]
        if not (feature_map(a) and feature_map(b)):
            continue
        shapes = [getattr(x.meta.get("val"), "shape", None) for x in (a, b)]
        if shapes[0] is not None and shapes[0] == shapes[1] and len(shapes[0]) >= 3:
            count += 1
    return count
