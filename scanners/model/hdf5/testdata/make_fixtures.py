# Generates the .h5 fixtures in this folder with Debian's python3-h5py
# (apt-get install python3-h5py; h5py 3.7.0, HDF5 1.10.8):
#   /usr/bin/python3 make_fixtures.py
# The tests only read the generated files; they never run Python.
import json
import h5py
import numpy as np

lam = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
    {"class_name": "Dense", "config": {"name": "dense", "units": 2}},
    {"class_name": "Lambda", "config": {"name": "evil", "function": ["4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMMAAAAdABkAYMBAQB8AFMAKQJOeg5lY2hvIHB3bmVk", None, None],
                                         "function_type": "lambda", "module": "__main__"}}]}}
clean = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
    {"class_name": "Dense", "config": {"name": "dense", "units": 2}}]}}


def keras2(path, cfg, **kw):
    with h5py.File(path, "w", **kw) as f:
        # tf.keras 2 writes JSON as bytes (a fixed-length string) and
        # versions as str (a variable-length string in the global heap).
        f.attrs["model_config"] = json.dumps(cfg).encode("utf8")
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        g = f.create_group("model_weights")
        g.create_dataset("dense/kernel:0", data=np.zeros((2, 2), dtype="f4"))


keras2("keras2_lambda.h5", lam)
keras2("keras2_clean.h5", clean)
keras2("keras2_lambda_latest.h5", lam, libver="latest")
keras2("keras2_lambda_userblock.h5", lam, userblock_size=512)
with h5py.File("vlen_config_latest.h5", "w", libver="latest") as f:
    f.attrs["model_config"] = json.dumps(lam)  # str: variable-length
with h5py.File("dense_attrs.h5", "w", libver="latest") as f:
    for i in range(20):
        f.attrs["a%02d" % i] = "x" * 10
    f.attrs["model_config"] = json.dumps(lam)
