"""moto's server, handling one request at a time.

moto's TransactWriteItems takes no lock: it snapshots the tables and, on a
cancelled transaction, swaps the snapshot back, undoing other threads' writes.
Under the stock threaded server, 32 concurrent conditional transactions on one
item can let two succeed. Real DynamoDB is atomic, and our concurrency tests
assert exactly that, so the emulator must be too: serial handling gives moto
the isolation DynamoDB has. moto answers with `Connection: close`, so a waiting
client never holds the server.

usage: python moto_serial.py -H 127.0.0.1 -p PORT
"""

import argparse
import signal
import sys

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    run_simple(
        args.host,
        args.port,
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
