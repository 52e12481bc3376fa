"""The README runs as written: its ```python blocks, and the ```bash blocks that start with `freqaug `,
in order, in one empty folder, as a user would paste them: each python block in a fresh namespace (it
may use the files earlier blocks wrote), each `freqaug ...` line through the CLI's main(). A fence like
```python no-run marks a block that needs what a clean checkout lacks (CamVid, a GPU); it is skipped.
Prose (such as a placeholder line) is never run. Also: every relative link in the README exists."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of every block the test runs, in order: python blocks and bash blocks whose first
    command starts with `freqaug `; blocks whose info string says no-run are left out."""
    blocks = []
    for match in FENCE.finditer(text):
        info, code = match.group(1).split(), match.group(2)
        if not info or "no-run" in info[1:]:
            continue
        if info[0] == "python":
            blocks.append(("python", code))
        elif info[0] in ("bash", "sh", "console") and _commands(code) and _commands(code)[0][0] == "freqaug":
            blocks.append(("bash", code))
    return blocks


def _commands(code: str) -> list[list[str]]:
    """The commands of a shell block, one per line (a trailing backslash continues it), comments dropped."""
    joined = re.sub(r"\\\n", " ", code)
    return [args for args in (shlex.split(line, comments=True) for line in joined.splitlines()) if args]


def test_parser_finds_and_skips_blocks():
    text = ("```python\nx = 1\n```\n```python no-run\nraise SystemExit\n```\n"
            "```bash\nfreqaug inspect b.safetensors   # comment\nfreqaug generate b \\\n  --n 2\n```\n"
            "```bash\nmake test\n```\n")
    blocks = readme_blocks(text)
    assert [lang for lang, _ in blocks] == ["python", "bash"]
    assert _commands(blocks[1][1]) == [["freqaug", "inspect", "b.safetensors"], ["freqaug", "generate", "b", "--n", "2"]]


def test_readme_runs_as_written(tmp_path, monkeypatch):
    from freqaug import cli

    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert sum(lang == "python" for lang, _ in blocks) >= 4 and any(lang == "bash" for lang, _ in blocks)
    monkeypatch.chdir(tmp_path)
    for number, (lang, code) in enumerate(blocks, 1):
        where = f"README block {number} ({lang}):\n{code}"
        if lang == "python":
            exec(compile(code, f"<README block {number}>", "exec"), {"__name__": "__readme__"})
            continue
        for args in _commands(code):
            assert args[0] == "freqaug", f"{where}\nonly freqaug commands run here, got {args}"
            assert cli.main(args[1:]) == 0, f"{where}\nfailed: {shlex.join(args)}"


def test_readme_links_exist():
    text = README.read_text(encoding="utf-8")
    targets = [t for t in LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]
    assert targets, "the README links to its docs"
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README.md links to paths that do not exist: {missing}"

