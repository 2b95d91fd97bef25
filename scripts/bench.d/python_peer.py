"""The Python peer scripts/bench compares cold starts with: what a team would
otherwise deploy, a handler that imports boto3 and builds DynamoDB and SES v2
clients at init. It talks to the Lambda Runtime API itself (a minimal loop,
lighter than the real runtime interface client, so the comparison favours it)."""
import json
import os
import urllib.request

import boto3

dynamodb = boto3.client("dynamodb")
sesv2 = boto3.client("sesv2")

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(API + "next") as r:
        request_id = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    body = json.dumps({"statusCode": 200, "body": "{}", "headers": {"content-type": "application/json"}}).encode()
    urllib.request.urlopen(urllib.request.Request(API + request_id + "/response", data=body, method="POST")).read()
