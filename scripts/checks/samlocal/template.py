"""template.yaml, read and evaluated as CloudFormation would, for the
sam-local check: its parameters and conditions, its storage and messaging
resources created on moto from their own definitions, and what the
functions' environment needs beyond what `sam local` resolves itself.

`sam local` evaluates parameters and conditions, but a `!Ref` to a
resource arrives as its logical name, a `!GetAtt` is not resolved, and a
`{{resolve:secretsmanager:...}}` reference stays as it is (the functions'
environment holds none: they get secrets' ARNs and read the values at
init). `Stack.overrides` gives exactly those variables their values (the
resources' physical names and ARNs on moto), so
everything else in a function's environment is the template's, as sam
evaluates it.
"""

import json
import re

import yaml

NOVALUE = object()

# The resource types this check creates on moto, and the properties of each
# it knows how to create. A property it does not know fails the check: a
# template change must not be silently dropped here.
CREATED = {
    "AWS::DynamoDB::Table": {
        "BillingMode", "AttributeDefinitions", "KeySchema", "TimeToLiveSpecification",
        "PointInTimeRecoverySpecification", "SSESpecification", "StreamSpecification",
        "DeletionProtectionEnabled",
    },
    "AWS::SQS::Queue": {
        "MessageRetentionPeriod", "VisibilityTimeout", "SqsManagedSseEnabled", "RedrivePolicy",
        "DelaySeconds", "ReceiveMessageWaitTimeSeconds",
    },
    "AWS::KMS::Key": {"Description", "KeySpec", "KeyUsage", "KeyPolicy", "EnableKeyRotation"},
    "AWS::KMS::Alias": {"AliasName", "TargetKeyId"},
}


# Properties read but not applied: a key policy names the functions' roles,
# which are not created, and moto does not enforce key policies.
NOT_EMULATED = {"KeyPolicy"}


class Unresolved(Exception):
    """A reference to a resource not (yet) created."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_multi_constructor("!", _tag)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=_Loader)


class Stack:
    """The template under `parameters` (overrides of the defaults), as stack
    `name` in `region`, with resources created through `clients` (boto3
    clients on moto: dynamodb, sqs, kms, secretsmanager)."""

    ACCOUNT = "123456789012"

    def __init__(self, template, name, region, parameters):
        self.template = template
        self.name = name
        self.region = region
        self.parameters = {}
        for pid, spec in template.get("Parameters", {}).items():
            if pid in parameters:
                self.parameters[pid] = str(parameters[pid])
            elif "Default" in spec:
                self.parameters[pid] = str(spec["Default"])
        unknown = set(parameters) - set(template.get("Parameters", {}))
        if unknown:
            raise ValueError("template.yaml has no parameter %s" % ", ".join(sorted(unknown)))
        self.physical = {}
        self.clients = None
        self._touched = False

    # ------------------------------------------------------------ evaluation

    def condition(self, name):
        return bool(self.evaluate(self.template["Conditions"][name]))

    def ref(self, name):
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.ACCOUNT,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NOVALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        self._touched = True
        if name in self.physical:
            return self.physical[name]["Ref"]
        raise Unresolved(name)

    def get_att(self, resource, attribute):
        self._touched = True
        try:
            return self.physical[resource][attribute]
        except KeyError:
            raise Unresolved("%s.%s" % (resource, attribute)) from None

    def sub(self, arg):
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])

        def one(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(self.evaluate(extra[name]))
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return self.dynamic(re.sub(r"\$\{([^}]+)\}", one, text))

    def dynamic(self, text):
        """Resolves `{{resolve:secretsmanager:...}}` from moto's Secrets Manager."""

        def one(m):
            self._touched = True
            parts = m.group(1).split(":")
            secret_id, key, stage = parts[0], parts[2] if len(parts) > 2 else "", parts[3] if len(parts) > 3 else ""
            if self.clients is None:
                raise Unresolved("secret " + secret_id)
            value = self.clients["secretsmanager"].get_secret_value(
                SecretId=secret_id, VersionStage=stage or "AWSCURRENT"
            )["SecretString"]
            return json.loads(value)[key] if key else value

        return re.sub(r"\{\{resolve:secretsmanager:([^}]+)\}\}", one, text)

    def evaluate(self, v):
        if isinstance(v, dict):
            if len(v) == 1:
                (k, a), = v.items()
                if k == "Ref":
                    return self.ref(a)
                if k == "Fn::GetAtt":
                    return self.get_att(*a)
                if k == "Fn::Sub":
                    return self.sub(a)
                if k == "Fn::If":
                    return self.evaluate(a[1] if self.condition(a[0]) else a[2])
                if k == "Fn::Equals":
                    return str(self.evaluate(a[0])) == str(self.evaluate(a[1]))
                if k == "Fn::Not":
                    return not self.evaluate(a[0])
                if k == "Fn::And":
                    return all(self.evaluate(x) for x in a)
                if k == "Fn::Or":
                    return any(self.evaluate(x) for x in a)
                if k == "Condition":
                    return self.condition(a)
                if k == "Fn::Join":
                    return a[0].join(str(self.evaluate(x)) for x in a[1])
                if k == "Fn::Split":
                    return str(self.evaluate(a[1])).split(a[0])
                if k == "Fn::Select":
                    return self.evaluate(a[1])[int(self.evaluate(a[0]))]
            out = {}
            for k, x in v.items():
                y = self.evaluate(x)
                if y is not NOVALUE:
                    out[k] = y
            return out
        if isinstance(v, list):
            return [y for y in (self.evaluate(x) for x in v) if y is not NOVALUE]
        if isinstance(v, str):
            return self.dynamic(v)
        return v

    def needs_resources(self, v):
        """Whether evaluating v touches a resource or a dynamic reference
        (what sam local cannot resolve)."""
        self._touched = False
        try:
            self.evaluate(v)
        except Unresolved:
            return True
        return self._touched

    # ------------------------------------------------------------ resources

    def resources(self, kind=None):
        for rid, r in self.template["Resources"].items():
            if kind and r["Type"] != kind:
                continue
            if "Condition" in r and not self.condition(r["Condition"]):
                continue
            yield rid, r

    def create(self, clients, log):
        """Creates every resource of a type in CREATED, dependencies first;
        logs each, and the types it leaves to the emulators or ignores."""
        self.clients = clients
        pending = [(rid, r) for rid, r in self.resources() if r["Type"] in CREATED]
        while pending:
            progress = []
            for rid, r in pending:
                unknown = set(r.get("Properties", {})) - CREATED[r["Type"]]
                if unknown:
                    raise ValueError("%s (%s): this check does not create property %s"
                                     % (rid, r["Type"], ", ".join(sorted(unknown))))
                props = {k: v for k, v in r.get("Properties", {}).items() if k not in NOT_EMULATED}
                try:
                    props = self.evaluate(props)
                except Unresolved:
                    continue
                make = {
                    "AWS::DynamoDB::Table": self._table,
                    "AWS::SQS::Queue": self._queue,
                    "AWS::KMS::Key": self._key,
                    "AWS::KMS::Alias": self._alias,
                }[r["Type"]]
                self.physical[rid] = make(rid, props)
                log("created %s %s: %s" % (r["Type"], rid, self.physical[rid]["Ref"]))
                progress.append(rid)
            if not progress:
                raise ValueError("cannot create %s: unresolved references" % [rid for rid, _ in pending])
            pending = [(rid, r) for rid, r in pending if rid not in progress]
        left = sorted({r["Type"] for _, r in self.resources() if r["Type"] not in CREATED})
        log("not created (sam local stands in, or not needed to run the functions): %s" % ", ".join(left))

    def _table(self, rid, p):
        ddb = self.clients["dynamodb"]
        name = "%s-%s" % (self.name, rid)
        args = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if "StreamSpecification" in p:
            args["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        if "SSESpecification" in p:
            args["SSESpecification"] = {"Enabled": bool(p["SSESpecification"].get("SSEEnabled"))}
        if "DeletionProtectionEnabled" in p:
            args["DeletionProtectionEnabled"] = bool(p["DeletionProtectionEnabled"])
        ddb.create_table(**args)
        if "TimeToLiveSpecification" in p:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        if "PointInTimeRecoverySpecification" in p:
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification=p["PointInTimeRecoverySpecification"]
            )
        table = ddb.describe_table(TableName=name)["Table"]
        return {"Ref": name, "Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")}

    def _queue(self, rid, p):
        sqs = self.clients["sqs"]
        name = "%s-%s" % (self.name, rid)
        attributes = {}
        for k, v in p.items():
            attributes[k] = json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _key(self, rid, p):
        meta = self.clients["kms"].create_key(
            Description=p.get("Description", ""), KeySpec=p.get("KeySpec", "SYMMETRIC_DEFAULT"),
            KeyUsage=p.get("KeyUsage", "ENCRYPT_DECRYPT"),
        )["KeyMetadata"]
        return {"Ref": meta["KeyId"], "Arn": meta["Arn"], "KeyId": meta["KeyId"]}

    def _alias(self, rid, p):
        self.clients["kms"].create_alias(AliasName=p["AliasName"], TargetKeyId=p["TargetKeyId"])
        return {"Ref": p["AliasName"]}

    # ------------------------------------------------------------ functions

    def functions(self):
        """(logical id, crate name) of every function."""
        return [(rid, r["Metadata"]["BuildProperties"]["Binary"])
                for rid, r in self.resources("AWS::Serverless::Function")]

    def variables(self, rid):
        """The function's environment as the template writes it: Globals,
        then the function's own."""
        merged = dict(self.template.get("Globals", {}).get("Function", {})
                      .get("Environment", {}).get("Variables", {}))
        fn = self.template["Resources"][rid]["Properties"]
        merged.update(fn.get("Environment", {}).get("Variables", {}))
        return merged

    def overrides(self):
        """`--env-vars` for sam local: per function, the variables whose value
        needs a resource or a secret, evaluated; and the empty value for a
        variable the function removes with `!Ref AWS::NoValue` (sam ignores
        that and passes Globals' value; rekey reads an empty value as
        unset, as the variable is in AWS)."""
        globals_ = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        out = {}
        for rid, _ in self.functions():
            values = {}
            own = self.template["Resources"][rid]["Properties"].get("Environment", {}).get("Variables", {})
            for name, expr in self.variables(rid).items():
                if self.needs_resources(expr):
                    v = self.evaluate(expr)
                    if v is not NOVALUE:
                        values[name] = str(v)
                elif name in own and name in globals_ and self.evaluate(expr) is NOVALUE:
                    values[name] = ""
            out[rid] = values
        return out

    def stream_mapping(self):
        """The function fed by the table's stream, and its mapping's
        FilterCriteria patterns, BatchSize and StartingPosition."""
        for rid, r in self.resources("AWS::Serverless::Function"):
            for event in r["Properties"].get("Events", {}).values():
                if event["Type"] == "DynamoDB":
                    p = event["Properties"]
                    patterns = [json.loads(f["Pattern"]) for f in p.get("FilterCriteria", {}).get("Filters", [])]
                    return {
                        "function": rid,
                        "stream": self.evaluate(p["Stream"]),
                        "patterns": patterns,
                        "batch_size": int(p.get("BatchSize", 100)),
                        "starting_position": p["StartingPosition"],
                        "max_retries": int(p.get("MaximumRetryAttempts", 2)),
                    }
        raise ValueError("no function has a DynamoDB stream event")


def matches(pattern, event):
    """Lambda's event filtering (the subset the template uses): every key of
    the pattern is in the event; a list of plain values matches one of them;
    an object recurses. Any other rule (prefix, numeric, exists, ...) is
    refused rather than guessed."""
    for key, want in pattern.items():
        if key not in event:
            return False
        got = event[key]
        if isinstance(want, dict):
            if not isinstance(got, dict) or not matches(want, got):
                return False
        elif isinstance(want, list):
            for rule in want:
                if isinstance(rule, dict):
                    raise ValueError("filter rule %r is not supported by this check" % (rule,))
            if got not in want:
                return False
        else:
            raise ValueError("filter pattern value %r must be a list or an object" % (want,))
    return True
