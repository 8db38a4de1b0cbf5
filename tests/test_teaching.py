"""The teacher's page agrees with the chapters: every exercise states its minutes, each
chapter's exercise time in the table is their sum, and the lesson plans fit their sessions
(in class: exactly 90 minutes, the exercises done there counted at their own minutes; homework:
the chapters' reading and the exercises, summed as stated)."""
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEACHING = (ROOT / "book" / "teaching.md").read_text()
MINUTES = re.compile(r"\*\(about (\d+) min\)\*")


def exercise_minutes() -> dict[str, int]:
    """{"1.2": 10, "1b.1": 10, "7.4": 30, ...} from the chapters' exercise statements."""
    out = {}
    for path in sorted((ROOT / "book").glob("0*.ipynb")):
        chapter = path.stem.split("_")[0].lstrip("0")
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "markdown")
        if chapter == "7":
            found = re.findall(r"^## Exercise (\d+)[^\n]*?\*\(about (\d+) min\)\*", text, re.M)
        else:
            section = text[text.index("## Exercises"):]
            found = re.findall(r"^\*{0,2}(\d+)\. \*{0,2}[^\n]*?\*\(about (\d+) min\)\*",
                               section, re.M)
        assert found, path.name
        for n, m in found:
            out[f"{chapter}.{n}"] = int(m)
    return out


def glance() -> dict[str, tuple[int, int]]:
    """{chapter: (read and run, exercises)} in minutes, from the table at a glance."""
    out = {}
    for line in TEACHING.splitlines():
        m = re.match(r"\| \{doc\}`0?(\w+?)_\w+` \| \w+ \| (.+?) \| (.+?) \|", line)
        if m:
            def minutes(cell):
                return 0 if cell == "–" else int(cell.split()[0]) * (60 if "h" in cell else 1)
            out[m.group(1)] = (minutes(m.group(2)), minutes(m.group(3)))
    return out


def test_every_exercise_states_its_minutes_and_the_table_sums_them():
    ex, table = exercise_minutes(), glance()
    counts = {"1": 3, "1b": 2, "2": 3, "3": 3, "4": 3, "4b": 2, "5": 3, "5b": 3, "6": 3, "7": 6}
    for chapter, n in counts.items():
        mine = [m for k, m in ex.items() if k.split(".")[0] == chapter]
        assert len(mine) == n, (chapter, mine)
        assert sum(mine) == table[chapter][1], (chapter, sum(mine), table[chapter])


def _rows(title: str) -> list[list[str]]:
    part = TEACHING[TEACHING.index(title):]
    rows = []
    for line in part.splitlines()[1:]:
        if line.startswith("|") and not line.startswith("| ---"):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]                                           # without the header


def _exercises(text: str) -> list[str]:
    return re.findall(r"\b(\d+b?\.\d)\b", text)


def test_the_module_sessions_fit_their_minutes():
    ex, table = exercise_minutes(), glance()
    rows = _rows("**A two-week module")
    assert len(rows) == 4
    for session, in_class, homework in rows:
        parts = [int(a or b) for a, b in re.findall(
            r"(?:lecture|discussion|run live,?) (\d+)|\((\d+)\)", in_class)]
        assert sum(parts) == 90, (session, parts)
        for group, minutes in re.findall(r"exercises ([^()]+) \((\d+)\)", in_class):
            assert sum(ex[e] for e in _exercises(group)) == int(minutes), (session, group)
        chapters = re.findall(r"chapters? (\w+) and (\w+) \((\d+)\)", homework)
        (a, b, reading), = chapters
        assert table[a][0] + table[b][0] == int(reading), (session, homework)
        rest = homework[homework.index(f"({reading})") + len(reading) + 2:]
        listed, minutes = re.findall(r"(.+) \((\d+)\): (\d+) min", rest)[0][:2]
        assert sum(ex[e] for e in _exercises(listed)) == int(minutes), (session, listed)
        total = int(re.search(r": (\d+) min$", homework).group(1))
        assert total == int(reading) + int(minutes), session


def test_the_single_session_is_a_lecture_that_fits_in_90_minutes():
    ex = exercise_minutes()
    rows = _rows("**A single 90-minute session")
    spans = [tuple(map(int, r[0].split("–"))) for r in rows]
    assert spans[0][0] == 0 and spans[-1][1] == 90
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    for (start, end), (_, _, students) in zip(spans, rows):
        for e, m in re.findall(r"exercise (\d+b?\.\d) ✓ \([^)]*?(\d+) min\)", students):
            assert ex[e] == int(m) and int(m) < end - start, (e, m)
    assert "lecture with demonstrations" in TEACHING
