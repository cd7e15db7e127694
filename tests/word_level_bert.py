"""A tiny BERT with a word-level tokenizer and a chat template, saved to a folder: a masked LM made offline.

Shared by the tests that load a text masked LM from disk (`test_masked_lm.py`, `test_lm_eval_dllm.py`).
"""

from __future__ import annotations

from pathlib import Path


def save_word_level_bert(folder: Path, letters: str, max_position_embeddings: int) -> Path:
    """Save the model and its tokenizer to `folder` and return it.

    Args:
        folder: Where to save.
        letters: The single-letter words the vocabulary holds beside the JSON punctuation and the chat roles.
        max_position_embeddings: The model's longest input.
    """
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[", "]", ",", '"', *letters, "user:", "assistant:"]
    backend = Tokenizer(models.WordLevel({word: index for index, word in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]")
    tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }} {% endfor %}"
                               "{% if add_generation_prompt %}assistant: {% endif %}")
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=64, vocab_size=len(words),
                                     max_position_embeddings=max_position_embeddings)
    transformers.BertForMaskedLM(config).save_pretrained(folder)
    return folder
