"""moto's server as every test here runs it: one request at a time, and
KMS's Sign with MessageType=DIGEST done as KMS does it.

    python moto_serial.py -H 127.0.0.1 -p PORT
    python moto_serial.py --listen 127.0.0.1:0 --listen 172.18.0.1:0

Every address (`-H`/`-p`, or `--listen HOST:PORT` as often as needed; port
0 takes a free one) serves the same emulator. Once every socket is bound
it prints one JSON line on stdout, {"listening": ["HOST:PORT", ...]}, then
serves until SIGTERM or SIGINT. scripts/test, the Rust tests that start a
moto of their own, scripts/bench and the sam-local check (loopback for the
host, its docker network's gateway for the containers) all run this file.

One request at a time: moto's TransactWriteItems takes no lock: it
snapshots the tables and, on a cancelled transaction, swaps the snapshot
back, undoing other threads' writes. Under the stock threaded server, 32
concurrent conditional transactions on one item can let two succeed. Real
DynamoDB is atomic, and the concurrency tests assert exactly that, so the
emulator must be too: a lock around each whole request gives moto the
isolation DynamoDB has, across every listener.

KMS Sign: moto 5.2.5 ignores `MessageType`. Given a digest with
`MessageType=DIGEST` (what rekey's KMS signer sends, as AWS documents) it
hashes the digest once more, so the signature does not verify as RS256
over the signed input. Here a DIGEST is signed as it is (`Prehashed`), as
KMS does; its length must match the algorithm's hash, as KMS requires.
RAW messages, and the algorithms rekey does not use, go to moto unchanged.
shared/tests/integration/signing.rs fails if a token signed through this
server does not verify.
"""

import argparse
import base64
import json
import signal
import sys
import threading

from moto.kms.exceptions import ValidationException
from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

_moto_sign = KmsResponse.sign


def _sign(self):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    hashers = {
        "RSASSA_PKCS1_V1_5_SHA_256": hashes.SHA256,
        "RSASSA_PKCS1_V1_5_SHA_384": hashes.SHA384,
        "RSASSA_PKCS1_V1_5_SHA_512": hashes.SHA512,
    }
    algorithm = self._get_param("SigningAlgorithm")
    if self._get_param("MessageType") != "DIGEST" or algorithm not in hashers:
        return _moto_sign(self)
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    if key.key_usage != "SIGN_VERIFY" or algorithm not in key.signing_algorithms:
        raise ValidationException("key %s cannot sign with %s" % (key.id, algorithm))
    digest = self._get_param("Message")  # moto has decoded the base64
    if isinstance(digest, str):
        digest = digest.encode("latin-1")
    hasher = hashers[algorithm]()
    if len(digest) != hasher.digest_size:
        raise ValidationException(
            "Digest is invalid length for algorithm %s: %d bytes" % (algorithm, len(digest))
        )
    signature = key.private_key.private_key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hasher))
    return json.dumps(
        {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode(),
            "SigningAlgorithm": algorithm,
        }
    )


KmsResponse.sign = _sign


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", help="with -p: one address to listen on")
    parser.add_argument("-p", "--port", type=int)
    parser.add_argument("--listen", action="append", default=[], help="HOST:PORT (port 0: any free one)")
    args = parser.parse_args()
    addresses = [spec.rpartition(":")[::2] for spec in args.listen]
    if args.port is not None:
        addresses.insert(0, (args.host or "127.0.0.1", str(args.port)))
    if not addresses:
        parser.error("give -H HOST -p PORT or --listen HOST:PORT")

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        # The whole response is produced under the lock.
        with lock:
            return list(app(environ, start_response))

    servers = [
        make_server(host, int(port), serial, threaded=True, request_handler=MotoRequestHandler)
        for host, port in addresses
    ]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"listening": ["%s:%d" % s.server_address[:2] for s in servers]}), flush=True)
    stop.wait()
    for server in servers:
        server.shutdown()
    sys.exit(0)


if __name__ == "__main__":
    main()
