"""Masking time on long text: queries.masking.mask on 100,000-character texts (ordinary prose with personal data
now and then, and the long runs that made the old backtracking pattern quadratic).

    python bench/masking_speed.py [--chars N] [--repeat R]

Prints the median and spread (min-max) in ms per text, with the machine's load. For reference it also times the
pattern masking used before (Python's re, quadratic) on a 10,000-character run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries.masking import mask  # noqa: E402

OLD_PATTERN = re.compile(r"\d{6,}|[\w.+-]+@[\w-]+\.[\w.]+")  # the pattern before issue 16


def texts(chars: int) -> dict[str, str]:
    prose = "小区门口道路破损严重，雨天积水，老人孩子出行不便，希望有关部门尽快修复。"
    personal = ["联系人王建国女士，电话138-0013-8000。", "车牌豫A12345常年占道。", "邮箱 li.si@example.com。"]
    mixed = "".join(prose * 12 + personal[i % 3] for i in range(chars // 400 + 1))
    return {
        "prose with personal data": mixed[:chars],
        "one Han character repeated": "河" * chars,
        "one digit repeated": "1" * chars,
        "digits and hyphens": ("1-" * chars)[:chars],
        "dense names (张先生 x N)": ("张先生" * chars)[:chars],
    }


def timed(function, text: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load {Path('/proc/loadavg').read_text().split()[:3]}; {args.chars:,} characters per text")
    for name, text in texts(args.chars).items():
        ms = timed(mask, text, args.repeat)
        print(f"  {name:28} median {statistics.median(ms):8.1f} ms (min {min(ms):.1f}, max {max(ms):.1f})")
    ms = timed(lambda t: OLD_PATTERN.sub("*", t), "河" * 10_000, 1)
    print(f"  before (Python re), 10,000 x 河: {ms[0]:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
