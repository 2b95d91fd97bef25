"""The few AWS calls scripts/bench makes on its moto server (run with
.venv-bench's Python, which has boto3), printing JSON:

    moto_calls.py items KIND        the table's items of `kind` KIND (DynamoDB JSON)
    moto_calls.py identity DOMAIN   verifies an SES identity
    moto_calls.py last-mail ADDRESS the newest raw message SES accepted for ADDRESS
    moto_calls.py signing-key       a new RSA_2048 SIGN_VERIFY KMS key: its ARN
    moto_calls.py secret VALUE      a new secret, VALUE at AWSCURRENT and another at AWSPREVIOUS: its ARN

Endpoint and table from AWS_ENDPOINT_URL and REKEY_TABLE.
"""

import base64
import json
import os
import sys
import urllib.request

import boto3


def client(service):
    return boto3.client(service, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def main(command, arg=None):
    if command == "items":
        items = client("dynamodb").scan(
            TableName=os.environ["REKEY_TABLE"], FilterExpression="#k = :k",
            ExpressionAttributeNames={"#k": "kind"}, ExpressionAttributeValues={":k": {"S": arg}},
        )["Items"]
        return items
    if command == "identity":
        client("sesv2").create_email_identity(EmailIdentity=arg)
        return arg
    if command == "last-mail":
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        data = json.loads(opener.open(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/data.json").read())
        mails = [m["raw_data"] for m in data["ses"]["RawMessage"] if arg in m.get("destinations", [])]
        return mails[-1] if mails else None
    if command == "signing-key":
        return client("kms").create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    if command == "secret":
        sm = client("secretsmanager")
        arn = sm.create_secret(Name="bench-" + os.urandom(6).hex(),
                               SecretString=base64.b64encode(os.urandom(32)).decode())["ARN"]
        # PutSecretValue moves the first version to AWSPREVIOUS.
        sm.put_secret_value(SecretId=arn, SecretString=arg, VersionStages=["AWSCURRENT"])
        return arn
    raise SystemExit(__doc__)


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
