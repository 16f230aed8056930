"""The scikit-learn side of the training benchmark: read a CSV with pandas and fit
StandardScaler -> LogisticRegression (lbfgs) on every row. Usage: sklearn_train.py CSV TOL MAX_ITER"""

import sys

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

path, tol, max_iter = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
frame = pd.read_csv(path)
y = frame.pop(frame.columns[-1])
Pipeline([("scaler", StandardScaler()), ("clf", LogisticRegression(tol=tol, max_iter=max_iter))]).fit(frame, y)
