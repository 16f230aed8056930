"""Keys and a pickle for tests/signing.rs, made with the libraries model_signing itself uses.

    signing.py keys DIR      writes PEM keys of every kind onnxify reads (and two it refuses)
    signing.py pickle PATH   writes a fitted StandardScaler -> LogisticRegression joblib file
    signing.py load KEY PASSWORD   loads a private key as model_signing does, and names its curve

Each prints a JSON object of what it wrote.
"""

import json
import pathlib
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

PASSWORD = b"correct horse battery"

# What `openssl ecparam -name prime256v1 -genkey` writes before the key: the curve's OID.
EC_PARAMETERS_P256 = (
    b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
)


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key, form, password=None):
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, form, encryption)


def keys(out):
    out.mkdir(parents=True, exist_ok=True)
    written = {}

    def write(name, data):
        path = out / name
        path.write_bytes(data)
        written[name] = str(path)

    sec1 = serialization.PrivateFormat.TraditionalOpenSSL
    pkcs8 = serialization.PrivateFormat.PKCS8
    for name, curve, form in [
        ("trainer", ec.SECP256R1(), sec1),
        ("reviewer", ec.SECP256R1(), pkcs8),
        ("p384", ec.SECP384R1(), pkcs8),
        ("p521", ec.SECP521R1(), sec1),
    ]:
        key = ec.generate_private_key(curve)
        prefix = EC_PARAMETERS_P256 if name == "trainer" else b""
        write(f"{name}.pem", prefix + private_pem(key, form))
        write(f"{name}.pub", public_pem(key))
    locked = ec.generate_private_key(ec.SECP256R1())
    write("locked.pem", private_pem(locked, pkcs8, PASSWORD))
    write("locked.pub", public_pem(locked))
    write("secp256k1.pub", public_pem(ec.generate_private_key(ec.SECP256K1())))
    write("secp256k1.pem", private_pem(ec.generate_private_key(ec.SECP256K1()), pkcs8))
    write("ed25519.pub", public_pem(ed25519.Ed25519PrivateKey.generate()))
    written["password"] = PASSWORD.decode()
    return written


def pickle(path):
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    joblib.dump(model, path)
    return {"pickle": str(path)}


def load(path, password):
    key = serialization.load_pem_private_key(path.read_bytes(), password.encode() or None)
    return {"curve": key.curve.name}


if __name__ == "__main__":
    command, target = sys.argv[1], pathlib.Path(sys.argv[2])
    if command == "keys":
        print(json.dumps(keys(target)))
    elif command == "load":
        print(json.dumps(load(target, sys.argv[3])))
    else:
        print(json.dumps(pickle(target)))
