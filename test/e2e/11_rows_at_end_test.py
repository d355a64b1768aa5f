#!/usr/bin/env python3
"""e2e 11: at the end, every row is read back at QUORUM: the initial rows (03) and every write any
scenario's client (04 to 11) saw succeed. Helpers and state: e2elib.py."""
import sys

from e2elib import check_rows, client_on_main, figure, run_scenario

NEEDS = ("the shared Cluster Ready 3/3 (02), the table e2e.kv and its rows (03); state: the keys "
         "the clients of 04 to 10 confirmed")
LEAVES = "the shared Cluster Ready 3/3, unchanged"


def scenario_rows_at_end(load, session):
    """10. Every row written so far read back at QUORUM at the end (with the client running)."""
    load.set_phase("final check")
    figure("client", "rows read back at QUORUM at the end",
           check_rows(session, load, "at the end"))


def main():
    with client_on_main("final check") as (_, load, session, _creds):
        scenario_rows_at_end(load, session)


if __name__ == "__main__":
    sys.exit(run_scenario(main, NEEDS, LEAVES, doc=scenario_rows_at_end.__doc__))
