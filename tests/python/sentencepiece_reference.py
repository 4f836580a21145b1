"""Reference tokenizations for tests/data/test_sentencepiece_tokenizer.cpp (loom::data::SentencePieceTokenizer).

  sentencepiece_reference.py DIR   writes
    DIR/t5_style.model   a SentencePiece model trained here as T5's vocabularies are laid out (unigram,
                         <pad> 0, </s> 1, <unk> 2, no <s>, nmt_nfkc), on the strings below;
    DIR/byte_fallback.model  a byte-fallback BPE model like SigLIP 2's Gemma one (which Loom refuses);
    DIR/sentencepiece_reference.json:
      strings            tokenizer_reference.py's strings (the CLIP tokenizer's test set, same seed);
      tokens, tokens_16  open_clip's HFTokenizer (clean='canonicalize', as the SigLIP configs ask) at
                         context lengths 64 (SigLIP's) and 16 (most rows truncated);
      encode             the HF tokenizer's ids of each cleaned string (no </s>, untruncated);
      tokens_lower       HFTokenizer with clean='lower', context 64;
      normalizer_agrees  per string: the HF tokenizer's normalizer and SentencePiece's give the same text
                         (see data/sentencepiece_tokenizer.h for where they differ);
      fuzz_cleaned, fuzz_tokens, fuzz_normalizer_agrees
                         tokenizer_reference.py's 3,000 random strings, canonicalized here without ftfy
                         (which would rewrite much of such text), and the HF tokenizer's rows for them.

The HF tokenizer is the one open_clip's SigLipTokenizer makes from a SentencePiece model, which is how
the hub's timm/ViT-B-16-SigLIP tokenizer was made: T5 with extra_ids=0, legacy=False and pad_token_id 1
(= eos). Under transformers 5 SigLipTokenizer(path) itself no longer constructs (T5TokenizerFast's first
argument became the vocabulary), so the same tokenizer comes from T5Tokenizer.from_pretrained on the model
file, is saved, and open_clip's HFTokenizer loads it from that folder exactly as it loads a hub tokenizer.
"""
import json
import os
import random
import shutil
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never reach for the hub

import sentencepiece
from open_clip import tokenizer as oc_tokenizer
from transformers import T5Tokenizer

import tokenizer_reference as strings_source

CONTEXT = 64


def clean_canonicalize_without_ftfy(text):
    import html
    return oc_tokenizer.canonicalize_text(html.unescape(html.unescape(text)).strip())


def train_model(out_dir, corpus):
    corpus_file = os.path.join(out_dir, "corpus.txt")
    with open(corpus_file, "w", encoding="utf-8") as f:
        f.write("\n".join(line for line in corpus if line))
    sentencepiece.SentencePieceTrainer.train(
        input=corpus_file, model_prefix=os.path.join(out_dir, "t5_style"), model_type="unigram", vocab_size=1000,
        hard_vocab_limit=False, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, num_threads=1, minloglevel=2)
    sentencepiece.SentencePieceTrainer.train(
        input=corpus_file, model_prefix=os.path.join(out_dir, "byte_fallback"), model_type="bpe", vocab_size=600,
        byte_fallback=True, pad_id=0, eos_id=1, bos_id=2, unk_id=3, num_threads=1, minloglevel=2)
    return os.path.join(out_dir, "t5_style.model")


def hf_tokenizers(out_dir, model_file):
    spm_dir, hf_dir = os.path.join(out_dir, "spm"), os.path.join(out_dir, "hf")
    os.makedirs(spm_dir, exist_ok=True)
    shutil.copy(model_file, os.path.join(spm_dir, "spiece.model"))
    t5 = T5Tokenizer.from_pretrained(spm_dir, extra_ids=0, legacy=False)
    t5.pad_token_id = 1  # SigLipTokenizer's setting
    t5.eos_token_id = 1
    t5.save_pretrained(hf_dir)
    canonicalize = oc_tokenizer.HFTokenizer(hf_dir, context_length=CONTEXT, clean="canonicalize")
    lower = oc_tokenizer.HFTokenizer(hf_dir, context_length=CONTEXT, clean="lower")
    return canonicalize, lower


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(strings_source.SEED)
    strings = strings_source.CASES + strings_source.random_strings(rng, 640)
    fuzz = strings_source.fuzz_strings(rng, 3000)
    changed = [s for s in strings if oc_tokenizer._clean_canonicalize(s) != clean_canonicalize_without_ftfy(s)]
    if changed:
        print("ftfy.fix_text changes these strings; choose others:", *map(repr, changed[:20]), sep="\n  ")
        sys.exit(1)

    cleaned = [oc_tokenizer._clean_canonicalize(s) for s in strings]
    model_file = train_model(out_dir, cleaned + [oc_tokenizer._clean_lower(s) for s in strings])
    canonicalize, lower = hf_tokenizers(out_dir, model_file)
    processor = sentencepiece.SentencePieceProcessor(model_file=model_file)
    hf_normalizer = canonicalize.tokenizer.backend_tokenizer.normalizer

    def normalizer_agrees(text):
        return " ".join(hf_normalizer.normalize_str(text).split()) == processor.normalize(text).replace("\u2581", " ").strip()

    fuzz_cleaned = [clean_canonicalize_without_ftfy(s) for s in fuzz]
    reference = {
        "strings": strings,
        "tokens": canonicalize(strings).tolist(),
        "tokens_16": canonicalize(strings, context_length=16).tolist(),
        "encode": [canonicalize.tokenizer(c, add_special_tokens=False).input_ids for c in cleaned],
        "tokens_lower": lower(strings).tolist(),
        "normalizer_agrees": [normalizer_agrees(c) for c in cleaned],
        "fuzz_cleaned": fuzz_cleaned,
        "fuzz_normalizer_agrees": [normalizer_agrees(c) for c in fuzz_cleaned],
    }
    canonicalize.clean_fn = lambda text: text
    reference["fuzz_tokens"] = canonicalize(fuzz_cleaned).tolist()
    with open(os.path.join(out_dir, "sentencepiece_reference.json"), "w", encoding="utf-8") as f:
        json.dump(reference, f, ensure_ascii=False)
    print(f"{len(strings)} strings, {sum(len(e) + 1 > 16 for e in reference['encode'])} longer than 16 tokens, "
          f"{processor.get_piece_size()} pieces; the normalizers differ on "
          f"{reference['normalizer_agrees'].count(False)} strings and {reference['fuzz_normalizer_agrees'].count(False)} "
          f"random ones")


if __name__ == "__main__":
    main()
