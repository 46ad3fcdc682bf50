"""A tiny random Whisper (model, byte-level tokenizer, feature extractor) written to a folder, for tests.

Same layout and special tokens as the official checkpoints, so the real loading and decoding code runs:
byte-level BPE without merges, Whisper's special tokens, 1501 timestamp tokens, alignment heads for word
times. Its words are gibberish; `max_length` keeps each decode short.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ["<|startoftranscript|>", "<|en|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>",
                  "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]


def build_tiny_whisper(folder: Path, *, max_length: int = 24, alignment_heads: bool = True, seed: int = 0) -> Path:
    import torch
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor,
                              WhisperForConditionalGeneration, WhisperProcessor, WhisperTokenizer)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {symbol: index for index, symbol in enumerate(sorted(ByteLevel.alphabet()))}
    eot = vocab["<|endoftext|>"] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[], additional_special_tokens=SPECIAL_TOKENS)
    tokenizer.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(1501)])  # after the specials, as Whisper has them
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    torch.manual_seed(seed)
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=80, d_model=16, encoder_layers=1, decoder_layers=1,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
        max_source_positions=1500, max_target_positions=448, pad_token_id=eot, bos_token_id=eot, eos_token_id=eot,
        decoder_start_token_id=ids["<|startoftranscript|>"])
    model = WhisperForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        decoder_start_token_id=ids["<|startoftranscript|>"], eos_token_id=eot, pad_token_id=eot, bos_token_id=eot,
        max_length=max_length, is_multilingual=True, lang_to_id={"<|en|>": ids["<|en|>"]},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"], prev_sot_token_id=ids["<|startofprev|>"],
        alignment_heads=[[0, 0], [0, 1]] if alignment_heads else None,
        begin_suppress_tokens=[vocab["Ġ"], eot], suppress_tokens=[], max_initial_timestamp_index=50)
    model.save_pretrained(folder)
    WhisperProcessor(WhisperFeatureExtractor(feature_size=80), tokenizer).save_pretrained(folder)
    return folder


def as_hub_cache(model_folder: Path, cache_dir: Path, repo_id: str, commit: str = "0" * 40) -> Path:
    """Lay `model_folder` out as the Hugging Face hub cache holds a downloaded repo; returns `cache_dir`."""
    import shutil

    repo_dir = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    shutil.copytree(model_folder, repo_dir / "snapshots" / commit)
    return Path(cache_dir)
