"""Scoring onnxify models inside Apache Spark with mapInPandas and onnxruntime: the README's
recipe ("Scoring inside Spark"), and a driver that runs it live for tests/spark_scoring.rs.

  spark_scoring.py [--fit-spark OUT ONNXIFY] MODEL CSV [MODEL CSV ...]

starts one pyspark session in local mode; with --fit-spark, first fits a Spark pipeline on
penguins in it, saves it in OUT, converts it with the onnxify binary ONNXIFY and adds it (and the
table's rows) to the pairs, reporting it as "spark" with Spark's own labels. For each pair it reads CSV into a Spark DataFrame
(cells as `pd.read_csv` reads them: its NA tokens are null, numbers are doubles parsed from the
text, text is kept as written), splits it into three partitions so that each worker task meets
the model again, scores it with the recipe and prints one JSON document:

  {"jobs": [{"columns": ["label", "p_<class>", ...], "rows": [[label, p, ...], ...]}, ...],
   "workers": [{"pid": PID, "sessions": N}],
   "spark": {"model": ONNX, "csv": CSV, "labels": [Spark's prediction per row]}}

rows in file order; "workers" says how many onnxruntime sessions the Python worker that ran the
jobs holds (one per model when the cache lives as long as the worker).

The recipe is the block between the two rulers below, as the README shows it. Spark pickles the
function given to mapInPandas; a function of the driver's script (`__main__`) is pickled by
value together with the globals it uses, so a session cache there would be a fresh copy in every
task. The recipe therefore lives in a module the workers import (shipped with `addPyFile`),
whose globals last as long as the worker process; this script ships itself and imports itself
under its module name for that reason.
"""

import functools
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import pandas as pd
from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

# ---------------------------------------------------------------------------------------------
# Scoring inside Spark: one onnxruntime session per Python worker, columns fed by name as
# `onnxify predict` feeds them (a missing number as NaN, a missing text as ""), output as
# `onnxify predict` writes it (label, then p_<class> per class).

NUMBERS = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}
_sessions = {}  # model bytes -> InferenceSession, for the life of this Python worker


def session(model):
    """This process's session for the model's bytes, made on first use."""
    if model not in _sessions:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # Spark already runs one task per core
        _sessions[model] = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return _sessions[model]


def input_columns(sess, columns):
    """The DataFrame columns each graph input takes, matched as `onnxify predict` matches them."""
    meta = sess.get_modelmeta().custom_metadata_map
    if "columns" in meta:  # a table: one input per column, named after it, or grouped
        table = json.loads(meta["columns"])
        grouped = table["inputs"] == "grouped"
        return {i.name: table[i.name] if grouped else [i.name] for i in sess.get_inputs()}
    if meta.get("feature_names_recorded") == "false":  # fitted on an unnamed array: in order
        return {"input": list(columns)}
    return {"input": json.loads(meta["feature_names"])}


def classes(sess):
    """The class labels as text, in probability-column order."""
    return [str(c) for c in json.loads(sess.get_modelmeta().custom_metadata_map["class_labels"])]


def score(model, keep, batches):
    """mapInPandas function: the `keep` columns, the label and one probability per class."""
    sess = session(model.value)
    for batch in batches:
        columns, feeds = input_columns(sess, batch.columns.drop(keep)), {}
        for i in sess.get_inputs():
            cells = batch[columns[i.name]]
            if i.type == "tensor(string)":
                feeds[i.name] = cells.fillna("").to_numpy(dtype=object)
            else:  # an int64 category must be present, as `onnxify predict` requires
                feeds[i.name] = cells.to_numpy(dtype=NUMBERS[i.type], na_value=np.nan)
        labels, proba = sess.run(["label", "probabilities"], feeds)
        out = batch[keep].reset_index(drop=True)
        out["label"] = [str(v) for v in labels]
        for c, p in zip(classes(sess), proba.T):
            out[f"p_{c}"] = p.astype(np.float64)
        yield out


def predict(df, model_path, keep=()):
    """`df` scored by the onnxify model at `model_path`: `keep`, label, p_<class>..."""
    with open(model_path, "rb") as f:
        model = f.read()
    schema = StructType([df.schema[c] for c in keep] + [StructField("label", StringType())]
                        + [StructField(f"p_{c}", DoubleType()) for c in classes(session(model))])
    shared = df.sparkSession.sparkContext.broadcast(model)
    return df.mapInPandas(functools.partial(score, shared, list(keep)), schema)

# ---------------------------------------------------------------------------------------------


ROW = "__row"  # the row's position in the CSV, carried through to put the output in file order


def spark_session():
    # The workers must run this interpreter (pandas, onnxruntime), not whatever `python3` is.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from spark_models import session

    return session()


def spark_types(model_path, columns):
    """Each CSV column's Spark type: what the model's input for it takes; text otherwise."""
    with open(model_path, "rb") as f:
        sess = session(f.read())
    spark_type = {"tensor(string)": StringType(), "tensor(int64)": LongType()}
    names, types = input_columns(sess, columns), {}
    for i in sess.get_inputs():
        types.update((name, spark_type.get(i.type, DoubleType())) for name in names[i.name])
    return [types.get(c, StringType()) for c in columns]


def cell(value, kind):
    """A CSV cell (NaN where read_csv's NA tokens stand) as a value of Spark type `kind`."""
    if not isinstance(value, str):
        return None
    if isinstance(kind, DoubleType):
        return float(value)  # correctly rounded, surrounding whitespace allowed, as onnxify reads
    if isinstance(kind, LongType):
        return whole(value)
    return value


def whole(text):
    """An integer category cell: digits, or a number with no fraction ("2007.0")."""
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise SystemExit(f"{text!r} is not a whole number") from None
        return int(number)


def read(spark, model_path, csv):
    """The CSV as a DataFrame typed for the model, with its row numbers, in three partitions."""
    frame = pd.read_csv(csv, dtype=str)
    columns = list(frame.columns)
    types = spark_types(model_path, columns)
    schema = StructType([StructField(ROW, LongType(), False)]
                        + [StructField(c, t) for c, t in zip(columns, types)])
    rows = [(r, *(cell(v, t) for v, t in zip(values, types)))
            for r, values in enumerate(frame.itertuples(index=False, name=None))]
    return spark.createDataFrame(rows, schema).repartition(3)


def fit_spark_model(spark, out, onnxify):
    """A Spark pipeline fitted on penguins (text columns indexed and one-hot encoded, missing
    numbers imputed, scaled, a multinomial LogisticRegression), saved in OUT and converted by
    onnxify; its ONNX file, the table's rows as a CSV, and Spark's own label for each row."""
    import subprocess

    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StandardScaler
    from spark_models import NUMBERS, TEXTS, column_pipeline, penguins

    table = penguins(spark).select(*NUMBERS, *TEXTS, "species")
    model = column_pipeline(
        "species", StandardScaler(inputCol="features", outputCol="scaled", withMean=True),
        LogisticRegression(featuresCol="scaled", labelCol="label", family="multinomial",
                           maxIter=100, regParam=0.01)).fit(table)
    saved = os.path.join(out, "spark_model")
    model.write().overwrite().save(saved)
    subprocess.run([onnxify, "convert", saved, "-o", saved + ".onnx", "--quiet"], check=True)
    rows = table.select(*NUMBERS, *TEXTS)
    csv = os.path.join(out, "spark_rows.csv")
    rows.toPandas().to_csv(csv, index=False)
    names = list(model.stages[-2].labelsArray[0])
    labels = [names[int(r["prediction"])] for r in model.transform(rows).select("prediction").collect()]
    return {"model": saved + ".onnx", "csv": csv, "labels": labels}


def sessions_held(batches):
    """mapInPandas function reporting the worker's pid and how many sessions it holds."""
    for _ in batches:
        pass
    yield pd.DataFrame({"pid": [os.getpid()], "sessions": [len(_sessions)]})


def main():
    args = sys.argv[1:]
    fit = args[1:3] if args[:1] == ["--fit-spark"] else None
    args = args[3:] if fit else args
    if len(args) % 2 or not (args or fit):
        raise SystemExit(__doc__)
    spark = spark_session()
    spark.sparkContext.addPyFile(os.path.abspath(__file__))
    import spark_scoring as recipe  # by module name, so that Spark pickles its functions by reference

    fitted = fit_spark_model(spark, *fit) if fit else None
    if fitted:
        args += [fitted["model"], fitted["csv"]]
    jobs = []
    for model_path, csv in zip(args[::2], args[1::2]):
        scored = recipe.predict(read(spark, model_path, csv), model_path, keep=[ROW])
        rows = sorted(scored.collect(), key=lambda row: row[ROW])
        jobs.append({"columns": scored.columns[1:], "rows": [list(row)[1:] for row in rows]})
    held = spark.range(1, numPartitions=1).mapInPandas(recipe.sessions_held, "pid long, sessions long")
    workers = [row.asDict() for row in held.collect()]
    spark.stop()
    json.dump({"jobs": jobs, "workers": workers, "spark": fitted}, sys.stdout)


if __name__ == "__main__":
    main()
