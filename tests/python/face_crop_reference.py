"""The face crop rules, the reference of tests/data/test_face_crop.cpp (loom::data::ffhq_crop, mediapipe_crop,
warp_face).

  face_crop_reference.py IN.safetensors OUT.safetensors
      IN "landmarks": float64 [N, 68, 2] (x, y pixel indices, dlib's order), "image": uint8 [H, W, 3], and
      "size": int64 [1], the crop side. OUT:
        "ffhq"          [N, 4, 2]  the quad of NVlabs ffhq-dataset download_ffhq.py recreate_aligned_images,
                                    step "Choose oriented crop rectangle", written as that script computes it;
        "ffhq_norot"    [N, 4, 2]  the same with its --no-rotation branch (x = [1, 0] * length);
        "mediapipe"     [N, 4, 2]  MediaPipe's FaceToRectCalculator (mediapipe/calculators/util/
                                    face_to_rect_calculator.cc defaults mix 0.1, eye-to-mouth scale 3.6,
                                    eye-to-eye scale 4.0) as a centre, side and rotation, turned into corners
                                    here; dlib corners 36/39, 42/45 and 48/54 stand for its mesh points;
        "warp"          uint8 [N, size, size, 3]  PIL's Image.transform((size, size), QUAD, (quad + 0.5).flatten(),
                                    BILINEAR) of the image with the ffhq quad, as download_ffhq.py cuts it.
"""
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file


def ffhq(lm, rotate=True):
    lm_eye_left = lm[36:42]
    lm_eye_right = lm[42:48]
    lm_mouth_outer = lm[48:60]
    eye_left = np.mean(lm_eye_left, axis=0)
    eye_right = np.mean(lm_eye_right, axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_left = lm_mouth_outer[0]
    mouth_right = lm_mouth_outer[6]
    mouth_avg = (mouth_left + mouth_right) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    if rotate:
        x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
        x /= np.hypot(*x)
    else:
        x = np.array([1.0, 0.0])
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def mediapipe(lm):
    left = (lm[36] + lm[39]) / 2
    right = (lm[42] + lm[45]) / 2
    mouth = (lm[48] + lm[54]) / 2
    eye_center = (left + right) / 2
    eye_to_mouth = mouth - eye_center
    center = eye_center + 0.1 * eye_to_mouth
    size = max(np.linalg.norm(eye_to_mouth) * 3.6, np.linalg.norm(right - left) * 4.0)
    angle = np.arctan2(right[1] - left[1], right[0] - left[0])  # the rotation that levels the eyes
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    h = size / 2
    return np.stack([center + rot @ np.array(d) for d in ((-h, -h), (-h, h), (h, h), (h, -h))])


def main(in_path, out_path):
    data = load_file(in_path)
    lms = data["landmarks"].numpy()
    image = Image.fromarray(data["image"].numpy())
    size = int(data["size"][0])
    out = {"ffhq": [], "ffhq_norot": [], "mediapipe": [], "warp": []}
    for lm in lms:
        quad = ffhq(lm)
        out["ffhq"].append(quad)
        out["ffhq_norot"].append(ffhq(lm, rotate=False))
        out["mediapipe"].append(mediapipe(lm))
        img = image.transform((size, size), Image.Transform.QUAD, (quad + 0.5).flatten(), Image.Resampling.BILINEAR)
        out["warp"].append(np.asarray(img))
    save_file({k: torch.from_numpy(np.ascontiguousarray(np.stack(v))) for k, v in out.items()}, out_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
