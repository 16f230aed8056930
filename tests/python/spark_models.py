"""Fits Spark ML models in local mode on real tables, saves them, and prints a JSON manifest of
what Spark holds for each stage (its class, uid and fitted values, read from the live objects),
for the tests of onnxify's reader of saved Spark models.

  spark_models.py OUT
"""

import contextlib
import json
import os
import sys

from palmerpenguins import load_penguins
from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import (Binarizer, Imputer, OneHotEncoder, StandardScaler, StringIndexer,
                                VectorAssembler)
from pyspark.ml.linalg import DenseMatrix, Vectors
from pyspark.sql import SparkSession
from sklearn.datasets import load_breast_cancer

NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
TEXTS = ["island", "sex"]


def session():
    spark = (SparkSession.builder.master("local[1]").appName("onnxify-tests")
             .config("spark.driver.memory", "512m")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1")
             .getOrCreate())
    spark.sparkContext.setLogLevel("OFF")
    return spark


def penguins(spark):
    """palmerpenguins with nulls where the table has missing cells, and a binary label."""
    frame = load_penguins()
    rows = []
    for record in frame.to_dict("records"):
        row = {c: (None if record[c] != record[c] else float(record[c])) for c in NUMBERS}
        row.update({c: (None if record[c] != record[c] else record[c]) for c in TEXTS})
        row["species"] = record["species"]
        row["adelie"] = "yes" if record["species"] == "Adelie" else "no"
        rows.append(row)
    schema = ", ".join([f"{c} double" for c in NUMBERS] + [f"{c} string" for c in TEXTS]
                       + ["species string", "adelie string"])
    return spark.createDataFrame([tuple(r[c] for c in NUMBERS + TEXTS + ["species", "adelie"]) for r in rows],
                                 schema)


def edge_rows(spark):
    """Rows the table lacks: unseen text, missing text, missing numbers, and all at once."""
    rows = [
        (39.1, 18.7, 181.0, 3750.0, "Atlantis", "male"),
        (39.1, 18.7, 181.0, 3750.0, "Biscoe", None),
        (None, 18.7, None, 3750.0, "Dream", "female"),
        (None, None, None, None, None, None),
    ]
    schema = ", ".join([f"{c} double" for c in NUMBERS] + [f"{c} string" for c in TEXTS])
    return spark.createDataFrame(rows, schema)


def predictions(model, frame):
    """Each row Spark predicts (it drops those a stage skips): its inputs (null where missing),
    Spark's probabilities and predicted label."""
    labels = None
    for stage in model.stages:
        if type(stage).__name__ == "StringIndexerModel" and stage.getOrDefault("outputCol") == "label":
            labels = list(stage.labelsArray[0])
    out = []
    for row in model.transform(frame.select(*NUMBERS, *TEXTS)).collect():
        index = int(row["prediction"])
        out.append({"numbers": {c: row[c] for c in NUMBERS}, "texts": {c: row[c] for c in TEXTS},
                    "probability": row["probability"].toArray().tolist(),
                    "label": labels[index] if labels else str(index)})
    return out


def vector_predictions(model, frame):
    """Each row's feature vector, Spark's probabilities and predicted label (the class index)."""
    return [{"vector": row["features"].toArray().tolist(),
             "probability": row["probability"].toArray().tolist(),
             "label": str(int(row["prediction"]))}
            for row in model.transform(frame).collect()]


def write_rows(rows, stem):
    """The rows' inputs as STEM_rows.csv (an empty cell where missing) and, for a table,
    STEM_rows.parquet (null where missing), as pandas writes them."""
    import pandas as pd
    if "vector" in rows[0]:
        n = len(rows[0]["vector"])
        frame = pd.DataFrame([r["vector"] for r in rows], columns=[f"features[{j}]" for j in range(n)])
        frame.to_csv(stem + "_rows.csv", index=False)
        return stem + "_rows.csv", None
    frame = pd.DataFrame([{**r["numbers"], **r["texts"]} for r in rows], columns=NUMBERS + TEXTS)
    frame[NUMBERS] = frame[NUMBERS].astype("float64")
    frame[TEXTS] = frame[TEXTS].astype(object)
    frame.to_csv(stem + "_rows.csv", index=False)
    frame.to_parquet(stem + "_rows.parquet", index=False, compression="snappy")
    return stem + "_rows.csv", stem + "_rows.parquet"


def column_pipeline(label, scaler, lr, order="frequencyDesc", drop_last=True, keep_onehot=False,
                    indexer_invalid="keep", strategy="mean"):
    indexed = [f"{c}_index" for c in TEXTS]
    encoded = [f"{c}_onehot" for c in TEXTS]
    imputed = [f"{c}_imputed" for c in NUMBERS]
    return Pipeline(stages=[
        StringIndexer(inputCols=TEXTS, outputCols=indexed, handleInvalid=indexer_invalid,
                      stringOrderType=order),
        OneHotEncoder(inputCols=indexed, outputCols=encoded, dropLast=drop_last,
                      handleInvalid="keep" if keep_onehot else "error"),
        Imputer(inputCols=NUMBERS, outputCols=imputed, strategy=strategy),
        VectorAssembler(inputCols=encoded + imputed, outputCol="features"),
        scaler,
        StringIndexer(inputCol=label, outputCol="label"),
        lr,
    ])


def fitted(stage):
    """The class, uid and fitted values Spark holds for a stage."""
    name = type(stage).__name__
    out = {"class": stage._java_obj.getClass().getName(), "uid": stage.uid}
    if name == "StringIndexerModel":
        out["labels"] = [list(labels) for labels in stage.labelsArray]
    elif name == "OneHotEncoderModel":
        out["sizes"] = list(stage.categorySizes)
    elif name == "ImputerModel":
        row = stage.surrogateDF.first().asDict()
        out["surrogates"] = [row[c] for c in stage.getInputCols()]
    elif name == "StandardScalerModel":
        out["mean"] = stage.mean.toArray().tolist()
        out["std"] = stage.std.toArray().tolist()
        out["with_mean"] = stage.getWithMean()
        out["with_std"] = stage.getWithStd()
    elif name == "LogisticRegressionModel":
        out["coefficients"] = stage.coefficientMatrix.toArray().tolist()
        out["intercepts"] = stage.interceptVector.toArray().tolist()
        out["multinomial"] = stage.numClasses > 2 or stage.coefficientMatrix.numRows > 1
        out["threshold"] = stage.getThreshold() if stage.numClasses == 2 else None
    elif name == "VectorAssembler":
        out["inputs"] = stage.getInputCols()
    return out


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):
        spark = session()
    table = penguins(spark)
    models = {
        # Every category's index one-hot encoded, missing numbers imputed, centred and scaled.
        "penguins_multinomial": column_pipeline(
            "species",
            StandardScaler(inputCol="features", outputCol="scaled", withMean=True, withStd=True),
            LogisticRegression(featuresCol="scaled", labelCol="label", family="multinomial",
                               maxIter=100, regParam=0.01)).fit(table),
        # Binary, a threshold (regularised strongly, so that some rows fall between it and 0.5),
        # labels in alphabetical order, the last category kept and an invalid index encoded.
        "penguins_binary_threshold": column_pipeline(
            "adelie",
            StandardScaler(inputCol="features", outputCol="scaled"),
            LogisticRegression(featuresCol="scaled", labelCol="label", threshold=0.3, maxIter=100,
                               regParam=0.5),
            order="alphabetAsc", drop_last=False, keep_onehot=True).fit(table),
        # Class thresholds, centred and not scaled, median imputation, and rows with an unseen
        # or missing text skipped by the indexer.
        "penguins_class_thresholds": column_pipeline(
            "species",
            StandardScaler(inputCol="features", outputCol="scaled", withMean=True, withStd=False),
            LogisticRegression(featuresCol="scaled", labelCol="label", family="multinomial",
                               thresholds=[0.5, 0.2, 0.3], maxIter=100, regParam=0.01),
            indexer_invalid="skip", strategy="median").fit(table),
        # Spark's defaults: the indexer and the encoder raise on an unseen or missing text (so
        # Spark predicts only rows with known texts).
        "penguins_defaults": column_pipeline(
            "adelie",
            StandardScaler(inputCol="features", outputCol="scaled"),
            LogisticRegression(featuresCol="scaled", labelCol="label", maxIter=100),
            indexer_invalid="error").fit(table.na.drop(subset=TEXTS)),
    }
    cancer = load_breast_cancer()
    rows = [(Vectors.dense(x.tolist()), float(y)) for x, y in zip(cancer.data, cancer.target)]
    frame = spark.createDataFrame(rows, ["features", "label"])
    # L1 leaves most coefficients at zero, so Spark stores the matrix sparse.
    models["cancer_sparse_l1"] = LogisticRegression(
        maxIter=100, regParam=0.1, elasticNetParam=1.0, standardization=True).fit(frame)
    models["binarizer_pipeline"] = Pipeline(stages=[
        Binarizer(inputCol="label", outputCol="positive", threshold=0.5)]).fit(frame)
    rows = table.unionByName(edge_rows(spark), allowMissingColumns=True)
    known = table.na.drop(subset=TEXTS)
    manifest = []
    for name, model in models.items():
        path = os.path.join(out, name)
        model.write().overwrite().save(path)
        stages = model.stages if hasattr(model, "stages") else [model]
        entry = {"name": name, "dir": path, "spark_version": spark.version,
                 "stages": [fitted(s) for s in stages]}
        if name.startswith("penguins"):
            entry["rows"] = predictions(model, known if name == "penguins_defaults" else rows)
            entry["csv"], entry["parquet"] = write_rows(entry["rows"], os.path.join(out, name))
        elif name == "cancer_sparse_l1":
            entry["rows"] = vector_predictions(model, frame)
            entry["csv"], _ = write_rows(entry["rows"], os.path.join(out, name))
        manifest.append(entry)
    # The L1 model saved again with data a broken or edited file would hold, written by Spark
    # itself (so the Parquet layout and checksum files are Spark's): a NaN coefficient, and a
    # feature count the coefficients do not have.
    lr = models["cancer_sparse_l1"]
    for name, coefficients, features in [
        ("cancer_nan_coefficient", [float("nan")] + [0.0] * 29, 30),
        ("cancer_features_lie", [0.0] * 30, 5),
    ]:
        path = os.path.join(out, name)
        lr.write().overwrite().save(path)
        row = [(2, features, Vectors.dense([0.5]), DenseMatrix(1, 30, coefficients, True), False)]
        data = spark.createDataFrame(row, ["numClasses", "numFeatures", "interceptVector",
                                           "coefficientMatrix", "isMultinomial"])
        data.coalesce(1).write.mode("overwrite").parquet(os.path.join(path, "data"))
        manifest.append({"name": name, "dir": path, "spark_version": spark.version, "stages": []})
    spark.stop()
    json.dump(manifest, sys.stdout)


if __name__ == "__main__":
    main()
