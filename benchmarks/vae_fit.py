"""Convolutional VAE training speed: tapeflow ``fit`` (custom ``train_step``) vs PyTorch eager, one process.

Model (both): encoder Conv2D 32 3x3 s2 relu, Conv2D 64 3x3 s2 relu, Flatten, Dense 16 relu,
Dense 2 (mean) + Dense 2 (log-variance), sampling; decoder Dense 7*7*64 relu, Conv2DTranspose 64
3x3 s2 relu, Conv2DTranspose 32 3x3 s2 relu, Conv2DTranspose 1 3x3 sigmoid. Loss: per-image summed
binary cross-entropy + KL, averaged over the batch; Adam; batch 128; one epoch over ``--n``
Fashion-MNIST images (default: all 70,000, train + test, as the Keras VAE example). Contenders are
interleaved ``--repeat`` times and medians reported (wall time and this process's CPU time).

Run: ``python benchmarks/vae_fit.py [--n 10000] [--repeat 3]``; ``OPENBLAS_NUM_THREADS=1`` for the
single-threaded comparison (torch then uses one thread too).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _common import clean_blas_env, timed  # noqa: E402

clean_blas_env()

import numpy as np  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")


def load(n):
    sys.path.insert(0, ROOT)
    from tapeflow.keras.datasets import fashion_mnist
    (x, _), (xt, _) = fashion_mnist.load_data()
    x = np.concatenate([x, xt])[:n]
    return np.expand_dims(x, -1).astype(np.float32) / 255.0


def run_tapeflow(x, bs):
    sys.path.insert(0, ROOT)
    import tapeflow as tf
    from tapeflow import keras
    from tapeflow.keras import layers, ops

    class Sampling(layers.Layer):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * eps

    inp = keras.Input((28, 28, 1))
    h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(inp)
    h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    zm, zv = layers.Dense(2)(h), layers.Dense(2)(h)
    encoder = keras.Model(inp, [zm, zv, Sampling()([zm, zv])])
    lat = keras.Input((2,))
    h = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(lat))
    h = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(h)
    decoder = keras.Model(lat, layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(h))

    class VAE(keras.Model):
        def __init__(self, encoder, decoder):
            super().__init__()
            self.encoder, self.decoder = encoder, decoder
            self.total = keras.metrics.Mean(name="loss")

        @property
        def metrics(self):
            return [self.total]

        def train_step(self, data):
            data = data[0] if isinstance(data, tuple) else data
            with tf.GradientTape() as tape:
                z_mean, z_log_var, z = self.encoder(data)
                rec = self.decoder(z)
                rec_loss = ops.mean(ops.sum(keras.losses.binary_crossentropy(data, rec), axis=(1, 2)))
                kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
                loss = rec_loss + kl
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.total.update_state(loss)
            return {"loss": self.total.result()}

    vae = VAE(encoder, decoder)
    vae.compile(optimizer=keras.optimizers.Adam())
    wall, cpu, hist = timed(lambda: vae.fit(x, batch_size=bs, epochs=1, verbose=0))
    return wall, cpu, hist.history["loss"][-1]


def run_torch(x, bs):
    import torch
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(0)
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        torch.set_num_threads(1)

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 32, 3, 2, 1), nn.Conv2d(32, 64, 3, 2, 1)
            self.d, self.zm, self.zv = nn.Linear(3136, 16), nn.Linear(16, 2), nn.Linear(16, 2)
            self.up = nn.Linear(2, 3136)
            self.t1 = nn.ConvTranspose2d(64, 64, 3, 2, 1, output_padding=1)
            self.t2 = nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1)
            self.t3 = nn.ConvTranspose2d(32, 1, 3, 1, 1)

        def forward(self, xb):
            h = F.relu(self.d(F.relu(self.c2(F.relu(self.c1(xb)))).flatten(1)))
            zm, zv = self.zm(h), self.zv(h)
            z = zm + torch.exp(0.5 * zv) * torch.randn_like(zm)
            h = F.relu(self.up(z)).view(-1, 64, 7, 7)
            return torch.sigmoid(self.t3(F.relu(self.t2(F.relu(self.t1(h)))))), zm, zv

    net = VAE()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    X = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def epoch():
        perm = torch.randperm(X.shape[0])
        total, n = 0.0, 0
        for s in range(0, X.shape[0], bs):
            xb = X[perm[s:s + bs]]
            rec, zm, zv = net(xb)
            rec_loss = F.binary_cross_entropy(rec.clamp(1e-7, 1 - 1e-7), xb, reduction="none").sum((1, 2, 3)).mean()
            kl = (-0.5 * (1 + zv - zm ** 2 - zv.exp())).sum(1).mean()
            loss = rec_loss + kl
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, n = total + float(loss.detach()), n + 1  # what fit's loss tracker does
        return total / n

    wall, cpu, last = timed(epoch)
    return wall, cpu, last


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--n", type=int, default=70000, help="training images")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--only", choices=["tapeflow", "torch"])
    args = ap.parse_args()
    x = load(args.n)
    contenders = [("tapeflow fit", run_tapeflow), ("pytorch eager", run_torch)]
    if args.only:
        contenders = [c for c in contenders if c[0].startswith(args.only.replace("torch", "pytorch"))]
    results = {}
    for _ in range(args.repeat):  # interleaved so that machine drift hits both alike
        for name, fn in contenders:
            results.setdefault(name, []).append(fn(x, args.batch))
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "all")
    print(f"\nConv VAE (conv32/64 s2, latent 2, deconv 64/32/1), batch {args.batch}, Adam, 1 epoch of {len(x)} "
          f"(median of {args.repeat}; OPENBLAS_NUM_THREADS={threads}; {os.cpu_count()} cores)")
    print(f"{'contender':<16}{'wall s':>9}{'cpu s':>9}{'wall/torch':>12}{'cpu/torch':>11}{'epoch loss':>12}")
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in results.items()}
    base = med.get("pytorch eager", next(iter(med.values())))
    for k, v in results.items():
        w, c = med[k]
        print(f"{k:<16}{w:>9.3f}{c:>9.3f}{w / base[0]:>11.2f}x{c / base[1]:>10.2f}x{v[-1][2]:>12.2f}")


if __name__ == "__main__":
    main()
