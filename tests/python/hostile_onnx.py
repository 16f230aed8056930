"""Writes the hostile ONNX corpus for the loader tests, and a few valid controls.

  hostile_onnx.py DIR   writes the files under DIR and prints a JSON manifest:
                        [{"file": path, "case": name, "valid": bool}, ...]; a valid control
                        also has "parameters": the numbers it was written with, as scikit-learn
                        names them (classes, mean_ and scale_ of the scaler or null, coef_ as
                        classes x features, intercept_), each number rounded to float32 as stored

Each hostile file breaks one rule; the base model is the graph onnxify writes (Scaler ->
LinearClassifier, 4 float features, classes 0..2), or for the cases about the other shapes
the checker reads, a valid control of that shape (Sub -> Div -> LinearClassifier, and the
default-domain MatMul -> Add -> Softmax/ArgMax -> Gather), so that each case differs from a
valid model in exactly the way its name says. The decoding bombs are written as raw protobuf
bytes: each is a few megabytes of two-byte empty entries that a decoder without limits turns
into gigabytes.
"""

import json
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F, K = 4, 3
# The numbers of every model below: Scaler offset and scale (the Scaler multiplies, so
# scikit-learn's scale_ is 1 / SCALE), LinearClassifier coefficients (class-major) and intercepts.
# Each feature has its own offset and scale, powers of two whose reciprocals are exact, so a
# reader that mixes up features, or offsets and scales, reads other numbers.
OFFSET, SCALE = [0.5, -1.0, 2.0, 0.25], [2.0, 0.5, 4.0, 0.25]
COEFFICIENTS = [0.1 * i for i in range(K * F)]
INTERCEPTS = [0.0, 0.5, -0.5]
# The default-domain control's MatMul operand, features x classes.
STANDARD_COEFFICIENTS = np.arange(F * K).reshape(F, K) * 0.1


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def scaler(inputs=("input",), outputs=("scaled",), **attrs):
    attrs = {"offset": OFFSET, "scale": SCALE, **attrs}
    return helper.make_node("Scaler", list(inputs), list(outputs), name="scaler", domain="ai.onnx.ml", **attrs)


def classifier(inputs=("scaled",), outputs=("label", "probabilities"), domain="ai.onnx.ml", op="LinearClassifier", **attrs):
    base = {
        "coefficients": COEFFICIENTS,
        "intercepts": INTERCEPTS,
        "classlabels_ints": list(range(K)),
        "multi_class": 1,
        "post_transform": "SOFTMAX",
    }
    base.update(attrs)
    base = {k: v for k, v in base.items() if v is not None}
    return helper.make_node(op, list(inputs), list(outputs), name="linear_classifier", domain=domain, **base)


def model(nodes=None, inputs=None, outputs=None, initializers=(), opsets=(("", 17), ("ai.onnx.ml", 1)), label_type=TensorProto.INT64):
    nodes = nodes if nodes is not None else [scaler(), classifier()]
    inputs = inputs or [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", F])]
    outputs = outputs or [
        helper.make_tensor_value_info("label", label_type, ["N"]),
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", K]),
    ]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = 8
    return m


def raw_tensor(name, dims, data_type, raw):
    t = TensorProto()
    t.name = name
    t.dims.extend(dims)
    t.data_type = data_type
    t.raw_data = raw
    return t


def f32(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def sub_div(sub_in=("input", "offset"), sub_out=("centred",), div_in=("centred", "scale"), div_out=("scaled",), op="Div"):
    """The scaler as onnxify's standard flavour writes it: Sub then Div, constants as initializers."""
    nodes = [
        helper.make_node("Sub", list(sub_in), list(sub_out), name="sub"),
        helper.make_node(op, list(div_in), list(div_out), name=op.lower()),
        classifier(),
    ]
    return model(nodes=nodes, initializers=[f32("offset", OFFSET), f32("scale", SCALE)])


def standard(mm_in=("input", "coefficients"), mm_out=("mm",), add_in=("mm", "intercepts"), add_out=("scores",),
             softmax_in=("scores",), argmax_out=("index",), gather_in=("classes", "index"), gather_out=("label",)):
    """The default-domain classifier: MatMul -> Add = scores -> Softmax; scores -> ArgMax -> Gather."""
    nodes = [
        helper.make_node("MatMul", list(mm_in), list(mm_out), name="matmul"),
        helper.make_node("Add", list(add_in), list(add_out), name="add"),
        helper.make_node("Softmax", list(softmax_in), ["probabilities"], name="softmax", axis=1),
        helper.make_node("ArgMax", ["scores"], list(argmax_out), name="argmax", axis=1, keepdims=0),
        helper.make_node("Gather", list(gather_in), list(gather_out), name="gather", axis=0),
    ]
    inits = [
        f32("coefficients", STANDARD_COEFFICIENTS),
        f32("intercepts", INTERCEPTS),
        numpy_helper.from_array(np.arange(K, dtype=np.int64), "classes"),
    ]
    return model(nodes=nodes, initializers=inits, opsets=(("", 17),))


def stored(values):
    """Numbers as a float32 attribute or initializer stores them, as float64 lists."""
    return np.asarray(values, dtype=np.float32).astype(np.float64).tolist()


def parameters(classes=tuple(str(k) for k in range(K)), scaler="Scaler", coefficients=None):
    """What a control holds, as scikit-learn names it: the Scaler multiplies by SCALE, so
    scale_ is its reciprocal; Div divides by SCALE, so scale_ is SCALE; no scaler, none."""
    scale = {"Scaler": 1.0 / np.asarray(stored(SCALE)), "Div": np.asarray(stored(SCALE))}
    coefficients = np.reshape(COEFFICIENTS, (K, F)) if coefficients is None else coefficients
    return {
        "classes": list(classes),
        "mean": stored(OFFSET) if scaler else None,
        "scale": scale[scaler].tolist() if scaler else None,
        "coef": stored(coefficients),
        "intercept": stored(INTERCEPTS),
    }


def mapper(**attrs):
    """A CategoryMapper naming the classifier's integer labels; string label output."""
    nodes = [scaler(), classifier(outputs=("index", "probabilities")),
             helper.make_node("CategoryMapper", ["index"], ["label"], name="names", domain="ai.onnx.ml",
                              cats_int64s=list(range(K)), cats_strings=["a", "b", "c"], **attrs)]
    return model(nodes=nodes, label_type=TensorProto.STRING)


def repeated(tag, count):
    """`count` empty length-delimited entries of field `tag`: two bytes each."""
    return (varint(tag << 3 | 2) + b"\x00") * count


def external(name, location, length=16, offset=0):
    t = TensorProto()
    t.name = name
    t.dims.append(4)
    t.data_type = TensorProto.FLOAT
    t.data_location = TensorProto.EXTERNAL
    for key, value in [("location", location), ("offset", str(offset)), ("length", str(length))]:
        entry = t.external_data.add()
        entry.key, entry.value = key, value
    return t


def with_external(tensor):
    """A model whose Scaler reads its offset from an (external) initializer."""
    nodes = [
        helper.make_node("Sub", ["input", tensor.name], ["centred"], name="sub"),
        classifier(inputs=("centred",)),
    ]
    return model(nodes=nodes, initializers=[tensor])


def bomb(op):
    if op == "ConstantOfShape":
        shape = numpy_helper.from_array(np.array([65536, 65536], dtype=np.int64), "shape")
        nodes = [helper.make_node("ConstantOfShape", ["shape"], ["big"], name="bomb",
                                  value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]))]
        inits = [shape]
    elif op == "Range":
        inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
                 for n, v in [("start", 0.0), ("limit", 2.0 ** 41), ("delta", 1.0)]]
        nodes = [helper.make_node("Range", ["start", "limit", "delta"], ["big"], name="bomb")]
    else:
        inits = [numpy_helper.from_array(np.array([1 << 22, 1 << 22], dtype=np.int64), "shape")]
        nodes = [helper.make_node("Expand", ["input", "shape"], ["big"], name="bomb")]
    nodes.append(helper.make_node("ReduceSum", ["big"], ["total"], name="sum", keepdims=0))
    nodes += [scaler(), classifier()]
    return model(nodes=nodes, initializers=inits)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = []

    def write(name, content, valid=False, directory=None, held=None):
        folder = os.path.join(out, directory) if directory else out
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name + ".onnx")
        data = content.SerializeToString() if hasattr(content, "SerializeToString") else content
        with open(path, "wb") as f:
            f.write(data)
        cases.append({"file": path, "case": name, "valid": valid, "parameters": held})

    base = model()
    onnx.checker.check_model(base, full_check=True)
    write("00_valid_scaler_linear_classifier", base, valid=True, held=parameters())
    good = base.SerializeToString()
    named = parameters(classes=["a", "b", "c"])
    for name, control, held in [
        ("01_valid_sub_div_linear_classifier", sub_div(), parameters(scaler="Div")),
        ("02_valid_standard_operators", standard(), parameters(scaler=None, coefficients=STANDARD_COEFFICIENTS.T)),
        ("03_valid_category_mapper", mapper(default_string=""), named),
        # ONNX gives the defaults when they are left out; tract needs default_string written.
        ("04_valid_category_mapper_without_defaults", mapper(), named),
        ("05_valid_category_mapper_with_default_int64", mapper(default_int64=-1), named),
    ]:
        onnx.checker.check_model(control, full_check=True)
        write(name, control, valid=True, held=held)

    # Not a model at all.
    write("10_empty", b"")
    write("11_truncated_half", good[: len(good) // 2])
    write("12_truncated_last_byte", good[:-1])
    write("13_random_bytes", np.random.default_rng(13).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    write("14_text", b"this is a text file, not an ONNX model\n" * 20)
    write("15_pickle_renamed", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x8c\x06system\x93.")
    write("16_overlong_length_prefix", varint(7 << 3 | 2) + varint(2**31 - 1) + b"\x00" * 16)
    write("17_length_prefix_2pow62", varint(7 << 3 | 2) + varint(2**62) + b"\x00" * 16)
    nested = b""
    for _ in range(5000):
        nested = field(1, field(5, field(6, nested)))  # node -> attribute -> g -> ...
    write("18_deep_nesting", field(7, nested))

    # Tensors and shapes.
    write("20_huge_declared_dims", model(initializers=[raw_tensor("w", [2**40], TensorProto.FLOAT, b"\x00" * 16)]))
    write("21_dim_product_overflow", model(initializers=[raw_tensor("w", [2**32, 2**32, 2**10], TensorProto.FLOAT, b"\x00" * 16)]))
    write("22_negative_dim", model(initializers=[raw_tensor("w", [-1], TensorProto.FLOAT, b"\x00" * 4)]))
    write("23_undefined_dtype", model(initializers=[raw_tensor("w", [1], TensorProto.UNDEFINED, b"\x00" * 4)]))
    write("24_unknown_dtype_999", model(initializers=[raw_tensor("w", [1], 999, b"\x00" * 4)]))
    write("25_string_raw_data", model(initializers=[raw_tensor("w", [2], TensorProto.STRING, b"abcd")]))
    huge_input = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [2**40, F])]
    write("26_input_batch_2pow40", model(inputs=huge_input))
    wide_input = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 2**40])]
    write("27_input_width_2pow40", model(inputs=wide_input))
    negative_input = [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", -4])]
    write("28_input_negative_width", model(inputs=negative_input))
    odd_input = [helper.make_tensor_value_info("input", 999, ["N", F])]
    write("29_input_unknown_dtype", model(inputs=odd_input))

    # External data, from a model in its own directory.
    secret_dir = os.path.join(out, "external")
    os.makedirs(os.path.join(secret_dir, "model"), exist_ok=True)
    with open(os.path.join(secret_dir, "secret.txt"), "wb") as f:
        f.write(b"TOP-SECRET-TOP-SECRET")
    with open(os.path.join(secret_dir, "model", "weights.bin"), "wb") as f:
        f.write(struct.pack("<4f", 1, 2, 3, 4))
    for name, location in [
        ("30_external_relative", "weights.bin"),
        ("31_external_absolute", os.path.abspath(os.path.join(secret_dir, "secret.txt"))),
        ("32_external_dotdot", "../secret.txt"),
        ("33_external_missing", "no-such-file.bin"),
        ("34_external_dev_zero", "/dev/zero"),
    ]:
        write(name, with_external(external("offset", location)), directory="external/model")
    link = os.path.join(secret_dir, "model", "link.bin")
    if not os.path.lexists(link):
        os.symlink(os.path.join(secret_dir, "secret.txt"), link)
    write("35_external_symlink", with_external(external("offset", "link.bin")), directory="external/model")
    hard = os.path.join(secret_dir, "model", "hard.bin")
    if not os.path.exists(hard):
        os.link(os.path.join(secret_dir, "secret.txt"), hard)
    write("36_external_hardlink", with_external(external("offset", "hard.bin")), directory="external/model")

    # Operators, domains, opsets.
    write("40_unknown_op", model(nodes=[scaler(), classifier(op="EvilOp")]))
    write("41_spoofed_domain", model(nodes=[scaler(), classifier(domain="com.evil")]))
    write("42_absurd_opset", model(opsets=(("", 9999), ("ai.onnx.ml", 1))))
    write("43_unknown_domain_import", model(opsets=(("", 17), ("ai.onnx.ml", 1), ("com.evil", 1))))
    write("44_zipmap", model(nodes=[scaler(), classifier(outputs=("label", "scores")),
                                    helper.make_node("ZipMap", ["scores"], ["probabilities"], domain="ai.onnx.ml", classlabels_int64s=[0, 1, 2])]))
    for op in ["ConstantOfShape", "Range", "Expand"]:
        write(f"45_bomb_{op.lower()}", bomb(op))
    write("46_function", lambda_with_function(base))

    # Graph structure.
    write("50_cycle", model(nodes=[scaler(inputs=("probabilities",)), classifier()]))
    write("51_self_loop", model(nodes=[scaler(inputs=("scaled",)), classifier()]))
    write("52_output_never_produced", model(outputs=[
        helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]),
        helper.make_tensor_value_info("nowhere", TensorProto.FLOAT, ["N", K])]))
    write("53_undefined_input", model(nodes=[scaler(inputs=("ghost",)), classifier()]))
    write("54_duplicate_output_names", model(nodes=[scaler(outputs=("label",)), classifier(inputs=("label",))]))
    write("55_no_graph", varint(1 << 3) + varint(8))  # ir_version = 8 and nothing else
    write("56_subgraph_attribute", with_subgraph(base))

    # LinearClassifier attributes.
    write("60_coefficients_not_classes_x_features", model(nodes=[scaler(), classifier(coefficients=[0.1] * (K * F + 3))]))
    write("61_coefficients_for_5_features", model(nodes=[scaler(), classifier(coefficients=[0.1] * (K * 5))]))
    write("62_both_label_kinds", model(nodes=[scaler(), classifier(classlabels_strings=["a", "b", "c"])]))
    write("63_no_labels", model(nodes=[scaler(), classifier(classlabels_ints=None)]))
    write("64_nan_coefficient", model(nodes=[scaler(), classifier(coefficients=[float("nan")] + [0.1] * (K * F - 1))]))
    write("65_inf_intercept", model(nodes=[scaler(), classifier(intercepts=[0.0, float("inf"), 0.0])]))
    write("66_bad_post_transform", model(nodes=[scaler(), classifier(post_transform="PROBIT")]))
    write("67_wrong_attribute_type", model(nodes=[scaler(), classifier(coefficients=list(range(K * F)))]))
    write("68_string_attribute_1mib", model(nodes=[scaler(), classifier(post_transform="A" * (1 << 20))]))
    write("69_unknown_attribute_1mib", model(nodes=[scaler(note="x" * (1 << 20)), classifier()]))
    write("70_labels_mismatch_intercepts", model(nodes=[scaler(), classifier(classlabels_ints=list(range(5)))]))
    write("71_scaler_length_mismatch", model(nodes=[scaler(offset=[0.0] * (F + 2)), classifier()]))
    write("72_duplicate_labels", model(nodes=[scaler(), classifier(classlabels_ints=[1, 1, 2])]))
    write("73_category_mapper_default_of_the_wrong_type", mapper(default_string=5))

    # Nodes with an input or an output missing (or one too many), for each operator the
    # check walks; each must be refused by name, never indexed blindly.
    write("80_sub_one_input", sub_div(sub_in=("input",)))
    write("81_sub_no_output", sub_div(sub_out=()))
    write("82_div_one_input", sub_div(div_in=("centred",)))
    write("83_div_no_output", sub_div(div_out=()))
    write("84_mul_one_input", sub_div(div_in=("centred",), op="Mul"))
    write("85_scaler_no_input", model(nodes=[scaler(inputs=()), classifier()]))
    write("86_scaler_no_output", model(nodes=[scaler(outputs=()), classifier(inputs=("input",))]))
    write("87_scaler_two_outputs", model(nodes=[scaler(outputs=("scaled", "spare")), classifier()]))
    write("88_linear_classifier_no_input", model(nodes=[scaler(), classifier(inputs=())]))
    write("89_linear_classifier_one_output", model(nodes=[scaler(), classifier(outputs=("label",))]))
    write("90_linear_classifier_three_outputs", model(nodes=[scaler(), classifier(outputs=("label", "probabilities", "spare"))]))
    write("91_matmul_one_input", standard(mm_in=("input",)))
    write("92_matmul_no_output", standard(mm_out=()))
    write("93_add_one_input", standard(add_in=("mm",)))
    write("94_add_no_output", standard(add_out=()))
    write("95_softmax_two_inputs", standard(softmax_in=("scores", "intercepts")))
    write("96_argmax_no_output", standard(argmax_out=()))
    write("97_gather_one_input", standard(gather_in=("index",)))
    write("98_gather_no_output", standard(gather_out=()))
    write("99_category_mapper_no_input", model(nodes=[scaler(), classifier(outputs=("index", "probabilities")),
                                                     helper.make_node("CategoryMapper", [], ["label"], domain="ai.onnx.ml",
                                                                      cats_int64s=list(range(K)), cats_strings=["a", "b", "c"])],
                                              label_type=TensorProto.STRING))
    write("100_normalizer_before_scaler", model(nodes=[
        helper.make_node("Normalizer", ["input"], ["normalized"], name="normalizer", domain="ai.onnx.ml", norm="L2"),
        scaler(inputs=("normalized",)), classifier()]))

    # Decoding bombs: small files that decode to far more memory than their size. Each is
    # refused by the wire walk before prost allocates anything.
    million = 1 << 20
    write("110_bomb_many_empty_nodes", field(7, repeated(1, 8 * million)))
    write("111_bomb_many_empty_attributes", field(7, field(1, repeated(5, 8 * million))))
    write("112_bomb_many_empty_metadata_entries", repeated(14, 8 * million))
    write("113_bomb_many_empty_strings", field(7, field(1, repeated(1, 12 * million))))
    write("114_bomb_many_empty_dimensions", field(7, field(11, field(2, field(1, field(2, repeated(1, 8 * million)))))))
    nested = b""
    for _ in range(10):  # 32 levels: within prost's 100, beyond what onnxify reads
        nested = field(1, field(5, field(6, nested)))
    write("115_bomb_nested_subgraphs", field(7, nested))
    groups = 5000
    write("116_bomb_nested_unknown_groups", varint(99 << 3 | 3) * groups + varint(99 << 3 | 4) * groups)

    # Room for data outside the parameters, beyond the check's limits.
    rows = "5.1,3.5,1.4,0.2,setosa\n"
    m = model()
    m.graph.node[0].doc_string = rows * ((5 << 20) // len(rows))
    write("120_node_doc_string_5mib", m)
    m = model()
    for i in range(300):
        m.metadata_props.add(key=f"part{i}", value=rows * ((60 << 10) // len(rows)))
    write("121_metadata_17mib_in_small_entries", m)
    write("122_undeclared_field_2kib", good + field(100, rows.encode() * 90))

    json.dump(cases, sys.stdout)


def lambda_with_function(base):
    m = onnx.ModelProto()
    m.CopyFrom(base)
    f = m.functions.add()
    f.name, f.domain = "evil", "com.evil"
    return m


def with_subgraph(base):
    m = onnx.ModelProto()
    m.CopyFrom(base)
    sub = helper.make_graph([], "inner", [], [])
    m.graph.node[0].attribute.append(helper.make_attribute("body", sub))
    return m


if __name__ == "__main__":
    main()
