"""Training data: corpus checks, the 90/10 split, random batches and the textbook's sliding windows."""

from __future__ import annotations

import pytest
import torch

from gpt.train.data import (
    DataError,
    check_fits,
    decode_corpus,
    get_batch,
    hide_tokens,
    load_splits,
    read_corpus,
    repeat_windows,
    sliding_windows,
    split_ids,
)


def test_bundled_corpus_by_name() -> None:
    text = read_corpus("shakespeare")
    assert len(text) > 500_000
    assert "HAMLET" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "empty"),
        (b"  \n\t ", "empty"),
        (b"PK\x03\x04\x00\x00binary", "binary"),
        ("caf\u00e9".encode("latin-1"), "not UTF-8"),
    ],
)
def test_bad_corpus_bytes_give_clear_errors(raw: bytes, expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        decode_corpus(raw, "upload.txt")


def test_utf8_text_and_bom() -> None:
    assert decode_corpus("\ufeffcaf\u00e9".encode()) == "caf\u00e9"


def test_missing_corpus_names_the_choices(tmp_path) -> None:
    with pytest.raises(DataError, match="shakespeare"):
        read_corpus(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="not a file"):
        read_corpus(tmp_path)


def test_split_is_90_10_and_contiguous() -> None:
    ids = torch.arange(1000)
    splits = split_ids(ids)
    assert len(splits.train) == 900 and len(splits.val) == 100
    assert torch.equal(torch.cat([splits.train, splits.val]), ids)


def test_too_short_corpus_is_refused_with_the_numbers(tmp_path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("to be or not to be, " * 5, encoding="utf-8")  # 100 chars: val split has 10
    with pytest.raises(DataError, match=r"validation split has 10 tokens .* block_size \+ 1 = 17"):
        load_splits(path, "char", block_size=16)
    tokenizer, splits, _ = load_splits(path, "char", block_size=8)
    assert tokenizer.vocab_size == len(set("to be or not to be, "))
    check_fits(splits, 8)


def test_get_batch_targets_are_inputs_shifted_by_one() -> None:
    data = torch.arange(100)
    g = torch.Generator().manual_seed(0)
    x, y = get_batch(data, block_size=8, batch_size=5, generator=g)
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y[:, :-1], x[:, 1:])
    assert torch.equal(y[:, -1], x[:, -1] + 1)  # data is 0..99 in order
    assert int(y.max()) <= 99  # never reads past the end


def test_get_batch_is_reproducible_with_a_seeded_generator() -> None:
    data = torch.randint(0, 50, (500,))
    a = get_batch(data, 16, 4, torch.Generator().manual_seed(7))
    b = get_batch(data, 16, 4, torch.Generator().manual_seed(7))
    c = get_batch(data, 16, 4, torch.Generator().manual_seed(8))
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])


def test_get_batch_with_exactly_one_window() -> None:
    x, y = get_batch(torch.arange(9), block_size=8, batch_size=3)
    assert torch.equal(x, torch.arange(8).repeat(3, 1))
    assert torch.equal(y, torch.arange(1, 9).repeat(3, 1))


def test_repeat_windows_repeat_a_stretch_of_their_own_text_and_keep_the_rest() -> None:
    chunk = torch.arange(4 * 21).reshape(4, 21)  # every token distinct, so a repeat is unmistakable
    out = repeat_windows(chunk, 0.5, torch.Generator().manual_seed(0))
    for row in range(2):  # half of 4 windows repeat
        n = next(n for n in range(4, 11) if torch.equal(out[row, n : 2 * n], chunk[row, :n]))
        assert torch.equal(out[row, :n], chunk[row, :n])
        assert torch.equal(out[row, 2 * n :], chunk[row, n : 21 - n])  # then the window goes on
    assert torch.equal(out[2:], chunk[2:])
    assert torch.equal(repeat_windows(chunk, 0.0), chunk)


def test_get_batch_with_repeats_keeps_targets_shifted_by_one() -> None:
    data = torch.arange(1000)
    x, y = get_batch(data, 16, 8, torch.Generator().manual_seed(1), repeat_fraction=1.0)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert all(len(set(row.tolist())) < 16 for row in x)  # each window holds a repeat


def test_sliding_windows_without_overlap() -> None:
    inputs, targets = sliding_windows(list(range(10)), max_length=4, stride=4)
    assert inputs.tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert targets.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_sliding_windows_stride_one_gives_every_window() -> None:
    inputs, targets = sliding_windows(torch.arange(10), max_length=4, stride=1)
    assert inputs.shape == (6, 4)  # starts 0..5: the last target is token 9
    assert targets[-1].tolist() == [6, 7, 8, 9]
    assert torch.equal(inputs[:, 1:], targets[:, :-1])


def test_sliding_windows_rejects_bad_arguments() -> None:
    with pytest.raises(DataError, match="at least 1"):
        sliding_windows(range(10), max_length=4, stride=0)
    with pytest.raises(DataError, match="max_length \\+ 1 = 11"):
        sliding_windows(list(range(10)), max_length=10, stride=1)


def test_hide_tokens_replaces_about_that_share_of_the_inputs_and_nothing_else() -> None:
    x = torch.arange(1, 20_001).reshape(100, 200)
    out = hide_tokens(x, 0.05, 0, torch.Generator().manual_seed(0))
    hidden = out == 0
    assert 0.04 < hidden.float().mean().item() < 0.06
    assert torch.equal(out[~hidden], x[~hidden])  # every other token is kept where it was
    assert torch.equal(x, torch.arange(1, 20_001).reshape(100, 200))  # the input is not changed in place
    assert hide_tokens(x, 0.0, 0) is x


def test_get_batch_hides_inputs_but_keeps_the_real_targets() -> None:
    data = torch.arange(1, 1001)  # 0 never occurs: it plays the unknown row
    plain = get_batch(data, 16, 64, torch.Generator().manual_seed(3))
    x, y = get_batch(data, 16, 64, torch.Generator().manual_seed(3), unknown=(0.1, 0))
    assert torch.equal(y, plain[1])  # the model still learns to predict what really came next
    assert (x == 0).any() and not (y == 0).any()
    assert torch.equal(x[x != 0], plain[0][x != 0])
