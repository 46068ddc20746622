"""Check a submission CSV and say, in words, everything that is wrong with it.

A submission is a CSV with a header line and one line per test id. Two kinds exist:

- labels (accuracy, balanced accuracy, macro-F1): ``track,genre_id`` then ``t001,3``;
- probabilities (log loss): ``track,<label 1>,<label 2>,...`` then one probability per label.

``validate(raw, spec)`` reads the raw bytes and returns a ``Checked``: either the predictions,
aligned with the order of ``spec.ids``, or every problem found, each with its line number and a
sentence saying how to fix the file (the list is capped at ``MAX_LISTED``; ``total`` counts all).

What it never does: mention a hidden label, or say which ids are scored on the public part.
Everything a message names (ids of the test set, the label vocabulary, the columns) is already
public. UTF-8 with or without a BOM and Windows line ends (CRLF) are accepted; blank lines are
skipped; spaces around values are ignored.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from functools import cached_property

MAX_LISTED = 20          # problems listed in a reply; the total is always given
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


@dataclass(frozen=True)
class Spec:
    """What a valid file looks like for one competition."""
    id_column: str
    label_column: str
    ids: tuple            # every test id, as strings
    labels: tuple         # the label vocabulary, as strings
    probabilities: bool   # True for log loss: one column per label
    max_bytes: int = 5_000_000

    @property
    def columns(self):
        return (self.id_column,) + (self.labels if self.probabilities else (self.label_column,))

    @property
    def header(self):
        return ",".join(self.columns)

    # computed once per competition, not once per submission
    @cached_property
    def id_index(self):
        return {t: i for i, t in enumerate(self.ids)}

    @cached_property
    def label_index(self):
        return {lab: i for i, lab in enumerate(self.labels)}


@dataclass
class Problem:
    line: int | None     # 1-based line in the file; None for problems of the whole file
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Checked:
    problems: list = field(default_factory=list)    # at most MAX_LISTED Problem objects
    total: int = 0                                   # how many problems in all
    predictions: object = None                       # label strings, or (n, C) probabilities

    @property
    def ok(self):
        return self.total == 0

    def messages(self):
        out = [str(p) for p in self.problems]
        if self.total > len(self.problems):
            out.append(f"... and {self.total - len(self.problems)} more problems of the same kinds.")
        return out


def _quote_list(values, n=3):
    shown = ", ".join(f"'{v}'" for v in list(values)[:n])
    return shown + (", ..." if len(values) > n else "")


def _count(n, one, many):
    return f"{n} {one if n == 1 else many}"


def _size(nbytes):
    return f"{nbytes / 1e6:.1f} MB" if nbytes >= 100_000 else f"{nbytes / 1e3:.1f} kB"


def _decode(raw, report):
    """UTF-8 (BOM optional). Undecodable lines are reported, then read with replacement chars."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        report(None, "The file is encoded as UTF-16; save it as UTF-8 "
                     "(in Python: open(path, 'w', encoding='utf-8'); in a spreadsheet: 'CSV UTF-8').")
        return None
    if b"\x00" in raw:
        report(None, "The file contains NUL bytes, so it is not a text CSV file "
                     "(a spreadsheet or a UTF-16 file?). Export it as 'CSV UTF-8'.")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            report(number, f"this line is not valid UTF-8 (byte 0x{line[err.start]:02x} at "
                           f"character {err.start + 1}). Save the file as UTF-8 "
                           "(in Python: open(path, 'w', encoding='utf-8')).")
    return raw.decode("utf-8-sig", errors="replace")


def _read_header(header, spec, report):
    """Map each expected column to its position in the file, or return None to stop."""
    names = [h.strip() for h in header]
    want = list(spec.columns)
    if len(names) == 1 and names[0] not in want:
        for sep, word in SEPARATORS.items():
            if sep in names[0]:
                report(1, f"the values are separated by {word} ('{sep}') but must be separated by "
                          "commas. Save the file as comma-separated CSV "
                          "(in Python: csv.writer(f) or df.to_csv(path, index=False)).")
                return None
    if names == want:
        return {c: i for i, c in enumerate(names)}
    if names and names[0] in ("", "Unnamed: 0") and names[1:] == want:
        report(1, "the file has an extra first column with no name (a pandas index?). "
                  "Write the file with df.to_csv(path, index=False).")
        return {c: i + 1 for i, c in enumerate(want)}
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        report(1, f"the header names the column(s) {_quote_list(dupes)} more than once. "
                  f"The header must be '{spec.header}'.")
        return None
    if sorted(names) == sorted(want):
        return {c: names.index(c) for c in want}           # same columns, another order: fine
    if [n.lower() for n in names] == [w.lower() for w in want]:
        report(1, f"the header is '{','.join(names)}' but column names are case-sensitive: "
                  f"write '{spec.header}'.")
        return {c: i for i, c in enumerate(want)}
    missing = [w for w in want if w not in names]
    extra = [n for n in names if n not in want]
    detail = []
    if missing:
        detail.append(f"missing {_quote_list(missing, 5)}")
    if extra:
        detail.append(f"unexpected {_quote_list(extra, 5)}")
    report(1, f"the header is '{','.join(names)}' but must be '{spec.header}' "
              f"({'; '.join(detail)}).")
    if not missing:
        return {c: names.index(c) for c in want}           # only extra columns: keep checking
    if len(names) == len(want):
        return {c: i for i, c in enumerate(want)}           # wrong names: read by position
    return None


def _check_label(value, spec, label_index, line, report):
    col = spec.label_column
    if value == "":
        report(line, f"the {col} value is empty. Write one of: {_quote_list(spec.labels, 12)}.")
        return None
    if value in label_index:
        return value
    hint = ""
    try:
        as_float = float(value)
        if as_float.is_integer() and str(int(as_float)) in label_index:
            hint = f" Write '{int(as_float)}', not '{value}'."
    except ValueError:
        lowered = {lab.lower(): lab for lab in spec.labels}
        if value.lower() in lowered:
            hint = f" Labels are case-sensitive: did you mean '{lowered[value.lower()]}'?"
    report(line, f"{col} '{value}' is not a known label. "
                 f"Use one of: {_quote_list(spec.labels, 12)}.{hint}")
    return None


def _check_probabilities(values, spec, line, report):
    row = []
    for lab, value in zip(spec.labels, values):
        try:
            p = float(value)
        except ValueError:
            report(line, f"the value '{value}' in column '{lab}' is not a number. "
                         "Write a probability between 0 and 1, like 0.25.")
            return None
        if not math.isfinite(p) or p < 0:
            report(line, f"the value '{value}' in column '{lab}' is not a probability. "
                         "Write a finite number between 0 and 1.")
            return None
        row.append(p)
    return row


def validate(raw: bytes, spec: Spec) -> Checked:
    """Every problem of the submission ``raw`` (bytes), or its predictions aligned with spec.ids."""
    checked = Checked()

    def report(line, message):
        checked.total += 1
        if len(checked.problems) < MAX_LISTED:
            checked.problems.append(Problem(line, message))

    if len(raw) > spec.max_bytes:
        report(None, f"The file is {_size(len(raw))}; the limit is {_size(spec.max_bytes)}. "
                     f"Send only the columns {spec.header}, one line per test id.")
        return checked
    if not raw.strip() or raw.strip() == b"\xef\xbb\xbf":
        report(None, f"The file is empty. Write the header line '{spec.header}', "
                     "then one line per test id.")
        return checked
    text = _decode(raw, report)
    if text is None:
        return checked
    if checked.ok:
        checked.predictions = _plain_predictions(text, spec)
        if checked.predictions is not None:
            return checked

    rows = csv.reader(io.StringIO(text, newline=""))
    id_index, label_index = spec.id_index, spec.label_index
    header = next(rows, [])
    while not any(h.strip() for h in header):              # leading blank lines
        header = next(rows, None)
        if header is None:
            report(None, f"The file is empty. Write the header line '{spec.header}', "
                         "then one line per test id.")
            return checked
    pending = []
    if header and header[0].strip() in id_index:
        report(rows.line_num, f"the header line is missing (the first line looks like data). "
                              f"Add the line '{spec.header}' at the top of the file.")
        position = {c: i for i, c in enumerate(spec.columns)}
        pending = [header]
    else:
        position = _read_header(header, spec, report)
        if position is None:
            return checked
    width = len(spec.columns) if pending else len(header)

    predictions = [None] * len(spec.ids)
    first_seen = {}
    n_rows = 0
    line = rows.line_num
    for row in _chain(pending, rows, report):
        start, line = line + 1 if not pending else line, rows.line_num
        pending = ()
        if not any(v.strip() for v in row):
            continue                                        # blank line: harmless
        n_rows += 1
        if any("\n" in v or "\r" in v for v in row):
            report(start, f"a '\"' opens a quoted value that is never closed, so lines {start} to "
                          f"{line} were read as one value. Remove the stray quote.")
            continue
        if len(row) != width:
            report(line, f"expected {width} values ({spec.header}) but found {len(row)}. "
                         "Remove the extra commas, or quote a value that contains a comma.")
            continue
        values = {c: row[i].strip() for c, i in position.items()}
        tid = values[spec.id_column]
        if tid == "":
            report(line, f"the {spec.id_column} value is empty. Write the id of a test track.")
            continue
        if tid not in id_index:
            report(line, f"{spec.id_column} '{tid}' is not in the test set. "
                         f"Write only ids from the test set's id list.")
            continue
        if tid in first_seen:
            report(line, f"{spec.id_column} '{tid}' appears again (first on line "
                         f"{first_seen[tid]}). Keep exactly one line per id.")
            continue
        first_seen[tid] = line
        if spec.probabilities:
            pred = _check_probabilities([values[lab] for lab in spec.labels], spec, line, report)
        else:
            pred = _check_label(values[spec.label_column], spec, label_index, line, report)
        if pred is not None:
            predictions[id_index[tid]] = pred

    missing = [t for t in spec.ids if t not in first_seen]
    if n_rows != len(spec.ids):
        report(None, f"The file has {_count(n_rows, 'data line', 'data lines')} but must have "
                     f"exactly {len(spec.ids)}, "
                     "one per test id.")
    if missing:
        report(None, f"{_count(len(missing), 'test id is', 'test ids are')} missing "
                     f"({_quote_list(missing)}). "
                     "Write one line for every id of the test set.")
    if checked.ok:
        checked.predictions = predictions
    return checked


def _plain_predictions(text, spec):
    """The predictions of a file with nothing unusual about it, read quickly; None otherwise.

    Nothing unusual: no quote, no lone carriage return, exactly the expected header, exactly one
    line per test id, each with the right number of values, a known id seen once, and valid
    values. Such a file is split by csv.reader at exactly the commas and line ends split here,
    so the predictions are the same; every other file goes through the full check, which finds
    and explains each problem. (Most files are fine: this keeps them from paying for that.)"""
    if '"' in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) != len(spec.ids) + 1:
        return None
    header = [h.strip() for h in lines[0].split(",")]
    if header != list(spec.columns) or header[0] in spec.id_index:   # (an id: read as data)
        return None
    predictions = [None] * len(spec.ids)
    id_index, label_index, width = spec.id_index, spec.label_index, len(header)
    for line in lines[1:]:
        values = line.split(",")
        if len(values) != width:
            return None
        i = id_index.get(values[0].strip())
        if i is None or predictions[i] is not None:
            return None
        if spec.probabilities:
            try:
                row = [float(v) for v in values[1:]]
            except ValueError:
                return None
            if not all(math.isfinite(p) and p >= 0 for p in row):
                return None
            predictions[i] = row
        else:
            label = values[1].strip()
            if label not in label_index:
                return None
            predictions[i] = label
    return predictions


def _chain(first, rest, report):
    """The rows of ``first`` then of the reader ``rest``; a broken CSV ends the reading."""
    yield from first
    try:
        yield from rest
    except csv.Error:
        report(rest.line_num, "the CSV cannot be read past this line (a '\"' that is never closed?). "
                              "Remove the stray quote.")
