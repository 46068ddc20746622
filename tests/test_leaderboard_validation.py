"""The malformed-submission corpus: each file in tests/fixtures/leaderboard/ and the exact
messages it must get (expected.json), plus the variants that must be accepted."""
import json
from pathlib import Path

import pytest

from autograde.leaderboard.validation import MAX_LISTED, Spec, validate

HERE = Path(__file__).parent / "fixtures" / "leaderboard"
SPECS = {name: Spec(s["id_column"], s["label_column"], tuple(s["ids"]), tuple(s["labels"]),
                    s["probabilities"], s["max_bytes"])
         for name, s in json.loads((HERE / "specs.json").read_text()).items()}
INDEX = json.loads((HERE / "index.json").read_text())
EXPECTED = json.loads((HERE / "expected.json").read_text())
IDS = SPECS["labels"].ids


def test_corpus_is_complete():
    assert len(INDEX) >= 25 and set(INDEX) == set(EXPECTED)
    assert all((HERE / f"{name}.csv").exists() for name in INDEX)


@pytest.mark.parametrize("name", sorted(INDEX))
def test_malformed_file_gets_exactly_the_expected_messages(name):
    checked = validate((HERE / f"{name}.csv").read_bytes(), SPECS[INDEX[name]])
    assert not checked.ok and checked.predictions is None
    assert checked.messages() == EXPECTED[name]["errors"]
    assert checked.total == EXPECTED[name]["total"]


def test_no_message_mentions_the_split_or_hidden_labels():
    text = json.dumps(EXPECTED).lower()
    assert "public" not in text and "private" not in text and "hidden" not in text


def test_long_lists_are_capped_with_a_count():
    raw = ("track,genre_id\n" + "".join(f"x{i},1\n" for i in range(100))).encode()
    checked = validate(raw, SPECS["labels"])
    assert len(checked.problems) == MAX_LISTED and checked.total == 102
    assert checked.messages()[-1] == "... and 82 more problems of the same kinds."


def good(nl="\n", header="track,genre_id", fmt="{i},{lab}"):
    return (nl.join([header] + [fmt.format(i=i, lab=k % 4) for k, i in enumerate(IDS)]) + nl).encode()


@pytest.mark.parametrize("raw", [
    good(),
    good(nl="\r\n"),                                  # Windows line ends
    b"\xef\xbb\xbf" + good(),                         # UTF-8 with a BOM (Excel's 'CSV UTF-8')
    good(header="genre_id,track", fmt="{lab},{i}"),   # columns in another order
    good(fmt=" {i} , {lab} "),                        # spaces around values
    good(fmt='"{i}","{lab}"'),                        # quoted values
    good().replace(b"\nt0003", b"\n\n\nt0003") + b"\n\n",   # blank lines
    good()[:-1],                                      # no final newline
], ids=["plain", "crlf", "bom", "reordered", "spaces", "quoted", "blank-lines", "no-final-newline"])
def test_accepted_variants(raw):
    checked = validate(raw, SPECS["labels"])
    assert checked.ok, checked.messages()
    assert checked.predictions == [str(k % 4) for k in range(len(IDS))]


def test_probabilities_are_read_in_label_order():
    raw = b"track,rock,blues,jazz\n" + b"".join(f"{i},0.5,0.2,0.3\n".encode() for i in IDS)
    checked = validate(raw, SPECS["proba"])     # spec labels: blues, jazz, rock
    assert checked.ok and checked.predictions[0] == [0.2, 0.3, 0.5]
