"""moto for the sam-local check: one emulator, served on loopback for the
host side and on the check's own docker bridge gateway for the containers.

    python moto_bridge.py --listen 127.0.0.1:0 --listen 172.18.0.1:0

Prints one JSON line, {"listening": ["127.0.0.1:PORT", "172.18.0.1:PORT"]},
once every socket is bound, then serves until SIGTERM. Both listeners share
one moto state, and requests are handled one at a time across them (a lock),
for the reason scripts/moto_serial.py gives: moto's transactions are not
isolated under concurrency, DynamoDB's are.

One fix to the emulator: moto 5.2.5's KMS `Sign` ignores `MessageType`: it
hashes a digest again, so a signature over a digest (what rekey's KMS
signer sends, as AWS documents) does not verify. With
`MessageType=DIGEST` this server signs the decoded digest as it is
(`Prehashed`), as KMS does; everything else goes to moto unchanged.
"""

import argparse
import base64
import json
import signal
import sys
import threading

from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

_moto_sign = KmsResponse.sign


def _sign(self):
    if self._get_param("MessageType") != "DIGEST":
        return _moto_sign(self)
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, utils

    algorithm = self._get_param("SigningAlgorithm")
    hashers = {
        "RSASSA_PKCS1_V1_5_SHA_256": hashes.SHA256,
        "RSASSA_PKCS1_V1_5_SHA_384": hashes.SHA384,
        "RSASSA_PKCS1_V1_5_SHA_512": hashes.SHA512,
    }
    if algorithm not in hashers:
        return _moto_sign(self)
    key = self.kms_backend.describe_key(self._get_param("KeyId"))
    digest = self._get_param("Message")  # moto has decoded the base64
    signature = key.private_key.private_key.sign(
        digest, padding.PKCS1v15(), utils.Prehashed(hashers[algorithm]())
    )
    return json.dumps(
        {
            "KeyId": key.arn,
            "Signature": base64.b64encode(signature).decode(),
            "SigningAlgorithm": algorithm,
        }
    )


KmsResponse.sign = _sign


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", action="append", required=True, help="HOST:PORT (port 0: any free one)")
    args = parser.parse_args()

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def serial(environ, start_response):
        # The whole response is produced under the lock.
        with lock:
            return list(app(environ, start_response))

    servers = []
    for spec in args.listen:
        host, _, port = spec.rpartition(":")
        servers.append(
            make_server(host, int(port), serial, threaded=True, request_handler=MotoRequestHandler)
        )
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
