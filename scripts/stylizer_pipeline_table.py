"""Summarises a scripts/stylizer_pipeline folder: wall time per stage (times.tsv) and, per few-shot run,
the last evaluation's style and content scores (metrics.jsonl), as Markdown tables."""
import json
import os
import sys


def last_eval(run_dir):
    found = {}
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if any(k.startswith("val/") for k in record):
                found = record
    return found


def main(out):
    times = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "times.tsv")) if line.strip()]
    print("| stage | wall time (s) |\n|---|---|")
    for name, seconds in times:
        print(f"| {name} | {seconds} |")
    for name in ("encoder", "student"):
        m = last_eval(os.path.join(out, name, "run"))
        print(f"\n{name}: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(m.items()) if k.startswith("val")))
    print("\n| preset | style | images | style Gram (recon → out) | style LPIPS (recon → out) | content LPIPS | "
          "faces found | landmark error px (recon → out) |\n|---|---|---|---|---|---|---|---|")
    for name, _ in times:
        if not name.startswith("fewshot-"):
            continue
        _, preset, style, n = name.split("-")
        m = last_eval(os.path.join(out, name, "run"))
        lp = next(k for k in m if k.startswith("val/content_"))[len("val/content_"):]
        def pair(a, b):
            return f"{m[a]:.4g} → {m[b]:.4g}" if a in m and b in m else "–"
        print(f"| {preset} | {style} | {n} | {pair('val/style_gram_reconstruction', 'val/style_gram')} | "
              f"{pair(f'val/style_{lp}_reconstruction', f'val/style_{lp}')} | {m[f'val/content_{lp}']:.4g} | "
              f"{m.get('val/faces_found', float('nan')):.2f} | "
              f"{pair('val/landmark_error_px_reconstruction', 'val/landmark_error_px')} |")


if __name__ == "__main__":
    main(sys.argv[1])
