"""Scores images with a SimpleConvNet saved by webgpu-backprop (npm start -- --net simple-conv
--save model.safetensors), in numpy only: the safetensors format is read by hand (8-byte header
length, JSON header, raw little-endian tensors) and the forward pass is the book's ch. 7 code
(common/util.py's im2col, common/layers.py's Convolution, Pooling and Affine).

usage: python3 predict.py MODEL.safetensors IMAGES.f32 N
  IMAGES.f32 holds N images of 28x28 float32 pixels in [0, 1], row after row.
Prints one JSON line: {"scores": [[10 floats] * N], "classes": [N ints]}.
"""
import json
import struct
import sys

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        header_len = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(header_len))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"])
    return tensors, header.get("__metadata__", {})


def im2col(x, fh, fw, stride, pad):
    n, c, h, w = x.shape
    out_h = (h + 2 * pad - fh) // stride + 1
    out_w = (w + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((n, c, fh, fw, out_h, out_w), dtype=x.dtype)
    for y in range(fh):
        y_max = y + stride * out_h
        for xx in range(fw):
            x_max = xx + stride * out_w
            col[:, :, y, xx, :, :] = img[:, :, y:y_max:stride, xx:x_max:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * out_h * out_w, -1), out_h, out_w


def convolution(x, W, b, stride=1, pad=0):
    fn, _, fh, fw = W.shape  # [out, in, kh, kw], as PyTorch's Conv2d.weight
    col, out_h, out_w = im2col(x, fh, fw, stride, pad)
    out = col @ W.reshape(fn, -1).T + b
    return out.reshape(x.shape[0], out_h, out_w, -1).transpose(0, 3, 1, 2)


def max_pooling(x, pool_h, pool_w, stride):
    n, c, _, _ = x.shape
    col, out_h, out_w = im2col(x, pool_h, pool_w, stride, 0)
    out = col.reshape(-1, pool_h * pool_w).max(axis=1)
    return out.reshape(n, out_h, out_w, c).transpose(0, 3, 1, 2)


def simple_conv_net(p, x):
    h = np.maximum(convolution(x, p["W1"], p["b1"]), 0)
    h = max_pooling(h, 2, 2, 2)
    h = h.reshape(h.shape[0], -1)  # C, H, W order per sample
    h = np.maximum(h @ p["W2"] + p["b2"], 0)  # Affine W is [in, out]: y = x·W
    return h @ p["W3"] + p["b3"]


def main():
    model, images, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    params, _ = load_safetensors(model)
    x = np.fromfile(images, dtype="<f4").reshape(n, 1, 28, 28)
    scores = simple_conv_net(params, x)
    print(json.dumps({"scores": scores.tolist(), "classes": scores.argmax(axis=1).tolist()}))


if __name__ == "__main__":
    main()
