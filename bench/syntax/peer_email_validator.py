#!/usr/bin/python3
"""peer_email_validator.py - times python-email-validator over a file of addresses.

Usage: /usr/bin/python3 bench/syntax/peer_email_validator.py INPUT [VERDICTS]

The peer is Debian's python3-email-validator. Reads INPUT (one address per
line, UTF-8, '\\n' line ends) into a list first; only the loop calling
validate_email(addr, check_deliverability=False) is timed
(time.perf_counter, a monotonic clock). An address counts as valid when the
call raises nothing. Prints one line:

    python-email-validator <addresses> <valid> <seconds>

When VERDICTS is given, writes there after timing one byte per address
('1' valid, '0' not), the same format bench_syntax writes. Exceptions other
than EmailNotValidError also count as "not valid" but are tallied on stderr,
since they are the peer misbehaving rather than rejecting.
"""

import sys
import time


def main(argv):
    """Loads the input, times the validation loop, prints the result line."""
    if len(argv) < 2 or len(argv) > 3:
        sys.stderr.write("usage: peer_email_validator.py INPUT [VERDICTS]\n")
        return 1
    try:
        from email_validator import validate_email, EmailNotValidError
    except ImportError as e:
        sys.stderr.write(f"peer_email_validator: cannot import email_validator: {e}\n"
                         "  install it with: apt-get install python3-email-validator\n")
        return 1

    with open(argv[1], "r", encoding="utf-8", newline="") as f:
        data = f.read()
    # split on '\n' only: str.splitlines() would also split on U+2028 etc.
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    del data
    n = len(lines)
    if n == 0:
        sys.stderr.write(f"peer_email_validator: {argv[1]} has no addresses\n")
        return 1

    verdicts = bytearray(b"0" * n)
    valid = 0
    odd = 0
    odd_example = None
    t0 = time.perf_counter()
    for i, addr in enumerate(lines):
        try:
            validate_email(addr, check_deliverability=False)
        except EmailNotValidError:
            continue
        except Exception as e:  # noqa: BLE001 - the peer's own bugs, counted
            odd += 1
            if odd_example is None:
                odd_example = (addr, repr(e))
            continue
        valid += 1
        verdicts[i] = 0x31
    t1 = time.perf_counter()

    if odd:
        sys.stderr.write(f"peer_email_validator: {odd} inputs raised an exception other than "
                         f"EmailNotValidError (counted invalid), e.g. {odd_example[0]!r}: "
                         f"{odd_example[1]}\n")
    if len(argv) == 3:
        with open(argv[2], "wb") as f:
            f.write(verdicts)
    sys.stdout.write(f"python-email-validator {n} {valid} {t1 - t0:.6f}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
