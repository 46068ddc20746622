"""The malformed-submission corpus: each file in tests/fixtures/leaderboard/ and the exact
messages it must get (expected.json), plus the variants that must be accepted."""
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograde.leaderboard import validation
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


# ---------------------------------------------------------------- the quick path and the full check
# validate() reads an ordinary file with a quick path and falls back to the full check for
# anything unusual. Both must agree on every file: same predictions, same messages.

def full_check(raw, spec):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validation, "_plain_predictions", lambda text, spec: None)
        return validate(raw, spec)


def same_result(raw, spec):
    quick, full = validate(raw, spec), full_check(raw, spec)
    assert (quick.ok, quick.predictions, quick.messages(), quick.total) == \
        (full.ok, full.predictions, full.messages(), full.total), raw


@pytest.mark.parametrize("name", sorted(INDEX))
def test_quick_path_agrees_with_the_full_check_on_the_corpus(name):
    same_result((HERE / f"{name}.csv").read_bytes(), SPECS[INDEX[name]])


def test_quick_path_is_taken_for_an_ordinary_file():
    calls = []
    real = validation._plain_predictions
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(validation, "_plain_predictions", lambda t, s: calls.append(1) or real(t, s))
        assert validate(good(nl="\r\n"), SPECS["labels"]).ok
    assert calls and real(good().decode(), SPECS["labels"]) is not None


EDITS = st.sampled_from(["crlf", "lone-cr", "spaces", "quote", "blank", "swap", "duplicate",
                         "drop", "label", "float-label", "extra-column", "empty-value",
                         "unknown-id", "header-case", "no-header", "bom", "proba-nan",
                         "proba-negative", "proba-text", "no-final-newline"])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(spec_name=st.sampled_from(sorted(SPECS)), edits=st.lists(EDITS, max_size=3),
       where=st.integers(0, 9), seed=st.integers(0, 3))
def test_quick_path_agrees_with_the_full_check_on_edited_files(spec_name, edits, where, seed):
    spec = SPECS[spec_name]
    lines = [spec.header]
    for k, i in enumerate(spec.ids):
        if spec.probabilities:
            lines.append(f"{i}," + ",".join(f"{(k + j + seed) % 5 / 10}"
                                            for j in range(len(spec.labels))))
        else:
            lines.append(f"{i},{spec.labels[(k + seed) % len(spec.labels)]}")
    nl, prefix, end = "\n", "", "\n"
    row = 1 + where % len(spec.ids)
    for edit in edits:
        row = min(row, len(lines) - 1)          # an earlier edit may have dropped a line
        if edit == "crlf":
            nl = "\r\n"
        elif edit == "lone-cr":
            lines[row] += "\r"
        elif edit == "spaces":
            lines[row] = " " + lines[row].replace(",", " , ") + " "
        elif edit == "quote":
            lines[row] = '"' + lines[row]
        elif edit == "blank":
            lines.insert(row, "")
        elif edit == "swap":
            lines[1], lines[row] = lines[row], lines[1]
        elif edit == "duplicate":
            lines.append(lines[row])
        elif edit == "drop" and len(lines) > 2:
            del lines[row % (len(lines) - 1) + 1]
        elif edit == "label":
            lines[row] = lines[row].split(",")[0] + ",Rock" + ",0" * (len(spec.columns) - 2)
        elif edit == "float-label":
            lines[row] = lines[row].split(",")[0] + ",1.0" + ",0" * (len(spec.columns) - 2)
        elif edit == "extra-column":
            lines[row] += ",x"
        elif edit == "empty-value":
            lines[row] = lines[row].split(",")[0] + "," * (len(spec.columns) - 1)
        elif edit == "unknown-id":
            lines[row] = "zz" + lines[row]
        elif edit == "header-case":
            lines[0] = lines[0].upper()
        elif edit == "no-header":
            lines = lines[1:] or [""]
        elif edit == "bom":
            prefix = "\ufeff"
        elif edit.startswith("proba-") and spec.probabilities:
            bad = {"proba-nan": "nan", "proba-negative": "-0.1", "proba-text": "lots"}[edit]
            lines[row] = lines[row].rsplit(",", 1)[0] + "," + bad
        elif edit == "no-final-newline":
            end = ""
    same_result((prefix + nl.join(lines) + (nl if end else "")).encode(), spec)
