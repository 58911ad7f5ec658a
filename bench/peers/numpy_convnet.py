"""The book's SimpleConvNet training step in NumPy, float32: the 'aim' comparator of the conv bench.

The layers are the book's (ch. 7: common/util.py's im2col and col2im, common/layers.py's
Convolution, Pooling, Affine, Relu, SoftmaxWithLoss; ch. 6: common/optimizer.py's Adam), copied
with their arithmetic unchanged and every array kept in float32 (where the book's np.zeros would
make a float64 array, or its lr_t a float64 scalar, the float32 dtype is given). As in the book, the first
convolution's backward computes the input's gradient too (col2im), although nothing uses it.

The bench (bench/cli/numpy-engine.ts) drives it so that its steps interleave with the other
engines': it writes the initial weights and every step's batch into a folder, starts

    python3 bench/peers/numpy_convnet.py FOLDER

and then, on stdin, sends one line per command:

    step     train on the next batch; answers "loss <value> <ms>" (ms: the step inside Python)
    quit     exit

The first line this prints is "ready <numpy version> <BLAS>", once the data is loaded. The folder
holds meta.json (batch, steps, lr, beta1, beta2, the parameters' names and shapes),
params.f32 (the parameters in that order, float32 little-endian), x.f32 ([steps, batch, 784]
pixels in [0, 1]) and t.u8 ([steps, batch] labels).
"""
import json
import sys
import time
from pathlib import Path

import numpy as np

F32 = np.float32


# --- common/util.py -------------------------------------------------------------------------

def im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1

    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], 'constant')
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)

    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]

    col = col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)
    return col


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)

    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        y_max = y + stride * out_h
        for x in range(filter_w):
            x_max = x + stride * out_w
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]

    return img[:, :, pad:H + pad, pad:W + pad]


# --- common/functions.py --------------------------------------------------------------------

def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


# --- common/layers.py -----------------------------------------------------------------------

class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = (x <= 0)
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.pad = pad
        self.x = None
        self.col = None
        self.col_W = None
        self.dW = None
        self.db = None

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = 1 + int((H + 2 * self.pad - FH) / self.stride)
        out_w = 1 + int((W + 2 * self.pad - FW) / self.stride)

        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T

        out = np.dot(col, col_W) + self.b
        out = out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)

        self.x = x
        self.col = col
        self.col_W = col_W
        return out

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)

        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout)
        self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)

        dcol = np.dot(dout, self.col_W.T)
        dx = col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)
        return dx


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h = pool_h
        self.pool_w = pool_w
        self.stride = stride
        self.pad = pad
        self.x = None
        self.arg_max = None

    def forward(self, x):
        N, C, H, W = x.shape
        out_h = int(1 + (H - self.pool_h) / self.stride)
        out_w = int(1 + (W - self.pool_w) / self.stride)

        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad)
        col = col.reshape(-1, self.pool_h * self.pool_w)

        arg_max = np.argmax(col, axis=1)
        out = np.max(col, axis=1)
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)

        self.x = x
        self.arg_max = arg_max
        return out

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)

        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dmax = dmax.reshape(dout.shape + (pool_size,))

        dcol = dmax.reshape(dmax.shape[0] * dmax.shape[1] * dmax.shape[2], -1)
        dx = col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)
        return dx


# --- ch07/simple_convnet.py (weights given, not drawn) --------------------------------------

class SimpleConvNet:
    def __init__(self, params, conv_param=None):
        conv_param = conv_param or {'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1}
        self.params = params
        self.layers = [
            ('Conv1', Convolution(params['W1'], params['b1'], conv_param['stride'], conv_param['pad'])),
            ('Relu1', Relu()),
            ('Pool1', Pooling(pool_h=2, pool_w=2, stride=2)),
            ('Affine1', Affine(params['W2'], params['b2'])),
            ('Relu2', Relu()),
            ('Affine2', Affine(params['W3'], params['b3'])),
        ]
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.last_layer.forward(y, t)

    def gradient(self, x, t):
        loss = self.loss(x, t)
        dout = self.last_layer.backward(1)
        for _, layer in reversed(self.layers):
            dout = layer.backward(dout)
        layers = dict(self.layers)
        grads = {
            'W1': layers['Conv1'].dW, 'b1': layers['Conv1'].db,
            'W2': layers['Affine1'].dW, 'b2': layers['Affine1'].db,
            'W3': layers['Affine2'].dW, 'b3': layers['Affine2'].db,
        }
        return loss, grads


# --- common/optimizer.py --------------------------------------------------------------------

class Adam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key] = np.zeros_like(val)
                self.v[key] = np.zeros_like(val)

        self.iter += 1
        lr_t = F32(self.lr * np.sqrt(1.0 - self.beta2 ** self.iter) / (1.0 - self.beta1 ** self.iter))

        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


# --- the bench's side ----------------------------------------------------------------------

def blas_name():
    try:
        config = np.show_config(mode='dicts')
        blas = config.get('Build Dependencies', {}).get('blas', {})
        return f"{blas.get('name', '?')}-{blas.get('version', '?')}"
    except Exception:  # older NumPy: no dict mode
        return 'blas-unknown'


def main():
    folder = Path(sys.argv[1])
    meta = json.loads((folder / 'meta.json').read_text())
    batch, steps = meta['batch'], meta['steps']
    flat = np.fromfile(folder / 'params.f32', dtype='<f4')
    params, offset = {}, 0
    for name, shape in meta['params']:
        size = int(np.prod(shape))
        params[name] = flat[offset:offset + size].reshape(shape).astype(F32)
        offset += size
    xs = np.fromfile(folder / 'x.f32', dtype='<f4').reshape(steps, batch, 1, 28, 28).astype(F32)
    ts = np.fromfile(folder / 't.u8', dtype=np.uint8).reshape(steps, batch).astype(np.int64)

    net = SimpleConvNet(params)
    optimizer = Adam(lr=meta['lr'], beta1=meta['beta1'], beta2=meta['beta2'])
    print(f'ready {np.__version__} {blas_name()}', flush=True)
    step = 0
    for line in sys.stdin:
        command = line.strip()
        if command == 'quit':
            break
        if command != 'step':
            print(f'error unknown command {command!r}', flush=True)
            continue
        if step >= steps:
            print(f'error only {steps} batches were given', flush=True)
            continue
        t0 = time.perf_counter()
        loss, grads = net.gradient(xs[step], ts[step])
        optimizer.update(net.params, grads)
        ms = (time.perf_counter() - t0) * 1000
        step += 1
        print(f'loss {float(loss)!r} {ms:.3f}', flush=True)


if __name__ == '__main__':
    main()
