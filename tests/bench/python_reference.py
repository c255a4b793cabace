#!/usr/bin/python3
"""Reference implementation of the PSPNet multi-scale test procedure, in plain Python.

This is the classic one-window-at-a-time loop of the PSPNet test tool, following the
official code line for line: hszhao/semseg util/dataset.py (SemData.__getitem__: imread,
cvtColor, `image = np.float32(image)`) and tool/test.py (test, scale_process,
net_process): the float32 image is resized and padded with the float mean, numpy float64
accumulation, one network call per window (with its horizontal flip in the same call).
The only departure: the image is put in the card's colour order (a BGR card's network
wants BGR), where the official loader always makes RGB. It runs a SegScale TorchScript
model folder (model.json + model.pt) and is what compare_python.sh times SegScale against.

Run it with Debian's interpreter (/usr/bin/python3 with python3-torch, python3-opencv,
python3-numpy installed), e.g.
    /usr/bin/python3 tests/bench/python_reference.py --model ../shared/models/espnet-cityscapes \
        --scales 0.5,0.75,1,1.25 --base-size 512 --crop 512 --threads 2 --out /tmp/py img1.jpg ...
Writes OUT/labels/<stem>.png (8-bit class index) and prints seconds per image.
"""

import argparse
import json
import math
import os
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model folder with model.json and the TorchScript file")
    p.add_argument("--scales", default=None, help="comma-separated scales (default: the card's)")
    p.add_argument("--base-size", type=int, default=None, help="long side at scale 1 (default: the card's)")
    p.add_argument("--crop", type=int, default=None, help="sliding window size (default: the card's)")
    flip = p.add_mutually_exclusive_group()
    flip.add_argument("--flip", dest="flip", action="store_true", default=None, help="average with the horizontal flip")
    flip.add_argument("--no-flip", dest="flip", action="store_false", help="no flip")
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--freeze", action="store_true",
                   help="torch.jit.freeze the model after loading (folds conv + batch norm), as SegScale does; "
                        "off by default: the classic loop runs the module as loaded")
    p.add_argument("--json", default=None, help="write timings to this JSON file")
    p.add_argument("--out", required=True, help="output folder (labels/<stem>.png)")
    p.add_argument("images", nargs="+")
    return p.parse_args(argv)


def load_card(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        card = json.load(f)
    if card.get("architecture", "torchscript") != "torchscript":
        sys.exit("python_reference.py: only TorchScript model folders are supported")
    return card


def net_process(model, image, mean, std, flip):
    """tool/test.py net_process: one float32 window (HWC) -> HWC float32 class probabilities."""
    x = torch.from_numpy(image.transpose((2, 0, 1))).float()
    for t, m, s in zip(x, mean, std):
        t.sub_(m).div_(s)
    x = x.unsqueeze(0)
    if flip:
        x = torch.cat([x, x.flip(3)], 0)
    with torch.no_grad():
        out = model(x)
    _, _, h_i, w_i = x.shape
    _, _, h_o, w_o = out.shape
    if h_o != h_i or w_o != w_i:
        out = F.interpolate(out, (h_i, w_i), mode="bilinear", align_corners=True)
    out = F.softmax(out, dim=1)
    if flip:
        out = (out[0] + out[1].flip(2)) / 2
    else:
        out = out[0]
    return out.numpy().transpose(1, 2, 0)


def scale_process(model, image, classes, crop, out_h, out_w, mean, std, stride_rate, flip):
    """tool/test.py scale_process: image is one float32 pyramid level."""
    ori_h, ori_w = image.shape[:2]
    pad_h = max(crop - ori_h, 0)
    pad_w = max(crop - ori_w, 0)
    pad_h_half = int(pad_h / 2)
    pad_w_half = int(pad_w / 2)
    if pad_h > 0 or pad_w > 0:
        # On the float32 image the border is the exact mean, as in test.py.
        image = cv2.copyMakeBorder(image, pad_h_half, pad_h - pad_h_half, pad_w_half, pad_w - pad_w_half,
                                   cv2.BORDER_CONSTANT, value=mean)
    new_h, new_w = image.shape[:2]
    stride = int(math.ceil(crop * stride_rate))
    grid_h = int(math.ceil(float(new_h - crop) / stride) + 1)
    grid_w = int(math.ceil(float(new_w - crop) / stride) + 1)
    prediction = np.zeros((new_h, new_w, classes), dtype=float)
    count = np.zeros((new_h, new_w), dtype=float)
    windows = 0
    for ih in range(grid_h):
        for iw in range(grid_w):
            e_h = min(ih * stride + crop, new_h)
            s_h = e_h - crop
            e_w = min(iw * stride + crop, new_w)
            s_w = e_w - crop
            window = image[s_h:e_h, s_w:e_w].copy()
            count[s_h:e_h, s_w:e_w] += 1
            prediction[s_h:e_h, s_w:e_w, :] += net_process(model, window, mean, std, flip)
            windows += 1
    prediction /= np.expand_dims(count, 2)
    prediction = prediction[pad_h_half:pad_h_half + ori_h, pad_w_half:pad_w_half + ori_w]
    return cv2.resize(prediction, (out_w, out_h), interpolation=cv2.INTER_LINEAR), windows


def segment(model, image, classes, scales, base_size, crop, mean, std, stride_rate, flip):
    """tool/test.py test(), one image: image is the loader's float32 array."""
    h, w = image.shape[:2]
    prediction = np.zeros((h, w, classes), dtype=float)
    windows = 0
    for scale in scales:
        long_size = round(scale * base_size)
        new_h, new_w = long_size, long_size
        if h > w:
            new_w = round(long_size / float(h) * w)
        else:
            new_h = round(long_size / float(w) * h)
        scaled = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        p, n = scale_process(model, scaled, classes, crop, h, w, mean, std, stride_rate, flip)
        prediction += p
        windows += n
    prediction /= len(scales)
    return np.argmax(prediction, axis=2), windows


def main(argv):
    args = parse_args(argv)
    card = load_card(args.model)
    defaults = card.get("defaults", {})
    scales = [float(s) for s in args.scales.split(",")] if args.scales else [float(s) for s in defaults.get("scales", [1.0])]
    base_size = args.base_size or int(defaults.get("base_size", 512))
    crop = args.crop or int(defaults.get("crop", 512))
    flip = args.flip if args.flip is not None else bool(defaults.get("flip", True))
    stride_rate = float(defaults.get("stride_rate", 2.0 / 3.0))
    mean = [float(v) for v in card["input"]["mean"]]
    std = [float(v) for v in card["input"]["std"]]
    color_order = card["input"].get("color_order", "RGB").upper()
    classes = int(card["num_classes"])
    if classes > 255:
        sys.exit("python_reference.py: more than 255 classes is not supported (8-bit labels)")

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)

    t0 = time.perf_counter()
    model = torch.jit.load(os.path.join(args.model, card.get("file", "model.pt")), map_location="cpu")
    model.eval()
    if args.freeze:
        model = torch.jit.freeze(model)
    load_seconds = time.perf_counter() - t0

    labels_dir = os.path.join(args.out, "labels")
    os.makedirs(labels_dir, exist_ok=True)
    per_image = []
    total_windows = 0
    t_images = time.perf_counter()
    for path in args.images:
        t = time.perf_counter()
        # util/dataset.py SemData.__getitem__
        image = cv2.imread(path, cv2.IMREAD_COLOR)  # BGR
        if image is None:
            print(f"{path}: cannot read", file=sys.stderr)
            return 3
        if color_order == "RGB":
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        image = np.float32(image)
        label, windows = segment(model, image, classes, scales, base_size, crop, mean, std, stride_rate, flip)
        stem = os.path.splitext(os.path.basename(path))[0]
        cv2.imwrite(os.path.join(labels_dir, stem + ".png"), label.astype(np.uint8))
        dt = time.perf_counter() - t
        per_image.append(dt)
        total_windows += windows
        print(f"{os.path.basename(path)}: {image.shape[1]}x{image.shape[0]}, {windows} windows, {dt:.3f} s",
              file=sys.stderr)
    images_seconds = time.perf_counter() - t_images
    n = len(per_image)
    print(f"python reference: {n} images, scales {','.join(str(s) for s in scales)}, base size {base_size}, "
          f"crop {crop}, flip {'on' if flip else 'off'}, freeze {'on' if args.freeze else 'off'}, threads {torch.get_num_threads()}, "
          f"{total_windows / n:.1f} windows/img")
    print(f"model load {load_seconds:.3f} s; {images_seconds:.3f} s for {n} images; "
          f"{images_seconds / n:.3f} s/image (excluding load)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"images": n, "load_seconds": load_seconds, "images_seconds": images_seconds,
                       "seconds_per_image": images_seconds / n, "per_image_seconds": per_image,
                       "windows": total_windows, "threads": torch.get_num_threads(),
                       "torch": torch.__version__, "opencv": cv2.__version__, "numpy": np.__version__,
                       "settings": {"scales": scales, "base_size": base_size, "crop": crop, "flip": flip,
                                    "stride_rate": stride_rate, "freeze": args.freeze}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
